"""`hv info VM` (issue 20, item 7): one screen with settings, state, disks with their use,
NICs with taps and bridges, snapshots; and --json."""

from __future__ import annotations

import json
from collections.abc import Callable

from e2e.helpers import guest_ready, standin
from support.server import HvdInstance

from hvd_netconf.host.sim.host import SimHost
from tests.cli.conftest import Result


def test_info_of_a_running_vm(hvd: HvdInstance, hv: Callable[..., Result]) -> None:
    for line in ("create network lan 0", "create vm web 2 1024", "add disk web d0 1G",
                 "add nic web nic0 lan mac 58:9c:fc:00:00:07", "snapshot web base"):
        assert hv(line).status == 0, line
    with open(SimHost(hvd.root).zvol_file("zroot/hv/vm/web/disks/d0"), "r+b") as f:
        f.write(b"x" * 8192)  # the guest wrote 8 KiB
    standin(hvd.root, "web")
    assert hv("start web").status == 0
    guest_ready(hvd.root, "web")
    r = hv("info web")
    assert r.status == 0, r.err
    lines = r.out.splitlines()
    assert lines[0].startswith("vm web: running (pid ")
    assert lines[1] == f"  console {hvd.root}/.sim/dev/nmdm-web.1B (hv console web)"
    disk = lines[lines.index("disks") + 2].split()
    assert disk == ["d0", "1.0G", "8.0K", "virtio-blk", "/dev/zvol/zroot/hv/vm/web/disks/d0"]
    nic = lines[lines.index("nics") + 2].split()
    assert nic == ["nic0", "58:9c:fc:00:00:07", "lan", "hv-lan", "tap0", "virtio-net"]
    assert lines[lines.index("snapshots") + 2].split()[0] == "base"

    data = json.loads(hv("info web --json").out)
    assert data["vm"]["cpu"] == 2 and data["vm"]["state"]["status"] == "running"
    assert data["disks"] == [{"name": "d0", "device": "/dev/zvol/zroot/hv/vm/web/disks/d0",
                              "volsize": str(1 << 30), "used": "8192"}]
    assert data["nics"][0]["tap"] == "tap0" and data["snapshots"][0]["hvd-made"] is True
    assert hv("stop web --force").status == 0
    assert hv("info nope").err == "hv: no vm named 'nope'\n"


def test_info_of_the_host(hvd: HvdInstance, hv: Callable[..., Result]) -> None:
    for line in ("create network lan 0", "create vm web 2 1024", "create vm db 1 512"):
        assert hv(line).status == 0, line
    lines = hv("info").out.splitlines()
    assert lines[0] == "host" and any(line.split()[:2] == ["backend", "sim"] for line in lines)
    vms = lines.index("vms (2)")
    assert [line.split()[0] for line in lines[vms + 2:vms + 4]] == ["db", "web"]
    assert "networks (1)" in lines
    data = json.loads(hv("info --json").out)
    assert data["host"]["backend"] == "sim" and data["host"]["simulated"] is True
    assert [v["name"] for v in data["vms"]] == ["db", "web"]
    assert [n["name"] for n in data["networks"]] == ["lan"]
