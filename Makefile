# Portable between GNU make and FreeBSD make: no GNU-only syntax.
PYTHON ?= python3
VENV = .venv
VPY = $(VENV)/bin/python
RUNDIR = run
PYTEST_ARGS ?= -n 2 -q

all: test

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -m pip install -q -e '.[dev]'
	touch $(VENV)/.installed

venv: $(VENV)/.installed

test-deps:
	sh tools/install-test-deps.sh

test: venv test-deps
	$(VPY) -m ruff check hvd_netconf cli tests tools
	$(VPY) -m pytest $(PYTEST_ARGS)

run: venv
	$(VPY) -m hvd_netconf.devrun --dir $(RUNDIR)

bindings: venv
	$(VPY) tools/gen_bindings.py

bench: venv
	$(VPY) tools/bench/validate.py

clean:
	rm -rf $(VENV) $(RUNDIR) build dist *.egg-info

.PHONY: all venv test-deps test run bindings bench clean
