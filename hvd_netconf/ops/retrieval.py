"""<get-config> and <get> (RFC 6241 §7.1, §7.7) with filters and RFC 6243 with-defaults.

An unfiltered get-config in the basic mode serialises the datastore's top-level containers
straight into the reply (RawXml): no copy of 10,000 VMs is made. Everything else copies only
what the filter selects. <get> adds operational state from the hvd_netconf.state providers.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TYPE_CHECKING

from lxml import etree

from hvd_netconf.calls import RawXml, Reply
from hvd_netconf.errors import InvalidValue, MissingElement, OperationFailed
from hvd_netconf.filter import Filter, apply_filter, parse_filter
from hvd_netconf.filter.defaults import apply_mode, check_mode
from hvd_netconf.keys import BY_CONTAINER, Kind
from hvd_netconf.namespaces import BASE, CAP_PREFIX, WD_ATTR, WITH_DEFAULTS, qn
from hvd_netconf.namespaces import nsmap as ns_map
from hvd_netconf.ops.registry import OpContext
from hvd_netconf.ops.startup import startup_root

if TYPE_CHECKING:
    from hvd_netconf.schema.nodes import Schema
    from hvd_netconf.store.datastores import Datastores

CAP_XPATH = CAP_PREFIX + "xpath:1.0"
CAP_WITH_DEFAULTS = (CAP_PREFIX + "with-defaults:1.0?basic-mode=explicit"
                     "&also-supported=report-all,report-all-tagged,trim")
READABLE = ("running", "candidate", "startup")

_DATA = qn(BASE, "data")
_DATA_OPEN = f'<data xmlns="{BASE}">'.encode()
_DATA_CLOSE = b"</data>"


def source_name(op: etree._Element) -> str:
    """The datastore named by <source> (RFC 6241 §7.1): running, candidate or startup."""
    source = op.find(qn(BASE, "source"))
    if source is None:
        raise MissingElement("get-config needs a <source>", info=[("bad-element", "source")])
    names = [etree.QName(c).localname for c in source if isinstance(c.tag, str)]
    if len(names) != 1:
        raise InvalidValue("<source> must name exactly one datastore",
                           info=[("bad-element", "source")])
    if names[0] not in READABLE:
        raise InvalidValue(f"datastore {names[0]!r} is not supported ({', '.join(READABLE)})",
                           info=[("bad-element", names[0])])
    return names[0]


def request_mode(op: etree._Element) -> str:
    el = op.find(qn(WITH_DEFAULTS, "with-defaults"))
    return check_mode(el.text if el is not None else None)


def datastore_root(ctx: OpContext, name: str) -> etree._Element:
    if name == "startup":
        return startup_root(ctx.server)
    stores = ctx.server.datastores
    if stores is None:
        raise OperationFailed("no datastores are attached to this server")
    if name == "candidate":
        return stores.candidate_of(ctx.session.id).candidate.root
    return stores.running.root


def new_data(mode: str) -> etree._Element:
    nsmap: dict[str | None, str] = {None: BASE}
    if mode == "report-all-tagged":
        nsmap["wd"] = WD_ATTR
    return etree.Element(_DATA, nsmap=ns_map(nsmap))


def _drop_empty(data: etree._Element) -> etree._Element:
    """Empty non-presence top-level containers are never reported."""
    for child in list(data.iterchildren(tag=etree.Element)):
        if len(child) == 0 and not (child.text or "").strip():
            data.remove(child)
    return data


def raw_all(root: etree._Element) -> RawXml:
    """Every non-empty top-level container of `root`, serialised in place."""
    parts = [etree.tostring(c) for c in root.iterchildren(tag=etree.Element) if len(c)]
    return RawXml(_DATA_OPEN + b"".join(parts) + _DATA_CLOSE)


def render(spec: Filter | None, root: etree._Element, mode: str, schema: Schema | None,
           owned: bool = False) -> etree._Element:
    """Filter and apply with-defaults; `owned` says root is already a private copy."""
    if mode in ("report-all", "report-all-tagged"):
        if not owned:
            root = copy.deepcopy(root)
        apply_mode(mode, root, schema)
    if spec is None and owned:
        data = new_data(mode)
        for child in list(root.iterchildren(tag=etree.Element)):
            data.append(child)
    else:
        data = apply_filter(spec, root, new_data(mode), schema)
    if mode == "trim":
        apply_mode(mode, data, schema)
    return _drop_empty(data)


def get_config(ctx: OpContext, op: etree._Element) -> Reply:
    name = source_name(op)
    spec = parse_filter(op.find(qn(BASE, "filter")), schema=ctx.server.schema)
    mode = request_mode(op)
    root = datastore_root(ctx, name)
    if spec is None and mode == "explicit":
        return raw_all(root)
    return render(spec, root, mode, ctx.server.schema)


def _wanted(spec: Filter | None) -> Callable[[tuple[str, str]], bool] | None:
    """Which top-level containers a filter may select; providers of others are skipped."""
    if spec is None or spec.type != "subtree":
        return None
    tops = [etree.QName(c) for c in spec.element if isinstance(c.tag, str)]

    def wanted(top: tuple[str, str]) -> bool:
        return any(q.localname == top[1] and (not q.namespace or q.namespace == top[0])
                   for q in tops)

    return wanted


def _named(spec: Filter | None) -> Callable[[tuple[str, str], str], bool] | None:
    """May a subtree filter select a node of this name under a top-level container? Yes when it
    names one, or when it has no selection node there (only content matches and containers:
    whole entries are selected, RFC 6241 §6.2.5)."""
    if spec is None or spec.type != "subtree":
        return None

    def named(top: tuple[str, str], name: str) -> bool:
        for el in spec.element.iterchildren(tag=etree.Element):
            if not _is(el, top[0], top[1]):
                continue
            inner = list(el.iterdescendants(tag=etree.Element))
            if not inner or any(etree.QName(d).localname == name for d in inner):
                return True
            if not any(len(d) == 0 and not (d.text or "").strip() for d in inner):
                return True
        return False

    return named


def _is(el: etree._Element, ns: str, name: str | None) -> bool:
    q = etree.QName(el)
    return q.localname == name and q.namespace in (None, ns)


def selected_names(spec: Filter | None, kind: Kind) -> set[str] | None:
    """The entry names of `kind` a subtree filter can select at most; None: any of them.

    Only a filter naming entries by a <name> content match narrows (`hv show vm web`); the
    real filter still runs afterwards, this only spares copying and state for the others.
    """
    if spec is None or spec.type != "subtree":
        return None
    names: set[str] = set()
    for top in spec.element.iterchildren(tag=etree.Element):
        if not _is(top, kind.ns, kind.container):
            continue
        entries = list(top.iterchildren(tag=etree.Element))
        if not entries:
            return None
        for entry in entries:
            keys = [c for c in entry.iterchildren(tag=etree.Element) if _is(c, kind.ns, "name")]
            if not _is(entry, kind.ns, kind.entry) or len(keys) != 1 or len(keys[0]) \
                    or not (keys[0].text or "").strip():
                return None
            names.add((keys[0].text or "").strip())
    return names


def _config_copy(spec: Filter | None, stores: Datastores, data: etree._Element) -> None:
    """Copy into `data` the running configuration the filter may select (all if unsure)."""
    for child in stores.running.root.iterchildren(tag=etree.Element):
        kind = BY_CONTAINER.get(child.tag)
        names = selected_names(spec, kind) if kind is not None else None
        if names is None or kind is None:
            data.append(copy.deepcopy(child))
            continue
        found = [el for n in sorted(names) if (el := stores.running.get((kind.name, n)))
                 is not None]
        if found:
            container = etree.SubElement(data, child.tag, nsmap=ns_map(child.nsmap))
            for el in sorted(found, key=child.index) if len(found) > 1 else found:
                container.append(copy.deepcopy(el))


def get(ctx: OpContext, op: etree._Element) -> Reply:
    spec = parse_filter(op.find(qn(BASE, "filter")), schema=ctx.server.schema)
    mode = request_mode(op)
    data = new_data(mode)
    stores = ctx.server.datastores
    if stores is not None:
        _config_copy(spec, stores, data)
    ctx.server.state.fill(ctx.server, data, _wanted(spec), _named(spec))
    return render(spec, data, mode, ctx.server.schema, owned=True)
