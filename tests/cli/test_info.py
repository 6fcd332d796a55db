"""`hv info VM` (issue 20, item 7): one screen with settings, state, disks with their use,
NICs with taps and bridges, snapshots; and --json."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from e2e.helpers import guest_ready, standin
from ncclient.operations import RPCError
from ncclient.xml_ import to_ele
from support.server import HvdInstance

from hvd_netconf.host.sim.host import SimHost
from hvd_netconf.namespaces import BASE, NACM, TEMPLATE, VM
from hvd_netconf.users import UserDB
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


def test_readers_may_list_and_see_what_they_may_read(hvd: HvdInstance,
                                                     hv: Callable[..., Result]) -> None:
    """Without /nacm, a user outside the admin group may run the read RPCs (list-isos,
    list-templates, vm-info) but not install; with a rule hiding a VM, vm-info of it is
    refused as get-vm-log is."""
    assert hv("create vm web 1 256").status == 0
    UserDB.for_root(hvd.root).add("viewer", password="pw-viewer", groups=["staff"])
    ssh = hvd.connect_ssh(username="viewer", password="pw-viewer")
    for rpc in (f'<list-isos xmlns="{VM}"/>', f'<list-templates xmlns="{TEMPLATE}"/>',
                f'<vm-info xmlns="{VM}"><name>web</name></vm-info>'):
        ssh.dispatch(to_ele(rpc))
    with pytest.raises(RPCError) as e:
        ssh.dispatch(to_ele(f'<install-vm xmlns="{VM}"><name>web</name><iso>/etc/hostname'
                            "</iso></install-vm>"))
    assert e.value.tag == "access-denied"
    m = hvd.connect_uds()
    m.edit_config(target="running", config=to_ele(
        f'<config xmlns="{BASE}"><nacm xmlns="{NACM}">'
        "<enable-nacm>true</enable-nacm><read-default>permit</read-default>"
        "<exec-default>permit</exec-default>"
        "<groups><group><name>staff</name><user-name>viewer</user-name></group></groups>"
        "<rule-list><name>staff</name><group>staff</group>"
        "<rule><name>hide-web</name><module-name>hvd-vm</module-name>"
        "<path xmlns:v=\"urn:hvd:vm\">/v:vms/v:vm[v:name='web']</path>"
        "<access-operations>read</access-operations><action>deny</action></rule>"
        "</rule-list></nacm></config>"))
    with pytest.raises(RPCError) as e:
        ssh.dispatch(to_ele(f'<vm-info xmlns="{VM}"><name>web</name></vm-info>'))
    assert e.value.tag == "access-denied"


def test_info_shows_the_screen_and_the_limits(hvd: HvdInstance,
                                              hv: Callable[..., Result]) -> None:
    m = hvd.connect_uds()
    m.edit_config(target="running", config=(
        f'<config xmlns="{BASE}"><vms xmlns="{VM}"><vm><name>gfx</name><graphics/>'
        "<limits><cpu-percent>50</cpu-percent></limits></vm></vms></config>"))
    standin(hvd.root, "gfx")
    assert hv("start gfx").status == 0
    guest_ready(hvd.root, "gfx")
    lines = hv("info gfx").out.splitlines()
    vnc = hv("vnc gfx").out.strip()
    assert f"  screen: VNC {vnc} (hv vnc gfx)" in lines
    assert "  limits: cpu-percent 50" in lines
    assert hv("stop gfx --force").status == 0
