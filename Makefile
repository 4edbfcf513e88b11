# Two entry points matter: `make dev` runs the platform, `make test` runs every check.
# Both install what is missing first, so they work on a fresh clone.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV ?= $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
PY := .venv/bin/python
STAMP := .venv/.synced
# The console's JavaScript is type-checked by TypeScript (tsc --noEmit over JSDoc types,
# tools/console-types). Only `make typecheck` needs Node: the console runs without it.
# ensure-node.sh installs Debian's nodejs and npm when missing and root (as `make dev`
# installs Postgres and Redis), else prints the apt-get command and fails.
TYPES := tools/console-types
NODE := sh $(TYPES)/ensure-node.sh
TSC_STAMP := $(TYPES)/node_modules/.installed
# The suite runs on pytest-xdist workers, each with its own database, Redis prefix,
# broker and ports (tests/conftest.py, tests/ports.py). Most tests wait on processes and
# sockets, so more workers than cores pay; the count and the mode were measured on a
# 2-core box (README, "Tests"). Whole files go to a worker (module fixtures such as a
# Pulumi build or a service process are made once), in collection order: the few long
# e2e files start first, on different workers, instead of last. TEST_WORKERS=0 runs in
# one process. -rfE: the summary names every failed test whichever worker ran it;
# -p no:cacheprovider: no .pytest_cache in the checkout. Tests marked `alone` (a
# receiver that must answer within a tight timeout) run after the others, in one
# process: under four workers on two cores its own CPU share, not the code, decides.
TEST_WORKERS ?= 4
PYTEST := .venv/bin/pytest -q -p no:cacheprovider -rfE
XDIST := -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

.PHONY: help install dev test lint typecheck unit infra integration proto readme bench-snapshot fmt clean fuzz bench

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

$(UV):
	@echo ">> installing uv (Python package manager) for $$(whoami)"
	python3 -m pip install --user --quiet uv || python3 -m pip install --quiet uv
	@test -x "$(UV)" || { echo "uv installed but not at $(UV); set UV=/path/to/uv"; exit 1; }

$(STAMP): pyproject.toml uv.lock | $(UV)
	@echo ">> syncing the virtualenv from uv.lock"
	$(UV) sync --frozen --quiet
	@touch $@

install: $(STAMP) ## create .venv from the lock file

$(TSC_STAMP): $(TYPES)/package.json $(TYPES)/package-lock.json
	@$(NODE)
	@echo ">> installing TypeScript and Preact's typings from $(TYPES)/package-lock.json"
	cd $(TYPES) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

dev: $(STAMP) ## run the whole platform locally (Ctrl-C stops everything)
	$(PY) -m alerting dev

lint: $(STAMP) ## ruff lint and format check
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

typecheck: $(STAMP) $(TSC_STAMP) ## mypy on the runtime package, tsc on the console's JavaScript
	.venv/bin/mypy
	@$(NODE)
	$(TYPES)/node_modules/.bin/tsc --noEmit -p $(TYPES)

test: lint typecheck ## lint, typecheck and the whole test suite (in parallel, TEST_WORKERS)
	@status=0; $(PYTEST) $(XDIST) -m "not alone" || status=$$?; \
	$(PYTEST) -m alone || status=$$?; exit $$status

unit: $(STAMP) ## unit tests only (no servers)
	$(PYTEST) $(XDIST) tests/unit

infra: $(STAMP) ## infrastructure tests (Pulumi mocks, moto, Dockerfile, compose, CI-file linters)
	$(PYTEST) $(XDIST) tests/infra

integration: $(STAMP) ## integration and e2e tests (in parallel, TEST_WORKERS)
	@status=0; $(PYTEST) $(XDIST) -m "not alone" tests/e2e tests/integration || status=$$?; \
	$(PYTEST) -m alone tests/e2e tests/integration || status=$$?; exit $$status

FUZZ_URL ?= http://127.0.0.1:8081
FUZZ_SECONDS ?= 300
fuzz: $(STAMP) ## schemathesis against a running rule-service (FUZZ_URL, ALERTING_ADMIN_TOKEN)
	@test -n "$$ALERTING_ADMIN_TOKEN" || { echo "set ALERTING_ADMIN_TOKEN to the service's admin token"; exit 2; }
	.venv/bin/st run $(FUZZ_URL)/openapi.json \
		-H "Authorization: Bearer $$ALERTING_ADMIN_TOKEN" \
		--checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
		--max-time $(FUZZ_SECONDS) --suppress-health-check all

proto: $(STAMP) ## regenerate runtime/alerting/v1 from proto/
	$(PY) tools/genproto.py

bench-snapshot: $(STAMP) ## time one rule change applied to a 100,000-rule snapshot
	$(PY) tools/bench_snapshot.py

readme: $(STAMP) ## regenerate the README's settings table from the code
	$(PY) tools/readme_settings.py

fmt: $(STAMP) ## format and autofix
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

clean: ## remove the virtualenv and local dev data
	rm -rf .venv .dev .mypy_cache .ruff_cache $(TYPES)/node_modules

bench: $(STAMP) ## measure each stage's throughput and end-to-end latency (ARGS=--quick)
	$(PY) -m alerting bench $(ARGS)
