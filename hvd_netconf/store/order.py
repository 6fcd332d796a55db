"""Where a new entry of an ordered-by system list goes: in key order.

RFC 7950 §7.7.7 lets the server choose the order of such a list but it must not drift: the
loader reads entry directories in sorted name order, so every place that inserts an entry
keeps the same order, and a list reads the same before and after a restart.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable

from lxml import etree


def insert_sorted(container: etree._Element, el: etree._Element, name: str,
                  names: list[str], entry_of: Callable[[str], etree._Element]) -> None:
    """Move `el` (a child of `container`, or detached) before the entry that follows `name`
    in the sorted `names`, and add `name` there: a bisect and one move in the tree, not a walk
    (lxml's insert at an index walks the children). A name after every other one is the common
    case: `el` ends up last."""
    pos = bisect_left(names, name)
    if pos == len(names):
        if el.getparent() is not container or el.getnext() is not None:
            container.append(el)
    else:
        entry_of(names[pos]).addprevious(el)
    names.insert(pos, name)


def drop_sorted(names: list[str], name: str) -> None:
    pos = bisect_left(names, name)
    if pos < len(names) and names[pos] == name:
        del names[pos]
