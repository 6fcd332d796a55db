"""`hv backup`, `hv backup list` and `hv restore` one-shot, with --json."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from support.server import HvdInstance

from hvd_netconf.host.sim.host import SimHost
from tests.cli.conftest import Result


def _web_and_target(hvd: HvdInstance, hv: Callable[..., Result], directory: Path) -> None:
    """VM web with a 1G disk, and a directory backup target `files`."""
    for line in ("create vm web 1 256", "add disk web d0 1G"):
        assert hv(line).status == 0, line
    hvd.connect_uds().edit_config(target="running", config=(
        '<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><backup-targets '
        f'xmlns="urn:hvd:vm"><backup-target><name>files</name><directory>{directory}'
        "</directory></backup-target></backup-targets></config>"))


def test_backup_list_verify_restore(hvd: HvdInstance, hv: Callable[..., Result],
                                    tmp_path: Path) -> None:
    _web_and_target(hvd, hv, tmp_path)
    with open(SimHost(hvd.root).zvol_file("zroot/hv/vm/web/disks/d0"), "r+b") as f:
        f.write(b"payload")
    r = hv("backup web files")
    assert r.status == 0 and r.out.startswith("backup hvd-backup-") and ": full, " in r.out, \
        r.err
    got = json.loads(hv("backup web files --json").out)
    assert got["base"].startswith("hvd-backup-") and int(got["bytes"]) > 0
    listed = hv("backup list files").out.splitlines()
    assert listed[0].split() == ["VM", "BACKUP", "BASE", "BYTES"] and len(listed) == 3
    assert listed[2].split()[2] == got["base"]
    r = hv("restore files web --verify")
    assert (r.status, r.out) == (0, f"backup {got['backup']} of vm web is whole: 2 streams "
                                    "checked\n"), r.err
    r = hv("restore files web web2")
    assert r.status == 0 and r.out.startswith(f"vm web2 restored from backup {got['backup']}")
    with open(SimHost(hvd.root).zvol_file("zroot/hv/vm/web2/disks/d0"), "rb") as f:
        assert f.read(7) == b"payload"
    assert hv("restore files web").err == "hv: a VM named 'web' is configured already\n"


def test_a_backup_on_a_terminal_shows_a_bar_and_can_be_cancelled(
        hvd: HvdInstance, hv: Callable[..., Result], tmp_path: Path) -> None:
    """On a terminal, `hv backup` draws its job's bar (disk, percentage of the estimate, bytes)
    read over a second session; `hv backup jobs` lists it; `hv backup cancel` stops it, and
    the first hv exits 1 saying who cancelled."""
    import os
    import sys

    import pexpect

    _web_and_target(hvd, hv, tmp_path / "files")
    sim = SimHost(hvd.root)
    with open(sim.zvol_file("zroot/hv/vm/web/disks/d0"), "r+b") as f:
        f.write(os.urandom(8 << 20))
    assert hv("backup jobs").out == "no backup or restore is under way\n"
    sim.inject_fault(("zfs", "send", "-L"), "", delay=0.4)  # the stream, not its estimate
    child = pexpect.spawn(sys.executable, ["-m", "hv_cli.main", "--socket",
                                           str(hvd.socket_path), "backup", "web", "files"],
                          encoding="utf-8", timeout=30, env=dict(os.environ, TERM="dumb"))
    child.expect(r"backing web up to files… d0 \[#*\.*\] +[0-9]+% [0-9.]+ [KM]iB of "
                 r"8\.[0-9] MiB [0-9]+s")
    jobs = hv("backup jobs").out.splitlines()
    assert jobs[0].split() == ["JOB", "VM", "WHAT", "TARGET", "DISK", "BYTES", "OF", "STARTED"]
    assert jobs[1].split()[1:5] == ["web", "backup", "files", "d0"]
    r = hv("backup cancel web")
    assert r.status == 0 and r.out.startswith(f"cancelled job {jobs[1].split()[0]} of vm web")
    child.expect(r"the backup of VM web was cancelled by session [0-9]+ after [0-9]+ bytes "
                 r"of disk d0; what it made is removed")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1
    assert [p for p in (tmp_path / "files").rglob("*") if p.is_file()] == []
    assert hv("backup cancel web").err == "hv: VM web has no backup or restore under way\n"


def test_restore_replace_says_what_it_destroys(hvd: HvdInstance, hv: Callable[..., Result],
                                               tmp_path: Path) -> None:
    _web_and_target(hvd, hv, tmp_path / "files")
    assert hv("backup web files").status == 0
    assert hv("snapshot web s1").status == 0
    r = hv("restore files web --replace")  # no terminal to ask on
    assert r.status != 0 and "this will replace the configuration and every disk of vm web " \
        "by the backup's, destroying what is on them now and the 1 snapshot of vm web" in r.err
    assert "pass --yes to do it" in r.err
    r = hv("restore files web --replace --yes")
    assert r.status == 0 and r.out.startswith("vm web restored from backup hvd-backup-"), r.err
    assert ", replacing d0 (and 1 snapshot of it); commit " in r.out
