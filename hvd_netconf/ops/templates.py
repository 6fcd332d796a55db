"""create-vm and list-templates (hvd-template.yang): a new VM from a guest template.

create-vm expands the template (hvd_netconf.templates) into an ordinary <vm> entry and writes
it as one edit of running through the Committer, validated in full against hvd-vm like any
edit: what the VM runs is what get-config shows, with no link back to the template.
"""

from __future__ import annotations

from lxml import etree

from hvd_netconf import templates
from hvd_netconf.errors import (
    DataExists,
    DataMissing,
    InvalidValue,
    MissingElement,
    OperationFailed,
    RpcError,
)
from hvd_netconf.namespaces import BASE, TEMPLATE, VM, default_ns, qn
from hvd_netconf.ops import install
from hvd_netconf.ops import transactions as tx
from hvd_netconf.ops.registry import OpContext
from hvd_netconf.ops.vm import reply
from hvd_netconf.schema.nodes import SchemaNode


def _node(ctx: OpContext, name: str) -> SchemaNode:
    schema = ctx.server.schema
    rpc = schema.rpc(TEMPLATE, "create-vm") if schema is not None else None
    node = rpc.child(TEMPLATE, name) if rpc is not None else None
    if node is None:
        raise OperationFailed(f"the loaded hvd-template module has no create-vm/{name}")
    return node


def _input(ctx: OpContext, op: etree._Element, name: str) -> str | None:
    """create-vm's input leaf, checked against its YANG type."""
    node = _node(ctx, name)
    text = op.findtext(qn(TEMPLATE, name))
    if text is None or not text.strip():
        if node.mandatory:
            raise MissingElement(f"create-vm needs {name}", info=[("bad-element", name)])
        return None
    return node.check_value(text.strip())


def _keys(ctx: OpContext, op: etree._Element) -> tuple[str, ...]:
    node = _node(ctx, "ssh-authorized-key")
    return tuple(node.check_value((k.text or "").strip())
                 for k in op.iterchildren(qn(TEMPLATE, "ssh-authorized-key")))


def create_vm(ctx: OpContext, op: etree._Element) -> list[etree._Element]:
    name = _input(ctx, op, "name") or ""
    wanted = _input(ctx, op, "template") or ""
    network = _input(ctx, op, "network")
    keys = _keys(ctx, op)
    image = _input(ctx, op, "image")
    if image is not None:
        install.check_image(image)  # before anything changes
    committer = tx.committer(ctx.server)
    _schema, dss = tx.components(ctx.server)
    with committer.lock:
        if dss.running.get(("vm", name)) is not None:
            raise DataExists(f"VM {name} already exists", info=[("bad-element", "name")])
        found = templates.available(dss.running.root).get(wanted)
        if found is None:
            raise DataMissing(f"no template named {wanted!r} (list-templates shows them)")
        config = etree.Element(qn(BASE, "config"), nsmap=default_ns(BASE))
        vms = etree.SubElement(config, qn(VM, "vms"), nsmap=default_ns(VM))
        vm = templates.expand(found, name, network, keys)
        disks = vm.findall(qn(VM, "disk"))
        if image is not None and not disks:
            raise InvalidValue(f"template {wanted} gives VM {name} no disk to write {image} "
                               "onto", info=[("bad-element", "image")])
        vms.append(vm)
        commit = tx.edit_running(ctx.server, ctx.session, config, "create-vm",
                                 f"VM {name} from template {wanted}")
    fmt = None
    if image is not None:
        disk = disks[0].findtext(qn(VM, "name")) or ""
        try:
            fmt, _size = install.write_image(ctx, name, disk, image)
        except RpcError as e:
            raise OperationFailed(f"VM {name} was created (commit {commit}), but its disk "
                                  f"{disk} is empty: {e.message}; retry with "
                                  "write-disk-image") from e
    return reply(TEMPLATE, **{"commit-id": commit, "image-format": fmt})


def list_templates(ctx: OpContext, op: etree._Element) -> list[etree._Element]:
    _schema, dss = tx.components(ctx.server)
    out = []
    for t in templates.available(dss.running.root).values():
        entry = etree.Element(qn(TEMPLATE, "template"), nsmap=default_ns(TEMPLATE))
        for key, value in (("name", t.name), ("description", t.description),
                           ("origin", t.origin)):
            etree.SubElement(entry, qn(TEMPLATE, key)).text = value
        out.append(entry)
    return out
