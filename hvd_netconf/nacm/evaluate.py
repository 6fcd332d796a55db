"""RFC 8341 §3.4 evaluation, pure: a configuration in, permit or deny out; no I/O, no state.

Rule-lists apply when one of their groups is one of the user's (or `*`); their rules are tried
in order and the first whose module, rule type and access operations match decides. Without a
match the `default-deny-all` / `default-deny-write` marks decide, then the `*-default` leaves.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from lxml import etree

from hvd_netconf.nacm.model import NacmConfig, Rule
from hvd_netconf.nacm.modules import DEFAULT_MODULES, Modules
from hvd_netconf.namespaces import BASE, NACM, VM, qn

CLOSE_SESSION = (BASE, "close-session")
# ietf-netconf marks these protocol operations nacm:default-deny-all, as do hvd-vm
# (import-vm-bhyve: it reads files of the host) and ietf-subscribed-notifications
# (kill-subscription).
DENY_ALL_RPCS = frozenset({(BASE, "kill-session"), (BASE, "delete-config"),
                           (VM, "import-vm-bhyve"),
                           ("urn:ietf:params:xml:ns:yang:ietf-subscribed-notifications",
                            "kill-subscription")})
# Top-level data nodes marked nacm:default-deny-all (ietf-netconf-acm's /nacm).
DENY_ALL_DATA = frozenset({(NACM, "nacm")})
DENY_WRITE_DATA: frozenset[tuple[str, str]] = frozenset()

Chain = Sequence[etree._Element]  # a data node and its ancestors, top-level node first


@dataclass(frozen=True)
class Subject:
    """Who asks: the NETCONF user name, their external (Unix or hvd user) groups, and
    whether this is the recovery session that NACM never applies to."""

    name: str
    groups: frozenset[str] = frozenset()
    recovery: bool = False


def _split(tag: str) -> tuple[str, str]:
    if tag[0] == "{":
        ns, _, name = tag[1:].partition("}")
        return ns, name
    return "", tag


def _path_matches(rule: Rule, chain: Chain) -> bool:
    """The rule's path selects the node itself or one of its ancestors."""
    assert rule.path is not None
    if len(rule.path) > len(chain):
        return False
    for step, el in zip(rule.path, chain, strict=False):
        if el.tag != qn(step.ns, step.name) and not (step.name == "*"
                                                    and _split(el.tag)[0] == step.ns):
            return False
        for kns, kname, value in step.keys:
            found = el.findtext(qn(kns, kname))
            if found is None or found.strip() != value:
                return False
    return True


class Evaluator:
    def __init__(self, config: NacmConfig, modules: Modules = DEFAULT_MODULES) -> None:
        self.config = config
        self.modules = modules
        self._rules_for = functools.lru_cache(maxsize=256)(self._compute_rules)

    # -- which rules apply ----------------------------------------------------------------

    def groups_of(self, subject: Subject) -> frozenset[str]:
        mine = {g for g, users in self.config.groups.items() if subject.name in users}
        if self.config.external_groups:
            mine |= subject.groups
        return frozenset(mine)

    def rules(self, subject: Subject) -> tuple[Rule, ...]:
        """Every rule of every rule-list that applies to the subject, in evaluation order."""
        return self._rules_for(subject.name, subject.groups)

    def _compute_rules(self, name: str, groups: frozenset[str]) -> tuple[Rule, ...]:
        mine = self.groups_of(Subject(name, groups))
        out: list[Rule] = []
        for rl in self.config.rule_lists:
            if "*" in rl.groups or mine.intersection(rl.groups):
                out.extend(rl.rules)
        return tuple(out)

    def _bypass(self, subject: Subject) -> bool:
        return not self.config.enable or subject.recovery

    # -- protocol operations and notifications -------------------------------------------

    def rpc_allowed(self, subject: Subject, ns: str, name: str) -> bool:
        if self._bypass(subject) or (ns, name) == CLOSE_SESSION:
            return True
        module = self.modules.module_of(ns)
        for rule in self.rules(subject):
            if rule.module not in ("*", module) or "exec" not in rule.ops:
                continue
            if rule.kind == "any" or (rule.kind == "rpc" and rule.rpc in ("*", name)):
                return rule.action == "permit"
        if (ns, name) in DENY_ALL_RPCS:
            return False
        return self.config.exec_default == "permit"

    def notification_allowed(self, subject: Subject, ns: str, name: str) -> bool:
        if self._bypass(subject):
            return True
        module = self.modules.module_of(ns)
        for rule in self.rules(subject):
            if rule.module not in ("*", module) or "read" not in rule.ops:
                continue
            if rule.kind == "any" or (rule.kind == "notification"
                                      and rule.notification in ("*", name)):
                return rule.action == "permit"
        return self.config.read_default == "permit"

    # -- data nodes -----------------------------------------------------------------------

    def data_allowed(self, subject: Subject, chain: Chain, op: str) -> bool:
        if self._bypass(subject):
            return True
        return self._decide(self.rules(subject), chain, op)[0]

    def _decide(self, rules: Sequence[Rule], chain: Chain, op: str) -> tuple[bool, bool]:
        """(allowed, the same answer holds for every descendant of the node)."""
        node_ns = _split(chain[-1].tag)[0]
        module = self.modules.module_of(node_ns)
        depth = len(chain)
        for idx, rule in enumerate(rules):
            if op not in rule.ops or rule.kind not in ("any", "data"):
                continue
            if rule.module not in ("*", module):
                continue
            if rule.kind == "data" and not _path_matches(rule, chain):
                continue
            return rule.action == "permit", (rule.module == "*" and
                                             not _may_differ_below(rules[:idx], depth, op))
        top = _split(chain[0].tag)
        if top in DENY_ALL_DATA or (op != "read" and top in DENY_WRITE_DATA):
            allowed = False
        else:
            default = self.config.read_default if op == "read" else self.config.write_default
            allowed = default == "permit"
        return allowed, not _may_differ_below(rules, depth, op)

    def filter_read(self, subject: Subject, root: etree._Element) -> int:
        """Remove, in place, every node under the wrapper `root` the subject may not read;
        returns how many subtrees were removed."""
        if self._bypass(subject):
            return 0
        rules = tuple(r for r in self.rules(subject) if "read" in r.ops
                      and r.kind in ("any", "data"))
        removed = 0
        stack: list[tuple[etree._Element, tuple[etree._Element, ...]]] = [
            (c, (c,)) for c in root.iterchildren(tag=etree.Element)]
        while stack:
            el, chain = stack.pop()
            allowed, stable = self._decide(rules, chain, "read")
            if not allowed:
                parent = el.getparent()
                if parent is not None:
                    parent.remove(el)
                removed += 1
            elif not stable:
                stack.extend((c, (*chain, c)) for c in el.iterchildren(tag=etree.Element))
        return removed

    def may_hide(self, subject: Subject) -> bool:
        """Whether reads can lose anything beyond the default-deny-all nodes (a fast path)."""
        if self._bypass(subject):
            return False
        if self.config.read_default != "permit":
            return True
        return any(r.action == "deny" and "read" in r.ops and r.kind in ("any", "data")
                   for r in self.rules(subject))

    # -- writes ---------------------------------------------------------------------------

    def denied_writes(self, subject: Subject, before: etree._Element | None,
                      after: etree._Element | None,
                      ancestors: tuple[etree._Element, ...] = ()) -> Iterator[tuple[Chain, str]]:
        """The (node, create|update|delete) pairs the subject may not do, turning `before`
        into `after` (two versions of the same node, either may be None)."""
        if self._bypass(subject):
            return
        yield from _diff(self, self.rules(subject), before, after, ancestors)


def _may_differ_below(rules: Sequence[Rule], depth: int, op: str) -> bool:
    """A rule could decide differently for a descendant of a node at `depth`."""
    for rule in rules:
        if op not in rule.ops:
            continue
        if rule.kind == "data" and rule.path is not None and len(rule.path) > depth:
            return True
        if rule.kind == "any" and rule.module != "*":
            return True
    return False


def _children(el: etree._Element) -> list[etree._Element]:
    return [c for c in el if isinstance(c.tag, str)]


def _identity(el: etree._Element, repeated: set[str]) -> tuple[str, ...]:
    """How an element is matched with its other version: tag plus, for list entries, the
    first child (YANG list keys come first) and, for leaf-list values, the value."""
    kids = _children(el)
    if not kids:
        return (el.tag, (el.text or "").strip()) if el.tag in repeated else (el.tag,)
    first = kids[0]
    if _children(first):
        return (el.tag,)
    return (el.tag, first.tag, (first.text or "").strip())


def _diff(ev: Evaluator, rules: tuple[Rule, ...], before: etree._Element | None,
          after: etree._Element | None, ancestors: tuple[etree._Element, ...]
          ) -> Iterator[tuple[Chain, str]]:
    if before is None and after is None:
        return
    if before is None or after is None:
        op = "create" if before is None else "delete"
        node = after if before is None else before
        assert node is not None
        chain = (*ancestors, node)
        allowed, stable = ev._decide(rules, chain, op)
        if not allowed:
            yield chain, op
            return
        if not stable:
            for c in _children(node):
                yield from _diff(ev, rules, c if op == "delete" else None,
                                 c if op == "create" else None, chain)
        return
    chain = (*ancestors, after)
    kb, ka = _children(before), _children(after)
    if not kb and not ka:
        changed = (before.text or "").strip() != (after.text or "").strip()
        if changed and not ev._decide(rules, chain, "update")[0]:
            yield chain, "update"
        return
    seen: set[str] = set()
    repeated: set[str] = set()
    for kids in (kb, ka):
        seen.clear()
        for c in kids:
            (repeated if c.tag in seen else seen).add(c.tag)
    old: dict[tuple[str, ...], list[etree._Element]] = {}
    for c in kb:
        old.setdefault(_identity(c, repeated), []).append(c)
    for c in ka:
        same = old.get(_identity(c, repeated))
        prev = same.pop(0) if same else None
        if prev is None or _differs(prev, c):
            yield from _diff(ev, rules, prev, c, chain)
    for rest in old.values():
        for c in rest:
            yield from _diff(ev, rules, c, None, (*ancestors, before))


def _differs(a: etree._Element, b: etree._Element) -> bool:
    return etree.tostring(a, method="c14n") != etree.tostring(b, method="c14n")
