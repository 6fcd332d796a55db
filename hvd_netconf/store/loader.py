"""Start-up: read the /hv tree into a Datastore, trusting nothing in it.

Every file is parsed with hvd_netconf.xmlparse and checked to hold exactly one entry named
as its directory (a singleton file: its container); names are checked before they are used;
anything unexpected in vm/, networks/ or config/ stops the start with a StoreError naming
the file. Temp files left by an interrupted write are removed: the write-ahead log, replayed
before the tree is read, holds whatever they were to hold.
"""

from __future__ import annotations

import logging
import os
import re
import stat

from lxml import etree

from hvd_netconf.errors import InvalidValue, RpcError, plain_path
from hvd_netconf.keys import (
    ENTRY_FILE,
    KINDS,
    Key,
    Kind,
    check_name,
    entry_file,
    key_of_path,
)
from hvd_netconf.namespaces import default_ns
from hvd_netconf.schema.nodes import Schema
from hvd_netconf.schema.validate import validate
from hvd_netconf.store.codec import parse_entry
from hvd_netconf.store.datastore import Datastore, new_config_root
from hvd_netconf.store.errors import StoreError
from hvd_netconf.xmlparse import DEFAULT_LIMITS, XmlLimits

log = logging.getLogger(__name__)

# Leftovers of an interrupted write: `<file>.wal.new` (the log's) or `<file>.<tok>.tmp`.
TEMP = re.compile(r".+\.[0-9A-Za-z-]+\.(new|tmp)")


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


def checked_key(kind: str, name: str, schema: Schema | None, path: str) -> Key:
    key = (kind, name)
    try:
        check_name(key, schema)
    except InvalidValue as exc:
        raise StoreError(f"not a valid {KINDS[kind].label} name: {exc.message}",
                         file=path) from None
    return key


def load_tree(root: str, schema: Schema | None = None,
              limits: XmlLimits | None = None) -> Datastore:
    """The configuration stored under ROOT/vm, ROOT/networks and ROOT/config, in name order."""
    config = new_config_root()
    singles: dict[str, list[Kind]] = {}
    for k in KINDS.values():
        if k.singleton:
            singles.setdefault(k.directory, []).append(k)
            continue
        base = os.path.join(root, k.directory)
        if not os.path.isdir(base):
            continue
        container = etree.SubElement(config, k.container_tag, nsmap=default_ns(k.ns))
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
    for directory, kinds in singles.items():
        _load_singletons(root, directory, kinds, config, limits or DEFAULT_LIMITS)
    return Datastore(config)


def _load_singletons(root: str, directory: str, kinds: list[Kind], config: etree._Element,
                     limits: XmlLimits) -> None:
    """ROOT/<directory>/<kind>.xml for each singleton kind kept there; nothing else."""
    base = os.path.join(root, directory)
    if not os.path.isdir(base):
        return
    files = {f"{k.name}.xml": k for k in kinds}
    for name in sorted(remove_temps(base, os.listdir(base))):
        path = os.path.join(base, name)
        k = files.get(name)
        if k is None:
            raise StoreError(f"unknown file in {directory}/: only "
                             f"{', '.join(sorted(files))} belong there", file=path)
        config.append(parse_entry(read_regular(path), (k.name, k.name), path, limits))


def validate_loaded(schema: Schema, ds: Datastore, root: str, what: str = "") -> None:
    """Full YANG validation of what was loaded; faults name the file holding the entry."""
    errors: list[RpcError] = list(validate(schema, ds.root))
    if not errors:
        return
    lines = []
    first_file = None
    for err in errors:
        key = key_of_path(err.path or "")
        file = entry_file(root, key) if key is not None else root
        first_file = first_file or file
        where = f" at {plain_path(err.path)}" if err.path else ""
        lines.append(f"{file}: {err.message}{where}")
    raise StoreError(f"{what}configuration does not validate:\n  " + "\n  ".join(lines),
                     file=first_file)
