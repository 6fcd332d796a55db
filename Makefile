# Portable between GNU make and FreeBSD make: no GNU-only syntax.
PYTHON ?= python3
VENV = .venv
VPY = $(VENV)/bin/python
RUNDIR = run
RUNFLAGS ?=
PREFIX ?= /usr/local
DESTDIR ?=
MANDIR ?= $(PREFIX)/share/man
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
	$(VPY) -m ruff check hvd_netconf cli tests tools docs/examples
	$(VPY) -m mypy
	$(VPY) -m pytest $(PYTEST_ARGS)

# The type check alone (configured in pyproject.toml, see docs/typing.md).
typecheck: venv
	$(VPY) -m mypy

# hvd's <validate> against yanglint on 3,000 generated documents (make test runs 300).
test-diff: venv test-deps
	HVD_DIFF_DOCS=3000 $(VPY) -m pytest -q tests/schema/test_differential.py

# Real clients against real hvds: Ansible (three at once), netconf-console2, yangcli, ncclient.
test-interop: venv test-deps
	$(VPY) -m pip install -q -r tools/interop/requirements.txt
	$(VPY) -m pytest -q -m interop tests/interop

# On FreeBSD, as root: `make selftest POOL=zroot` proves the freebsd backend works on this
# host and leaves nothing behind (docs/selftest.md); elsewhere it runs against the sim.
POOL ?=
selftest: venv
	$(VPY) -m hvd_netconf.daemon selftest $(POOL)

run: venv
	$(VPY) -m hvd_netconf.devrun --dir $(RUNDIR) $(RUNFLAGS)

bindings: venv
	$(VPY) tools/gen_bindings.py

# Figures, not tests (see tools/bench/README.md); load.py runs 60 s on its own.
# BENCHFLAGS go to commit.py (the whole daemon's figures): `make bench BENCHFLAGS=--quick`
# measures 100 and 1,000 VMs only.
BENCHFLAGS ?=
bench: venv
	$(VPY) tools/bench/validate.py
	$(VPY) tools/bench/rpc.py
	$(VPY) tools/bench/commit.py $(BENCHFLAGS)
	$(VPY) tools/bench/timeline.py
	$(VPY) tools/bench/cli.py
	$(VPY) tools/bench/restconf.py
	$(VPY) tools/bench/webpage.py
	$(VPY) tools/bench/schedule.py
	$(VPY) tools/bench/stats.py
	$(VPY) tools/bench/backup.py

# Installs the way a FreeBSD port would: daemon in sbin, CLI in bin, YANG modules in
# share/yang, the rc.d script, manual pages and a sample configuration.
install:
	$(PYTHON) -m pip install --no-deps --ignore-installed --root "$(DESTDIR)/" --prefix "$(PREFIX)" .
	mkdir -p "$(DESTDIR)$(PREFIX)/sbin" "$(DESTDIR)$(PREFIX)/etc/rc.d"
	mv "$(DESTDIR)$(PREFIX)/bin/hvd" "$(DESTDIR)$(PREFIX)/sbin/hvd"
	sed -e 's|%%PREFIX%%|$(PREFIX)|g' rc.d/hvd > "$(DESTDIR)$(PREFIX)/etc/rc.d/hvd"
	chmod 555 "$(DESTDIR)$(PREFIX)/etc/rc.d/hvd"
	sed -e 's|%%PREFIX%%|$(PREFIX)|g' hvd.conf.sample > "$(DESTDIR)$(PREFIX)/etc/hvd.conf.sample"
	mkdir -p "$(DESTDIR)$(MANDIR)/man1" "$(DESTDIR)$(MANDIR)/man5" "$(DESTDIR)$(MANDIR)/man8"
	install -m 444 man/hv.1 "$(DESTDIR)$(MANDIR)/man1/hv.1"
	install -m 444 man/hvd.conf.5 "$(DESTDIR)$(MANDIR)/man5/hvd.conf.5"
	install -m 444 man/hvd.8 "$(DESTDIR)$(MANDIR)/man8/hvd.8"

clean:
	rm -rf $(VENV) $(RUNDIR) build dist *.egg-info

.PHONY: all venv test-deps test typecheck test-diff test-interop selftest run bindings bench install clean
