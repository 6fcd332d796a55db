"""Ansible (ansible.netcommon netconf_config, netconf_rpc, netconf_get) drives a fleet of three
hvds over SSH, running the playbook and inventory of docs/remote.md as they are written.

The documented inventory names hv1..hv3.example.net; a second inventory layered on top (host
variables win) only points those names at the loopback ports. Host keys are checked against
the operator's known_hosts and the key is the documented ~/.ssh/id_ed25519 of a tmp HOME.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from e2e.helpers import alive, sim_state, vm_state
from interop.remote import REPO, USER, ClientHome, RemoteHvd, run_tool
from lxml import etree

from hvd_netconf.namespaces import NETWORK, VM

pytestmark = pytest.mark.interop

EXAMPLES = REPO / "docs" / "examples" / "ansible"
HOSTS = ("hv1.example.net", "hv2.example.net", "hv3.example.net")
N = {"vm": VM, "net": NETWORK}


def playbook(home: ClientHome, fleet: list[RemoteHvd], *args: str) -> str:
    overlay = home.path / "loopback.yml"
    overlay.write_text("hypervisors:\n  hosts:\n" + "".join(
        f"    {name}: {{ansible_host: 127.0.0.1, ansible_port: {hvd.port}}}\n"
        for name, hvd in zip(HOSTS, fleet, strict=True)))
    p = run_tool([str(Path(home.env()["PATH"].split(":")[0]) / "ansible-playbook"),
                  "-i", str(EXAMPLES / "inventory.yml"), "-i", str(overlay),
                  str(EXAMPLES / "vm-lifecycle.yml"), *args],
                 home, env=home.env(ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0"))
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


def recap(out: str) -> dict[str, str]:
    """PLAY RECAP lines: host -> `ok=.. changed=.. failed=..`."""
    tail = out.split("PLAY RECAP", 1)[1]
    return {line.split()[0]: " ".join(line.split()[2:]) for line in tail.splitlines()[1:]
            if line.strip()}


def test_playbook_runs_a_vm_on_three_hosts(remote_hvds: Callable[[int], list[RemoteHvd]],
                                           client_home: ClientHome) -> None:
    fleet = remote_hvds(3)

    t0 = time.monotonic()
    out = playbook(client_home, fleet, "--tags", "up")
    up_seconds = time.monotonic() - t0
    counts = recap(out)
    assert sorted(counts) == sorted(HOSTS), out
    for name in HOSTS:
        assert "ok=4 changed=1 unreachable=0 failed=0" in counts[name], out

    pids = []
    for name, hvd in zip(HOSTS, fleet, strict=True):
        m = hvd.uds()
        data = etree.fromstring(m.get_config("running").xml.encode())
        assert data.xpath("//net:network/net:name/text()", namespaces=N) == ["lan"]
        vm = data.find(".//vm:vm", N)
        assert vm is not None and vm.findtext("vm:name", namespaces=N) == "web"
        assert vm.findtext("vm:description", namespaces=N) == f"deployed by Ansible on {name}"
        assert vm.findtext("vm:memory", namespaces=N) == "256"
        assert vm.xpath("vm:nic/vm:network/text()", namespaces=N) == ["lan"]
        assert "<name>web</name>" in (hvd.root / "vm/web/config.xml").read_text()
        assert (hvd.root / "networks/lan/config.xml").exists()
        state = vm_state(m, "web")
        assert state["status"] == "running" and state["tap"] == ["tap0"], state
        pid = int(state["pid"])
        assert alive(pid)
        pids.append(pid)
        host = sim_state(hvd.root)
        assert set(host["vmm"]) == {"web"}
        assert host["interfaces"]["hv-lan"]["members"] == ["tap0"]
        [commit] = hvd.history()
        assert commit["user"] == USER and commit["source"] == "commit", commit
        assert commit["changes"] == [("network", "lan", "create"), ("vm", "web", "create")]
        # netconf_config locked the candidate; the lock went with Ansible's session.
        m.lock("candidate")
        m.unlock("candidate")
    assert len(set(pids)) == 3, "one guest per host"

    t0 = time.monotonic()
    out = playbook(client_home, fleet, "--tags", "down")
    down_seconds = time.monotonic() - t0
    for name in HOSTS:
        assert "ok=2 changed=1 unreachable=0 failed=0" in recap(out)[name], out

    for hvd, pid in zip(fleet, pids, strict=True):
        m = hvd.uds()
        data = etree.fromstring(m.get_config("running").xml.encode())
        assert data.find(".//vm:vms", N) is None and data.find(".//net:networks", N) is None
        assert vm_state(m, "web") == {"tap": []}
        assert not (hvd.root / "vm/web/config.xml").exists()
        assert not (hvd.root / "networks/lan").exists()
        assert not alive(pid)
        host = sim_state(hvd.root)
        assert host["vmm"] == {} and "hv-lan" not in host["interfaces"]
        latest = hvd.history()[0]
        assert latest["user"] == USER
        assert latest["changes"] == [("network", "lan", "delete"), ("vm", "web", "delete")]
    print(f"ansible: up {up_seconds:.1f} s, down {down_seconds:.1f} s for {len(fleet)} hosts")

    # The whole playbook at once (as docs/remote.md runs it first), on one host: the play's
    # own assert saw the VM running between the two commits, and nothing is left.
    out = playbook(client_home, fleet, "--limit", HOSTS[0])
    assert "ok=6 changed=2 unreachable=0 failed=0" in recap(out)[HOSTS[0]], out
    hvd = fleet[0]
    assert [c["changes"] for c in hvd.history()[:2]] == [
        [("network", "lan", "delete"), ("vm", "web", "delete")],
        [("network", "lan", "create"), ("vm", "web", "create")]]
    assert sim_state(hvd.root)["vmm"] == {} and not (hvd.root / "vm/web/config.xml").exists()
