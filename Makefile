# Developer entry points for the voiceops.firewall collection.
#   make setup   # .venv + runtime requirements + Debian packages + .collections link
#   make plan    # render the example inventory into output/example/
#   make test    # unit (+ functional) tests, ansible-test sanity, ansible-lint; non-zero if any fails
#
# ansible-test sanity runs with ZERO skipped tests. Tools that cannot be installed from Debian
# or PyPI are handled like this (details in scripts/sanity.sh and docs/development.md):
#   - pslint: needs PowerShell (pwsh) and PSScriptAnalyzer from the PowerShell Gallery, neither
#     of which is available here; ansible-test itself skips it with a warning when pwsh is missing.
#   - validate-modules on *.ps1: needs pwsh to read the argument spec; without pwsh the .ps1 files
#     are excluded from validate-modules only (their .py documentation files are still validated).
# Both run in full on a machine with pwsh on PATH.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

INVENTORY ?= inventories/example
PYTEST_ARGS ?=
SANITY_ARGS ?=
LINT_ARGS ?=
TEST_DIRS := $(wildcard tests/unit tests/functional)

.PHONY: help setup setup-test plan test unit sanity lint clean run-unit run-sanity run-lint

help:
	@echo "make setup | plan | test | unit | sanity | lint | clean"
	@echo "  INVENTORY=$(INVENTORY) PYTEST_ARGS=... SANITY_ARGS=... LINT_ARGS=..."

setup:
	scripts/setup.sh

setup-test:
	scripts/setup.sh --test

plan: setup
	$(BIN)/ansible-playbook -i $(INVENTORY) playbooks/plan.yml

# Run every suite even when an earlier one fails, then fail if any failed.
test: setup-test
	@failed=""; \
	for suite in unit sanity lint; do \
	    echo "=== $$suite ==="; \
	    start=$$(date +%s); \
	    if $(MAKE) --no-print-directory run-$$suite; then res=passed; else res=FAILED; failed="$$failed $$suite"; fi; \
	    echo "=== $$suite: $$res in $$(( $$(date +%s) - start ))s ==="; \
	done; \
	if [ -n "$$failed" ]; then echo "make test: FAILED:$$failed"; exit 1; fi; \
	echo "make test: all passed"

unit: setup-test
	$(MAKE) --no-print-directory run-unit

sanity: setup-test
	$(MAKE) --no-print-directory run-sanity

lint: setup-test
	$(MAKE) --no-print-directory run-lint

run-unit:
	$(if $(TEST_DIRS),,$(error no tests/unit or tests/functional directory))
	$(BIN)/python -m pytest $(TEST_DIRS) $(PYTEST_ARGS)

run-sanity:
	scripts/sanity.sh $(SANITY_ARGS)

run-lint:
	$(BIN)/ansible-lint $(LINT_ARGS)

clean:
	rm -rf .venv .collections .ansible .cache output tests/output .pytest_cache .hypothesis
	find . -path ./.git -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
	rm -f voiceops-firewall-*.tar.gz
