"""get-vm-log (hvd-vm.yang) and get-log (hvd-system.yang): the newest lines of a log.

The VM's log is the supervisor's (supervisor/runstate.py, state/vm.log and vm.log.old); hvd's
own is the log-file setting (daemon.setup_logging, rotated to .1 .. .3). A reply holds at most
`lines` lines (1..10,000, default 50, from the YANG), and no more than READ_LIMIT bytes are read
from any one file. A user who may not read the VM's entry may not read its log: the check is on
the name alone, before the VM is looked up, so a hidden name answers access-denied whether
or not that VM exists.
"""

from __future__ import annotations

import collections
import os
import re
from pathlib import Path

from lxml import etree

from hvd_netconf.errors import DataMissing, OperationFailed
from hvd_netconf.namespaces import HVD, VM, default_ns, qn
from hvd_netconf.ops.registry import OpContext
from hvd_netconf.ops.transactions import components
from hvd_netconf.ops.vm import check_readable, vm_name
from hvd_netconf.supervisor.runstate import EVENTS_LOG, VmFiles

READ_LIMIT = 4 << 20
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def tail(paths: list[Path], count: int) -> list[str]:
    """The newest `count` lines of the files, oldest file first; missing files are skipped."""
    kept: collections.deque[str] = collections.deque(maxlen=count)
    for path in paths:
        try:
            with open(path, "rb") as f:
                size = f.seek(0, os.SEEK_END)
                f.seek(max(0, size - READ_LIMIT))
                data = f.read()
        except OSError:
            continue
        kept.extend(_NOT_XML.sub("?", ln) for ln in data.decode(errors="replace").splitlines())
    return list(kept)


def _count(ctx: OpContext, op: etree._Element, ns: str, rpc: str) -> int:
    text = op.findtext(qn(ns, "lines"))
    schema, _dss = components(ctx.server)
    node = schema.rpc(ns, rpc)
    leaf = node.child(ns, "lines") if node is not None else None
    if leaf is None:
        raise OperationFailed(f"hvd's YANG has no {rpc}/lines")
    return int(leaf.check_value(text.strip()) if text is not None else leaf.default or 0)


def _reply(ns: str, lines: list[str]) -> list[etree._Element]:
    out = []
    for text in lines:
        el = etree.Element(qn(ns, "line"), nsmap=default_ns(ns))
        el.text = text
        out.append(el)
    return out


def get_vm_log(ctx: OpContext, op: etree._Element) -> list[etree._Element]:
    name = vm_name(ctx, op)
    count = _count(ctx, op, VM, "get-vm-log")
    check_readable(ctx, name)
    _schema, dss = components(ctx.server)
    vms = dss.running.root.find(qn(VM, "vms"))
    if vms is None or all(v.findtext(qn(VM, "name")) != name for v in vms):
        raise DataMissing(f"no VM named {name!r} is configured")
    files = VmFiles(ctx.server.settings.root, name)
    return _reply(VM, tail([files.dir / (EVENTS_LOG + ".old"), files.events], count))


def get_log(ctx: OpContext, op: etree._Element) -> list[etree._Element]:
    count = _count(ctx, op, HVD, "get-log")
    path = ctx.server.settings.log_path
    if not path.exists():
        raise OperationFailed(f"hvd keeps no log file at {path} (the daemon writes it; "
                              "see log-file in hvd.conf(5))")
    kept = [path.with_name(f"{path.name}.{i}") for i in (3, 2, 1)]
    return _reply(HVD, tail([*kept, path], count))
