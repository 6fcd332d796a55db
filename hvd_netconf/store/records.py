"""Checksummed records in an append-only file: `<head><len> <sha256>\\n<body>`.

The records may be followed by zero bytes (space made ahead of time). A crash while a
record is appended leaves it torn, and only the last record can be torn: readers stop
there. A bad record followed by a good one is damage, never a crash.
"""

from __future__ import annotations

import hashlib
import re

from hvd_netconf.store.errors import StoreError


def frame(head: bytes, body: bytes) -> bytes:
    return b"%s%d %s\n%s" % (head, len(body), hashlib.sha256(body).hexdigest().encode(), body)


def _frame_at(data: bytes, pos: int, header: re.Pattern[bytes]) -> tuple[bytes, int] | None:
    """The body and end of a whole, good record starting at `pos`, if there is one."""
    nl = data.find(b"\n", pos, pos + 100)
    m = header.fullmatch(data, pos, nl) if nl >= 0 else None
    if m is None:
        return None
    end = nl + 1 + int(m.group(1))
    body = data[nl + 1:end]
    if end > len(data) or hashlib.sha256(body).hexdigest().encode() != m.group(2):
        return None
    return body, end


def read_frames(data: bytes, head: bytes, path: str, what: str) -> tuple[list[bytes], int]:
    """The bodies of the whole records in `data`, and the length they span."""
    header = re.compile(re.escape(head) + rb"([0-9]{1,12}) ([0-9a-f]{64})")
    bodies: list[bytes] = []
    pos = 0
    while pos < len(data) and data[pos] != 0:
        frame = _frame_at(data, pos, header)
        if frame is None:
            break
        bodies.append(frame[0])
        pos = frame[1]
    later = data.find(head, pos + 1)
    while later >= 0:
        if _frame_at(data, later, header) is not None:
            raise StoreError(f"damaged {what} record at byte {pos}", file=path)
        later = data.find(head, later + 1)
    return bodies, pos


def torn_tail(data: bytes, length: int) -> bool:
    """Whether anything but zeros follows the whole records (a record torn by a crash)."""
    return bool(data[length:].strip(b"\0"))
