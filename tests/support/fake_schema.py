"""A hand-built schema for the pure edit-engine tests: the shapes of hvd-vm plus what it lacks
(leaf-lists, a two-key ordered list), so every edit rule is exercised without the YANG loader."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from lxml import etree

from hvd_netconf.errors import InvalidValue
from hvd_netconf.namespaces import BASE, VM

T = "urn:hvd:test"


@dataclass
class Mod:
    name: str
    namespace: str


@dataclass
class Node:
    kind: str
    name: str
    ns: str
    kids: list[Node] = field(default_factory=list)
    keys: tuple[str, ...] = ()
    config: bool = True
    ordered_by_user: bool = False
    check: Any = None

    @property
    def children(self) -> list[Node]:
        return self.kids

    @property
    def by_tag(self) -> dict[str, Node]:
        return {f"{{{k.ns}}}{k.name}": k for k in self.kids}

    def child(self, ns: str, name: str) -> Node | None:
        return next((k for k in self.kids if k.ns == ns and k.name == name), None)

    def check_value(self, text: str) -> str:
        if self.check is None:
            return text
        return self.check(text)


def int_range(lo: int, hi: int):
    def check(text: str) -> str:
        try:
            v = int(text.strip())
        except ValueError:
            raise InvalidValue(f"{text!r} is not an integer") from None
        if not lo <= v <= hi:
            raise InvalidValue(f"{v} is outside {lo}..{hi}", app_tag="range")
        return str(v)
    return check


def name_check(text: str) -> str:
    if not text or "/" in text or " " in text:
        raise InvalidValue(f"bad name {text!r}")
    return text


def leaf(ns: str, name: str, check: Any = None, config: bool = True) -> Node:
    return Node("leaf", name, ns, check=check, config=config)


class FakeSchema:
    def __init__(self) -> None:
        self.modules = [Mod("hvd-vm", VM), Mod("test", T)]
        disk = Node("list", "disk", VM, [leaf(VM, "name", name_check), leaf(VM, "size")],
                    keys=("name",), ordered_by_user=True)
        vm = Node("list", "vm", VM, [
            leaf(VM, "name", name_check), leaf(VM, "description"),
            leaf(VM, "cpu", int_range(1, 32)), leaf(VM, "memory", int_range(64, 1048576)),
            Node("container", "loader", VM, [leaf(VM, "type"), leaf(VM, "uefi-vars")]),
            disk,
            Node("container", "state", VM, [leaf(VM, "status", config=False)], config=False),
        ], keys=("name",))
        part = Node("list", "part", T, [leaf(T, "a"), leaf(T, "b"), leaf(T, "v")],
                    keys=("a", "b"), ordered_by_user=True)
        thing = Node("list", "thing", T, [
            leaf(T, "id", name_check),
            Node("leaf-list", "tag", T, ordered_by_user=True),
            Node("leaf-list", "label", T, check=int_range(0, 99)),
            part,
        ], keys=("id",))
        self.tops = {
            (VM, "vms"): Node("container", "vms", VM, [vm]),
            (T, "things"): Node("container", "things", T, [thing, leaf(T, "motd")]),
        }

    def top(self, ns: str, name: str) -> Node | None:
        return self.tops.get((ns, name))


@pytest.fixture(scope="session")
def fake_schema() -> FakeSchema:
    return FakeSchema()


def _config(body: str) -> etree._Element:
    """<config> with the usual prefixes declared: nc (base), v (vm), t (test), y (yang)."""
    return etree.fromstring(
        f'<config xmlns="{BASE}" xmlns:nc="{BASE}" xmlns:v="{VM}" xmlns:t="{T}" '
        f'xmlns:y="urn:ietf:params:xml:ns:yang:1">{body}</config>')


@pytest.fixture(scope="session")
def mkcfg():
    return _config
