"""Issue 24 item 3 over NETCONF on the sim: a private network with DHCP gets a supervised
dnsmasq stand-in with the generated files, shows it and its leases in its state, restarts it
when it is killed, and when its static leases or settings change; a rollback leaves the
files exactly as before; a dnsmasq that fails to start fails the commit with its words; the
ranges and static leases are checked at validation; a restarted hvd ends a dnsmasq a killed
one left."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from e2e.helpers import config, network_xml, vm_xml
from lxml import etree
from ncclient.operations import RPCError
from support.server import HvdInstance, start_hvd
from support.waiting import wait_for

from hvd_netconf.host import dnsmasq
from hvd_netconf.host.sim.host import SimHost
from hvd_netconf.namespaces import NETWORK

N = {"n": NETWORK}
DHCP = ("<dhcp><range-start>10.0.0.100</range-start><range-end>10.0.0.200</range-end>"
        "<domain>lab.example</domain></dhcp>")


def lan(dhcp: str = DHCP) -> str:
    return network_xml("lan", addresses=("10.0.0.1/24",), extra=dhcp)


def web(address: str = "10.0.0.10") -> str:
    return vm_xml("web", extra=(f"<nic><name>n0</name><network>lan</network>"
                                f"<mac>58:9c:fc:00:00:01</mac><dhcp-address>{address}"
                                "</dhcp-address></nic>"))


def state(m) -> tuple[str | None, list[tuple[str | None, ...]]]:  # type: ignore[no-untyped-def]
    reply = m.get(filter=("subtree", f"<networks xmlns='{NETWORK}'><network><name>lan</name>"
                                     "<state/></network></networks>"))
    data = etree.fromstring(reply.xml.encode())
    leases = [tuple(le.findtext(f"n:{k}", namespaces=N) for k in ("mac", "address", "hostname"))
              for le in data.iterfind(".//n:lease", N)]
    return data.findtext(".//n:dhcp-server", namespaces=N), leases


def pid(m) -> int:  # type: ignore[no-untyped-def]
    server, _ = state(m)
    assert server is not None and server.startswith("running (pid "), server
    return int(server.removeprefix("running (pid ").rstrip(")"))


def files(root: Path) -> dict[str, str]:
    d = root / ".hvd" / "dnsmasq"
    return {p.name: p.read_text() for p in sorted(d.glob("lan.*"))} if d.exists() else {}


def test_a_private_network_with_dhcp(vmhvd: HvdInstance) -> None:
    root, m = vmhvd.root, vmhvd.connect_uds()
    m.edit_config(config(networks=lan(), vms=web()), target="running")
    first = pid(m)
    made = files(root)
    assert "\ndhcp-host=58:9c:fc:00:00:01,web,10.0.0.10\n" in made["lan.conf"]
    assert "lan.hosts" not in made  # the leases are in the configuration, read as root
    assert "dhcp-range=10.0.0.100,10.0.0.200,255.255.255.0,3600\n" in made["lan.conf"]
    wait_for(lambda: state(m)[1] == [("58:9c:fc:00:00:01", "10.0.0.10", "web")],
             what="the static lease")
    # killed: restarted by hvd
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: state(m)[0] not in (None, f"running (pid {first})")
             and (state(m)[0] or "").startswith("running"), what="dnsmasq to be restarted")
    second = pid(m)
    # a static lease changes: dnsmasq restarted with it (SIGHUP does not re-read the file)
    m.edit_config(config(vms=web("10.0.0.11")), target="running")
    assert pid(m) != second
    second = pid(m)
    wait_for(lambda: state(m)[1] == [("58:9c:fc:00:00:01", "10.0.0.11", "web")],
             what="the new static lease")
    # the range changes: restarted with the new configuration, and a rollback puts back
    # exactly the files there were
    before = files(root)
    m.edit_config(config(networks=lan(DHCP.replace("10.0.0.200", "10.0.0.150"))),
                  target="running")
    assert pid(m) != second and "10.0.0.100,10.0.0.150," in files(root)["lan.conf"]
    m.edit_config(config(networks=lan()), target="running")  # back as it was
    assert files(root)["lan.conf"] == before["lan.conf"]
    # without dhcp: stopped, its files gone
    m.edit_config(config(networks=network_xml("lan", addresses=("10.0.0.1/24",),
                                              op="replace")), target="running")
    assert state(m) == (None, []) and files(root) == {}


def test_a_dnsmasq_that_cannot_start_fails_the_commit(vmhvd: HvdInstance) -> None:
    from hvd_netconf.host.sim.host import SimHost

    root, m = vmhvd.root, vmhvd.connect_uds()
    SimHost(root).inject_fault(("dnsmasq", "--test"),
                               "dnsmasq: bad option at line 3 of /x.conf\n")
    with pytest.raises(RPCError) as e:
        m.edit_config(config(networks=lan()), target="running")
    assert "dnsmasq refused its configuration: dnsmasq: bad option at line 3 of /x.conf" in \
        str(e.value.message)
    assert "lan" not in m.get_config("running").xml
    assert "hv-lan" not in SimHost(root).state()["interfaces"]  # the bridge was undone too


@pytest.mark.parametrize(("network", "vms", "message"), [
    (lan(DHCP.replace("10.0.0.200", "10.0.1.5")), "",
     "network lan: the DHCP range 10.0.0.100-10.0.1.5 goes past 10.0.0.0/24, the prefix of "
     "the network's address 10.0.0.1/24"),
    (lan(DHCP.replace("10.0.0.100", "10.7.0.1")), "",
     "network lan: the DHCP range's start 10.7.0.1 is in none of the network's IPv4 prefixes "
     "(10.0.0.0/24)"),
    (lan(DHCP.replace("10.0.0.100", "10.0.0.250")), "",
     "network lan: the DHCP range starts at 10.0.0.250, after its end 10.0.0.200"),
    (lan(), web("10.0.0.150"),
     "network lan: the DHCP range 10.0.0.100-10.0.0.200 holds 10.0.0.150, the static lease "
     "of vm web nic n0"),
    (lan(), web("10.0.5.1"),
     "nic n0 of VM web: 10.0.5.1 is not a guest's address in 10.0.0.0/24, network lan's "
     "prefix"),
    (network_xml("lan", addresses=("10.0.0.1/24",)), web(),
     "nic n0 of VM web: network lan has no DHCP server to give it dhcp-address"),
])
def test_ranges_and_leases_are_checked(vmhvd: HvdInstance, network: str, vms: str,
                                       message: str) -> None:
    m = vmhvd.connect_uds()
    with pytest.raises(RPCError) as e:
        m.edit_config(config(networks=network, vms=vms), target="running")
    assert message in str(e.value.message) or message in str(e.value)


def test_an_address_a_forward_and_dhcp_in_one_commit_and_its_rollback(
        vmhvd: HvdInstance) -> None:
    """The issue's own case: one commit adds an address, a forward and a DHCP range; its
    rollback leaves the sim's interfaces, pf anchors and dnsmasq files exactly as before."""
    from e2e.helpers import sim_state
    from e2e.test_network_features import rollback_to

    root, m = vmhvd.root, vmhvd.connect_uds()
    nat = "<nat>em1</nat><ip-forwarding>true</ip-forwarding>"
    m.edit_config(config(networks=network_xml("lan", addresses=("10.9.0.1/24",), extra=nat)),
                  target="running")
    before, dns_before = sim_state(root), files(root)
    fwd = ("<forward><protocol>tcp</protocol><host-port>8080</host-port>"
           "<guest-address>10.0.0.5</guest-address><guest-port>80</guest-port></forward>")
    m.edit_config(config(networks=network_xml(
        "lan", addresses=("10.0.0.1/24", "10.9.0.1/24"), extra=nat + fwd + DHCP)),
        target="running")
    assert pid(m) > 0 and files(root)["lan.conf"].count("dhcp-range=") == 1
    assert sim_state(root)["pf-anchors"] != before["pf-anchors"]
    rollback_to(m, len(vmhvd.server.datastores.history.list()) - 1)
    assert sim_state(root)["interfaces"] == before["interfaces"]
    assert sim_state(root)["pf-anchors"] == before["pf-anchors"]
    assert files(root) == dns_before == {} and state(m) == (None, [])


def _alive(p: int) -> bool:
    try:
        return bool(Path(f"/proc/{p}/cmdline").read_bytes())  # empty: a zombie
    except OSError:
        return False


def test_a_restarted_hvd_ends_what_a_killed_one_left(vmhvd: HvdInstance) -> None:
    """A killed hvd cannot stop its dnsmasq: the next one finds the pid it recorded, checks
    with ps that it is still that server, ends it, and starts the network's own again; one
    for a network without DHCP now is ended and its files go."""
    root, m = vmhvd.root, vmhvd.connect_uds()
    m.edit_config(config(networks=lan(), vms=web()), target="running")
    first = pid(m)
    # a server of a network since gone, running, its pid recorded, as a killed hvd leaves it
    old = dnsmasq.Files.of(root / ".hvd", "old")
    Path(old.conf).write_text("interface=hv-lan\nbind-interfaces\nport=0\n"
                              "dhcp-range=10.0.0.10,10.0.0.20,600\n")
    left = SimHost(root).spawn(dnsmasq.argv(old), log_path=Path(old.conf + ".left"))
    Path(old.pid).write_text(f"{left.pid}\n")
    vmhvd.running.server.dhcp = None  # hvd "killed": it stops no server of its own
    vmhvd.stop()
    assert _alive(first)
    again = start_hvd(root.parent, ssh=False)
    try:
        assert left.wait(timeout=30) == 0  # SIGTERM, as dnsmasq ends
        wait_for(lambda: not _alive(first), what="the left lan server to end")
        assert pid(again.connect_uds()) != first
        names = sorted(p.name for p in (root / ".hvd" / "dnsmasq").iterdir())
        assert [n for n in names if n.startswith("old")] == ["old.conf.left"]
    finally:
        again.stop()
        if left.poll() is None:
            left.kill()
            left.wait()
        if _alive(first):  # the test failed before the new hvd ended it
            os.kill(first, signal.SIGKILL)
