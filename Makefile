# Two commands for a fresh machine: `make demo` and `make test` (both install first).
VENV := .venv
# uv from PATH, or a private copy installed by pip into .uv-bin-pkg/ on first use.
UV := $(shell command -v uv 2>/dev/null || echo 'PYTHONPATH=.uv-bin-pkg python3 -m uv')

.PHONY: setup demo test dev lint

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml uv.lock
	@command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet --disable-pip-version-check --target .uv-bin-pkg uv==0.13.8
	$(UV) sync --frozen --extra dev
	$(VENV)/bin/dbt parse --project-dir dbt --profiles-dir dbt --quiet
	@touch $@

demo: setup
	$(VENV)/bin/northstar demo

test: setup
	$(VENV)/bin/pytest

dev: setup
	$(VENV)/bin/northstar dev

lint: setup
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .
