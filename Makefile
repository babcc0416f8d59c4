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

.PHONY: help setup compile demo test lint format bench coverage clean prereqs solc

help:
	@echo "make demo    run the reference procurement on a local Anvil (sets everything up first)"
	@echo "make test    lint + the whole test suite (sets everything up first)"
	@echo "make bench   gas benchmarks, written to docs/benchmarks.md"
	@echo "make coverage  Solidity line/branch coverage of the tests, written to docs/coverage.md"
	@echo "make lint    ruff (check + format --check) and solhint"
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

setup: $(STAMPS)/venv $(BIN)/anvil $(SOLC)

# Ape prints its whole stack when solc rejects a source (the venv lives inside the
# project): show only solc's own message, with file and line.
compile: setup
	@log=$$(mktemp); \
	if ! $(APE) compile > "$$log" 2>&1; then \
	  sed -n '/^ERROR:/,$$p' "$$log" | sed 's/^ERROR: *(SolcCompileError) /solc: /' >&2; rm -f "$$log"; exit 1; \
	fi; rm -f "$$log"

lint: setup
	@echo "==> ruff"
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@echo "==> solhint"
	@node_modules/.bin/solhint --max-warnings 0 'contracts/**/*.sol'

format: setup
	@$(BIN)/ruff format .
	@$(BIN)/ruff check --fix .

test: lint compile
	@echo "==> ape test"
	@$(APE) test $(TEST_ARGS)

demo: compile
	@$(APE) run demo

# Gas side by side with Safe v1.4.1 on one Anvil; writes docs/benchmarks.{md,json}.
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
	rm -rf $(VENV) node_modules .build $(STAMPS)
