"""`make install` with FreeBSD's make (bmake) stages the files where a port would put them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_bmake_install_stages_a_port_layout(tmp_path: Path) -> None:
    bmake = shutil.which("bmake")
    assert bmake, "bmake is missing: make test installs it (tools/install-test-deps.sh)"
    stage = tmp_path / "stage"
    work = tmp_path / "src"
    # A copy, so the build leaves nothing in the checkout.
    shutil.copytree(REPO, work, ignore=shutil.ignore_patterns(
        ".venv", ".git", "run", "build", "*.egg-info", "__pycache__", ".hypothesis"))
    res = subprocess.run([bmake, "install", f"DESTDIR={stage}", "PREFIX=/usr/local",
                          f"PYTHON={sys.executable}"], cwd=work, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    prefix = stage / "usr" / "local"
    for rel in ("sbin/hvd", "bin/hv", "etc/rc.d/hvd", "etc/hvd.conf.sample",
                "share/man/man1/hv.1", "share/man/man5/hvd.conf.5", "share/man/man8/hvd.8",
                "share/yang/hvd-vm.yang", "share/yang/hvd-network.yang",
                "share/yang/hvd-types.yang", "share/yang/hvd-system.yang",
                "share/yang/ietf/ietf-netconf-monitoring.yang"):
        assert (prefix / rel).is_file(), rel
    assert not (prefix / "bin" / "hvd").exists()
    rc = (prefix / "etc" / "rc.d" / "hvd").read_text()
    assert "%%PREFIX%%" not in rc and "/usr/local/sbin/hvd" in rc
    assert (prefix / "etc" / "rc.d" / "hvd").stat().st_mode & 0o777 == 0o555
