"""Entry keys of the /hv tree and the only place a name becomes a path.

A key is ("vm", name), ("network", name) or, for a top-level container that is one entry
as a whole, (kind, kind): ("nacm", "nacm") is ietf-netconf-acm's /nacm in ROOT/config/nacm.xml.
Names are checked against the YANG types (hvd-types object-name / network-name) before any
path is built from them, so nothing outside ROOT/vm/<name>/, ROOT/networks/<name>/ or the
singletons' files can ever be written.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from lxml import etree

from hvd_netconf.errors import InvalidValue
from hvd_netconf.namespaces import NACM, NETWORK, TEMPLATE, VM, qn

Key = tuple[str, str]


@dataclass(frozen=True)
class Kind:
    """One list of the tree, or one singleton container: where its entries live in XML and
    on disk."""

    name: str  # the key's first part
    ns: str
    container: str  # top-level container element
    entry: str | None  # list element; None: the container itself is the kind's one entry
    directory: str  # directory under ROOT
    prefix: str  # module prefix, for error paths
    host: bool = True  # whether its entries change the host (the apply plan looks at them)

    # Computed once: these are read for every entry of every request.
    @cached_property
    def singleton(self) -> bool:
        return self.entry is None

    @cached_property
    def label(self) -> str:
        """What people call one entry: `vm`, `network`, `nacm`."""
        return self.entry or self.container

    @cached_property
    def container_tag(self) -> str:
        return qn(self.ns, self.container)

    @cached_property
    def entry_tag(self) -> str:
        return qn(self.ns, self.entry or self.container)

    @cached_property
    def name_tag(self) -> str:
        return qn(self.ns, "name")


KINDS: dict[str, Kind] = {
    "vm": Kind("vm", VM, "vms", "vm", "vm", "hvd-vm"),
    "network": Kind("network", NETWORK, "networks", "network", "networks", "hvd-net"),
    "nacm": Kind("nacm", NACM, "nacm", None, "config", "nacm", host=False),
    # hvd-vm's host-wide snapshot policy: read by the scheduler, no host step at commit
    "snapshot-schedule": Kind("snapshot-schedule", VM, "snapshot-schedule", None, "config",
                              "hvd-vm", host=False),
    # guest templates (hvd-template): create-vm copies them into a VM; the host never sees one
    "template": Kind("template", TEMPLATE, "templates", "template", "templates", "hvd-tpl",
                     host=False),
    # backup-vm reads it when it runs; a target changes nothing on the host by itself
    "backup-target": Kind("backup-target", VM, "backup-targets", "backup-target",
                          "backup-targets", "hvd-vm", host=False),
    # quotas across VMs: checked at validation (host/quotas.py), nothing to apply
    "resource-pool": Kind("resource-pool", VM, "resource-pools", "resource-pool",
                          "resource-pools", "hvd-vm", host=False),
    "resource-policy": Kind("resource-policy", VM, "resource-policy", None, "config",
                            "hvd-vm", host=False),
}
BY_CONTAINER: dict[str, Kind] = {k.container_tag: k for k in KINDS.values()}
BY_ENTRY_TAG: dict[str, Kind] = {k.entry_tag: k for k in KINDS.values()}
ENTRY_FILE = "config.xml"

# Path safety, independent of the model: the YANG patterns are stricter, this is the floor.
_SAFE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,30}")


def kind_of(key: Key) -> Kind:
    try:
        return KINDS[key[0]]
    except (KeyError, TypeError, IndexError):
        raise InvalidValue(f"unknown entry kind in key {key!r}") from None


def entry_path_str(key: Key) -> str:
    """The error-path of an entry (RFC 6241 §4.3: an absolute XPath), with module prefixes."""
    k = kind_of(key)
    p = k.prefix
    if k.singleton:
        return f"/{p}:{k.container}"
    return f"/{p}:{k.container}/{p}:{k.entry}[{p}:name='{key[1]}']"


def key_of_path(path: str) -> Key | None:
    """The entry an error-path points into (or at), if any."""
    for k in KINDS.values():
        top = f"/{k.prefix}:{k.container}"
        if k.singleton:
            if path == top or path.startswith(top + "/"):
                return (k.name, k.name)
            continue
        m = re.match(re.escape(f"{top}/{k.prefix}:{k.entry}[{k.prefix}:name=") + r"'([^']*)'\]",
                     path)
        if m:
            return (k.name, m.group(1))
    return None


_NAME_NODES: dict[tuple[int, str], tuple[Any, Any]] = {}


def _name_node(schema: Any, k: Kind) -> Any:
    """The schema node of a kind's `name` key (looked up once per schema)."""
    node = _NAME_NODES.get((id(schema), k.name))
    if node is None or node[0] is not schema:
        node = _NAME_NODES[(id(schema), k.name)] = (
            schema, schema.top(k.ns, k.container).child(k.ns, k.entry).child(k.ns, "name"))
    return node[1]


def check_name(key: Key, schema: Any = None) -> None:
    """Refuse a name that the model refuses or that is unsafe as a path component.

    With a schema the model's own check_value decides (its error-message is the reply);
    the path-safety floor applies in every case.
    """
    k = kind_of(key)
    name = key[1]
    if not isinstance(name, str):
        raise InvalidValue(f"{k.label} name must be a string, not {name!r}")
    if k.singleton:
        if name != k.name:
            raise InvalidValue(f"{k.label} is one entry, keyed {(k.name, k.name)!r}, not {key!r}",
                               path=entry_path_str(key))
        return
    if schema is not None:
        _name_node(schema, k).check_value(name)
    if not _SAFE.fullmatch(name) or ".." in name or name.endswith("."):
        raise InvalidValue(
            f"{k.entry} name {name!r} is not a safe name (1 to 31 letters, digits, '_', '-',"
            " single '.' between them)",
            path=entry_path_str(key) + f"/{k.prefix}:name",
        )


def entry_rel(key: Key) -> str:
    """vm/<name>/config.xml; config/<kind>.xml for a singleton (relative to ROOT)."""
    k = kind_of(key)
    if k.singleton:
        return f"{k.directory}/{k.name}.xml"
    return f"{k.directory}/{key[1]}/{ENTRY_FILE}"


def entry_file(root: str, key: Key) -> str:
    """ROOT/vm/<name>/config.xml; ROOT/config/<kind>.xml for a singleton."""
    return os.path.join(root, entry_rel(key))


def key_of_file(rel: str) -> Key | None:
    """The key whose entry_rel() is `rel`, if any."""
    parts = rel.split("/")
    for k in KINDS.values():
        if k.singleton:
            if rel == f"{k.directory}/{k.name}.xml":
                return (k.name, k.name)
        elif len(parts) == 3 and parts[0] == k.directory and parts[2] == ENTRY_FILE:
            return (k.name, parts[1])
    return None


def key_of(element: etree._Element) -> Key:
    """The key an entry element carries (its kind from its tag, its name from <name>)."""
    k = BY_ENTRY_TAG.get(element.tag)
    if k is None:
        raise InvalidValue(f"{element.tag} is not an entry of the configuration "
                           "(vm, network, template, nacm, snapshot-schedule)")
    if k.singleton:
        return (k.name, k.name)
    # The key comes first in a list entry (RFC 7950 7.8.5); anything else is looked up.
    first = element[0] if len(element) else None
    name = (first.text or "") if first is not None and first.tag == k.name_tag \
        else element.findtext(k.name_tag)
    if name is None:
        raise InvalidValue(f"{k.entry} entry without a name")
    return (k.name, name)
