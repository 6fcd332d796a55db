"""RFC 6242 framing: end-of-message (base:1.0) and chunked (base:1.1) decoders and encoders.

Decoders are pull-based so the session can switch from EOM to chunked framing right after the
hello without losing bytes already read. They never hold more than the configured limits: an
oversized message is skipped and reported as `Oversize` so that a too-big reply is still possible.
A broken chunk header cannot be resynchronised and raises FramingError (the session closes).
"""

from __future__ import annotations

import re

EOM = b"]]>]]>"
MAX_CHUNK_SIZE = 4294967295
_MAX_DIGITS = len(str(MAX_CHUNK_SIZE))
_ONE_CHUNK = re.compile(rb"\n#([1-9][0-9]{0,%d})\n" % (_MAX_DIGITS - 1))


class FramingError(Exception):
    """The byte stream can no longer be framed; the only way out is closing the session."""


class Oversize:
    """A message that exceeded the limits was skipped; `size` is how many bytes it had.
    (A plain class: `hv`'s one-shot path loads this module and not dataclasses.)"""

    __slots__ = ("size",)

    def __init__(self, size: int) -> None:
        self.size = size

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Oversize) and other.size == self.size

    def __hash__(self) -> int:
        return hash((Oversize, self.size))

    def __repr__(self) -> str:
        return f"Oversize(size={self.size})"


Frame = bytes | Oversize


class EomDecoder:
    """Splits a stream on `]]>]]>`; arbitrary read boundaries are fine."""

    def __init__(self, max_message: int) -> None:
        self.max_message = max_message
        self._buf = bytearray()
        self._scanned = 0  # bytes already known to hold no complete marker start
        self._skipped = 0  # >0 while discarding an oversized message

    def feed(self, data: bytes) -> None:
        self._buf += data

    def next(self) -> Frame | None:
        buf = self._buf
        idx = buf.find(EOM, self._scanned)
        if idx < 0:
            keep = len(EOM) - 1
            if len(buf) - keep > self.max_message or self._skipped:
                drop = max(0, len(buf) - keep)
                self._skipped += drop
                del buf[:drop]
            self._scanned = max(0, len(buf) - keep)
            return None
        msg = bytes(buf[:idx])
        del buf[: idx + len(EOM)]
        self._scanned = 0
        if self._skipped:
            size = self._skipped + len(msg)
            self._skipped = 0
            return Oversize(size)
        if len(msg) > self.max_message:
            return Oversize(len(msg))
        return msg

    def leftover(self) -> bytes:
        return bytes(self._buf)

    @property
    def skipping(self) -> bool:
        """An oversized message is being discarded (its end has not arrived yet)."""
        return self._skipped > 0


class ChunkedDecoder:
    """Reassembles `LF # size LF data ... LF ## LF` messages with strict header checks."""

    def __init__(self, max_message: int, max_chunk: int = MAX_CHUNK_SIZE) -> None:
        self.max_message = max_message
        self.max_chunk = max_chunk
        self._buf = bytearray()
        self._pos = 0
        self._parts: list[bytes] = []
        self._size = 0  # bytes of the current message seen so far
        self._remaining = 0  # data bytes still due in the current chunk
        self._oversize = False

    def feed(self, data: bytes) -> None:
        if self._pos:
            del self._buf[: self._pos]
            self._pos = 0
        self._buf += data

    def next(self) -> Frame | None:
        buf = self._buf
        if not self._remaining and not self._size:  # between messages
            whole = _ONE_CHUNK.match(buf, self._pos)
            if whole is not None:
                size, start = int(whole[1]), whole.end()
                end = start + size
                if size <= min(self.max_chunk, self.max_message, MAX_CHUNK_SIZE) \
                        and buf[end:end + 4] == b"\n##\n":
                    # A whole one-chunk message, as hvd and most clients send them: what the
                    # loop below would return, in one step.
                    self._pos = end + 4
                    return bytes(buf[start:end])
        while True:
            if self._remaining:
                avail = min(self._remaining, len(buf) - self._pos)
                if avail <= 0:
                    return None
                if not self._oversize:
                    self._parts.append(bytes(buf[self._pos : self._pos + avail]))
                self._pos += avail
                self._remaining -= avail
                if self._remaining:
                    return None
                continue
            header = self._header()
            if header is None:
                return None
            if header == 0:  # end of chunks
                if not self._size:
                    raise FramingError("end-of-chunks marker without any chunk")
                size, parts, oversize = self._size, self._parts, self._oversize
                self._parts, self._size, self._oversize = [], 0, False
                return Oversize(size) if oversize else b"".join(parts)
            self._size += header
            self._remaining = header
            if header > self.max_chunk or self._size > self.max_message:
                self._oversize = True
                self._parts = []

    def _header(self) -> int | None:
        """Parse one header at _pos: chunk size, 0 for end-of-chunks, None if incomplete."""
        buf, pos = self._buf, self._pos
        have = len(buf) - pos
        if have < 1:
            return None
        if buf[pos] != 0x0A:
            raise FramingError(f"chunk header must start with LF, got {bytes(buf[pos:pos + 1])!r}")
        if have < 2:
            return None
        if buf[pos + 1] != 0x23:
            raise FramingError("chunk header must start with LF #")
        if have < 3:
            return None
        first = buf[pos + 2]
        if first == 0x23:
            if have < 4:
                return None
            if buf[pos + 3] != 0x0A:
                raise FramingError("end-of-chunks marker must be LF ## LF")
            self._pos = pos + 4
            return 0
        if not 0x31 <= first <= 0x39:
            raise FramingError(f"chunk size must start with a digit 1-9, got {bytes([first])!r}")
        end = pos + 3
        limit = min(len(buf), pos + 2 + _MAX_DIGITS + 1)
        while end < limit and 0x30 <= buf[end] <= 0x39:
            end += 1
        if end - (pos + 2) > _MAX_DIGITS:
            raise FramingError("chunk size has too many digits")
        if end == len(buf):
            return None
        if buf[end] != 0x0A:
            raise FramingError(f"chunk size must end with LF, got {bytes(buf[end:end + 1])!r}")
        size = int(buf[pos + 2 : end])
        if size > MAX_CHUNK_SIZE:
            raise FramingError(f"chunk size {size} exceeds {MAX_CHUNK_SIZE}")
        self._pos = end + 1
        return size

    def leftover(self) -> bytes:
        return bytes(self._buf[self._pos :])


def encode_eom(body: bytes) -> bytes:
    return body + EOM


def encode_chunked(body: bytes, max_chunk: int = MAX_CHUNK_SIZE) -> bytes:
    """One chunk per message unless the body is larger than a chunk may be."""
    n = len(body)
    if n <= max_chunk:
        return b"\n#%d\n%b\n##\n" % (n, body)
    parts = [b"\n#%d\n%b" % (len(body[i : i + max_chunk]), body[i : i + max_chunk])
             for i in range(0, n, max_chunk)]
    parts.append(b"\n##\n")
    return b"".join(parts)
