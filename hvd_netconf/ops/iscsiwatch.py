"""The sessions of running VMs' iSCSI disks watched: a session that is lost (its target went
away: the guest's I/O to the disk waits, iscsi(4)) or back is told as an
`iscsi-session-change` notification (hvd-vm.yang; docs/freebsd-facts.md §21).

A pass lists the host's sessions once, and only while a running VM has an iSCSI disk; the
first look at a VM's disk only learns its state.
"""

from __future__ import annotations

from collections.abc import Callable

from lxml import etree

from hvd_netconf.host import iscsi, specs
from hvd_netconf.host.backend import Host
from hvd_netconf.namespaces import VM, default_ns, qn
from hvd_netconf.operational import iscsi_sessions
from hvd_netconf.ops.periodic import Periodic
from hvd_netconf.store import Datastores
from hvd_netconf.supervisor.core import Supervisor

Publish = Callable[[etree._Element], None]
Changed = list[tuple[str, str, str, str]]  # (vm, disk, previous, session)


class IscsiWatch(Periodic[Changed]):
    name = "iscsi-watch"

    def __init__(self, host: Host, datastores: Datastores, supervisor: Supervisor,
                 publish: Publish) -> None:
        super().__init__()
        self.host = host
        self.datastores = datastores
        self.supervisor = supervisor
        self.publish = publish
        self.last: dict[tuple[str, str], str] = {}  # (vm, disk) -> session state

    def _look(self) -> Changed:
        disks: dict[str, tuple[specs.Disk, ...]] = {}
        for name in self.supervisor.running_names():
            el = self.datastores.running.get(("vm", name))
            if el is not None and el.find(f"{qn(VM, 'disk')}/{qn(VM, 'iscsi')}") is not None:
                disks[name] = specs.read_vm(el).disks
        sessions = iscsi_sessions(self.host) if disks else []
        now: dict[tuple[str, str], iscsi.DiskState] = {
            (vm, d.disk): d for vm, ds in disks.items() for d in iscsi.disk_states(ds, sessions)}
        changed: Changed = []
        for (vm, disk), d in now.items():
            before = self.last.get((vm, disk))
            if before is None or before == d.session:
                continue
            changed.append((vm, disk, before, d.session))
            self.publish(_event(vm, d, before))
        self.last = {key: d.session for key, d in now.items()}
        return changed


def _event(vm: str, d: iscsi.DiskState, previous: str) -> etree._Element:
    ev = etree.Element(qn(VM, "iscsi-session-change"), nsmap=default_ns(VM))
    for key, value in (("vm", vm), ("disk", d.disk), ("target", d.lun.target),
                       ("portal", d.lun.portal), ("session", d.session),
                       ("previous", previous)):
        etree.SubElement(ev, qn(VM, key)).text = value
    return ev
