"""lock and unlock (RFC 6241 §7.5, §7.6) on running, candidate and startup."""

from __future__ import annotations

from lxml import etree

from hvd_netconf.calls import Reply
from hvd_netconf.errors import InvalidValue, MissingElement, OperationNotSupported
from hvd_netconf.namespaces import BASE, DATASTORE_TAGS, qn
from hvd_netconf.ops.registry import OpContext

LOCKABLE = ("running", "candidate", "startup")
_TARGET = qn(BASE, "target")


def target_datastore(op: etree._Element) -> str:
    target = op.find(_TARGET)
    if target is None:
        raise MissingElement(f"{etree.QName(op).localname} needs a <target>",
                             info=[("bad-element", "target")])
    choices = [c for c in target if isinstance(c.tag, str)]
    if len(choices) != 1:
        raise InvalidValue("<target> must name exactly one datastore",
                           info=[("bad-element", "target")])
    tag = choices[0].tag
    name = DATASTORE_TAGS.get(tag)
    if name is not None and name in LOCKABLE:
        return name
    qname = etree.QName(tag)
    if qname.namespace != BASE:
        raise InvalidValue(f"unknown datastore <{qname.localname}>",
                           info=[("bad-element", qname.localname)])
    raise OperationNotSupported(f"the {qname.localname} datastore cannot be locked",
                                info=[("bad-element", qname.localname)])


def lock(ctx: OpContext, op: etree._Element) -> Reply:
    ctx.server.locks.lock(target_datastore(op), ctx.session.id)
    return None


def unlock(ctx: OpContext, op: etree._Element) -> Reply:
    ctx.server.locks.unlock(target_datastore(op), ctx.session.id)
    return None
