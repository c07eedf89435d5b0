# Two set-up commands for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_OUT ?= demo-out
PIP := $(BIN)/python -m pip --disable-pip-version-check

.PHONY: demo test lint typecheck unit docs system-deps oidc-deps bench mutate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-demo: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e '.[dev,docs,postgres,sm,redis,fastapi,flask,django,otel]'
	touch $@

## make demo: create .venv, install govkit, run `govkit demo` on embedded defaults
## (again: --force when DEMO_OUT holds an earlier run's audit log; any other folder
## that is not empty is refused)
demo: $(VENV)/.installed-demo
	$(BIN)/govkit demo --out $(DEMO_OUT) $(if $(wildcard $(DEMO_OUT)/audit/note-key),--force)

## make test: install test needs, then ruff, mypy --strict, pytest, Sphinx (-W, doctest)
test: $(VENV)/.installed-test system-deps lint typecheck unit docs

system-deps:
	bash scripts/system-deps.sh

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy --strict govkit

unit: $(VENV)/.installed-test oidc-deps
	$(BIN)/python -m pytest

## The OpenID Provider the OIDC tests start (tests/oidc, oidc-provider from npm): npm ci
## from the committed lockfile, again only when the lockfile changes.
oidc-deps: tests/oidc/node_modules/.installed

tests/oidc/node_modules/.installed: tests/oidc/package.json tests/oidc/package-lock.json
	cd tests/oidc && npm ci --no-audit --no-fund
	touch $@

docs: $(VENV)/.installed-test
	$(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/html
	$(BIN)/sphinx-build -W --keep-going -q -b doctest docs docs/_build/doctest

## make bench: every benchmark, govkit beside its reference, ending with one summary table
## (every ratio, its target, PASS or MISS). Large data sets are built once into
## GOVKIT_BENCH_CACHE (default ~/.cache/govkit-bench). Machines: `python -m benchmarks summary --json`
bench: $(VENV)/.installed-test
	$(BIN)/python -m benchmarks all --summary

## make mutate: mutation testing (mutmut) of the verification modules, one at a time,
## each against its own tests only, in a scratch copy outside the tree; not part of
## `make test`. Prints the surviving-mutant rate per module, fails when one is 10% or
## more. MUTATE_MODULES picks some (`python scripts/mutate.py --list`); MUTATE_TIMEOUT
## bounds each module (seconds); MUTATE_JOBS is mutmut's --max-children.
MUTATE_MODULES ?=
MUTATE_JOBS ?= 1
MUTATE_TIMEOUT ?= 1800
mutate: $(VENV)/.installed-test
	$(BIN)/python scripts/mutate.py --jobs $(MUTATE_JOBS) --timeout $(MUTATE_TIMEOUT) $(MUTATE_MODULES)

clean:
	rm -rf $(VENV) docs/_build $(DEMO_OUT) .pytest_cache .mypy_cache .ruff_cache .hypothesis
