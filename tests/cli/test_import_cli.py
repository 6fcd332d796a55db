"""`hv import vm-bhyve DIR` as an operator runs it: without a terminal and without --yes it
shows what it would import and what it leaves, and refuses; with --yes it commits."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from e2e.test_vmbhyve_import import vm_bhyve_tree
from support.server import HvdInstance


def hv(hvd: HvdInstance, *words: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hv_cli", "--socket", str(hvd.socket_path),
                           *words], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)


def test_import_asks_first_then_commits_with_yes(hvd: HvdInstance, tmp_path: Path) -> None:
    vm_dir = vm_bhyve_tree(tmp_path)
    first = hv(hvd, "import", "vm-bhyve", str(vm_dir))
    assert first.returncode != 0
    assert "would import 3 VMs (deb, old, win) and 2 networks (public, lan)" in first.stderr
    assert "vm fbsd: disk0_dev='zvol': a zvol below the guest's dataset" in first.stderr
    assert "vm fbsd: name='': a disk of this VM cannot be adopted" in first.stderr
    assert "refusing to import 3 VMs and 2 networks from vm-bhyve without a terminal" \
        in first.stderr
    assert "<name>deb</name>" not in hvd.connect_uds().get_config("running").xml
    done = hv(hvd, "--yes", "import", "vm-bhyve", str(vm_dir))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("imported 3 VMs and 2 networks; commit ")
    assert "<name>deb</name>" in hvd.connect_uds().get_config("running").xml
