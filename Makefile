# mammoflow: `make` sets up and runs the demo pipeline; `make test` runs the test suite.
SWIFT ?= swift
RELEASE := .build/release
PIPELINE ?= pipelines/demo.yaml

.PHONY: all deps build run test bench reliability clean

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

# kill -9 at random moments, a cohort with 1% bad files, 100,000 DICOM mutants (slow; not part of `make test`)
reliability: build
	python3 scripts/reliability.py --bin $(RELEASE)

clean:
	rm -rf .build cache .bench
