"""create-vm and list-templates (hvd-template.yang): a new VM from a guest template.

create-vm expands the template (hvd_netconf.templates) into an ordinary <vm> entry and writes
it as one edit of running through the Committer, validated in full against hvd-vm like any
edit: what the VM runs is what get-config shows, with no link back to the template.
"""

from __future__ import annotations

from lxml import etree

from hvd_netconf import templates
from hvd_netconf.errors import DataExists, DataMissing, MissingElement, OperationFailed
from hvd_netconf.namespaces import BASE, TEMPLATE, VM, default_ns, qn
from hvd_netconf.ops import transactions as tx
from hvd_netconf.ops.registry import OpContext
from hvd_netconf.ops.vm import reply


def _input(ctx: OpContext, op: etree._Element, name: str) -> str | None:
    """create-vm's input leaf, checked against its YANG type."""
    schema = ctx.server.schema
    rpc = schema.rpc(TEMPLATE, "create-vm") if schema is not None else None
    node = rpc.child(TEMPLATE, name) if rpc is not None else None
    if node is None:
        raise OperationFailed(f"the loaded hvd-template module has no create-vm/{name}")
    text = op.findtext(qn(TEMPLATE, name))
    if text is None or not text.strip():
        if node.mandatory:
            raise MissingElement(f"create-vm needs {name}", info=[("bad-element", name)])
        return None
    return node.check_value(text.strip())


def create_vm(ctx: OpContext, op: etree._Element) -> list[etree._Element]:
    name = _input(ctx, op, "name") or ""
    wanted = _input(ctx, op, "template") or ""
    network = _input(ctx, op, "network")
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
        vms.append(templates.expand(found, name, network))
        commit = tx.edit_running(ctx.server, ctx.session, config, "create-vm",
                                 f"VM {name} from template {wanted}")
    return reply(TEMPLATE, **{"commit-id": commit})


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
