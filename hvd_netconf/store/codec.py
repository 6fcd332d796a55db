"""Entry files: one entry's subtree, wrapped in its module's container, as pretty UTF-8 XML."""

from __future__ import annotations

import copy

from lxml import etree

from hvd_netconf.errors import RpcError
from hvd_netconf.keys import BY_CONTAINER, Key, kind_of
from hvd_netconf.namespaces import default_ns
from hvd_netconf.store.errors import StoreError
from hvd_netconf.xmlparse import DEFAULT_LIMITS, XmlLimits, parse


def strip_layout(element: etree._Element) -> etree._Element:
    """Drop whitespace that only lays out elements with children (it carries no data).

    Leaf text is kept as it is, even when it is all blanks.
    """
    for el in element.iter():
        if len(el):
            if el.text is not None and not el.text.strip():
                el.text = None
            for child in el:
                if child.tail is not None and not child.tail.strip():
                    child.tail = None
    if element.tail is not None and not element.tail.strip():
        element.tail = None
    return element


def wrap_entry(key: Key, element: etree._Element, *, copy_it: bool = True) -> etree._Element:
    """The entry inside its top-level container (a singleton is its own container); a
    detached copy unless `copy_it` is False (the element is then moved)."""
    k = kind_of(key)
    entry = copy.deepcopy(element) if copy_it else element
    entry.tail = None
    wrapper = etree.Element(k.container_tag, nsmap=default_ns(k.ns))
    if k.singleton:
        wrapper.extend(list(entry))
    else:
        wrapper.append(entry)
    etree.cleanup_namespaces(wrapper)
    return wrapper


def _pretty(wrapper: etree._Element) -> bytes:
    strip_layout(wrapper)
    etree.indent(wrapper, space="  ")
    return etree.tostring(wrapper, encoding="UTF-8", xml_declaration=True, pretty_print=True)


def serialize_entry(key: Key, element: etree._Element) -> bytes:
    """The bytes of ROOT/<kind>/<name>/config.xml for this entry (escaped, pretty, UTF-8)."""
    return _pretty(wrap_entry(key, element))


def compact(element: etree._Element) -> bytes:
    """The entry as one line of XML, cheap to make: what the log and the history hold."""
    return etree.tostring(element, with_tail=False)


def format_entry(key: Key, data: bytes, file: str) -> bytes:
    """serialize_entry() of an entry given as compact() bytes (written by hvd itself)."""
    try:
        element = parse(data, DEFAULT_LIMITS)
    except RpcError as exc:
        raise StoreError(f"bad entry in the log: {exc.message}", file=file) from None
    return _pretty(wrap_entry(key, element, copy_it=False))


def parse_entry(data: bytes, key: Key, file: str,
                limits: XmlLimits = DEFAULT_LIMITS) -> etree._Element:
    """The entry held by an entry file, checked to be exactly one entry named as `key`.

    Faults are StoreErrors naming `file`: the file may have been edited by hand.
    """
    k = kind_of(key)
    try:
        doc = parse(data, limits)
    except RpcError as exc:
        raise StoreError(exc.message, file=file) from None
    if doc.tag not in BY_CONTAINER or BY_CONTAINER[doc.tag] is not k:
        raise StoreError(f"expected <{k.container} xmlns=\"{k.ns}\">, found {doc.tag}",
                         file=file)
    if doc.text is not None and doc.text.strip():
        raise StoreError(f"unexpected text in <{k.container}>", file=file)
    if k.singleton:
        return strip_layout(doc)
    children = list(doc)
    if len(children) != 1 or children[0].tag != k.entry_tag:
        raise StoreError(f"expected exactly one <{k.entry}> in <{k.container}>, found "
                         f"{len(children)} element(s)"
                         + (f" ({children[0].tag})" if len(children) == 1 else ""), file=file)
    entry = children[0]
    if entry.tail is not None and entry.tail.strip():
        raise StoreError(f"unexpected text after <{k.entry}>", file=file)
    names = entry.findall(k.name_tag)
    if len(names) != 1:
        raise StoreError(f"<{k.entry}> must have exactly one <name>, has {len(names)}",
                         file=file)
    if names[0].text != key[1]:
        raise StoreError(f"<{k.entry}> is named {names[0].text!r} but its directory is "
                         f"{key[1]!r}", file=file)
    doc.remove(entry)
    return strip_layout(entry)
