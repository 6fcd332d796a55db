"""preview-commit (hvd-system): the host plan a commit of the candidate would run, unrun.

It starts from the same validated change set as <commit> and builds the same plan, so what it
shows is what commit would do, refusals (a disk shrink) and validation errors included.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from hvd_netconf.apply.engine import render, run_order, show
from hvd_netconf.apply.hook import plan_for
from hvd_netconf.apply.plan import Plan, StopVm
from hvd_netconf.errors import OperationFailed
from hvd_netconf.namespaces import HVD, VM, default_ns, qn
from hvd_netconf.ops.registry import OpContext
from hvd_netconf.ops.transactions import candidate_changes, candidate_of, components


def _disks(entry: etree._Element | None) -> set[str]:
    if entry is None:
        return set()
    return {d.findtext(qn(VM, "name")) or "" for d in entry.iterchildren(qn(VM, "disk"))}


def summary(plan: Plan, pairs: dict[Any, tuple[Any, Any]]) -> dict[str, int]:
    """What the commit takes away, counted: the changes say what goes, the plan what stops."""
    counts = {"vms-stopped": sum(isinstance(a, StopVm) for s in plan.steps for a in s.do),
              "vms-destroyed": 0, "volumes-destroyed": 0, "bridges-destroyed": 0}
    for (kind, _name), (old, new) in pairs.items():
        if new is None and old is not None:
            counts["vms-destroyed" if kind == "vm" else "bridges-destroyed"] += 1
        if kind == "vm":
            counts["volumes-destroyed"] += len(_disks(old) - _disks(new))
    return counts


def _leaf(parent: etree._Element, name: str, text: str) -> None:
    etree.SubElement(parent, qn(HVD, name)).text = text


def preview_commit(ctx: OpContext, op: etree._Element) -> list[etree._Element]:
    server = ctx.server
    _, pairs = candidate_changes(server, ctx.session)
    _schema, dss = components(server)
    cand = candidate_of(server, ctx.session)
    if server.host is None:
        raise OperationFailed("the host backend is not available")
    plan = plan_for(dss, server.settings.zfs_parent, server.supervisor, server.host,
                    dss.running.root, cand.candidate.root, list(pairs), str(server.settings.root),
                    str(server.settings.state_dir), netd=server.netd is not None)
    out = etree.Element(qn(HVD, "text"), nsmap=default_ns(HVD))
    out.text = render(plan)
    body = [out]
    for index, step in enumerate((s for chunk in run_order(plan) for s in chunk), 1):
        el = etree.Element(qn(HVD, "step"), nsmap=default_ns(HVD))
        _leaf(el, "index", str(index))
        _leaf(el, "description", step.what)
        for action in step.do:
            _leaf(el, "command", show(action))
        for action in step.undo or ():
            _leaf(el, "undo", show(action))
        _leaf(el, "reversible", "false" if step.undo is None else "true")
        body.append(el)
    for vm in sorted(plan.pending_restart):
        el = etree.Element(qn(HVD, "pending-restart"), nsmap=default_ns(HVD))
        el.text = vm
        body.append(el)
    sim = etree.Element(qn(HVD, "simulated"), nsmap=default_ns(HVD))
    sim.text = "true" if server.host.simulated else "false"
    body.append(sim)
    counted = etree.Element(qn(HVD, "summary"), nsmap=default_ns(HVD))
    for name, count in summary(plan, pairs).items():
        _leaf(counted, name, str(count))
    body.append(counted)
    return body
