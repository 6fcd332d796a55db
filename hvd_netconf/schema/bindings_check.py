"""Load a configuration tree into the pyangbind classes (hvd_bindings): an independent
type/range/pattern checker, used to cross-check the fast validator and in the benchmark."""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree
from pyangbind.lib.yangtypes import safe_name

from hvd_netconf import namespaces as ns


@dataclass
class BindingsResult:
    """The pyangbind objects per module, value errors (type, range, pattern) and elements the
    bindings could not place (unknown nodes, missing or duplicate keys)."""

    objects: dict[str, object] = field(default_factory=dict)
    value_errors: list[tuple[etree._Element, str]] = field(default_factory=list)
    structure_errors: list[tuple[etree._Element, str]] = field(default_factory=list)


def _classes() -> dict[str, type]:
    from hvd_bindings import hvd_network, hvd_vm

    return {ns.VM: hvd_vm, ns.NETWORK: hvd_network}


def load_bindings(root: etree._Element) -> BindingsResult:
    """Walk `root`'s top-level containers into fresh binding objects, collecting every error."""
    classes = _classes()
    res = BindingsResult()
    for top in root:
        q = etree.QName(top)
        cls = classes.get(q.namespace or "")
        if cls is None:
            res.structure_errors.append((top, "no bindings for this namespace"))
            continue
        obj = res.objects.setdefault(q.namespace, cls())
        _load(top, obj, res)
    return res


def _load(el: etree._Element, parent: object, res: BindingsResult) -> None:
    name = safe_name(etree.QName(el).localname)
    getter = getattr(parent, f"_get_{name}", None)
    if getter is None:
        res.structure_errors.append((el, "unknown node"))
        return
    obj = getter()
    kind = getattr(obj, "_yang_type", None)
    if kind == "container":
        for child in el:
            _load(child, obj, res)
    elif kind == "list":
        keys = obj._yang_keys.split()
        try:
            key = " ".join(el.find(f"{{{etree.QName(el).namespace}}}{k}").text or "" for k in keys)  # type: ignore[union-attr]  # a missing key: AttributeError below
            entry = obj.add(key)
        except (AttributeError, KeyError, ValueError) as exc:
            # pyangbind raises KeyError for a key value its type refuses
            bad_value = isinstance(exc, ValueError) or "must be valid" in str(exc) or (
                "null key" in str(exc))
            (res.value_errors if bad_value else res.structure_errors).append(
                (el, f"list entry: {str(exc)[:200]}"))
            return
        for child in el:
            if etree.QName(child).localname not in keys:
                _load(child, entry, res)
    elif len(el):
        res.structure_errors.append((el, "a leaf with child elements"))
    else:
        setter = getattr(parent, f"_set_{name}")
        try:
            if getattr(obj, "_pybind_generated_by", None) == "TypedListType":
                obj.append(el.text or "")
            else:
                setter(el.text or "")
        except (ValueError, TypeError) as exc:
            res.value_errors.append((el, str(exc)[:200]))
