"""The one reading of <vm> and <network> entries: every leaf is read or declared not read,
and absent leaves take the YANG's defaults."""

from __future__ import annotations

from lxml import etree

from hvd_netconf.host import specs
from hvd_netconf.namespaces import NETWORK, VM


def _config_leaves(ns: str, *entry: str) -> set[str]:
    """Slash paths, below the list entry, of every configurable leaf of the YANG list."""
    top = specs.schema_node(ns, *entry)
    out = set()
    for node in top.walk():
        if node.kind in ("leaf", "leaf-list") and node.config:
            parts, n = [], node
            while n is not top:
                parts.append(n.name)
                n = n.parent
            out.add("/".join(reversed(parts)))
    return out


def _yang_leaves() -> set[tuple[str, str]]:
    return ({("vm", p) for p in _config_leaves(VM, "vms", "vm")}
            | {("network", p) for p in _config_leaves(NETWORK, "networks", "network")})


def test_every_leaf_is_read_by_the_host_side_or_declared_not_to_touch_it() -> None:
    unread = _yang_leaves() - specs.read_leaves() - specs.NOT_READ
    assert not unread, "leaves of hvd-vm/hvd-network neither read by host/specs.py nor in " \
        "specs.NOT_READ: " + ", ".join(f"{lst} {path}" for lst, path in sorted(unread))


def test_the_reader_reads_only_leaves_the_yang_has() -> None:
    stale = (specs.read_leaves() | specs.NOT_READ) - _yang_leaves()
    assert not stale, "host/specs.py names leaves the YANG does not have: " + ", ".join(
        f"{lst} {path}" for lst, path in sorted(stale))
    assert not specs.read_leaves() & specs.NOT_READ


def test_absent_leaves_take_the_yang_defaults() -> None:
    vm = etree.fromstring(
        f'<vm xmlns="{VM}"><name>web</name><disk><name>d0</name><size>4G</size></disk>'
        "<nic><name>nic0</name><network>lan</network></nic></vm>")
    spec = specs.read_vm(vm)
    assert (spec.cpu, spec.memory, spec.loader, spec.uefi_vars, spec.grub_root, spec.console,
            spec.utc_clock, spec.autostart, spec.autostart_order, spec.autostart_delay,
            spec.on_reboot, spec.on_poweroff, spec.on_crash, spec.stop_timeout) == (
        1, 512, "uefi", True, "hd0,msdos1", "nmdm", True, False, 100, 0,
        "restart", "stop", "stop", 30)
    assert spec.boot_device is None and spec.uuid is None and spec.install_iso is None
    assert spec.disks == (
        specs.Disk("d0", "4G", "virtio-blk", True, None, None, None, None, None, None),)
    assert spec.disks[0].zvol  # the source's default case
    assert spec.nics == (specs.Nic("nic0", "lan", "58:9c:fc:0" + spec.nics[0].mac[10:],
                                   "virtio-net", False, None),)
    net = specs.read_network(etree.fromstring(
        f'<network xmlns="{NETWORK}"><name>lan</name></network>'))
    assert net == specs.NetworkSpec("lan", None, 0, None, None, 1500, False, False, False,
                                  None, False, (), ())
    assert net.member is None and net.bridge.startswith("hv")


def test_set_leaves_win_over_defaults() -> None:
    vm = etree.fromstring(
        f'<vm xmlns="{VM}"><name>w</name><cpu>4</cpu><utc-clock>false</utc-clock>'
        "<loader><type>grub</type><grub-root>hd0,gpt2</grub-root></loader>"
        "<nic><name>n</name><network>l</network><mac>58:9C:FC:00:00:AA</mac></nic></vm>")
    spec = specs.read_vm(vm)
    assert (spec.cpu, spec.utc_clock, spec.loader, spec.grub_root) == (
        4, False, "grub", "hd0,gpt2")
    assert spec.nics[0].mac == "58:9c:fc:00:00:aa"
    net = specs.read_network(etree.fromstring(
        f'<network xmlns="{NETWORK}"><name>l</name><physical-interface>em0</physical-interface>'
        "<vlan>7</vlan><mtu>9000</mtu></network>"))
    assert (net.member, net.vlan, net.mtu) == ("em0.7", 7, 9000)


def test_a_vm_snapshot_schedule_overrides_the_host_wide_one_count_by_count() -> None:
    vm = specs.read_vm(etree.fromstring(
        f'<vm xmlns="{VM}"><name>web</name>'
        "<snapshot-schedule><hourly>24</hourly><daily>0</daily></snapshot-schedule></vm>"))
    assert vm.snapshot_schedule == specs.SnapshotCounts(None, 24, 0, None, None)
    host = specs.read_snapshot_schedule(etree.fromstring(
        f'<snapshot-schedule xmlns="{VM}"><daily>7</daily><weekly>4</weekly>'
        "</snapshot-schedule>"))
    assert host == specs.SnapshotCounts(0, 0, 7, 4, 0)  # the YANG's defaults: 0
    assert vm.snapshot_schedule.over(host) == {
        "frequent": 0, "hourly": 24, "daily": 0, "weekly": 4, "monthly": 0}
    none = specs.read_snapshot_schedule(None)
    assert specs.vm_defaults("db").snapshot_schedule.over(none) == dict.fromkeys(
        ("frequent", "hourly", "daily", "weekly", "monthly"), 0)
