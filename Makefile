# mammoflow: `make` sets up and runs the demo pipeline and prints its scoreboard; `make test` runs the test suite.
SWIFT ?= swift
RELEASE := .build/release
PIPELINE ?= pipelines/demo.yaml
# What a release build depends on: a second `make` with nothing changed skips `swift build` (seconds) entirely.
SOURCES := Package.swift $(shell find Sources -type f)
BUILT := $(RELEASE)/.built
DEPS := .build/.deps-installed
PYTHON_VENV := python/.venv

.PHONY: all deps build run test bench reliability clean

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

# Both suites run whatever the other does; either failing fails the target. swift test goes first: it builds
# the programs with which the Python tests also check shards the Swift code writes now.
test: deps $(PYTHON_VENV)/.installed
	@status=0; \
	$(SWIFT) test || status=1; \
	$(PYTHON_VENV)/bin/python -m pytest python/tests -q -rs -p no:cacheprovider || status=1; \
	[ $$status -eq 0 ] || echo "make test: FAILED (pytest or swift test, above)" >&2; \
	exit $$status

# The Python package (python/) in a venv that sees the machine's numpy and pytest; PyTorch comes from a
# CPU-only wheel on the machine when there is one (PyPI's torch is the CUDA build), else its test is skipped.
$(PYTHON_VENV)/.installed: python/pyproject.toml
	python3 -m venv --system-site-packages $(PYTHON_VENV)
	$(PYTHON_VENV)/bin/pip install -q --disable-pip-version-check "./python[test]"
	wheel=$$(ls /opt/wheels/torch-*cpu*.whl 2>/dev/null | tail -n 1); \
	if [ -n "$$wheel" ]; then $(PYTHON_VENV)/bin/pip install -q --disable-pip-version-check "$$wheel"; fi
	touch $@

bench: build
	python3 bench/run.py

# kill -9 at random moments, a cohort with 1% bad files, 100,000 DICOM mutants (slow; not part of `make test`)
reliability: build
	python3 scripts/reliability.py --bin $(RELEASE)

clean:
	rm -rf .build cache .bench
