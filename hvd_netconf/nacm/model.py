"""The RFC 8341 rule model: parsed from and rendered to the ietf-netconf-acm `<nacm>` tree."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from lxml import etree

from hvd_netconf.errors import InvalidValue, MissingElement
from hvd_netconf.nacm.modules import DEFAULT_MODULES, Modules
from hvd_netconf.namespaces import NACM, default_ns, qn

ACCESS_OPERATIONS = ("create", "read", "update", "delete", "exec")
ALL_OPS = frozenset(ACCESS_OPERATIONS)
ACTIONS = ("permit", "deny")

# The operations an ordinary user needs to read: the hvd default lets everyone run these.
READ_RPCS: tuple[tuple[str, str], ...] = (
    ("ietf-netconf", "get"),
    ("ietf-netconf", "get-config"),
    ("ietf-netconf", "close-session"),
    ("ietf-netconf-monitoring", "get-schema"),
    ("ietf-netconf-nmda", "get-data"),
    ("notifications", "create-subscription"),
    ("hvd-system", "get-commit-history"),
    ("hvd-system", "compare"),
    ("hvd-vm", "get-vm-log"),  # of the VMs the user may read (ops/logs.py)
    ("hvd-vm", "vm-info"),  # of the VMs the user may read (ops/info.py)
    ("hvd-vm", "list-isos"),
    ("hvd-template", "list-templates"),
)


@dataclass(frozen=True)
class Step:
    """One step of a rule path: a node and the key values its predicates require."""

    ns: str
    name: str
    keys: tuple[tuple[str, str, str], ...] = ()  # (ns, name, value)


@dataclass(frozen=True)
class Rule:
    name: str
    module: str = "*"
    rpc: str | None = None
    notification: str | None = None
    path: tuple[Step, ...] | None = None
    path_text: str | None = None
    path_prefixes: tuple[tuple[str, str], ...] = ()  # the prefixes path_text uses
    ops: frozenset[str] = ALL_OPS
    action: str = "deny"
    comment: str | None = None

    @property
    def kind(self) -> str:
        if self.rpc is not None:
            return "rpc"
        if self.notification is not None:
            return "notification"
        if self.path is not None:
            return "data"
        return "any"


@dataclass(frozen=True)
class RuleList:
    name: str
    groups: tuple[str, ...]
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class NacmConfig:
    enable: bool = True
    read_default: str = "permit"
    write_default: str = "deny"
    exec_default: str = "permit"
    external_groups: bool = True
    groups: Mapping[str, frozenset[str]] = field(default_factory=dict)  # group -> user names
    rule_lists: tuple[RuleList, ...] = ()


def hvd_default(admin_group: str) -> NacmConfig:
    """Used while no /nacm is configured: the admin group may do everything, everyone else
    may read and nothing more (exec of anything but the read operations is denied)."""
    reads = tuple(
        Rule(f"permit-{name}", module=module, rpc=name, ops=frozenset({"exec"}), action="permit")
        for module, name in READ_RPCS
    )
    return NacmConfig(rule_lists=(
        RuleList("admin", (admin_group,), (
            Rule("permit-all", ops=ALL_OPS, action="permit",
                 comment=f"members of {admin_group} may do everything"),
        )),
        RuleList("read-only", ("*",), (
            *reads,
            Rule("deny-other-operations", rpc="*", ops=frozenset({"exec"}), action="deny",
                 comment="everyone else may only read"),
        )),
    ))


# -- paths ------------------------------------------------------------------------------

_STEP = re.compile(r"\s*(?:([A-Za-z_][\w.-]*):)?([A-Za-z_][\w.-]*|\*)\s*")
_PREFIX_USE = re.compile(r"([A-Za-z_][\w.-]*):")
_PRED = re.compile(r"\[\s*(?:([A-Za-z_][\w.-]*):)?([A-Za-z_][\w.-]*)\s*=\s*"
                   r"(?:'([^']*)'|\"([^\"]*)\")\s*\]")


def parse_path(text: str, nsmap: Mapping[str | None, str] | None = None,
               modules: Modules = DEFAULT_MODULES) -> tuple[Step, ...]:
    """`/hvd-vm:vms/hvd-vm:vm[hvd-vm:name='web']` -> steps; `/` is every data node.

    Prefixes resolve through the XML namespace declarations in scope of the <path> leaf first,
    then module prefixes and module names. An unprefixed step takes its parent's namespace.
    """
    text = text.strip()
    if not text.startswith("/"):
        raise InvalidValue(f"NACM path {text!r} must be absolute", error_type="application")
    if text == "/":
        return ()
    steps: list[Step] = []
    pos, parent_ns = 1, None

    def resolve(prefix: str | None) -> str:
        if prefix is None:
            if parent_ns is None:
                raise InvalidValue(f"NACM path {text!r}: the first step needs a prefix",
                                   error_type="application")
            return parent_ns
        if nsmap and prefix in nsmap:
            return nsmap[prefix]
        ns = modules.prefixes.get(prefix)
        if ns is None:
            raise InvalidValue(f"NACM path {text!r}: unknown prefix {prefix!r}",
                               error_type="application")
        return ns

    while pos <= len(text):
        m = _STEP.match(text, pos)
        if m is None or not m.group(2):
            raise InvalidValue(f"NACM path {text!r} is not a valid instance path",
                               error_type="application")
        ns = resolve(m.group(1))
        pos = m.end()
        keys = []
        while pos < len(text) and text[pos] == "[":
            p = _PRED.match(text, pos)
            if p is None:
                raise InvalidValue(f"NACM path {text!r} has a bad predicate",
                                   error_type="application")
            kns = resolve(p.group(1)) if p.group(1) else ns
            keys.append((kns, p.group(2), p.group(3) if p.group(3) is not None else p.group(4)))
            pos = p.end()
        steps.append(Step(ns, m.group(2), tuple(keys)))
        parent_ns = ns
        if pos >= len(text):
            break
        if text[pos] != "/":
            raise InvalidValue(f"NACM path {text!r} is not a valid instance path",
                               error_type="application")
        pos += 1
    return tuple(steps)


# -- XML --------------------------------------------------------------------------------

def _n(name: str) -> str:
    return qn(NACM, name)


def _bool(el: etree._Element, name: str, default: bool) -> bool:
    text = el.findtext(_n(name))
    if text is None:
        return default
    text = text.strip()
    if text not in ("true", "false"):
        raise InvalidValue(f"{name} must be true or false, not {text!r}",
                           path=f"/nacm:nacm/nacm:{name}", error_type="application")
    return text == "true"


def _action(el: etree._Element, name: str, default: str, path: str) -> str:
    text = el.findtext(_n(name))
    if text is None:
        return default
    text = text.strip()
    if text not in ACTIONS:
        raise InvalidValue(f"{name} must be permit or deny, not {text!r}",
                           path=f"{path}/nacm:{name}", error_type="application")
    return text


def _ops(text: str | None, path: str) -> frozenset[str]:
    if text is None or text.strip() == "*":
        return ALL_OPS
    ops = frozenset(text.split())
    bad = ops - ALL_OPS
    if bad or not ops:
        raise InvalidValue(f"access-operations {text!r}: use * or any of "
                           f"{' '.join(ACCESS_OPERATIONS)}",
                           path=f"{path}/nacm:access-operations", error_type="application")
    return ops


def _name(el: etree._Element, path: str) -> str:
    name = (el.findtext(_n("name")) or "").strip()
    if not name:
        raise MissingElement("a NACM list entry needs a name", path=path,
                             info=[("bad-element", "name")])
    return name


def parse_rule(el: etree._Element, list_path: str, modules: Modules) -> Rule:
    name = _name(el, f"{list_path}/nacm:rule")
    path = f"{list_path}/nacm:rule[nacm:name='{name}']"
    kinds = [k for k in ("rpc-name", "notification-name", "path") if el.find(_n(k)) is not None]
    if len(kinds) > 1:
        raise InvalidValue(f"rule {name!r} has more than one of rpc-name, notification-name "
                           f"and path", path=path, error_type="application")
    action = el.findtext(_n("action"))
    if action is None:
        raise MissingElement(f"rule {name!r} needs an action", path=path,
                             info=[("bad-element", "action")])
    steps = path_text = None
    prefixes: tuple[tuple[str, str], ...] = ()
    path_el = el.find(_n("path"))
    if path_el is not None:
        path_text = (path_el.text or "").strip()
        try:
            steps = parse_path(path_text, path_el.nsmap, modules)
        except InvalidValue as exc:
            # Stored rules keep no namespace declarations: module names and prefixes do.
            exc.message += " (prefix each step with its module name or prefix, e.g. hvd-vm:)"
            exc.path = exc.path or f"{path}/nacm:path"
            raise
        used = sorted(set(_PREFIX_USE.findall(path_text)))
        prefixes = tuple((p, path_el.nsmap.get(p) or modules.prefixes[p]) for p in used)
    return Rule(
        name=name,
        module=(el.findtext(_n("module-name")) or "*").strip(),
        rpc=(el.findtext(_n("rpc-name")) or "").strip() or None if "rpc-name" in kinds else None,
        notification=((el.findtext(_n("notification-name")) or "").strip() or None
                      if "notification-name" in kinds else None),
        path=steps,
        path_text=path_text,
        path_prefixes=prefixes,
        ops=_ops(el.findtext(_n("access-operations")), path),
        action=_action(el, "action", "deny", path),
        comment=el.findtext(_n("comment")),
    )


def parse_config(el: etree._Element | None, modules: Modules = DEFAULT_MODULES) -> NacmConfig:
    """The `<nacm>` container; None or an empty one gives the RFC 8341 defaults."""
    if el is None:
        return NacmConfig()
    groups: dict[str, frozenset[str]] = {}
    groups_el = el.find(_n("groups"))
    if groups_el is not None:
        for g in groups_el.iterchildren(_n("group")):
            gname = _name(g, "/nacm:nacm/nacm:groups/nacm:group")
            groups[gname] = frozenset((u.text or "").strip()
                                      for u in g.iterchildren(_n("user-name")))
    lists = []
    for rl in el.iterchildren(_n("rule-list")):
        lname = _name(rl, "/nacm:nacm/nacm:rule-list")
        lpath = f"/nacm:nacm/nacm:rule-list[nacm:name='{lname}']"
        lists.append(RuleList(
            lname,
            tuple((g.text or "").strip() for g in rl.iterchildren(_n("group"))),
            tuple(parse_rule(r, lpath, modules) for r in rl.iterchildren(_n("rule"))),
        ))
    return NacmConfig(
        enable=_bool(el, "enable-nacm", True),
        read_default=_action(el, "read-default", "permit", "/nacm:nacm"),
        write_default=_action(el, "write-default", "deny", "/nacm:nacm"),
        exec_default=_action(el, "exec-default", "permit", "/nacm:nacm"),
        external_groups=_bool(el, "enable-external-groups", True),
        groups=groups,
        rule_lists=tuple(lists),
    )


def to_xml(cfg: NacmConfig, parent: etree._Element | None = None,
           counters: Mapping[str, int] | None = None) -> etree._Element:
    """The `<nacm>` container; `counters` (denied-operations, ...) makes it the state view."""
    if parent is None:
        nacm = etree.Element(_n("nacm"), nsmap=default_ns(NACM))
    else:
        nacm = etree.SubElement(parent, _n("nacm"), nsmap=default_ns(NACM))

    def leaf(p: etree._Element, name: str, value: str) -> None:
        etree.SubElement(p, _n(name)).text = value

    tf = {True: "true", False: "false"}
    leaf(nacm, "enable-nacm", tf[cfg.enable])
    leaf(nacm, "read-default", cfg.read_default)
    leaf(nacm, "write-default", cfg.write_default)
    leaf(nacm, "exec-default", cfg.exec_default)
    leaf(nacm, "enable-external-groups", tf[cfg.external_groups])
    for name, value in (counters or {}).items():
        leaf(nacm, name, str(value))
    if cfg.groups:
        groups = etree.SubElement(nacm, _n("groups"))
        for name, users in cfg.groups.items():
            g = etree.SubElement(groups, _n("group"))
            leaf(g, "name", name)
            for u in sorted(users):
                leaf(g, "user-name", u)
    for rl in cfg.rule_lists:
        r_el = etree.SubElement(nacm, _n("rule-list"))
        leaf(r_el, "name", rl.name)
        for group in rl.groups:
            leaf(r_el, "group", group)
        for rule in rl.rules:
            e = etree.SubElement(r_el, _n("rule"))
            leaf(e, "name", rule.name)
            leaf(e, "module-name", rule.module)
            if rule.rpc is not None:
                leaf(e, "rpc-name", rule.rpc)
            elif rule.notification is not None:
                leaf(e, "notification-name", rule.notification)
            elif rule.path_text is not None:
                etree.SubElement(e, _n("path"), nsmap=dict(rule.path_prefixes)
                                 ).text = rule.path_text
            ops = "*" if rule.ops == ALL_OPS else " ".join(
                o for o in ACCESS_OPERATIONS if o in rule.ops)
            leaf(e, "access-operations", ops)
            leaf(e, "action", rule.action)
            if rule.comment:
                leaf(e, "comment", rule.comment)
    return nacm
