# medical-insurance-sdk: every target works on a fresh machine that has only python3.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: venv servers demo test lint typecheck unit bench stress clean

# Real Prometheus, promtool, Pushgateway and VictoriaMetrics for the integration tests
# (Debian packages: the binary, then the package that provides it).
SERVER_BINS := prometheus promtool prometheus-pushgateway victoria-metrics
SERVER_PACKAGES := prometheus prometheus-pushgateway victoria-metrics

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[all,dev]"
	touch $(STAMP)

venv: $(STAMP)

servers:
	@missing=""; for b in $(SERVER_BINS); do command -v $$b >/dev/null 2>&1 || missing="$$missing $$b"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing $(SERVER_PACKAGES) (missing:$$missing)"; \
	  if [ "$$(id -u)" != 0 ]; then echo "run as root, or: sudo apt-get install -y $(SERVER_PACKAGES)" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    $(SERVER_PACKAGES) >/dev/null; \
	fi

demo: $(STAMP)
	$(VENV)/bin/misdk demo

lint: $(STAMP)
	$(VENV)/bin/ruff check medical_insurance_sdk tests bench
	$(VENV)/bin/ruff format --check medical_insurance_sdk tests bench
	$(VENV)/bin/lint-imports --no-cache

typecheck: $(STAMP)
	$(VENV)/bin/mypy

unit: $(STAMP) servers
	$(PY) -m pytest -q

test: lint typecheck unit

bench: $(STAMP) servers
	$(PY) -m bench

# The reliability tests of `make test`, with 10x the sizes (same code).
stress: $(STAMP) servers
	MISDK_STRESS=1 $(PY) -m pytest -q -s --timeout=1800 tests/reliability tests/integration/stack/test_load.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache misdk-report
