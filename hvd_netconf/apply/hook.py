"""The bridge from a commit to the host: changed entries -> plan -> engine, with an undo.

The Committer calls `HostApply.apply(old_root, new_root, keys)` before it writes running and
`settled()` once the write is durable. Entries are looked up through the datastores'
indexes when the roots are theirs, so a one-entry commit costs O(1) lookups, not a walk of
10,000 VMs.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from lxml import etree

from hvd_netconf.apply.engine import Engine, render
from hvd_netconf.apply.plan import DhcpChange, DhcpControl, Interfaces, Plan, build_plan
from hvd_netconf.edit.diff import diff_keys, entries
from hvd_netconf.errors import RpcErrors
from hvd_netconf.host import constraints, dnsmasq, pf, specs
from hvd_netconf.keys import Key
from hvd_netconf.namespaces import NETWORK, VM, qn

if TYPE_CHECKING:
    from hvd_netconf.config import Settings
    from hvd_netconf.host.backend import Host
    from hvd_netconf.host.netd import Netd
    from hvd_netconf.store import Datastores
    from hvd_netconf.supervisor.core import Supervisor

log = logging.getLogger("hvd.apply")

Lookup = Callable[[Key], "etree._Element | None"]
LOG_STEPS = 200  # a plan of more steps is logged in full at debug level only


def _lookup(datastores: Datastores, root: etree._Element) -> Lookup:
    for ds in (datastores.running, datastores.candidate):
        if root is ds.root:
            return ds.get
    return entries(root).get


def dhcp_changes(old_root: etree._Element, new_root: etree._Element, keys: Sequence[Key],
                 new: Lookup, state_dir: str, memo: specs.Memo) -> list[DhcpChange]:
    """Each network whose DHCP server's configuration differs after the change: before and
    after, None where it has no server. new_root may hold the changed entries
    only (new finds them; old_root, running, the rest). The static leases come from every
    VM's NICs, so they are read only when some network has DHCP."""

    def servers(nets: list[etree._Element], vms: Callable[[], list[etree._Element]]
                ) -> dict[str, str]:
        specs_ = [s for s in map(memo.network, nets) if s.dhcp is not None]
        if not specs_:
            return {}
        served = {n.name for n in specs_}
        nic_tag, network_tag = qn(VM, "nic"), qn(VM, "network")
        # only the VMs with a NIC on a served network are read (a host may hold thousands)
        guests = [memo.vm(el) for el in vms() if any(
            (n.findtext(network_tag) or "").strip() in served for n in el.iterfind(nic_tag))]
        out = {}
        for net in specs_:
            files = dnsmasq.Files.of(state_dir, net.name)
            conf = dnsmasq.conf(net, files, guests)
            if conf is not None:
                out[net.name] = conf
        return out

    listed = list(keys)
    was = servers(old_root.findall(f"{qn(NETWORK, 'networks')}/{qn(NETWORK, 'network')}"),
                  lambda: old_root.findall(f"{qn(VM, 'vms')}/{qn(VM, 'vm')}"))
    now = servers(constraints.kept("network", new_root, old_root, listed, new),
                  lambda: constraints.kept("vm", new_root, old_root, listed, new))
    return [(n, was.get(n), now.get(n)) for n in sorted(set(was) | set(now))
            if was.get(n) != now.get(n)]


def plan_for(datastores: Datastores, zfs_parent: str, vms: Supervisor | None,
             host: Host | None, old_root: etree._Element, new_root: etree._Element,
             keys: Sequence[Key], root: str, state_dir: str, *, netd: bool = False) -> Plan:
    """The host plan for a change; raises what the host would refuse (host.constraints) and the
    plan's refusals (disk shrink â¦) before anything runs.
    netd: interfaces go through netd (apply/plan.py Interfaces)."""
    new, old = _lookup(datastores, new_root), _lookup(datastores, old_root)
    memo = specs.Memo()  # one reading of each entry for the checks and the plan
    refusals = constraints.check(host, new_root, keys, new, old, base=old_root, memo=memo)
    if refusals:
        raise RpcErrors(refusals)
    dhcp = dhcp_changes(old_root, new_root, keys, new, state_dir, memo)
    return build_plan(diff_keys(keys, old, new), zfs_parent=zfs_parent, root=root, vms=vms,
                      after=new, dhcp=dhcp,
                      forwarding=None if host is None else (
                          lambda: constraints.Limits(host).sysctl(pf.FORWARDING) == 1),
                      memo=memo, via=Interfaces(netd=netd))


def journal_path(datastores: Datastores) -> str:
    """Where the engine records the undo of a commit's host steps until the commit is durable."""
    return os.path.join(datastores.state_dir, "host-undo.jsonl")


class HostApply:
    """The Committer's HostApplier: plans a change and runs it on the host with an undo;
    `settled()` tells the engine the commit is durable (its crash journal goes)."""

    def __init__(self, settings: Settings, host: Host, supervisor: Supervisor,
                 datastores: Datastores, dhcp: DhcpControl | None = None,
                 netd: Netd | None = None) -> None:
        self.settings = settings
        self.host = host
        self.netd = netd
        self.supervisor = supervisor
        self.datastores = datastores
        self.engine = Engine(host, supervisor, journal=journal_path(datastores),
                             mark=lambda: int(datastores.history.last_id), dhcp=dhcp,
                             netd=netd)

    def apply(self, old_root: etree._Element, new_root: etree._Element,
              keys: Sequence[Key]) -> Callable[[], None]:
        plan = plan_for(self.datastores, self.settings.zfs_parent, self.supervisor, self.host,
                        old_root, new_root, keys, str(self.settings.root),
                        str(self.settings.state_dir), netd=self.netd is not None)
        if plan.steps and log.isEnabledFor(logging.INFO):  # render only what is logged
            where = " on the SIMULATED host" if self.host.simulated else ""
            if len(plan.steps) <= LOG_STEPS or log.isEnabledFor(logging.DEBUG):
                log.info("applying %d host step(s)%s:\n%s", len(plan.steps), where,
                         render(plan))
            else:  # 20,000 steps would be megabytes of log on every bulk commit
                log.info("applying %d host step(s)%s; the plan in full at log level debug "
                         "(and from preview-commit before a commit)", len(plan.steps), where)
        return self.engine.execute(plan)

    def settled(self) -> None:
        self.engine.settled()
