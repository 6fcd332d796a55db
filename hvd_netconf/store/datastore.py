"""One configuration datastore in memory: the <config> tree plus an index of its entries.

Reads never touch disk. The index maps each entry key to its element inside the tree, so a
lookup is O(1) and replacing one entry does not walk the others.
"""

from __future__ import annotations

import copy
from bisect import bisect_left
from collections.abc import Iterable, Iterator

from lxml import etree

from hvd_netconf.errors import InvalidValue
from hvd_netconf.keys import KINDS, Key, Kind, entry_path_str, key_of, kind_of
from hvd_netconf.namespaces import BASE, default_ns, qn
from hvd_netconf.store.order import drop_sorted, insert_sorted


def clone(element: etree._Element) -> etree._Element:
    """A deep copy, without copy.deepcopy's bookkeeping (a third of the cost per entry)."""
    # lxml's elements have __deepcopy__; lxml-stubs does not list it.
    return element.__deepcopy__(None)  # type: ignore[attr-defined, no-any-return]


def same(a: etree._Element, b: etree._Element) -> bool:
    """Structural equality ignoring namespace prefixes and whitespace between elements."""
    if a.tag != b.tag or (a.text or "").strip() != (b.text or "").strip():
        return False
    ca = [c for c in a if isinstance(c.tag, str)]
    cb = [c for c in b if isinstance(c.tag, str)]
    return len(ca) == len(cb) and all(same(x, y) for x, y in zip(ca, cb, strict=True))


def new_config_root() -> etree._Element:
    return etree.Element(qn(BASE, "config"), nsmap=default_ns(BASE))


class Datastore:
    """A <config> element whose children are the <vms>, <networks> and <nacm> containers.

    Empty containers are removed, never kept (they are non-presence and never reported).
    A new entry goes where its name sorts in its container (store/order.py), as the loader
    orders them, so the order does not change across a restart.
    Not thread-safe: the server's lock serialises every use.
    """

    def __init__(self, root: etree._Element | None = None) -> None:
        self._root = new_config_root() if root is None else root
        self._index: dict[str, dict[str, etree._Element]] = {k: {} for k in KINDS}
        self._containers: dict[str, etree._Element] = {}  # set_entry's, while attached
        self._sorted: dict[str, list[str] | None] = {}  # the index's names sorted; None: stale
        self.reindex()

    @property
    def root(self) -> etree._Element:
        return self._root

    def get(self, key: Key) -> etree._Element | None:
        """The entry's element inside the tree (not a copy), or None."""
        return self._index[kind_of(key).name].get(key[1])

    def __contains__(self, key: object) -> bool:
        return isinstance(key, tuple) and len(key) == 2 and key[0] in self._index \
            and key[1] in self._index[key[0]]

    def __len__(self) -> int:
        return sum(len(v) for v in self._index.values())

    def keys(self, kind: str | None = None) -> list[Key]:
        """Keys in name order (the document order of a tree this class built), vm entries
        before network entries."""
        kinds = [kind] if kind is not None else list(self._index)
        return [(k, name) for k in kinds for name in self._names(k)]

    def items(self) -> Iterator[tuple[Key, etree._Element]]:
        for k, entries in self._index.items():
            for name, el in entries.items():
                yield (k, name), el

    def copy(self) -> Datastore:
        """A deep copy (O(datastore)): used once at start to make the candidate."""
        return Datastore(copy.deepcopy(self._root))

    def set_entry(self, key: Key, element: etree._Element | None) -> None:
        """Put `element` in place of the entry (or remove it with None), O(entry).

        The element is moved into this tree: pass a copy if it must stay elsewhere. A
        replaced entry keeps its position; a new one is appended to its container.
        """
        k = kind_of(key)
        index = self._index[k.name]
        old = index.get(key[1])
        if element is None:
            if old is not None:
                parent = old.getparent()
                assert parent is not None  # an indexed entry sits in its container
                parent.remove(old)
                del index[key[1]]
                if (names := self._sorted.get(k.name)) is not None:
                    drop_sorted(names, key[1])
                if len(parent) == 0 and parent is not self._root:
                    self._root.remove(parent)
            return
        if old is element:
            return
        if key_of(element) != key:
            raise InvalidValue(f"entry {key_of(element)!r} stored under key {key!r}",
                               path=entry_path_str(key))
        element.tail = None
        if old is not None:
            parent = old.getparent()
            assert parent is not None  # an indexed entry sits in its container
            parent.replace(old, element)
        elif k.singleton:
            self._insert_top(k, element)
            self._sorted.pop(k.name, None)
        else:
            container = self._containers.get(k.name)
            if container is None or container.getparent() is not self._root:
                made = self._container(k, create=True)
                assert made is not None  # create=True always gives one
                container = self._containers[k.name] = made
            insert_sorted(container, element, key[1], self._names(k.name), index.__getitem__)
        index[key[1]] = element

    def reindex(self, keys: Iterable[Key] | None = None) -> None:
        """Bring the index back in line after the tree was edited in place.

        With keys, only those entries are looked up again: an entry still in place costs
        O(1); a created or re-created one costs one pass over its container's children.
        None rebuilds everything (O(datastore)). Emptied containers are removed.
        """
        if keys is None:
            for k in KINDS.values():
                self._index[k.name] = self._scan(k, None)
            self._sorted.clear()
            return
        missing: dict[str, set[str]] = {}
        for key in keys:
            k = kind_of(key)
            el = self._index[k.name].get(key[1])
            if el is not None and k.singleton and el.getparent() is self._root and len(el):
                continue
            if (el is not None and el.findtext(k.name_tag) == key[1]
                    and (parent := el.getparent()) is not None
                    and parent.getparent() is self._root):
                continue
            missing.setdefault(k.name, set()).add(key[1])
        for kind_name, names in missing.items():
            k = KINDS[kind_name]
            found = self._scan(k, names)
            index = self._index[kind_name]
            order = self._sorted.get(kind_name)
            for name in names:
                if name in found:
                    if order is not None and name not in index:
                        order.insert(bisect_left(order, name), name)
                    index[name] = found[name]
                elif index.pop(name, None) is not None and order is not None:
                    drop_sorted(order, name)

    def _names(self, kind: str) -> list[str]:
        names = self._sorted.get(kind)
        if names is None:
            names = self._sorted[kind] = sorted(self._index[kind])
        return names

    def _container(self, k: Kind, *, create: bool) -> etree._Element | None:
        found = self._root.findall(k.container_tag)
        if len(found) > 1:
            raise InvalidValue(f"more than one <{k.container}> container",
                               path=f"/{k.prefix}:{k.container}")
        if found or not create:
            return found[0] if found else None
        container = etree.Element(k.container_tag, nsmap=default_ns(k.ns))
        self._insert_top(k, container)
        return container

    def _insert_top(self, k: Kind, element: etree._Element) -> None:
        """Keep the containers in the fixed module order (vms, networks, nacm)."""
        order = [kk.container_tag for kk in KINDS.values()]
        mine = order.index(k.container_tag)
        pos = sum(1 for c in self._root if c.tag in order[:mine])
        self._root.insert(pos, element)

    def _scan(self, k: Kind, wanted: set[str] | None) -> dict[str, etree._Element]:
        container = self._container(k, create=False)
        if container is None:
            return {}
        if k.singleton:
            # The container is the entry; an empty one is no configuration at all.
            if len(container) == 0:
                self._root.remove(container)
                return {}
            return {k.name: container}
        out: dict[str, etree._Element] = {}
        for el in container.iterchildren(k.entry_tag):
            key = key_of(el)
            if wanted is not None and key[1] not in wanted:
                continue
            if key[1] in out:
                raise InvalidValue(f"two {k.entry} entries named {key[1]!r}",
                                   path=entry_path_str(key))
            out[key[1]] = el
        if len(container) == 0:
            self._root.remove(container)
        return out
