"""The netd path on the sim (issue 24 item 5): where netd answers, a commit makes bridges,
members, VLANs, FIBs and addresses through it (the sim's stand-in netd), each reply checked;
state says `netd`; a refused step fails the commit with netd's words and leaves the sim's
interfaces exactly as before (docs/networking.md, "netd")."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e.helpers import (
    config,
    guest_ready,
    kill_standins,
    network_xml,
    sim_state,
    start_vm,
    stop_vm,
    vm_xml,
)
from lxml import etree
from ncclient.operations import RPCError
from support.server import HvdInstance, start_hvd

from hvd_netconf.host import ifconfig, names
from hvd_netconf.host.netd_edits import IP
from hvd_netconf.host.sim.host import SimHost
from hvd_netconf.host.sim.netd import StandinNetd
from hvd_netconf.namespaces import HVD, NETWORK

LAN = network_xml("lan", phys="em0", vlan=100, fib=1, addresses=("10.0.0.1/24", "fd00::1/64"))


@pytest.fixture
def netd_hvd(tmp_path: Path) -> Iterator[tuple[HvdInstance, StandinNetd]]:
    netd = StandinNetd(SimHost(tmp_path / "root"), tmp_path / "netd.sock").start()
    inst = start_hvd(tmp_path, ssh=False, netd_socket=netd.path)
    try:
        yield inst, netd
    finally:
        try:
            inst.stop()
        finally:
            netd.stop()
            kill_standins(inst.root)


def backends(inst: HvdInstance) -> tuple[str | None, list[str]]:
    m = inst.connect_uds()
    host = m.get(("subtree", f'<host xmlns="{HVD}"/>')).data_ele
    nets = m.get(("subtree", f'<networks xmlns="{NETWORK}"/>')).data_ele
    return (host.findtext(f"{{{HVD}}}host/{{{HVD}}}network-backend"),
            [b.text or "" for b in nets.iter(f"{{{NETWORK}}}backend")])


def test_a_network_made_and_removed_through_netd(netd_hvd) -> None:  # type: ignore[no-untyped-def]
    inst, netd = netd_hvd
    before = sim_state(inst.root)["interfaces"]
    m = inst.connect_uds()
    m.edit_config(config(networks=LAN), target="candidate")
    m.commit()
    ifs = sim_state(inst.root)["interfaces"]
    lan, vlan = ifs["hv-lan"], ifs["em0.100"]
    assert (lan["fib"], lan["addresses"]) == (1, ["10.0.0.1/24", "fd00::1/64"])
    assert lan["members"] == ["em0.100"] and lan["descr"] == "hvd:net/lan"
    assert (vlan["vlandev"], vlan["descr"]) == ("em0", "hvd:net/lan/uplink")
    # bridge, FIB, two addresses, VLAN, member: each one netd commit
    assert netd.commits == 6
    assert backends(inst) == ("netd", ["netd"])
    m.edit_config(config(networks=network_xml("lan", op="delete")), target="candidate")
    m.commit()
    assert sim_state(inst.root)["interfaces"] == before
    assert netd.commits == 6 + 5  # member, VLAN, two addresses, bridge


def refuse_at(k: int):  # type: ignore[no-untyped-def]
    """A refusal of the k-th (from 0) change netd is asked to commit, in netd's manner."""
    seen: list[etree._Element] = []

    def refuse(el: etree._Element) -> str | None:
        seen.append(el)
        return f"no room for {el.findtext('{*}name')} (test)" if len(seen) == k + 1 else None

    return refuse


def test_every_netd_step_refused_in_turn_leaves_nothing(netd_hvd) -> None:  # type: ignore[no-untyped-def]
    inst, netd = netd_hvd
    before = sim_state(inst.root)["interfaces"]
    m = inst.connect_uds()
    refused = 0
    while True:
        netd.refuse = refuse_at(refused)
        m.edit_config(config(networks=LAN), target="candidate")
        try:
            m.commit()
        except RPCError as e:
            assert "netd refused: no room for" in str(e)
            assert sim_state(inst.root)["interfaces"] == before, f"step {refused + 1}"
            m.discard_changes()
            refused += 1
            continue
        break
    assert refused == 6  # every netd step of the plan failed once, the commit at last succeeded


def test_a_kernel_refusal_through_netd_fails_the_commit_in_its_words(netd_hvd) -> None:  # type: ignore[no-untyped-def]
    inst, _netd = netd_hvd
    before = sim_state(inst.root)["interfaces"]
    SimHost(inst.root).inject_fault(("ifconfig", "hv-lan", "inet", "10.0.0.1/24"),
                                    "ifconfig: ioctl (SIOCAIFADDR): File exists")
    m = inst.connect_uds()
    m.edit_config(config(networks=LAN), target="candidate")
    with pytest.raises(RPCError, match=r"netd refused: ifconfig: ioctl \(SIOCAIFADDR\): File"):
        m.commit()
    assert sim_state(inst.root)["interfaces"] == before


def test_without_netd_the_sim_configures_with_its_ifconfig(tmp_path: Path) -> None:
    inst = start_hvd(tmp_path, ssh=False, netd_socket=tmp_path / "absent.sock")
    try:
        assert backends(inst)[0] == "sim"
    finally:
        inst.stop()


def test_the_preview_shows_the_netd_edits(netd_hvd) -> None:  # type: ignore[no-untyped-def]
    inst, _netd = netd_hvd
    m = inst.connect_uds()
    m.edit_config(config(networks=LAN), target="candidate")
    reply = m.dispatch(etree.fromstring(f'<preview-commit xmlns="{HVD}"/>'))
    text = etree.fromstring(reply.xml.encode()).findtext(f".//{{{HVD}}}text") or ""
    assert "netd edit-config + commit:" in text and f'<ipv4 xmlns="{IP}">' in text


def test_a_vm_tap_made_joined_left_and_destroyed_through_netd(netd_hvd) -> None:  # type: ignore[no-untyped-def]
    inst, netd = netd_hvd
    m = inst.connect_uds()
    m.edit_config(target="running", config=config(
        networks=network_xml("lan", mtu=9000),
        vms=vm_xml("web", nics={"nic0": "lan"}) + vm_xml("db", nics={"nic0": "lan"})))
    # a tap of that name already there: netd says data-exists and hvd takes the next unit
    SimHost(inst.root).run(ifconfig.create(names.tap_name("db", "nic0")))
    made = netd.commits
    start_vm(m, "web")
    guest_ready(inst.root, "web")
    start_vm(m, "db")
    guest_ready(inst.root, "db")
    ifs = sim_state(inst.root)["interfaces"]
    web, db = names.tap_name("web", "nic0"), names.tap_name("db", "nic0", 1)
    assert sorted(ifs["hv-lan"]["members"]) == sorted([web, db])
    assert (ifs[web]["descr"], ifs[web]["mtu"], ifs[web]["up"]) == ("hvd:vm/web/nic0", 9000, True)
    assert netd.commits == made + 4  # each tap made and joined, through netd
    stop_vm(m, "web")
    ifs = sim_state(inst.root)["interfaces"]
    assert ifs["hv-lan"]["members"] == [db] and web not in ifs
    assert netd.commits == made + 6  # left and destroyed


def test_an_uplink_back_rejoins_through_netd(netd_hvd) -> None:  # type: ignore[no-untyped-def]
    inst, netd = netd_hvd
    m = inst.connect_uds()
    m.edit_config(target="running", config=config(networks=network_xml("lan", phys="em1")))
    watch = inst.server.uplink_watch
    assert watch is not None
    watch.run_pass()
    sim = SimHost(inst.root)
    sim.unplug("em1")
    watch.run_pass()
    made = netd.commits
    sim.plug("em1")
    watch.run_pass()
    assert sim_state(inst.root)["interfaces"]["hv-lan"]["members"] == ["em1"]
    assert netd.commits == made + 1
