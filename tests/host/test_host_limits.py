"""The reads behind the host constraints: their argv (ifconfig(8), sysctl(8)), the parse of
FreeBSD's output, the sim answering the same argv, and one read per limit per check."""

from __future__ import annotations

from pathlib import Path

from support.configs import config, network

from hvd_netconf.host import constraints, ifconfig, specs
from hvd_netconf.host.sim.host import SimHost
from hvd_netconf.host.sim.vmm import bhyve_refusal


def test_interface_status_argv_and_mtu() -> None:
    assert ifconfig.show("em0") == ("ifconfig", "em0")
    line = ("em0: flags=1008843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST,LOWER_UP> metric 0 "
            "mtu 9000\n\toptions=4e524bb<RXCSUM,TXCSUM,VLAN_MTU>\n\tether 58:9c:fc:00:00:01\n")
    assert ifconfig.parse_mtu(line) == 9000
    assert ifconfig.parse_mtu("lo0: flags=8049<UP,LOOPBACK,RUNNING,MULTICAST> metric 0\n") is None


class _Counting(SimHost):
    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.ran: list[tuple[str, ...]] = []

    def run(self, argv):  # type: ignore[no-untyped-def]
        self.ran.append(tuple(argv))
        return super().run(argv)


def test_limits_are_read_once_per_check(tmp_path: Path) -> None:
    host = _Counting(tmp_path)
    host.run(("ifconfig", "em1", "mtu", "9000"))
    host.ran.clear()
    limits = constraints.Limits(host)
    for _ in range(3):
        assert limits.sysctl("net.fibs") == 4
        assert limits.mtu("em1") == 9000
        assert limits.mtu("em7") is None  # no such interface
    assert host.ran == [("sysctl", "-n", "net.fibs"), ("ifconfig", "em1"), ("ifconfig", "em7")]


def test_sim_bhyve_refusals(tmp_path: Path) -> None:
    iso = tmp_path / "a.iso"
    iso.write_bytes(b"")
    base = ["bhyve", "-c", "1", "-m", "2048M", "-s", "0,hostbridge"]
    assert bhyve_refusal([*base, "-s", f"3,ahci-cd,{iso},ro", "vm"], 4 << 30) is None
    assert bhyve_refusal([*base, "vm"], 1 << 30) == "Unable to setup memory (12)"
    assert bhyve_refusal([*base, "-s", "3,ahci-cd,/no/such.iso,ro", "vm"], 4 << 30) == (
        "bhyve: Could not open backing file: /no/such.iso: No such file or directory")
    assert bhyve_refusal(["bhyveload", "-m", "9G", "vm"], 1 << 30) is None  # bhyve's words only


def test_jumbo_mtu_needs_an_uplink_with_jumbo_mtu(tmp_path: Path) -> None:
    """A bridge runs one MTU on every member (if_bridge(4)): 9000 on a network whose untagged
    uplink lacks JUMBO_MTU (`ifconfig -m`) is refused at validation, naming the uplink."""
    host = SimHost(tmp_path, capabilities={"em1": ("RXCSUM", "VLAN_MTU")})

    def check(**kw: object) -> list[str]:
        el = config([network("lan", **kw)])[0][0]
        return [e.message for e in constraints.check_network(
            specs.read_network(el), None, [], constraints.Limits(host))]

    assert check(physical_interface="em0", mtu=9000) == []
    assert check(physical_interface="em1", mtu=1500) == []
    assert check(physical_interface="em1", mtu=9000) == [
        "network lan: MTU 9000 needs jumbo frames, but uplink em1 cannot carry them "
        "(ifconfig -m em1 lists no JUMBO_MTU); every member of a bridge runs the bridge's MTU: "
        "lower the network's mtu to 1500"]
