"""Plans on the netd path (docs/networking.md, "netd"): bridges, members, VLANs, FIBs,
descriptions and addresses as netd edits of host/netd_edits.py, each with its undo; what netd's
model lacks (MTU, port flags, an uplink's up and found state) stays ifconfig argv."""

from hvd_netconf.apply.plan import Absent, Found, Interfaces, Netconf, Restore, Run, build_plan
from hvd_netconf.edit.diff import diff, entries
from hvd_netconf.host import netd_edits as ne

NETD = Interfaces(netd=True)


def with_addresses(network, *addresses):
    return network.replace("</network>", "".join(f"<address>{a}</address>"
                                                 for a in addresses) + "</network>")


def plan_of(old, new):
    return build_plan(diff(old, new), zfs_parent="zroot/hv", after=entries(new).get, via=NETD)


def test_network_with_vlan_fib_mtu_and_addresses(cfg):
    plan = plan_of(None, cfg.config([with_addresses(cfg.network(
        "dmz", physical_interface="em1", vlan=100, fib=1, mtu=9000),
        "10.0.0.1/24", "fd00::1/64")]))
    assert [(s.do, s.undo) for s in plan.steps] == [
        ((Absent(("ifconfig", "hv-dmz"), plan.steps[0].do[0].message),  # type: ignore[union-attr]
          Netconf(ne.bridge_create("hv-dmz", "hvd:net/dmz"))),
         (Netconf(ne.destroy("hv-dmz"), destroys="hv-dmz"),)),
        ((Netconf(ne.set_fib("hv-dmz", 1)),), ()),
        ((Run(("ifconfig", "hv-dmz", "mtu", "9000")),), ()),
        ((Netconf(ne.address_add("hv-dmz", "10.0.0.1/24")),),
         (Netconf(ne.address_remove("hv-dmz", "10.0.0.1/24")),)),
        ((Netconf(ne.address_add("hv-dmz", "fd00::1/64")),),
         (Netconf(ne.address_remove("hv-dmz", "fd00::1/64")),)),
        ((Absent(("ifconfig", "em1.100"), plan.steps[5].do[0].message),  # type: ignore[union-attr]
          Netconf(ne.vlan_create("em1", 100, "hvd:net/dmz/uplink"))),
         (Netconf(ne.destroy("em1.100"), destroys="em1.100"),)),
        ((Run(("ifconfig", "em1.100", "mtu", "9000")),), ()),
        ((Netconf(ne.bridge_addm("hv-dmz", "em1.100")),),
         (Netconf(ne.bridge_deletem("hv-dmz", "em1.100")),)),
    ]


def test_a_physical_uplink_keeps_its_found_state_by_ifconfig(cfg):
    plan = plan_of(None, cfg.config([cfg.network("lan", physical_interface="em0",
                                                 spanning_tree="true")]))
    assert [s.do for s in plan.steps[1:]] == [
        (Found("em0"), Run(("ifconfig", "em0", "up"))),
        (Netconf(ne.bridge_addm("hv-lan", "em0")),),
        (Run(("ifconfig", "hv-lan", "stp", "em0")),),
    ]
    assert plan.steps[1].undo == (Restore("em0"),)


def test_removal_and_its_undo_go_through_netd(cfg):
    old = cfg.config([with_addresses(cfg.network("dmz", physical_interface="em1", vlan=7,
                                                 fib=2), "10.0.0.1/24")])
    plan = plan_of(old, cfg.config([]))
    assert [(s.do, s.undo) for s in plan.steps] == [
        ((Netconf(ne.address_remove("hv-dmz", "10.0.0.1/24")),),
         (Netconf(ne.address_add("hv-dmz", "10.0.0.1/24")),)),
        ((Netconf(ne.bridge_deletem("hv-dmz", "em1.7")),),
         (Netconf(ne.bridge_addm("hv-dmz", "em1.7")),)),
        ((Netconf(ne.destroy("em1.7"), destroys="em1.7"),),
         (Netconf(ne.vlan_create("em1", 7, "hvd:net/dmz/uplink")),)),
        ((Netconf(ne.destroy("hv-dmz"), destroys="hv-dmz"),),
         (Netconf(ne.bridge_create("hv-dmz", "hvd:net/dmz")), Netconf(ne.set_fib("hv-dmz", 2)))),
    ]


def test_a_new_fib_and_description(cfg):
    old = cfg.config([with_addresses(cfg.network("lan", fib=1), "10.0.0.1/24")])
    new = cfg.config([with_addresses(cfg.network("lan", fib=0, description="x"),
                                     "10.0.0.1/24")])
    assert [s.do for s in plan_of(old, new).steps] == [
        (Netconf(ne.set_descr("hv-lan", "hvd:net/lan x")),),
        (Netconf(ne.address_remove("hv-lan", "10.0.0.1/24")),),
        (Netconf(ne.set_fib("hv-lan", 0)),),
        (Netconf(ne.address_add("hv-lan", "10.0.0.1/24")),),
    ]
