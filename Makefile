# mammoflow: `make` sets up and runs the demo pipeline and prints its scoreboard; `make test` runs the test suite.
SWIFT ?= swift
RELEASE := .build/release
PIPELINE ?= pipelines/demo.yaml
# What a release build depends on: a second `make` with nothing changed skips `swift build` (seconds) entirely.
SOURCES := Package.swift $(shell find Sources -type f)
BUILT := $(RELEASE)/.built
DEPS := .build/.deps-installed

.PHONY: all deps build run test bench clean

all: run

$(DEPS): scripts/install-deps.sh
	@scripts/install-deps.sh
	@mkdir -p .build && touch $@

deps: $(DEPS)

$(BUILT): $(DEPS) $(SOURCES)
	$(SWIFT) build -c release
	@touch $@

build: $(BUILT)

run: build
	@$(RELEASE)/mammoflow run $(PIPELINE)
	@$(RELEASE)/mammoflow board $(PIPELINE)

test: deps
	$(SWIFT) test

bench: build
	python3 bench/run.py

clean:
	rm -rf .build cache .bench
