"""docs/examples/ncclient_remote.py, as docs/remote.md prints it, run against a child hvd over
SSH from the operator's home (key and pinned host key); the server's side is checked after
`up` and after `down`."""

from __future__ import annotations

import sys

import pytest
from e2e.helpers import alive, sim_state, vm_state
from interop.remote import REPO, USER, ClientHome, RemoteHvd, run_tool
from lxml import etree

from hvd_netconf.namespaces import NETWORK, VM

pytestmark = pytest.mark.interop

SCRIPT = REPO / "docs" / "examples" / "ncclient_remote.py"
N = {"vm": VM, "net": NETWORK}


def example(hvd: RemoteHvd, home: ClientHome, action: str) -> str:
    p = run_tool([sys.executable, str(SCRIPT), "127.0.0.1", str(hvd.port), action], home,
                 timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


def test_ncclient_example_up_and_down(remote_hvd: RemoteHvd, client_home: ClientHome) -> None:
    hvd = remote_hvd
    assert example(hvd, client_home, "up") == "web is running\n"
    m = hvd.uds()
    data = etree.fromstring(m.get_config("running").xml.encode())
    assert data.xpath("//vm:vm/vm:name/text()", namespaces=N) == ["web"]
    assert data.xpath("//vm:vm/vm:memory/text()", namespaces=N) == ["1024"]
    assert data.xpath("//net:network/net:name/text()", namespaces=N) == ["lan"]
    state = vm_state(m, "web")
    assert state["status"] == "running"
    pid = int(state["pid"])
    assert set(sim_state(hvd.root)["vmm"]) == {"web"}
    # The confirmed commit and its confirmation: one commit in the history, by `ops`.
    [commit] = hvd.history()
    assert commit["user"] == USER and commit["source"] == "commit"
    assert commit["changes"] == [("network", "lan", "create"), ("vm", "web", "create")]

    assert example(hvd, client_home, "down") == "web is gone\n"
    reply = etree.fromstring(m.get_config("running").xml.encode())
    assert [len(data) for data in reply] == [0]
    assert not alive(pid) and sim_state(hvd.root)["vmm"] == {}
    assert not (hvd.root / "vm/web/config.xml").exists()
    assert hvd.history()[0]["changes"] == [("network", "lan", "delete"),
                                           ("vm", "web", "delete")]


def test_ncclient_example_refuses_an_unknown_host_key(remote_hvd: RemoteHvd,
                                                      client_home: ClientHome) -> None:
    """The example checks host keys: with another key pinned for the address, it stops before
    logging in and nothing changes on the server."""
    known = client_home.path / ".ssh" / "known_hosts"
    other = ClientHome.create(client_home.path / "other").public_key.read_text().split()
    known.write_text(f"[127.0.0.1]:{remote_hvd.port} {other[0]} {other[1]}\n")
    p = run_tool([sys.executable, str(SCRIPT), "127.0.0.1", str(remote_hvd.port), "up"],
                 client_home, timeout=60)
    assert p.returncode != 0 and "Unknown host key" in p.stderr, p.stdout + p.stderr
    assert remote_hvd.history() == []
