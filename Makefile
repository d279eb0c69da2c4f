# mammoflow: `make` sets up and runs the demo pipeline; `make test` runs the test suite.
SWIFT ?= swift
RELEASE := .build/release
PIPELINE ?= pipelines/demo.yaml

.PHONY: all deps build run test bench clean

all: run

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build -c release

run: build
	$(RELEASE)/mammoflow run $(PIPELINE)

test: deps
	$(SWIFT) test

bench: build
	python3 bench/run.py

clean:
	rm -rf .build cache .bench
