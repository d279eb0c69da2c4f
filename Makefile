# mammoflow: `make` sets up and runs the demo pipeline; `make test` runs the test suite.
SWIFT ?= swift
RELEASE := .build/release
PIPELINE ?= pipelines/demo.yaml
# Imaging and Neural are compiled for AVX2 + FMA on x86-64 (Package.swift); on an x86-64 CPU without them,
# build the portable code instead of binaries that would die of an illegal instruction.
ifeq ($(shell uname -m),x86_64)
ifneq ($(shell grep -m1 -ow avx2 /proc/cpuinfo)-$(shell grep -m1 -ow fma /proc/cpuinfo),avx2-fma)
export MAMMOFLOW_PORTABLE ?= 1
endif
endif

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
