"""start-vm, stop-vm and restart-vm (hvd-vm.yang).

Not serialised under the datastore lock: a graceful stop waits up to the VM's stop-timeout,
and other sessions must keep working meanwhile. The supervisor serialises each VM's own
life-cycle and reads the running configuration itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lxml import etree

from hvd_netconf.errors import AccessDenied, InvalidValue, MissingElement, OperationFailed
from hvd_netconf.namespaces import VM, default_ns, qn
from hvd_netconf.ops.registry import OpContext

if TYPE_CHECKING:
    from hvd_netconf.schema.nodes import SchemaNode
    from hvd_netconf.supervisor.core import Supervisor


def _vm_node(top: SchemaNode | None, *path: str) -> SchemaNode:
    """A node of hvd-vm.yang under `top`; hvd's own module always has it."""
    node = top
    for name in path:
        node = node.child(VM, name) if node is not None else None
    if node is None:
        raise OperationFailed(f"the loaded hvd-vm module has no {'/'.join(path)}")
    return node


def _schema_top(ctx: OpContext, kind: str, name: str) -> SchemaNode | None:
    schema = ctx.server.schema
    if schema is None:
        raise OperationFailed("this hvd has no schema loaded")
    return schema.rpc(VM, name) if kind == "rpc" else schema.top(VM, name)


def vm_name(ctx: OpContext, op: etree._Element, element: str = "name") -> str:
    el = op.find(qn(VM, element))
    if el is None or not (el.text or "").strip():
        raise MissingElement(f"{etree.QName(op).localname} needs the VM's name",
                             info=[("bad-element", element)])
    name = (el.text or "").strip()
    _vm_node(_schema_top(ctx, "data", "vms"), "vm", "name").check_value(name)
    return name


def check_readable(ctx: OpContext, name: str) -> None:
    """An RPC about VM name answers only a user NACM lets read that VM (RFC 8341 §3.4.5:
    what a user may not read, an operation must not show either)."""
    probe = etree.SubElement(etree.Element(qn(VM, "vms")), qn(VM, "vm"))
    etree.SubElement(probe, qn(VM, "name")).text = name
    if ctx.server.nacm.readable_copy(ctx.session, probe) is None:
        raise AccessDenied("access denied", error_type="application")


def rpc_leaf(ctx: OpContext, op: etree._Element, rpc: str, name: str) -> str | None:
    """An input leaf of an hvd-vm RPC, checked against its YANG type; its default if absent."""
    node = _vm_node(_schema_top(ctx, "rpc", rpc), name)
    text = op.findtext(qn(VM, name))
    return node.check_value(text.strip()) if text is not None else node.default


def reply(ns: str, **leaves: object) -> list[etree._Element]:
    """An RPC's output leaves, in the given order (None: left out)."""
    out = []
    for key, value in leaves.items():
        if value is not None:
            el = etree.Element(qn(ns, key), nsmap=default_ns(ns))
            el.text = str(value)
            out.append(el)
    return out


def supervisor(ctx: OpContext) -> Supervisor:
    if ctx.server.supervisor is None:
        raise OperationFailed("this hvd has no VM supervisor attached")
    return ctx.server.supervisor


def start_vm(ctx: OpContext, op: etree._Element) -> None:
    supervisor(ctx).start(vm_name(ctx, op))


def stop_vm(ctx: OpContext, op: etree._Element) -> None:
    name = vm_name(ctx, op)
    inp = _schema_top(ctx, "rpc", "stop-vm")
    force = op.findtext(qn(VM, "force"))
    force = _vm_node(inp, "force").check_value(force.strip()) if force else "false"
    timeout = op.findtext(qn(VM, "timeout"))
    seconds = None
    if timeout is not None:
        seconds = float(_vm_node(inp, "timeout").check_value(timeout.strip()))
    if force == "true" and seconds is not None:
        raise InvalidValue("timeout has no meaning with force", info=[("bad-element", "timeout")])
    supervisor(ctx).stop(name, force=force == "true", timeout=seconds)


def restart_vm(ctx: OpContext, op: etree._Element) -> None:
    supervisor(ctx).restart(vm_name(ctx, op))
