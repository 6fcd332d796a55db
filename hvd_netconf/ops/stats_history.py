"""get-vm-statistics-history (hvd-vm.yang): the samples the daemon keeps of one VM
(stats/sampler.py). Whoever may read the VM may read its history; the check is on the name
alone, as get-vm-log's."""

from __future__ import annotations

import math

from lxml import etree

from hvd_netconf.errors import DataMissing, OperationFailed
from hvd_netconf.namespaces import VM, default_ns, qn
from hvd_netconf.ops.registry import OpContext
from hvd_netconf.ops.transactions import components
from hvd_netconf.ops.vm import check_readable, rpc_leaf, vm_name
from hvd_netconf.stats.sampler import POINT_FIELDS
from hvd_netconf.stats.state import rfc3339

_COUNTERS = POINT_FIELDS[1:]  # after the time


def get_vm_statistics_history(ctx: OpContext, op: etree._Element) -> list[etree._Element]:
    name = vm_name(ctx, op)
    check_readable(ctx, name)
    period_text = rpc_leaf(ctx, op, "get-vm-statistics-history", "period")
    _schema, dss = components(ctx.server)
    vms = dss.running.root.find(qn(VM, "vms"))
    if vms is None or all(v.findtext(qn(VM, "name")) != name for v in vms):
        raise DataMissing(f"no VM named {name!r} is configured")
    sampler = ctx.server.sampler
    if sampler is None:
        raise OperationFailed("this hvd keeps no statistics history (stats-history is empty "
                              "in hvd.conf)")
    period, points = sampler.history(name, int(period_text) if period_text else None)
    out = [etree.Element(qn(VM, "period"), nsmap=default_ns(VM))]
    out[0].text = str(period)
    before: tuple[float, ...] | None = None
    for p in points:
        sample = etree.Element(qn(VM, "sample"), nsmap=default_ns(VM))
        etree.SubElement(sample, qn(VM, "time")).text = rfc3339(p[0])
        values = dict(zip(_COUNTERS, p[1:], strict=True))
        # none across a restart: the VM's CPU time started again from zero
        if before is not None and p[0] > before[0] and not math.isnan(p[1] + before[1]) \
                and p[1] >= before[1]:
            use = (p[1] - before[1]) / 10 / (p[0] - before[0])  # ms per s -> percent
            values = {"cpu-time": p[1], "cpu-use": use, **values}
        for key, value in values.items():
            if not math.isnan(value):
                text = f"{value:.1f}" if key == "cpu-use" else str(int(value))
                etree.SubElement(sample, qn(VM, key)).text = text
        out.append(sample)
        before = p
    return out
