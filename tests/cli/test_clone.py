"""`hv clone`: a linked clone by default, `--full` for an independent copy, with --json."""

from __future__ import annotations

import json
from collections.abc import Callable

from support.server import HvdInstance

from hvd_netconf.host.sim.host import SimHost
from tests.cli.conftest import Result


def test_clone_linked_then_full(hvd: HvdInstance, hv: Callable[..., Result]) -> None:
    for line in ("create vm web 1 256", "add disk web d0 1G", "snapshot web base"):
        assert hv(line).status == 0, line
    with open(SimHost(hvd.root).zvol_file("zroot/hv/vm/web/disks/d0"), "r+b") as f:
        f.write(b"later")  # after the snapshot
    r = hv("clone web web2 snapshot base")
    assert (r.status, r.out) == (0, "vm web2 cloned from zroot/hv/vm/web@base, linked: the "
                                    "snapshot is kept while the clone exists; commit 3\n"), r.err
    r = hv("clone web web3 --full --json")
    got = json.loads(r.out)
    assert r.status == 0 and got["linked"] is False and got["commit-id"] == "4"
    assert got["snapshot"] == "zroot/hv/vm/web@hvd-clone-web3"
    assert got["disks"] == ["zroot/hv/vm/web3/disks/d0"] and int(got["bytes"]) > 0
    with open(SimHost(hvd.root).zvol_file("zroot/hv/vm/web3/disks/d0"), "rb") as f:
        assert f.read(5) == b"later"
    assert hv("clone web web2").err == "hv: a VM named 'web2' is configured already\n"
    assert {"web", "web2", "web3"} <= set(hv("list vm").out.split())


def test_clone_vm_at_snapshot(hvd: HvdInstance, hv: Callable[..., Result]) -> None:
    """`hv clone VM@SNAP NEW`, as zfs names a snapshot: the same clone as `snapshot SNAP`."""
    for line in ("create vm web 1 256", "add disk web d0 1G", "snapshot web base"):
        assert hv(line).status == 0, line
    r = hv("clone web@base web2")
    assert (r.status, r.out) == (0, "vm web2 cloned from zroot/hv/vm/web@base, linked: the "
                                    "snapshot is kept while the clone exists; commit 3\n"), r.err
    r = hv("clone web@base web3 snapshot base")
    assert r.status != 0 and "give the snapshot once" in r.err
    r = hv("clone web@no/such web3")
    assert r.status != 0 and "snapshot" in r.err
    assert hv("help clone").out.splitlines()[0] == "clone <vm> <name> [snapshot SNAPSHOT] [--full]"


def test_a_full_clone_on_a_terminal_shows_a_bar_and_can_be_cancelled(
        hvd: HvdInstance, hv: Callable[..., Result]) -> None:
    import os
    import sys

    import pexpect

    for line in ("create vm web 1 256", "add disk web d0 1G"):
        assert hv(line).status == 0, line
    sim = SimHost(hvd.root)
    with open(sim.zvol_file("zroot/hv/vm/web/disks/d0"), "r+b") as f:
        f.write(os.urandom(8 << 20))
    sim.inject_fault(("zfs", "send", "-L"), "", delay=0.4)  # the stream, not its estimate
    child = pexpect.spawn(sys.executable, ["-m", "hv_cli.main", "--socket",
                                           str(hvd.socket_path), "clone", "web", "web2",
                                           "--full"],
                          encoding="utf-8", timeout=30, env=dict(os.environ, TERM="dumb"))
    child.expect(r"cloning web as web2 \(full copy\)… d0 \[#*\.*\] +[0-9]+% ")
    r = hv("backup cancel web2")
    assert r.status == 0 and r.out.startswith("cancelled job "), r.err
    child.expect(r"the clone of VM web2 was cancelled by session [0-9]+")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1
    assert "web2" not in hv("list vm").out  # withdrawn by a second commit
    assert not [d for d in sim.state()["datasets"] if "web2" in d]
