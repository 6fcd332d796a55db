"""The saved candidate: its edits are write-ahead log records, its snapshot one file.

An edit of the candidate is saved as a `cand` record of the store's log (one append, one
flush); a commit or discard-changes logs a `reset`. The body of both is XML naming, per
entry key, its content in the candidate (`put`), its deletion from the candidate while
running has it (`delete`), or that it is no longer edited (`forget`). At each checkpoint the
saved candidate as a whole is written to ROOT/.hvd/candidate.log, framed as one record
`#hvd-candidate <len> <sha256>\n` + body; at start, that snapshot plus the log's records
since give the saved candidate, later records winning.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from lxml import etree

from hvd_netconf.errors import RpcError
from hvd_netconf.keys import KINDS, Key, key_of
from hvd_netconf.store.codec import strip_layout
from hvd_netconf.store.errors import StoreError
from hvd_netconf.store.fileio import atomic_write
from hvd_netconf.store.records import frame, read_frames
from hvd_netconf.store.wal import CandidateSave, Op
from hvd_netconf.xmlparse import XmlLimits, parse

LOG_NAME = "candidate.log"
LOG_NS = "urn:hvd:store:candidate"
_HEAD = b"#hvd-candidate "
# One record may hold a whole datastore (an edit creating 10,000 VMs).
LOG_LIMITS = XmlLimits(max_bytes=2 * 1024**3, max_depth=64, max_elements=100_000_000)

# key -> the entry (put), None (delete: absent in the candidate, present in running) or
# FORGET (no longer edited).
FORGET = "forget"
Saved = dict[Key, "etree._Element | str | None"]


def body(items: Iterable[tuple[Key, etree._Element | str | None]]) -> bytes:
    """A record's XML; entries are serialised in place (no copy of the tree)."""
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
    return b"".join(parts)


def write_snapshot(path: str, items: Iterable[tuple[Key, etree._Element | None]], *,
                   fsync: bool = True) -> None:
    """Replace the snapshot with these saved entries, all or nothing."""
    atomic_write(path, frame(_HEAD, body(items)), fsync=fsync)


def fold(saved: Saved, record_body: bytes, path: str, *, reset: bool = False) -> None:
    """Apply one record to the saved entries (reset: they are replaced)."""
    items = _parse(record_body, path)
    if reset:
        saved.clear()
    for key, value in items:
        saved[key] = value


def _parse(data: bytes, path: str) -> list[tuple[Key, etree._Element | str | None]]:
    try:
        root = parse(data, LOG_LIMITS)
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
    """The saved entries, latest record winning (the snapshot is written all or nothing, so
    anything that is not a whole record is damage)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return {}
    bodies, length = read_frames(data, _HEAD, path, "saved-candidate")
    if length < len(data):
        raise StoreError(f"damaged saved-candidate record at byte {length}", file=path)
    saved: Saved = {}
    for record_body in bodies:
        fold(saved, record_body, path)
    return saved


def saved_candidate(path: str, records: Iterable[Sequence[Op]], wal_file: str) -> Saved:
    """The saved candidate: the snapshot at `path`, then the log's candidate records."""
    saved = load(path)
    for ops in records:
        for op in ops:
            if isinstance(op, CandidateSave):
                fold(saved, op.body, wal_file, reset=op.reset)
    return saved


def live(saved: Saved) -> Saved:
    """The entries still edited (no `forget`)."""
    return {k: v for k, v in saved.items() if v is not FORGET}
