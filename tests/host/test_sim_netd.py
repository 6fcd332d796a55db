"""hvd's netd session against the sim's stand-in netd: each edit applied to the sim's interfaces,
each refusal an OperationFailed with netd's words and nothing left behind (docs/freebsd-facts.md
§13.1)."""

import copy

import pytest

from hvd_netconf import errors
from hvd_netconf.host import netd_edits as ne
from hvd_netconf.host.netd import Netd, detect
from hvd_netconf.host.sim.host import SimHost
from hvd_netconf.host.sim.netd import StandinNetd


@pytest.fixture
def host(tmp_path):
    return SimHost(tmp_path)


@pytest.fixture
def netd(host, tmp_path):
    server = StandinNetd(host, tmp_path / "netd.sock").start()
    client = Netd(server.path, timeout=5.0)
    yield server, client
    client.close()
    server.stop()


def ifs(host):
    return copy.deepcopy(host.state()["interfaces"])


def test_the_stand_in_is_detected_as_generation_3_and_used(netd):
    server, _client = netd
    found = detect(server.path)
    assert found.generation == 3 and found.used
    assert "urn:ietf:params:netconf:capability:candidate:1.0" in found.capabilities


def test_bridge_fib_address_member_vlan_and_their_undo(host, netd):
    _server, client = netd
    before = ifs(host)
    client.edit(ne.bridge_create("hv-lan", "hvd:net/lan"))
    client.edit(ne.set_fib("hv-lan", 1))
    client.edit(ne.address_add("hv-lan", "10.0.0.1/24"))
    client.edit(ne.vlan_create("em0", 100, "hvd:net/lan/uplink"))
    client.edit(ne.bridge_addm("hv-lan", "em0.100"))
    lan = host.state()["interfaces"]["hv-lan"]
    assert (lan["descr"], lan["fib"], lan["addresses"]) == ("hvd:net/lan", 1, ["10.0.0.1/24"])
    assert "em0.100" in lan["members"] and "hvd" in lan["groups"]
    vlan = host.state()["interfaces"]["em0.100"]
    assert (vlan["vlandev"], vlan["descr"]) == ("em0", "hvd:net/lan/uplink")
    for undo in (ne.bridge_deletem("hv-lan", "em0.100"), ne.destroy("em0.100"),
                 ne.address_remove("hv-lan", "10.0.0.1/24"), ne.set_fib("hv-lan", 0),
                 ne.destroy("hv-lan")):
        client.edit(undo)
    assert ifs(host) == before


def test_create_of_an_existing_interface_is_refused_and_changes_nothing(host, netd):
    _server, client = netd
    client.edit(ne.bridge_create("hv-lan", "hvd:net/lan"))
    before = ifs(host)
    with pytest.raises(errors.DataExists, match="netd refused: interface hv-lan already"):
        client.edit(ne.bridge_create("hv-lan", "hvd:net/lan"))
    with pytest.raises(errors.OperationFailed, match="does not exist"):
        client.edit(ne.destroy("hv-nope"))
    assert ifs(host) == before


def test_the_kernel_refusal_comes_back_in_its_words(host, netd):
    _server, client = netd
    client.edit(ne.bridge_create("hv-lan", "hvd:net/lan"))
    with pytest.raises(errors.OperationFailed,
                       match=r"netd refused: ifconfig: ioctl \(SIOCSIFFIB\): Invalid argument"):
        client.edit(ne.set_fib("hv-lan", 99))
    assert host.state()["interfaces"]["hv-lan"]["fib"] == 0


def test_a_commit_failing_part_way_leaves_nothing_and_the_session_goes_on(host, netd):
    _server, client = netd
    before = ifs(host)
    host.inject_fault(("ifconfig", "em0.100", "descr"), "ifconfig: SIOCSIFDESCR: Busy")
    with pytest.raises(errors.OperationFailed, match="SIOCSIFDESCR: Busy"):
        client.edit(ne.vlan_create("em0", 100, "d"))
    assert ifs(host) == before  # the VLAN the commit had created is gone again
    client.edit(ne.bridge_create("hv-lan", "hvd:net/lan"))  # the candidate was discarded
    assert set(ifs(host)) == set(before) | {"hv-lan"}


def test_what_netd_has_no_model_for_is_refused(netd):
    _server, client = netd
    mtu = ne.set_descr("hv-lan", "x").replace("<description>x</description>", "<mtu>9000</mtu>")
    with pytest.raises(errors.OperationFailed, match="netd's model has no mtu"):
        client.edit(mtu)


def test_netd_gone_is_a_failure_naming_the_socket(tmp_path):
    client = Netd(tmp_path / "none.sock", timeout=1.0)
    with pytest.raises(errors.OperationFailed, match=r"none\.sock"):
        client.edit(ne.destroy("hv-lan"))


def test_a_tap_by_name_and_a_taken_name_is_data_exists(host, netd):
    _server, client = netd
    client.edit(ne.tap_create("tap7", "web", "nic0"))
    tap = host.state()["interfaces"]["tap7"]
    assert (tap["descr"], tap["up"], "hvd-port" in tap["groups"]) == ("hvd:vm/web/nic0", True,
                                                                       True)
    with pytest.raises(errors.DataExists, match="netd refused: interface tap7 already exists"):
        client.edit(ne.tap_create("tap7", "db", "nic0"))
    client.edit(ne.destroy("tap7"))
    assert "tap7" not in host.state()["interfaces"]
