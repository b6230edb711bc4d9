# Developer entry points for the voiceops.firewall collection.
#   make setup   # .venv + runtime requirements + Debian packages + .collections link
#   make plan    # render the example inventory into output/example/
#   make test    # unit (+ functional) tests, mypy, ansible-test sanity, ansible-lint, ...; non-zero if any fails
#
# ansible-test sanity runs every test it has, but two need PowerShell (pwsh), which no package
# source here carries (details in scripts/sanity.sh and docs/development.md):
#   - pslint: needs pwsh and PSScriptAnalyzer from the PowerShell Gallery; without pwsh,
#     ansible-test skips it with a warning: it does NOT run here or in CI.
#   - validate-modules on *.ps1: needs pwsh to read the argument spec; without pwsh the .ps1 files
#     are excluded from validate-modules only (their .py documentation files are still validated).
# Both run in full on a machine with pwsh on PATH. On every machine, scripts/sanity.sh first parses
# every .ps1 with the tree-sitter PowerShell grammar (scripts/parse_powershell.py) and fails on any
# syntax error; its summary says which of the three ran.

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
TYPECHECK_ARGS ?=
MOLECULE_ROLES ?= edge_firewall windows_firewall
TEST_DIRS := $(wildcard tests/unit tests/functional)

.PHONY: help setup setup-test plan test unit sanity lint typecheck clean run-unit run-sanity run-lint run-typecheck ecosystem run-ecosystem docs changelog-preview molecule run-molecule bench fuzz

help:
	@echo "make setup | plan | test | unit | typecheck | sanity | lint | ecosystem | molecule | docs | bench | clean"
	@echo "  INVENTORY=$(INVENTORY) PYTEST_ARGS=... TYPECHECK_ARGS=... SANITY_ARGS=... LINT_ARGS=... MOLECULE_ROLES=..."

setup:
	scripts/setup.sh

setup-test:
	scripts/setup.sh --test

plan: setup
	$(BIN)/ansible-playbook -i $(INVENTORY) playbooks/plan.yml

# Run every suite even when an earlier one fails, then fail if any failed.
test: setup-test
	@failed=""; \
	for suite in unit typecheck sanity lint ecosystem molecule; do \
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

typecheck: setup-test
	$(MAKE) --no-print-directory run-typecheck

run-unit:
	$(if $(TEST_DIRS),,$(error no tests/unit or tests/functional directory))
	$(BIN)/python -m pytest $(TEST_DIRS) $(PYTEST_ARGS)

run-sanity:
	scripts/sanity.sh $(SANITY_ARGS)

run-lint:
	$(BIN)/ansible-lint $(LINT_ARGS)

# mypy on plugins/plugin_utils with mypy.ini (what is checked and what is not yet: see there).
run-typecheck:
	$(BIN)/mypy $(TYPECHECK_ARGS)

# Build the Galaxy artefact and use it from an empty collections path, check the execution
# environment definition with ansible-builder, and run the plan through ansible-runner.
ecosystem: setup-test
	$(MAKE) --no-print-directory run-ecosystem

run-ecosystem:
	@rc=0; for s in artefact_check ee_check runner_check; do scripts/$$s.sh || rc=1; done; exit $$rc

# Molecule, one scenario per role (docs/development.md, "Molecule"); MOLECULE_ROLES picks some:
#   edge_firewall: a lab of network namespaces over real SSH, with real traffic and a SIPp call
#     (needs root; no containers). See roles/edge_firewall/README.md.
#   windows_firewall: the example's Windows hosts, simulated (tests/functional/windows); about 15 s.
# Every scenario runs even when one fails; non-zero if any failed.
molecule: setup-test
	$(MAKE) --no-print-directory run-molecule

run-molecule:
	@failed=""; \
	for role in $(MOLECULE_ROLES); do \
	    echo "--- molecule test: roles/$$role"; \
	    start=$$(date +%s); \
	    if (cd roles/$$role && $(BIN)/molecule test); then res=passed; else res=FAILED; failed="$$failed $$role"; fi; \
	    echo "--- molecule roles/$$role: $$res in $$(( $$(date +%s) - start ))s"; \
	done; \
	if [ -n "$$failed" ]; then echo "molecule: FAILED:$$failed"; exit 1; fi

# Scale benchmark: synthetic estates of 100, 1,000 and 10,000 hosts, side by side with Aerleon
# (docs/performance.md). Not part of make test: it takes about 6 minutes.
bench: setup
	benchmarks/run.sh $(BENCH_ARGS)

# Mutation fuzzer for inventory and catalog input (docs/fuzzing.md): 50,000 inputs by default,
# non-zero on any crash. Not part of make test. FUZZ_ARGS="--inputs 5000 --seed 1 --json fuzz.json"
fuzz: setup
	$(BIN)/python scripts/fuzz.py $(FUZZ_ARGS)

# Regenerate docs/products/ from the catalog (a unit test fails when they are stale).
docs: setup
	$(BIN)/python scripts/gen_product_docs.py

# Preview CHANGELOG.md for the version in galaxy.yml without consuming the fragments.
changelog-preview: setup-test
	@t=$$(mktemp -d); d=$$t/ansible_collections/voiceops/firewall; mkdir -p $$d; \
	git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C $$d; \
	printf '[defaults]\n' >$$t/a.cfg; \
	(cd $$d && ANSIBLE_CONFIG=$$t/a.cfg ANSIBLE_COLLECTIONS_PATH=$$t $(BIN)/antsibull-changelog release --version $$($(BIN)/python -c 'import yaml;print(yaml.safe_load(open("galaxy.yml"))["version"])') --date 2000-01-01) \
	&& cp $$d/CHANGELOG.md CHANGELOG.md; rm -rf $$t

clean:
	rm -rf .venv .collections .ansible .cache output tests/output .pytest_cache .hypothesis runner/artifacts context
	find . -path ./.git -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
	rm -f voiceops-firewall-*.tar.gz
