# procurechain: `make demo` and `make test` are all a newcomer needs.
# Every set-up step is a file target, so a second run skips what did not change.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMPS := .stamps
SOLC_VERSION := $(shell sed -n 's/^ *version: *\([0-9.]*\).*/\1/p' ape-config.yaml | head -1)
SOLCX_DIR := $(or $(SOLCX_BINARY_PATH),$(HOME)/.solcx)
SOLC := $(SOLCX_DIR)/solc-v$(SOLC_VERSION)
# `ape` run from the venv, with the venv's bin (anvil) first on PATH.
APE := PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/ape
# Slither has its own venv: it needs eth-utils 6, which eth-ape 0.8 cannot share.
SLITHER_VENV := .venv-slither
SLITHER_REQUIREMENTS := tools/slither/requirements.txt

.PHONY: help setup compile demo test fuzz lint slither format bench coverage clean prereqs solc

help:
	@echo "make demo    run the reference procurement on a local Anvil (sets everything up first)"
	@echo "make test    lint + the whole test suite (sets everything up first)"
	@echo "make fuzz    the whole-lifecycle state machine with 1,000 random examples (FUZZ_EXAMPLES=N)"
	@echo "make bench   benchmarks (gas, driver throughput, a city's year), written to docs/benchmarks.md"
	@echo "make coverage  Solidity line/branch coverage of the tests, written to docs/coverage.md"
	@echo "make lint    ruff (check + format --check) and solhint"
	@echo "make slither Slither on contracts/, judged by tools/slither/triage.yaml"
	@echo "make format  apply ruff's formatting"
	@echo "make clean   remove the venv, node_modules, build output and stamps"

prereqs:
	@tools/check-prereqs.sh "$(PY)"

$(STAMPS):
	@mkdir -p $@

# Python: pinned by constraints.txt, the project installed editable.
$(STAMPS)/venv: pyproject.toml constraints.txt | prereqs $(STAMPS)
	@echo "==> Python virtualenv ($(VENV)) with pinned dependencies"
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $@

# Node: anvil, solc-js, OpenZeppelin, solhint, exactly as package-lock.json says.
$(STAMPS)/npm: package.json package-lock.json | prereqs $(STAMPS)
	@echo "==> npm ci (anvil, solc-js, OpenZeppelin, solhint)"
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(BIN)/anvil: $(STAMPS)/npm $(STAMPS)/venv
	@ln -sf ../../node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil $@
	@touch -h $@

# solc-js exposed to py-solc-x as a native-compatible solc-v<version> (see tools/solc/).
$(SOLC): $(STAMPS)/npm tools/solc/provision.js tools/solc/solc-native.js
	@node tools/solc/provision.js

solc: $(SOLC)

# Recreated from scratch whenever the pins change; the installed copy of the pins is the stamp
# (inside the venv, so deleting the venv re-creates it).
$(SLITHER_VENV)/requirements.txt: $(SLITHER_REQUIREMENTS) | prereqs
	@echo "==> Slither virtualenv ($(SLITHER_VENV)), pinned by $(SLITHER_REQUIREMENTS)"
	@rm -rf $(SLITHER_VENV)
	@$(PY) -m venv $(SLITHER_VENV)
	@$(SLITHER_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -r $<
	@$(SLITHER_VENV)/bin/python -m pip check --disable-pip-version-check > /dev/null
	@cp $< $@

setup: $(STAMPS)/venv $(BIN)/anvil $(SOLC)

# What only the tests need from Debian: chromium for the portal's browser tests and a
# PostgreSQL server the index tests start themselves (tools/check-system.sh installs them
# with apt-get when run as root, and says what to run otherwise).
$(STAMPS)/system: tools/check-system.sh | $(STAMPS)
	@tools/check-system.sh
	@touch $@

# Ape prints its whole stack when solc rejects a source (the venv lives inside the
# project): show only solc's own message, with file and line. Ape's incremental compile misses
# that the Registry embeds the Tender's code (`new Tender`), so any change of a source compiles
# everything afresh (a stale Tender inside the Registry once survived an edit).
SOURCES := $(shell find contracts -name '*.sol') ape-config.yaml
$(STAMPS)/compiled: $(SOURCES) | setup
	@log=$$(mktemp); \
	if ! $(APE) compile --force > "$$log" 2>&1; then \
	  sed -n '/^ERROR:/,$$p' "$$log" | sed 's/^ERROR: *(SolcCompileError) /solc: /' >&2; rm -f "$$log"; exit 1; \
	fi; rm -f "$$log"
	@touch $@

compile: setup $(STAMPS)/compiled
	@test -d .build || { rm -f $(STAMPS)/compiled; $(MAKE) --no-print-directory $(STAMPS)/compiled; }

lint: setup
	@echo "==> ruff"
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@echo "==> solhint"
	@node_modules/.bin/solhint --max-warnings 0 'contracts/**/*.sol'

format: setup
	@$(BIN)/ruff format .
	@$(BIN)/ruff check --fix .

# Every Slither detector over contracts/ (not contracts/test/), through the same solc-js.
slither: $(SLITHER_VENV)/requirements.txt $(SOLC)
	@echo "==> slither"
	@$(SLITHER_VENV)/bin/python tools/slither/run.py --solc $(SOLC)

test: lint slither compile $(STAMPS)/system
	@echo "==> ape test"
	@$(APE) test $(TEST_ARGS)

# The lifecycle state machine of `make test` (50 seeded examples) with a fresh seed and
# FUZZ_EXAMPLES examples (default 1,000: about an hour on 2 cores).
FUZZ_EXAMPLES ?= 1000
fuzz: compile
	@echo "==> lifecycle invariants, $(FUZZ_EXAMPLES) random examples"
	@HYPOTHESIS_PROFILE=fuzz FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(APE) test tests/test_lifecycle_machine.py -q -s

demo: compile
	@$(APE) run demo

# Gas against Safe v1.4.1, driver throughput and a city's year (bench/); writes docs/benchmarks.{md,json}.
bench: compile
	@PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m bench

# The whole suite traced step by step on Anvil (tools/solcov), mapped through solc's source maps
# onto the production contracts; writes docs/coverage.{md,json} even when a test fails, and
# fails when a test fails or a target (100% lines, 95% branches, a reason for every gap) is missed.
COVERAGE_HITS := out/coverage
coverage: compile
	@rm -f $(COVERAGE_HITS)/hits-*.json
	@echo "==> ape test, traced for coverage"
	@export PYTHONPATH="$(CURDIR)/tools$${PYTHONPATH:+:$$PYTHONPATH}"; tests=0; report=0; \
	PROCURECHAIN_COVERAGE=$(COVERAGE_HITS) $(APE) test -p solcov.plugin $(TEST_ARGS) || tests=$$?; \
	echo "==> coverage report"; \
	$(BIN)/python -m solcov report --hits $(COVERAGE_HITS) || report=$$?; \
	[ $$tests -eq 0 ] || exit $$tests; exit $$report

clean:
	rm -rf $(VENV) $(SLITHER_VENV) node_modules .build $(STAMPS)
