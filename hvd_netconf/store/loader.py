"""Start-up: read the /hv tree into a Datastore, trusting nothing in it.

Every file is parsed with hvd_netconf.xmlparse and checked to hold exactly one entry named
as its directory; names are checked before they are used; anything unexpected in vm/ or
networks/ stops the start with a StoreError naming the file. Temp files of a commit that
never reached its commit point (no journal) are removed: they were never acknowledged.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from typing import Any

from lxml import etree

from hvd_netconf.errors import InvalidValue, RpcError, plain_path
from hvd_netconf.store.codec import parse_entry
from hvd_netconf.store.datastore import Datastore, new_config_root
from hvd_netconf.store.errors import StoreError
from hvd_netconf.store.keys import ENTRY_FILE, KINDS, Key, check_name, entry_file
from hvd_netconf.xmlparse import DEFAULT_LIMITS, XmlLimits

log = logging.getLogger(__name__)

# Leftovers of an interrupted write: `<file>.<txid>.new` (journal) or `<file>.<tok>.tmp`.
TEMP = re.compile(r".+\.[0-9A-Za-z-]+\.(new|tmp)")
_ENTRY_PATH = re.compile(r"^/(hvd-vm|hvd-net):(vms|networks)/\1:(vm|network)\[\1:name='([^']*)'\]")


def remove_temps(directory: str, names: list[str]) -> list[str]:
    """Remove stale temp files among `names`; return the other names."""
    kept = []
    for name in names:
        if TEMP.fullmatch(name):
            log.warning("removing %s: left by an interrupted write", os.path.join(directory, name))
            os.unlink(os.path.join(directory, name))
        else:
            kept.append(name)
    return kept


def read_regular(path: str) -> bytes:
    """The bytes of a regular file; a symlink or anything else is refused."""
    st = os.lstat(path)
    if not stat.S_ISREG(st.st_mode):
        raise StoreError("not a regular file (symlinks are refused)", file=path)
    with open(path, "rb") as f:
        return f.read()


def checked_key(kind: str, name: str, schema: Any, path: str) -> Key:
    key = (kind, name)
    try:
        check_name(key, schema)
    except InvalidValue as exc:
        raise StoreError(f"not a valid {KINDS[kind].entry} name: {exc.message}",
                         file=path) from None
    return key


def load_tree(root: str, schema: Any = None, limits: XmlLimits | None = None) -> Datastore:
    """The configuration stored under ROOT/vm and ROOT/networks, in name order."""
    config = new_config_root()
    for k in KINDS.values():
        base = os.path.join(root, k.directory)
        if not os.path.isdir(base):
            continue
        container = etree.SubElement(config, k.container_tag, nsmap={None: k.ns})
        for name in sorted(remove_temps(base, os.listdir(base))):
            path = os.path.join(base, name)
            if not stat.S_ISDIR(os.lstat(path).st_mode):
                raise StoreError(f"unknown file in {k.directory}/: every entry is a directory"
                                 f" holding {ENTRY_FILE}", file=path)
            key = checked_key(k.name, name, schema, path)
            inside = remove_temps(path, os.listdir(path))
            if ENTRY_FILE not in inside:
                # A VM dataset whose configuration was deleted still holds its disks.
                log.info("%s has no %s: no configuration there", path, ENTRY_FILE)
                continue
            file = entry_file(root, key)
            data = read_regular(file)
            container.append(parse_entry(data, key, file, limits or DEFAULT_LIMITS))
    return Datastore(config)


def validate_loaded(schema: Any, ds: Datastore, root: str, what: str = "") -> None:
    """Full YANG validation of what was loaded; faults name the file holding the entry."""
    from hvd_netconf.schema.validate import validate  # imported late: the schema is optional

    errors: list[RpcError] = list(validate(schema, ds.root))
    if not errors:
        return
    lines = []
    first_file = None
    for err in errors:
        file = root
        m = _ENTRY_PATH.match(err.path or "")
        if m:
            kind = "vm" if m.group(3) == "vm" else "network"
            file = entry_file(root, (kind, m.group(4)))
        first_file = first_file or file
        where = f" at {plain_path(err.path)}" if err.path else ""
        lines.append(f"{file}: {err.message}{where}")
    raise StoreError(f"{what}configuration does not validate:\n  " + "\n  ".join(lines),
                     file=first_file)
