"""Which data nodes a notification is about (hvd_netconf.nacm.content)."""

from __future__ import annotations

from datetime import UTC, datetime

from lxml import etree

from hvd_netconf.host.zfs_schedule import Scheduled
from hvd_netconf.nacm.content import readable, target_chain
from hvd_netconf.namespaces import NC_NOTIFICATIONS, VM, qn
from hvd_netconf.notify.bus import envelope
from hvd_netconf.notify.events import SERVER, config_change
from hvd_netconf.operational import vm_state_change
from hvd_netconf.ops.snapshot_schedule import event


def test_target_chain_keys_become_children() -> None:
    vms, vm, cpu = target_chain("/hvd-vm:vms/hvd-vm:vm[hvd-vm:name='a]b']/hvd-vm:cpu")
    assert [vms.tag, vm.tag, cpu.tag] == [qn(VM, "vms"), qn(VM, "vm"), qn(VM, "cpu")]
    assert vm.findtext(qn(VM, "name")) == "a]b" and cpu.getparent() is vm
    assert target_chain("/nope:vms") is None and target_chain("vms") is None


def _no_db(chain) -> bool:
    return not any(el.findtext(qn(VM, "name")) == "db" for el in chain)


def test_config_change_edits_about_unreadable_data_are_left_out() -> None:
    edits = [(f"/hvd-vm:vms/hvd-vm:vm[hvd-vm:name='{n}']", "merge") for n in ("web", "db")]
    env = envelope(config_change(SERVER, "running", edits), datetime.now(UTC))
    before = etree.tostring(env)
    out = readable(env, env[1], _no_db)
    assert out is not env and etree.tostring(env) == before  # the shared one is untouched
    assert [t.text for t in out.iter(qn(NC_NOTIFICATIONS, "target"))] == [edits[0][0]]
    only_db = envelope(config_change(SERVER, "running", edits[1:]), datetime.now(UTC))
    assert readable(only_db, only_db[1], _no_db) is None
    assert readable(env, env[1], lambda chain: True) is env


def test_vm_state_change_of_an_unreadable_vm_is_not_sent() -> None:
    for name, sent in (("db", False), ("web", True)):
        env = envelope(vm_state_change(name, "stopped", "starting", "start-vm", None),
                       datetime.now(UTC))
        assert (readable(env, env[1], _no_db) is env) is sent


def test_snapshot_events_of_an_unreadable_vm_are_not_sent() -> None:
    snap = Scheduled("hvd-auto-hourly-2026-12-03T1700Z", "hourly",
                     datetime(2026, 12, 3, 17, tzinfo=UTC))
    for kind in ("snapshot-taken", "snapshot-pruned"):
        for name, sent in (("db", False), ("web", True)):
            env = envelope(event(kind, name, snap), datetime.now(UTC))
            assert (readable(env, env[1], _no_db) is env) is sent
