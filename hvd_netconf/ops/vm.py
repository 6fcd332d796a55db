"""start-vm, stop-vm and restart-vm (hvd-vm.yang).

Not serialised under the datastore lock: a graceful stop waits up to the VM's stop-timeout,
and other sessions must keep working meanwhile. The supervisor serialises each VM's own
life-cycle and reads the running configuration itself.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from hvd_netconf.errors import InvalidValue, MissingElement, OperationFailed
from hvd_netconf.namespaces import VM, qn
from hvd_netconf.ops.registry import OPERATIONS, OpContext


def vm_name(ctx: OpContext, op: etree._Element) -> str:
    el = op.find(qn(VM, "name"))
    if el is None or not (el.text or "").strip():
        raise MissingElement(f"{etree.QName(op).localname} needs the VM's name",
                             info=[("bad-element", "name")])
    name = el.text.strip()
    ctx.server.schema.top(VM, "vms").child(VM, "vm").child(VM, "name").check_value(name)
    return name


def _supervisor(ctx: OpContext) -> Any:
    if ctx.server.supervisor is None:
        raise OperationFailed("this hvd has no VM supervisor attached")
    return ctx.server.supervisor


@OPERATIONS.register(VM, "start-vm", serialized=False)
def start_vm(ctx: OpContext, op: etree._Element) -> None:
    _supervisor(ctx).start(vm_name(ctx, op))


@OPERATIONS.register(VM, "stop-vm", serialized=False)
def stop_vm(ctx: OpContext, op: etree._Element) -> None:
    name = vm_name(ctx, op)
    inp = ctx.server.schema.rpc(VM, "stop-vm")
    force = op.findtext(qn(VM, "force"))
    force = inp.child(VM, "force").check_value(force.strip()) if force else "false"
    timeout = op.findtext(qn(VM, "timeout"))
    seconds = None
    if timeout is not None:
        seconds = float(inp.child(VM, "timeout").check_value(timeout.strip()))
    if force == "true" and seconds is not None:
        raise InvalidValue("timeout has no meaning with force", info=[("bad-element", "timeout")])
    _supervisor(ctx).stop(name, force=force == "true", timeout=seconds)


@OPERATIONS.register(VM, "restart-vm", serialized=False)
def restart_vm(ctx: OpContext, op: etree._Element) -> None:
    _supervisor(ctx).restart(vm_name(ctx, op))
