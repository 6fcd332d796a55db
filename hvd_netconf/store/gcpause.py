"""The cyclic garbage collector held off while a bulk write runs, and what survives it frozen.

CPython's collector runs whenever allocations outnumber deallocations by a threshold, and a
full collection walks every object it tracks. A write of 10,000 VMs allocates millions of
objects: with the collector on, it runs dozens of times inside the write, and then full
collections over the new entries stall the readers that come right after the reply for
hundreds of milliseconds (issue 25). So a write of at least BULK entries runs with the
collector off, and when the last such write ends, one collection of the youngest
generation (the objects the writes made: it costs their number, not the heap's) frees the
garbage in reference cycles they left, then gc.freeze() moves everything alive (the
datastores' entries, which live until they are replaced) into the permanent generation,
which later collections leave alone. An entry replaced later is freed by its reference count
as before; only garbage in cycles among frozen objects would stay, and the datastores'
trees make none.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

BULK = 1000  # entries in one write from which the collector is held off

_lock = threading.Lock()
_depth = 0  # bulk writes under way (edits of two sessions may overlap)
_was_enabled = True


@contextmanager
def paused(entries: int) -> Iterator[None]:
    """Run the block with the collector off when it writes at least BULK entries."""
    global _depth, _was_enabled
    if entries < BULK:
        yield
        return
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.collect(0)
                gc.freeze()
                gc.enable()
