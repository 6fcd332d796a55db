"""Checksummed records in an append-only file: `<head><len> <sha256>\\n<body>`.

A crash while a record is appended leaves it torn, and only the last record can be torn:
readers stop there. A bad record followed by others is damage, never a crash.
"""

from __future__ import annotations

import hashlib
import re

from hvd_netconf.store.errors import StoreError


def frame(head: bytes, body: bytes) -> bytes:
    return b"%s%d %s\n%s" % (head, len(body), hashlib.sha256(body).hexdigest().encode(), body)


def read_frames(data: bytes, head: bytes, path: str, what: str) -> tuple[list[bytes], int]:
    """The bodies of the whole records in `data`, and the length they span."""
    header = re.compile(re.escape(head) + rb"([0-9]{1,12}) ([0-9a-f]{64})")
    bodies: list[bytes] = []
    pos = 0
    while pos < len(data):
        nl = data.find(b"\n", pos)
        m = header.fullmatch(data, pos, nl) if nl >= 0 else None
        if nl >= 0 and m is None:
            raise StoreError(f"damaged {what} record at byte {pos}", file=path)
        end = nl + 1 + int(m.group(1)) if m else len(data) + 1
        if end > len(data) or \
                hashlib.sha256(data[nl + 1:end]).hexdigest().encode() != m.group(2):  # type: ignore[union-attr]
            if end < len(data):
                raise StoreError(f"damaged {what} record at byte {pos}", file=path)
            break
        bodies.append(data[nl + 1:end])
        pos = end
    return bodies, pos
