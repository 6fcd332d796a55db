"""The FreeBSD port skeleton (packaging/freebsd/sysutils/hvd) and the FreeBSD CI file, checked
as far as Linux allows: the port cannot be built here (no ports tree, no portlint), so its
plist is compared with what `make install` stages (the Makefile installs the port's layout),
its Makefile with the Porter's Handbook's variable order, and the CI file is parsed."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PORT = REPO / "packaging" / "freebsd" / "sysutils" / "hvd"
PREFIX = "usr/local"

# The Porter's Handbook, "Order of Variables in Port Makefiles": the blocks in this order.
HANDBOOK_ORDER = [
    "PORTNAME", "PORTVERSION", "DISTVERSIONPREFIX", "DISTVERSION", "DISTVERSIONSUFFIX",
    "PORTREVISION", "PORTEPOCH", "CATEGORIES", "MASTER_SITES", "MASTER_SITE_SUBDIR",
    "PKGNAMEPREFIX", "PKGNAMESUFFIX", "DISTNAME", "EXTRACT_SUFX", "DISTFILES",
    "MAINTAINER", "COMMENT", "WWW",
    "LICENSE", "LICENSE_FILE",
    "BUILD_DEPENDS", "LIB_DEPENDS", "RUN_DEPENDS", "TEST_DEPENDS",
    "USES", "USE_GITHUB", "USE_PYTHON", "USE_RC_SUBR",
    "NO_ARCH",
]
# Ports that exist (freshports): origin -> the PyPI name it provides.
PORTED = {
    "www/py-aiohttp": "aiohttp",
    "devel/py-lxml": "lxml",
    "net-mgmt/py-ncclient": "ncclient",
    "security/py-paramiko": "paramiko",
    "net-mgmt/py-prometheus-client": "prometheus_client",
    "devel/py-prompt-toolkit": "prompt_toolkit",
    "net-mgmt/py-pyang": "pyang",
}
# Named in the Makefile but not (yet) in the ports tree: README.md, "FreeBSD", says so.
NOT_PORTED = {"net-mgmt/py-pyangbind": "pyangbind",
              # not checked against the ports tree from here (docs/guests.md says so)
              "sysutils/py-pycdlib": "pycdlib"}


def makefile_vars() -> list[tuple[str, str]]:
    """(name, value) of each top-level assignment, continuation lines joined, in order."""
    text = (PORT / "Makefile").read_text().replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        m = re.match(r"([A-Z_]+)(\??=)\t+(.*)$", line)
        if m:
            out.append((m.group(1), m.group(3).strip()))
    return out


def plist() -> list[str]:
    return [line for line in (PORT / "pkg-plist").read_text().splitlines() if line]


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    bmake = shutil.which("bmake")
    assert bmake, "bmake is missing: make test installs it (tools/install-test-deps.sh)"
    tmp = tmp_path_factory.mktemp("port")
    work = tmp / "src"
    shutil.copytree(REPO, work, ignore=shutil.ignore_patterns(
        ".venv", ".git", "run", "build", "*.egg-info", "__pycache__", ".hypothesis"))
    res = subprocess.run([bmake, "install", f"DESTDIR={tmp / 'stage'}", f"PREFIX=/{PREFIX}",
                          f"PYTHON={sys.executable}"], cwd=work, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    return tmp / "stage" / PREFIX


def staged_files(prefix: Path) -> set[str]:
    return {str(p.relative_to(prefix)) for p in prefix.rglob("*") if p.is_file()}


def wheel_record(prefix: Path) -> set[str]:
    """The files pip installed (what USE_PYTHON=autoplist lists), relative to PREFIX."""
    [record] = prefix.glob("lib/python3*/site-packages/hvd-*.dist-info/RECORD")
    site = record.parent.parent
    out = set()
    for line in record.read_text().splitlines():
        path = line.rsplit(",", 2)[0]
        out.add(str((site / path).resolve().relative_to(prefix.resolve())))
    return out


def test_plist_and_autoplist_cover_exactly_what_install_stages(stage: Path) -> None:
    from_plist = set()
    for entry in plist():
        entry = entry.removeprefix("@sample ")
        if entry.startswith("share/man/"):
            entry = entry.removesuffix(".gz")  # the ports framework compresses manuals
        from_plist.add(entry)
    # The port's post-install moves bin/hvd to sbin/hvd; USE_RC_SUBR adds etc/rc.d/hvd.
    autoplist = {("sbin/hvd" if p == "bin/hvd" else p) for p in wheel_record(stage)}
    expected = autoplist | from_plist | {"etc/rc.d/hvd"}
    staged = {p for p in staged_files(stage) if "__pycache__" not in p}
    assert from_plist <= staged, from_plist - staged
    assert staged == {p for p in expected if "__pycache__" not in p}
    assert "sbin/hvd" in staged and "bin/hv" in staged and "share/yang/hvd-vm.yang" in staged


def test_post_install_installs_every_plist_file_and_the_rc_script_is_the_repos() -> None:
    mk = (PORT / "Makefile").read_text()
    for entry in plist():
        if entry.startswith("share/man/"):
            man = entry.removesuffix(".gz")
            section = man.split("/")[2]
            assert (f"${{INSTALL_MAN}} ${{WRKSRC}}/man/{Path(man).name} "
                    f"${{STAGEDIR}}${{PREFIX}}/share/man/{section}") in mk
    assert "> ${STAGEDIR}${PREFIX}/etc/hvd.conf.sample" in mk
    assert "${MV} ${STAGEDIR}${PREFIX}/bin/hvd ${STAGEDIR}${PREFIX}/sbin/hvd" in mk
    assert (PORT / "files" / "hvd.in").read_bytes() == (REPO / "rc.d" / "hvd").read_bytes()
    assert (PORT / "pkg-descr").read_text().strip()


def test_makefile_variables_follow_the_handbook_order() -> None:
    names = [n for n, _ in makefile_vars()]
    assert names[:2] == ["PORTNAME", "DISTVERSION"]
    unknown = [n for n in names if n not in HANDBOOK_ORDER]
    assert unknown == []
    assert names == sorted(names, key=HANDBOOK_ORDER.index)
    values = dict(makefile_vars())
    assert values["USES"] == "python"
    assert values["USE_PYTHON"].split() == ["autoplist", "concurrent", "pep517"]
    assert values["USE_RC_SUBR"] == "hvd"
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert values["DISTVERSION"] == version
    assert (PORT / "Makefile").read_text().rstrip().endswith(".include <bsd.port.mk>")


def test_every_runtime_dependency_has_a_run_depends_line() -> None:
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    wanted = {re.split(r"[<>=!~ ]", d, maxsplit=1)[0] for d in deps}
    run_depends = dict(makefile_vars())["RUN_DEPENDS"].split()
    origins = {}
    for item in run_depends:
        m = re.fullmatch(r"\$\{PYTHON_PKGNAMEPREFIX\}([a-z-]+)[<>=]+[0-9.]+:"
                         r"([a-z-]+/py-[a-z-]+)@\$\{PY_FLAVOR\}", item)
        assert m, item
        origins[m.group(2)] = m.group(1)
    assert set(origins) == set(PORTED) | set(NOT_PORTED)
    assert set(PORTED.values()) | set(NOT_PORTED.values()) == wanted


def test_cirrus_ci_runs_the_suite_and_the_selftest_on_freebsd_14() -> None:
    ci = yaml.safe_load((REPO / ".cirrus.yml").read_text())
    task = ci["freebsd_task"]
    assert task["freebsd_instance"]["image_family"].startswith("freebsd-14")
    scripts = [line for key, value in task.items() if key.endswith("_script")
               for line in value]
    assert "make test PYTHON=${PYTHON}" in scripts
    assert "kldload -n vmm nmdm if_bridge if_tuntap" in scripts
    assert any(s.startswith("mdconfig -a -t vnode") for s in scripts)
    assert "zpool create ${POOL} /dev/md9" in scripts
    assert ".venv/bin/hvd selftest ${POOL} --json selftest.json" in scripts
    assert task["always"]["selftest_artifacts"]["path"] == "selftest.json"
