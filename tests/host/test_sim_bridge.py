"""The sim's ifconfig(8) addresses, capabilities and bridge member flags: what FreeBSD's
ifconfig does with `inet|inet6 A/P [alias|-alias]`, `-m`, `private|sticky|stp IF` and
`static IF MAC`, and how it refuses, in its words."""

from __future__ import annotations

from pathlib import Path

import pytest

from hvd_netconf.host import ifconfig
from hvd_netconf.host.backend import CommandFailed
from hvd_netconf.host.sim.host import SimHost


@pytest.fixture
def host(tmp_path: Path) -> SimHost:
    h = SimHost(tmp_path, capabilities={"em1": ("RXCSUM", "VLAN_MTU")})
    h.run(ifconfig.bridge_create("hv-lan", "hvd:net/lan"))
    return h


def fails(host: SimHost, argv: tuple[str, ...]) -> str:
    with pytest.raises(CommandFailed) as e:
        host.run(argv)
    return e.value.stderr


def test_alias_adds_and_minus_alias_removes(host: SimHost) -> None:
    host.run(ifconfig.address_add("hv-lan", "10.0.0.1/24"))
    host.run(ifconfig.address_add("hv-lan", "10.0.1.1/24"))
    host.run(ifconfig.address_add("hv-lan", "FD00:1::1/64"))
    assert host.state()["interfaces"]["hv-lan"]["addresses"] == [
        "10.0.0.1/24", "10.0.1.1/24", "fd00:1::1/64"]
    status = host.run(ifconfig.show("hv-lan"))
    assert "\tinet 10.0.0.1 netmask 0xffffff00 broadcast 10.0.0.255\n" in status
    assert "\tinet6 fd00:1::1 prefixlen 64\n" in status
    host.run(ifconfig.address_remove("hv-lan", "10.0.0.1/24"))
    host.run(ifconfig.address_remove("hv-lan", "fd00:1::1/64"))
    assert host.state()["interfaces"]["hv-lan"]["addresses"] == ["10.0.1.1/24"]
    # without alias the address replaces the first one of its family (ifconfig(8))
    host.run(("ifconfig", "hv-lan", "inet", "192.0.2.1/24"))
    assert host.state()["interfaces"]["hv-lan"]["addresses"] == ["192.0.2.1/24"]
    # a destroyed bridge takes its addresses with it
    host.run(ifconfig.destroy("hv-lan"))
    host.run(ifconfig.bridge_create("hv-lan", "hvd:net/lan"))
    assert host.state()["interfaces"]["hv-lan"]["addresses"] == []


def test_refusals_in_ifconfigs_words(host: SimHost) -> None:
    host.run(ifconfig.address_add("hv-lan", "10.0.0.1/24"))
    assert fails(host, ifconfig.address_add("hv-lan", "10.0.0.1/24")) == (
        "ifconfig: ioctl (SIOCAIFADDR): File exists\n")
    assert fails(host, ifconfig.address_remove("hv-lan", "10.0.0.2/24")) == (
        "ifconfig: ioctl (SIOCDIFADDR): Can't assign requested address\n")
    assert fails(host, ("ifconfig", "hv-lan", "inet", "10.0.0.300/24", "alias")) == (
        "ifconfig: 10.0.0.300/24: bad value\n")
    assert fails(host, ("ifconfig", "hv-lan", "inet", "10.0.0.1/33", "alias")) == (
        "ifconfig: 10.0.0.1/33: bad value\n")
    assert fails(host, ("ifconfig", "hv-lan", "inet", "fd00::1/64", "alias")) == (
        "ifconfig: fd00::1/64: bad value\n")
    assert fails(host, ifconfig.address_add("hv-nope", "10.0.0.1/24")) == (
        "ifconfig: interface hv-nope does not exist\n")
    assert host.state()["interfaces"]["hv-lan"]["addresses"] == ["10.0.0.1/24"]


def test_capabilities_and_jumbo_frames(host: SimHost) -> None:
    assert "JUMBO_MTU" in ifconfig.parse_capabilities(host.run(ifconfig.capabilities("em0")))
    assert ifconfig.parse_capabilities(host.run(ifconfig.capabilities("em1"))) == {
        "RXCSUM", "VLAN_MTU"}
    host.run(ifconfig.set_mtu("em0", 9000))
    # a driver without JUMBO_MTU takes no MTU above 1500
    assert fails(host, ifconfig.set_mtu("em1", 9000)) == (
        "ifconfig: ioctl SIOCSIFMTU (set mtu): Invalid argument\n")
    # nor does a bridge whose member cannot follow (if_bridge(4): one MTU for all)
    host.run(ifconfig.bridge_addm("hv-lan", "em1"))
    assert fails(host, ifconfig.set_mtu("hv-lan", 9000)) == (
        "ifconfig: ioctl SIOCSIFMTU (set mtu): Invalid argument\n")


def test_member_flags_and_static_addresses(host: SimHost) -> None:
    host.run(ifconfig.bridge_addm("hv-lan", "em0"))
    host.run(ifconfig.bridge_port("hv-lan", "em0", {"private": True, "stp": True}))
    host.run(ifconfig.bridge_static("hv-lan", "em0", "58:9C:FC:00:00:01"))
    br = host.state()["interfaces"]["hv-lan"]
    assert br["ports"] == {"em0": ["private", "stp"]}
    assert br["static"] == {"58:9c:fc:00:00:01": "em0"}
    assert "\tmember: em0 flags=947<LEARNING,DISCOVER,STP,AUTOEDGE,AUTOPTP,PRIVATE>\n" in (
        host.run(ifconfig.show("hv-lan")))
    host.run(ifconfig.bridge_port("hv-lan", "em0", {"private": False, "stp": False}))
    assert "ports" not in host.state()["interfaces"]["hv-lan"]
    # a member that is not one: do_bridgeflag's and BRDGSADDR's words
    assert fails(host, ifconfig.bridge_port("hv-lan", "em1", {"private": True})) == (
        "ifconfig: unable to get bridge flags: No such file or directory\n")
    assert fails(host, ifconfig.bridge_static("hv-lan", "em1", "58:9c:fc:00:00:02")) == (
        "ifconfig: BRDGSADDR 58:9c:fc:00:00:02: No such file or directory\n")
    assert fails(host, ("ifconfig", "hv-lan", "sticky")) == (
        "ifconfig: missing argument for sticky\n")
    # deletem flushes the member's flags and its static entries (if_bridge(4))
    host.run(ifconfig.bridge_port("hv-lan", "em0", {"sticky": True}))
    host.run(ifconfig.bridge_deletem("hv-lan", "em0"))
    assert {"ports", "static"}.isdisjoint(host.state()["interfaces"]["hv-lan"])
