"""The resource pools' usage (hvd-vm resource-pool/usage) for <get>: summed over running by
host/quotas.py, the same sums a commit is checked against."""

from __future__ import annotations

from lxml import etree

from hvd_netconf.host import quotas, specs
from hvd_netconf.namespaces import VM, qn
from hvd_netconf.ops.registry import ServerView
from hvd_netconf.state import child, leaf


def pools_state(server: ServerView, data: etree._Element) -> None:
    pools = data.find(qn(VM, "resource-pools"))
    if pools is None or server.datastores is None:
        return
    shown = {el.findtext(qn(VM, "name")) or "": el
             for el in pools.iterchildren(qn(VM, "resource-pool"))}
    vms = server.datastores.running.root.iterfind(f"{qn(VM, 'vms')}/{qn(VM, 'vm')}")
    for name, used in quotas.pool_usage(vms, shown, specs.Memo()).items():
        usage = child(shown[name], VM, "usage")
        for key in ("vms", "cpus", "memory", "disk"):
            leaf(usage, key, getattr(used, key))
