"""The saved candidate: one append-only log, so saving an edit costs one write and one fsync.

ROOT/.hvd/candidate.log is a sequence of records, each `#hvd-candidate <len> <sha256>\\n`
followed by <len> bytes of XML naming, per entry key, its content in the candidate (`put`),
its deletion from the candidate while running has it (`delete`), or that it is no longer
edited (`forget`). Later records win. A record torn by a crash is the last one in the file
and is dropped at load (its edit was never acknowledged); a bad record followed by others is
damage, and stops the start. A commit of the candidate replaces the whole log inside its own
journal, so the log never outlives the commit that made it stale.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable

from lxml import etree

from hvd_netconf.errors import RpcError
from hvd_netconf.store.codec import strip_layout
from hvd_netconf.store.errors import StoreError
from hvd_netconf.store.fileio import fsync_dir, write_all
from hvd_netconf.store.keys import KINDS, Key, key_of
from hvd_netconf.xmlparse import XmlLimits, parse

LOG_NAME = "candidate.log"
LOG_NS = "urn:hvd:store:candidate"
_HEAD = b"#hvd-candidate "
_HEADER = re.compile(rb"#hvd-candidate ([0-9]{1,12}) ([0-9a-f]{64})")
# One record may hold a whole datastore (an edit creating 10,000 VMs).
LOG_LIMITS = XmlLimits(max_bytes=2 * 1024**3, max_depth=64, max_elements=100_000_000)

# key -> the entry (put), None (delete: absent in the candidate, present in running) or
# FORGET (no longer edited).
FORGET = "forget"
Saved = dict[Key, "etree._Element | str | None"]


def record(items: Iterable[tuple[Key, etree._Element | str | None]]) -> bytes:
    """One framed record; entries are serialised in place (no copy of the tree)."""
    parts = [b'<save xmlns="', LOG_NS.encode(), b'">']
    for key, value in items:
        attrs = f'kind="{key[0]}" name="{key[1]}"'.encode()  # names are checked safe names
        if value is None:
            parts += [b"<delete ", attrs, b"/>"]
        elif isinstance(value, str):
            parts += [b"<forget ", attrs, b"/>"]
        else:
            parts += [b"<put ", attrs, b">", etree.tostring(value, with_tail=False), b"</put>"]
    parts.append(b"</save>")
    body = b"".join(parts)
    return b"%s%d %s\n%s" % (_HEAD, len(body), hashlib.sha256(body).hexdigest().encode(), body)


def append(path: str, data: bytes, *, fsync: bool = True) -> None:
    """Append one record durably (fdatasync: the size change is part of the data)."""
    sync = getattr(os, "fdatasync", os.fsync) if fsync else None
    write_all(path, data, os.O_APPEND, sync)


def ensure(path: str, *, fsync: bool = True) -> None:
    """Create the empty log once, durably, so that later appends need no directory fsync."""
    if os.path.exists(path):
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)
    if fsync:
        fsync_dir(os.path.dirname(path))


def truncate(path: str, *, fsync: bool = True) -> None:
    """Empty the log (discard-changes): one in-place truncation, made durable."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        os.ftruncate(fd, 0)
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)


def _parse(body: bytes, path: str) -> list[tuple[Key, etree._Element | str | None]]:
    try:
        root = parse(body, LOG_LIMITS)
    except RpcError as exc:
        raise StoreError(f"bad saved-candidate record: {exc.message}", file=path) from None
    if root.tag != f"{{{LOG_NS}}}save":
        raise StoreError(f"bad saved-candidate record: {root.tag}", file=path)
    out: list[tuple[Key, etree._Element | str | None]] = []
    for item in root:
        if not isinstance(item.tag, str):
            continue
        op = etree.QName(item).localname
        kind = item.get("kind", "")
        key = (kind, item.get("name", ""))
        if kind not in KINDS or op not in ("put", "delete", "forget"):
            raise StoreError(f"bad saved-candidate item <{op} kind={kind!r}>", file=path)
        if op == "put":
            kids = [c for c in item if isinstance(c.tag, str)]
            try:
                ok = len(kids) == 1 and key_of(kids[0]) == key
            except RpcError:
                ok = False
            if not ok:
                raise StoreError(f"saved-candidate <put> of {key} is not one entry named so",
                                 file=path)
            entry = kids[0]
            item.remove(entry)
            out.append((key, strip_layout(entry)))
        else:
            out.append((key, None if op == "delete" else FORGET))
    return out


def load(path: str) -> Saved:
    """The saved entries, latest record winning; a torn last record is cut off the file."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return {}
    saved: Saved = {}
    pos = 0
    while pos < len(data):
        nl = data.find(b"\n", pos)
        m = _HEADER.fullmatch(data, pos, nl) if nl >= 0 else None
        end = nl + 1 + int(m.group(1)) if m else len(data) + 1
        if nl >= 0 and m is None:
            raise StoreError(f"damaged saved-candidate record at byte {pos}", file=path)
        if end > len(data) or hashlib.sha256(data[nl + 1:end]).hexdigest().encode() \
                != m.group(2):  # type: ignore[union-attr]
            if end < len(data):
                raise StoreError(f"damaged saved-candidate record at byte {pos}", file=path)
            os.truncate(path, pos)  # torn by a crash while it was appended
            break
        for key, value in _parse(data[nl + 1:end], path):
            saved[key] = value
        pos = end
    return {k: v for k, v in saved.items() if v is not FORGET}
