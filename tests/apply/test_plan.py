"""Golden FreeBSD argv of plans, written out literally from zfs(8) and ifconfig(8)
(docs/freebsd-facts.md §2.2, §3.2)."""

import pytest

from hvd_netconf import errors
from hvd_netconf.apply.engine import render
from hvd_netconf.apply.plan import Absent, Found, OnlyOwned, Restore, Run, StopVm, build_plan
from hvd_netconf.edit.diff import diff, entries

P = "zroot/hv"


def plan_of(old, new, vms=None):
    return build_plan(diff(old, new), zfs_parent=P, vms=vms, after=entries(new).get)


def commands(plan):
    out = []
    for step in plan.steps:
        for a in step.do:
            if isinstance(a, Run):
                out.append(a.argv)
            elif isinstance(a, Absent):
                out.append(("ABSENT", *a.probe))
            elif isinstance(a, OnlyOwned):
                out.append(("ONLY-OWNED", a.dataset))
            elif isinstance(a, Found | Restore):
                out.append((type(a).__name__.upper(), a.ifname))
            else:
                out.append(("STOP", a.name))
    return out


def test_network_without_uplink(cfg):
    plan = plan_of(None, cfg.config([cfg.network("lan")]))
    assert commands(plan) == [
        ("ABSENT", "ifconfig", "hv-lan"),  # a taken name would leave a stray bridgeN
        ("ifconfig", "bridge", "create", "name", "hv-lan", "descr", "hvd:net/lan",
         "group", "hvd", "up"),
    ]
    assert plan.steps[0].undo == (Run(("ifconfig", "hv-lan", "destroy")),)


def test_network_with_uplink_fib_and_mtu(cfg):
    plan = plan_of(None, cfg.config([cfg.network(
        "lan", description="office LAN", fib=2, mtu=9000, physical_interface="em0")]))
    assert commands(plan) == [
        ("ABSENT", "ifconfig", "hv-lan"),
        ("ifconfig", "bridge", "create", "name", "hv-lan", "descr", "hvd:net/lan office LAN",
         "group", "hvd", "up"),
        ("ifconfig", "hv-lan", "fib", "2"),
        ("ifconfig", "hv-lan", "mtu", "9000"),
        ("FOUND", "em0"),
        ("ifconfig", "em0", "mtu", "9000"),
        ("FOUND", "em0"),
        ("ifconfig", "em0", "up"),
        ("ifconfig", "hv-lan", "addm", "em0"),
    ]
    # the uplink is not hvd's: every undo puts it back as hvd found it
    assert [s.undo for s in plan.steps[-3:-1]] == [(Restore("em0"),), (Restore("em0"),)]


def test_network_with_vlan(cfg):
    plan = plan_of(None, cfg.config([cfg.network(
        "dmz", physical_interface="em1", vlan=100, fib=1)]))
    assert commands(plan) == [
        ("ABSENT", "ifconfig", "hv-dmz"),
        ("ifconfig", "bridge", "create", "name", "hv-dmz", "descr", "hvd:net/dmz",
         "group", "hvd", "up"),
        ("ifconfig", "hv-dmz", "fib", "1"),
        ("ABSENT", "ifconfig", "em1.100"),
        ("ifconfig", "vlan", "create", "vlandev", "em1", "vlan", "100", "name", "em1.100", "up"),
        ("ifconfig", "em1.100", "descr", "hvd:net/dmz/uplink", "group", "hvd"),
        ("ifconfig", "hv-dmz", "addm", "em1.100"),
    ]


def test_long_network_name_gets_a_hashed_bridge(cfg):
    plan = plan_of(None, cfg.config([cfg.network("engineering-lab")]))
    (_probe, argv) = commands(plan)
    assert argv[4].startswith("hvh") and len(argv[4]) == 15
    assert argv[6] == "hvd:net/engineering-lab"


def test_vm_with_disks_and_nics(cfg):
    new = cfg.config([cfg.network("lan")], [cfg.vm(
        "web",
        cfg.disk("disk0", "20G"),
        cfg.disk("data", "100G", sparse="false", volblocksize="64K", compression="lz4"),
        cfg.nic("nic0", "lan"), cfg.nic("nic1", "lan"), cpu=2, memory=2048)])
    assert commands(plan_of(None, new)) == [
        ("ABSENT", "ifconfig", "hv-lan"),
        ("ifconfig", "bridge", "create", "name", "hv-lan", "descr", "hvd:net/lan",
         "group", "hvd", "up"),
        ("zfs", "create", "-o", "hvd:owner=hvd", "-o", "hvd:role=vm", "zroot/hv/vm/web"),
        ("zfs", "create", "-o", "hvd:owner=hvd", "-o", "hvd:role=disks",
         "zroot/hv/vm/web/disks"),
        ("zfs", "create", "-s", "-V", "20G", "-o", "volmode=dev", "-o", "hvd:owner=hvd",
         "-o", "hvd:role=disk", "zroot/hv/vm/web/disks/disk0"),
        ("zfs", "create", "-V", "100G", "-o", "volmode=dev", "-b", "64K",
         "-o", "compression=lz4", "-o", "hvd:owner=hvd", "-o", "hvd:role=disk",
         "zroot/hv/vm/web/disks/data"),
    ]


def test_disk_growth_compression_and_sparseness(cfg):
    old = cfg.config(vms=[cfg.vm("web", cfg.disk("disk0", "20G"))])
    new = cfg.config(vms=[cfg.vm("web", cfg.disk("disk0", "40G", compression="zstd",
                                                 sparse="false"))])
    plan = plan_of(old, new)
    assert commands(plan) == [
        ("zfs", "set", "volsize=40G", "zroot/hv/vm/web/disks/disk0"),
        ("zfs", "set", "compression=zstd", "zroot/hv/vm/web/disks/disk0"),
        ("zfs", "set", "refreservation=auto", "zroot/hv/vm/web/disks/disk0"),
    ]
    assert [s.undo for s in plan.steps] == [
        (Run(("zfs", "set", "volsize=20G", "zroot/hv/vm/web/disks/disk0")),),
        (Run(("zfs", "inherit", "compression", "zroot/hv/vm/web/disks/disk0")),),
        (Run(("zfs", "set", "refreservation=none", "zroot/hv/vm/web/disks/disk0")),),
    ]


def test_disk_shrink_is_refused_before_anything_runs(cfg):
    old = cfg.config(vms=[cfg.vm("web", cfg.disk("disk0", "40G"))])
    new = cfg.config(vms=[cfg.vm("web", cfg.disk("disk0", "39G"))])
    with pytest.raises(errors.OperationFailed) as e:
        plan_of(old, new)
    assert "cannot shrink from 40G to 39G" in e.value.message
    assert e.value.path == ("/hvd-vm:vms/hvd-vm:vm[hvd-vm:name='web']"
                            "/hvd-vm:disk[hvd-vm:name='disk0']/hvd-vm:size")


def test_several_refusals_are_reported_together(cfg):
    old = cfg.config(vms=[cfg.vm("web", cfg.disk("a", "4G"), cfg.disk("b", "4G"))])
    new = cfg.config(vms=[cfg.vm("web", cfg.disk("a", "2G", volblocksize="8K"))])
    with pytest.raises(errors.RpcErrors) as e:
        plan_of(old, new, cfg.Vms(running={"web"}))
    msgs = " | ".join(x.message for x in e.value.errors)
    assert "shrink" in msgs and "volblocksize is fixed" in msgs and "while the VM runs" in msgs


def test_deletions_in_reverse_order(cfg):
    old = cfg.config([cfg.network("dmz", physical_interface="em1", vlan=100, mtu=1400)],
                     [cfg.vm("web", cfg.disk("disk0", "20G"), cfg.nic("nic0", "dmz"))])
    plan = plan_of(old, cfg.config(), cfg.Vms(running={"web"}))
    assert commands(plan) == [
        ("ONLY-OWNED", "zroot/hv/vm/web"),  # before anything changes, the stop included
        ("STOP", "web"),
        ("zfs", "destroy", "-r", "zroot/hv/vm/web"),
        ("ifconfig", "hv-dmz", "deletem", "em1.100"),
        ("ifconfig", "em1.100", "destroy"),
        ("ifconfig", "hv-dmz", "destroy"),
    ]
    assert plan.steps[0].undo == () and plan.steps[1].undo is None
    assert plan.steps[2].undo is None
    # the bridge comes back exactly as it was if a later step fails
    assert plan.steps[-1].undo == (
        Run(("ifconfig", "bridge", "create", "name", "hv-dmz", "descr", "hvd:net/dmz",
             "group", "hvd", "up")),
        Run(("ifconfig", "hv-dmz", "mtu", "1400")))


def test_stopped_vm_is_not_stopped_again(cfg):
    old = cfg.config(vms=[cfg.vm("web")])
    plan = plan_of(old, cfg.config(), cfg.Vms())
    assert not any(isinstance(a, StopVm) for s in plan.steps for a in s.do)


def test_running_vm_hardware_changes_do_not_restart_it(cfg):
    old = cfg.config([cfg.network("lan")], [cfg.vm("web", cfg.nic("n0", "lan"), cpu=1)])
    new = cfg.config([cfg.network("lan")], [cfg.vm("web", cfg.nic("n0", "lan"),
                                                    cfg.nic("n1", "lan"), cpu=4, memory=4096)])
    vms = cfg.Vms(running={"web"}, started=old)
    plan = plan_of(old, new, vms)
    assert plan.steps == [] and plan.pending_restart == {"web"} and vms.stopped == []
    # a description is not hardware
    new2 = cfg.config([cfg.network("lan")], [cfg.vm("web", cfg.nic("n0", "lan"), cpu=1,
                                                     description="x")])
    assert plan_of(old, new2, vms).pending_restart == set()


def test_network_modification(cfg):
    old = cfg.config([cfg.network("lan", physical_interface="em0", fib=1)])
    new = cfg.config([cfg.network("lan", physical_interface="em1", vlan=7, fib=2, mtu=1400)])
    assert commands(plan_of(old, new)) == [
        ("ifconfig", "hv-lan", "fib", "2"),
        ("ifconfig", "hv-lan", "deletem", "em0"),
        ("RESTORE", "em0"),  # em0 goes back to the MTU and up/down state hvd found it in
        ("ifconfig", "hv-lan", "mtu", "1400"),
        ("ABSENT", "ifconfig", "em1.7"),
        ("ifconfig", "vlan", "create", "vlandev", "em1", "vlan", "7", "name", "em1.7", "up"),
        ("ifconfig", "em1.7", "descr", "hvd:net/lan/uplink", "group", "hvd"),
        ("ifconfig", "em1.7", "mtu", "1400"),
        ("ifconfig", "hv-lan", "addm", "em1.7"),
    ]
    # same uplink, new MTU: the member first, then the bridge
    old2 = cfg.config([cfg.network("lan", physical_interface="em0")])
    new2 = cfg.config([cfg.network("lan", physical_interface="em0", mtu=9000)])
    assert commands(plan_of(old2, new2)) == [
        ("ifconfig", "em0", "mtu", "9000"),
        ("ifconfig", "hv-lan", "mtu", "9000"),
    ]


def test_order_networks_then_datasets_then_destroys(cfg):
    old = cfg.config([cfg.network("old")], [cfg.vm("gone", cfg.disk("d", "1G"))])
    new = cfg.config([cfg.network("new", fib=1)],
                     [cfg.vm("fresh", cfg.disk("d", "1G"), cfg.nic("n", "new"))])
    kinds = []
    for s in plan_of(old, new).steps:
        if isinstance(s.do[-1], OnlyOwned):
            kinds.append(("zfs", "check"))
            continue
        argv = s.do[-1].argv
        kinds.append((argv[0], "destroy" if "destroy" in argv else "create"))
    assert kinds == [("zfs", "check"), ("ifconfig", "create"), ("ifconfig", "create"),
                     ("zfs", "create"), ("zfs", "create"), ("zfs", "create"),
                     ("zfs", "destroy"), ("ifconfig", "destroy")]


def test_render_shows_commands_and_undo(cfg):
    old = cfg.config(vms=[cfg.vm("web")])
    text = render(plan_of(old, cfg.config([cfg.network("lan", fib=1)])))
    assert "1. check that hvd created everything in zroot/hv/vm/web" in text
    assert ("zfs get -H -p -r -o name,value,source hvd:owner zroot/hv/vm/web  # every one "
            "must be hvd:owner=hvd (local)") in text
    assert "2. create bridge hv-lan for network lan" in text
    assert "ifconfig hv-lan  # must not exist" in text
    assert "ifconfig bridge create name hv-lan descr hvd:net/lan group hvd up" in text
    assert "undo: ifconfig hv-lan destroy" in text
    assert "zfs destroy -r zroot/hv/vm/web" in text and "(cannot be undone)" in text
    assert render(plan_of(old, old)) == "nothing to do on the host\n"


@pytest.mark.parametrize("emulation", ["virtio-net", "e1000"])
def test_network_mtu_change_puts_its_running_vms_pending_restart(cfg, emulation):
    """The taps of a running VM keep the MTU they were made with (and virtio-net's mtu= is
    fixed at start): the change reaches the VM at its next start, as the supervisor says."""
    old = cfg.config([cfg.network("lan"), cfg.network("dmz")],
                     [cfg.vm("web", cfg.nic("n0", "lan", emulation=emulation)),
                      cfg.vm("db", cfg.nic("n0", "dmz"))])
    new = cfg.config([cfg.network("lan", mtu=9000), cfg.network("dmz")],
                     [cfg.vm("web", cfg.nic("n0", "lan", emulation=emulation)),
                      cfg.vm("db", cfg.nic("n0", "dmz"))])
    vms = cfg.Vms(running={"web", "db"}, started=old)
    plan = plan_of(old, new, vms)
    assert plan.pending_restart == {"web"}
    assert ("ifconfig", "hv-lan", "mtu", "9000") in commands(plan)
    # back to what runs: nothing pending, though the committed config changed
    assert plan_of(new, old, vms).pending_restart == set()


def test_network_changes_a_running_vm_does_not_see_need_no_restart(cfg):
    old = cfg.config([cfg.network("lan")], [cfg.vm("web", cfg.nic("n0", "lan"))])
    new = cfg.config([cfg.network("lan", fib=2, description="x")],
                     [cfg.vm("web", cfg.nic("n0", "lan"))])
    assert plan_of(old, new, cfg.Vms(running={"web"}, started=old)).pending_restart == set()


def _device(name, path):
    return f"<disk><name>{name}</name><device>{path}</device></disk>"


def test_an_existing_device_is_never_created_nor_destroyed(cfg):
    """Issue 19 item 5: a device disk (/dev/da3, a zvol hvd does not own) gets no zfs step
    when the VM is made, none when the disk is removed, and no ownership check either."""
    dev = _device("data", "/dev/zvol/tank/legacy/vol0")
    new = cfg.config(vms=[cfg.vm("nas", cfg.disk("sys", "8G"), dev)])
    assert commands(plan_of(None, new)) == [
        ("zfs", "create", "-o", "hvd:owner=hvd", "-o", "hvd:role=vm", "zroot/hv/vm/nas"),
        ("zfs", "create", "-o", "hvd:owner=hvd", "-o", "hvd:role=disks",
         "zroot/hv/vm/nas/disks"),
        ("zfs", "create", "-s", "-V", "8G", "-o", "volmode=dev", "-o", "hvd:owner=hvd",
         "-o", "hvd:role=disk", "zroot/hv/vm/nas/disks/sys")]
    without = cfg.config(vms=[cfg.vm("nas", cfg.disk("sys", "8G"))])
    assert commands(plan_of(new, without)) == []
    moved = cfg.config(vms=[cfg.vm("nas", cfg.disk("sys", "8G"), _device("data", "/dev/da3"))])
    assert commands(plan_of(new, moved)) == []  # another device: only bhyve's argv changes


def test_a_disk_does_not_change_between_zvol_and_device(cfg):
    old = cfg.config(vms=[cfg.vm("nas", cfg.disk("data", "8G"))])
    new = cfg.config(vms=[cfg.vm("nas", _device("data", "/dev/da3"))])
    zvol, device = "a zvol", "a device, image or LUN"
    for before, after, was, now in ((old, new, zvol, device), (new, old, device, zvol)):
        with pytest.raises(errors.OperationFailed) as e:
            plan_of(before, after)
        assert e.value.message == (f"disk data of VM nas cannot change from {was} to {now}; "
                                   "remove the disk and add a new one")
def _with_addresses(network, *addresses):
    return network.replace("</network>", "".join(f"<address>{a}</address>"
                                                 for a in addresses) + "</network>")


def test_network_addresses_after_the_fib_and_removed_before_the_bridge(cfg):
    lan = _with_addresses(cfg.network("lan", fib=2), "10.0.0.1/24", "fd00:1::1/64")
    plan = plan_of(None, cfg.config([lan]))
    assert commands(plan)[2:] == [
        ("ifconfig", "hv-lan", "fib", "2"),
        ("ifconfig", "hv-lan", "inet", "10.0.0.1/24", "alias"),
        ("ifconfig", "hv-lan", "inet6", "fd00:1::1/64", "alias"),
    ]
    assert plan.steps[-1].undo == (Run(("ifconfig", "hv-lan", "inet6", "fd00:1::1/64",
                                         "-alias")),)
    gone = plan_of(cfg.config([lan]), cfg.config([]))
    # last first, so the undo puts them back in their order on the bridge the destroy's undo
    # recreates
    assert commands(gone) == [
        ("ifconfig", "hv-lan", "inet6", "fd00:1::1/64", "-alias"),
        ("ifconfig", "hv-lan", "inet", "10.0.0.1/24", "-alias"),
        ("ifconfig", "hv-lan", "destroy"),
    ]
    assert gone.steps[1].undo == (Run(("ifconfig", "hv-lan", "inet", "10.0.0.1/24", "alias")),)


def test_network_address_changes(cfg):
    old = cfg.config([_with_addresses(cfg.network("lan"), "10.0.0.1/24", "10.0.1.1/24")])
    new = cfg.config([_with_addresses(cfg.network("lan"), "10.0.1.1/24", "10.0.2.1/24")])
    assert commands(plan_of(old, new)) == [
        ("ifconfig", "hv-lan", "inet", "10.0.0.1/24", "-alias"),
        ("ifconfig", "hv-lan", "inet", "10.0.2.1/24", "alias"),
    ]
    # a new FIB: every address off and back on, so its connected route lands in the new FIB
    refib = cfg.config([_with_addresses(cfg.network("lan", fib=1), "10.0.1.1/24")])
    assert commands(plan_of(new, refib)) == [
        ("ifconfig", "hv-lan", "inet", "10.0.2.1/24", "-alias"),
        ("ifconfig", "hv-lan", "inet", "10.0.1.1/24", "-alias"),
        ("ifconfig", "hv-lan", "fib", "1"),
        ("ifconfig", "hv-lan", "inet", "10.0.1.1/24", "alias"),
    ]


def test_spanning_tree_on_the_uplink(cfg):
    stp = cfg.network("lan", physical_interface="em0", spanning_tree="true")
    plan = plan_of(None, cfg.config([stp]))
    assert commands(plan)[-2:] == [("ifconfig", "hv-lan", "addm", "em0"),
                                   ("ifconfig", "hv-lan", "stp", "em0")]
    assert plan.steps[-1].undo == (Run(("ifconfig", "hv-lan", "-stp", "em0")),)
    # the member leaves with its flags: the undo of its removal sets stp again
    gone = plan_of(cfg.config([stp]), cfg.config([]))
    assert gone.steps[0].undo == (Run(("ifconfig", "hv-lan", "addm", "em0")),
                                  Run(("ifconfig", "hv-lan", "stp", "em0")))
    off = cfg.config([cfg.network("lan", physical_interface="em0")])
    assert commands(plan_of(cfg.config([stp]), off)) == [("ifconfig", "hv-lan", "-stp", "em0")]


def test_guest_flags_change_live_on_running_taps(cfg):
    lan = cfg.network("lan")
    web = cfg.vm("web", cfg.nic("n0", "lan"), cfg.nic("n1", "lan"))
    started = cfg.config([lan], [web])
    isolated = cfg.config([cfg.network("lan", isolate_guests="true")], [web])
    plan = plan_of(started, isolated, vms=cfg.Vms(["web"], started))
    assert commands(plan) == [("ifconfig", "hv-lan", "private", "tap0"),
                              ("ifconfig", "hv-lan", "private", "tap1")]
    assert plan.steps[0].undo == (Run(("ifconfig", "hv-lan", "-private", "tap0")),)
    assert plan.pending_restart == set()
    # no running guest: nothing to change now; the supervisor sets the flags at each start
    assert commands(plan_of(started, isolated)) == []


NAT_LAN = ("<network><name>lan</name><address>10.0.0.1/24</address><nat>em0</nat>"
           "<ip-forwarding>true</ip-forwarding>{}</network>")
FWD = ("<forward><protocol>tcp</protocol><host-port>8080</host-port>"
       "<guest-address>10.0.0.5</guest-address><guest-port>80</guest-port></forward>")


def test_nat_rules_go_into_the_networks_pf_anchor(cfg):
    new = cfg.config([NAT_LAN.format(FWD)])
    plan = plan_of(None, new)
    load, forwarding = plan.steps[-2:]
    assert load.do == (Run(("pfctl", "-a", "hvd/lan", "-f", "-"), (
        "# hvd network lan: generated from its configuration, replaced on every commit\n"
        "nat on em0 inet from 10.0.0.0/24 to any -> (em0)\n"
        "rdr pass on em0 inet proto tcp from any to (em0) port 8080 -> 10.0.0.5 port 80\n")),)
    assert load.undo == (Run(("pfctl", "-a", "hvd/lan", "-F", "all")),)
    assert forwarding.do == (Run(("sysctl", "net.inet.ip.forwarding=1")),)
    assert forwarding.undo == (Run(("sysctl", "net.inet.ip.forwarding=0")),)
    # forwarding already on: not touched
    assert len(build_plan(diff(None, new), zfs_parent=P, forwarding=lambda: True)) == \
        len(plan) - 1
    # a changed forward reloads the anchor; its undo loads the old rules back
    old = cfg.config([NAT_LAN.format("")])
    change = build_plan(diff(old, new), zfs_parent=P, forwarding=lambda: True)
    assert [s.what for s in change.steps] == [
        "load the NAT rules of network lan into pf anchor hvd/lan"]
    assert change.steps[0].undo[0].stdin.endswith("-> (em0)\n")
    # removal: the anchor is flushed first, and the undo loads it again; forwarding stays on
    gone = plan_of(new, cfg.config([]))
    assert commands(gone)[0] == ("pfctl", "-a", "hvd/lan", "-F", "all")
    assert gone.steps[0].undo == load.do
    assert not any("sysctl" in c for c in commands(gone))
