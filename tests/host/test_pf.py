"""pfctl(8) and sysctl(8) argv and the generated pf.conf(5) rules of a NAT network (golden),
and the sim's pfctl: anchors loaded from stdin, shown and flushed, syntax errors in pfctl's
words with nothing loaded."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from hvd_netconf.host import constraints, pf, specs, sysctl
from hvd_netconf.host.backend import CommandFailed
from hvd_netconf.host.sim.host import SimHost
from hvd_netconf.namespaces import NETWORK


def net(body: str) -> specs.NetworkSpec:
    return specs.read_network(etree.fromstring(
        f'<network xmlns="{NETWORK}"><name>lan</name>{body}</network>'))


NAT = ("<address>10.0.0.1/24</address><address>fd00:1::1/64</address>"
       "<address>192.168.5.1/24</address><nat>em0</nat>"
       "<forward><protocol>tcp</protocol><host-port>8080</host-port>"
       "<guest-address>10.0.0.5</guest-address><guest-port>80</guest-port></forward>"
       "<forward><protocol>udp</protocol><host-port>53</host-port>"
       "<guest-address>10.0.0.6</guest-address></forward>")

RULES = (
    "# hvd network lan: generated from its configuration, replaced on every commit\n"
    "nat on em0 inet from 10.0.0.0/24 to any -> (em0)\n"
    "nat on em0 inet from 192.168.5.0/24 to any -> (em0)\n"
    "rdr pass on em0 inet proto tcp from any to (em0) port 8080 -> 10.0.0.5 port 80\n"
    "rdr pass on em0 inet proto udp from any to (em0) port 53 -> 10.0.0.6 port 53\n")


def test_argv_from_the_manual_pages() -> None:
    """pfctl(8): -a anchor, -f file ('-' is stdin), -F all, -s nat; sysctl(8): name=value."""
    assert pf.load("lan") == ("pfctl", "-a", "hvd/lan", "-f", "-")
    assert pf.flush("lan") == ("pfctl", "-a", "hvd/lan", "-F", "all")
    assert pf.show("lan") == ("pfctl", "-a", "hvd/lan", "-s", "nat")
    assert sysctl.write("net.inet.ip.forwarding", "1") == ("sysctl", "net.inet.ip.forwarding=1")


def test_generated_rules() -> None:
    """pf.conf(5): `nat on IF inet from PREFIX to any -> (IF)` per IPv4 prefix (IPv6 is not
    translated), `rdr pass on IF inet proto P from any to (IF) port N -> GUEST port M`."""
    assert pf.rules(net(NAT)) == RULES
    assert pf.rules(net("<address>10.0.0.1/24</address>")) is None


@pytest.fixture
def host(tmp_path: Path) -> SimHost:
    return SimHost(tmp_path)


def test_sim_loads_shows_and_flushes_anchors(host: SimHost) -> None:
    before = host.state()
    host.run(pf.load("lan"), stdin=RULES)
    assert host.run(pf.show("lan")) == "".join(
        line + "\n" for line in RULES.splitlines()[1:])
    assert host.state()["pf-anchors"]["hvd/lan"][0] == (
        "nat on em0 inet from 10.0.0.0/24 to any -> (em0)")
    host.run(pf.load("lan"), stdin="# nothing\n")  # a load replaces the anchor's rules
    assert host.run(pf.show("lan")) == ""
    host.run(pf.flush("lan"))
    assert host.state() == before
    # a command logged with its stdin is replayed with it by another process
    host.run(pf.load("lan"), stdin=RULES)
    assert SimHost(host.dir.parent).run(pf.show("lan")).count("\n") == 4


def test_sim_syntax_errors_load_nothing(host: SimHost) -> None:
    bad = RULES + "nta on em0 inet from 10.0.0.0/24 to any -> (em0)\n" + (
        "rdr pass on em0 inet proto tcp from any to (em0) port 70000 -> 10.0.0.5 port 80\n")
    with pytest.raises(CommandFailed) as e:
        host.run(pf.load("lan"), stdin=bad)
    assert e.value.stderr == ("stdin:6: syntax error\nstdin:7: illegal port value 70000\n"
                              "pfctl: Syntax error in config file: pf rules not loaded\n")
    assert "pf-anchors" not in host.state()


def test_sim_forwarding_sysctl(host: SimHost) -> None:
    assert host.sysctl("net.inet.ip.forwarding") == "0"
    assert host.run(sysctl.write("net.inet.ip.forwarding", "1")) == (
        "net.inet.ip.forwarding: 0 -> 1\n")
    assert host.sysctl("net.inet.ip.forwarding") == "1"
    with pytest.raises(CommandFailed) as e:
        host.run(sysctl.write("hw.ncpu", "8"))
    assert e.value.stderr == "sysctl: oid 'hw.ncpu' is read only\n"


def test_main_ruleset_must_name_the_anchors(tmp_path: Path) -> None:
    """pf evaluates an anchor only where the main ruleset names it (pf.conf(5), ANCHORS):
    a NAT network is refused on a host whose pf.conf lacks them, or without pf."""
    assert pf.show_main() == ("pfctl", "-s", "nat")
    assert pf.missing_anchors('nat-anchor "hvd/*" all\nrdr-anchor "hvd/*" all\n', True) == []
    assert pf.missing_anchors('nat-anchor "hvd/*" all\n', True) == ['rdr-anchor "hvd/*"']
    assert pf.missing_anchors("", False) == ['nat-anchor "hvd/*"']
    spec = net(NAT + "<ip-forwarding>true</ip-forwarding>")

    def refusals(**kw: object) -> list[str]:
        host = SimHost(tmp_path / str(len(list(tmp_path.iterdir()))), **kw)
        return [e.message for e in constraints.check_nat(spec, [], constraints.Limits(host))]

    assert refusals() == []  # the sim's pf.conf names them by default
    assert refusals(pf_main=["nat on em0 from 192.0.2.0/24 to any -> (em0)"]) == [
        "network lan: pf's main ruleset does not name hvd's anchors, so pf would never use the "
        'network\'s rules: add nat-anchor "hvd/*" and rdr-anchor "hvd/*" to /etc/pf.conf and '
        "reload it (pfctl -f /etc/pf.conf)"]
    assert refusals(pf_main=None) == [
        "network lan: NAT needs pf, which is not running on this host (pfctl -s nat fails): "
        'load it (kldload pf, pf_enable="YES" in /etc/rc.conf)']
