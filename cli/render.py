"""Turning replies into what people read: tables, detail views, JSON, XML, error lines."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from hv_cli import facts

from hvd_netconf.namespaces import PREFIXES

# (parent, child) pairs that are YANG lists or leaf-lists: always rendered as arrays.
LISTS = frozenset({("vms", "vm"), ("vm", "disk"), ("vm", "nic"), ("networks", "network"),
                   ("network", "address"), ("network", "forward"),
                   ("state", "tap"), ("state", "member"), ("state", "nat-rule"),
                   ("state", "lease"), ("state", "iscsi-disk"), ("backup-jobs", "job"),
                   ("rpc-reply", "commit"),
                   ("commit", "changes"), ("patch", "edit"),
                   ("cloud-init", "ssh-authorized-key"), ("statistics", "disk"),
                   ("statistics", "nic"), ("statistics", "pool"), ("rpc-reply", "sample")})
Data = dict[str, Any]


def local(tag: str) -> str:
    return tag.rpartition("}")[2]


def to_data(node: ET.Element) -> Any:
    """Element -> str for leaves, dict for containers, lists for list entries."""
    if len(node) == 0:
        return (node.text or "").strip()
    out: Data = {}
    parent = local(node.tag)
    for child in node:
        name = local(child.tag)
        value = to_data(child)
        if (parent, name) in LISTS:
            out.setdefault(name, []).append(value)
        else:
            out[name] = value
    return out


def entries(data_el: ET.Element | None, top: str, obj: str, fill: bool = True) -> list[Data]:
    """The list entries under <data><top><obj>…, defaults filled in from the schema (fill)
    or as the server sent them, like --xml shows them."""
    if data_el is None:
        return []
    found = []
    for container in data_el:
        if local(container.tag) == top:
            found += [fill_defaults(obj, to_data(e)) if fill else to_data(e)
                      for e in container if local(e.tag) == obj]
    return found


def typed(data: Any, path: str) -> Any:
    """Leaves as RFC 7951 types them (numbers, booleans, [null] for empty; int64, uint64 and
    decimal64 stay strings), from the schema facts; path names data's place (`vms/vm`)."""
    if isinstance(data, list):
        return [typed(item, path) for item in data]
    if isinstance(data, dict):
        return {k: typed(v, f"{path}/{k}") for k, v in data.items()}
    kind = facts.JSON.get(path)
    if kind == "number":
        return int(data)
    if kind == "bool":
        return data == "true"
    if kind == "empty":
        return [None]
    return data


_WHEN = re.compile(r"\.\./([\w-]+) = '([^']*)'")
# Per object: (container path, leaf, default, presence, when (leaf, value) or None), made once.
_Default = tuple[tuple[str, ...], str, str, str | None, tuple[str, str] | None]
_DEFAULTS: dict[str, list[_Default]] = {}


def _defaults(obj: str) -> list[_Default]:
    """The object's leaves that have a default, read once from the schema facts."""
    made = _DEFAULTS.get(obj)
    if made is None:
        made = _DEFAULTS[obj] = []
        for fact in facts.OBJECTS[obj]["props"]:
            if "default" in fact:
                *path, name = fact["name"].split(".")
                m = _WHEN.fullmatch(fact.get("when", ""))
                made.append((tuple(path), name, fact["default"], fact.get("presence"),
                             (m.group(1), m.group(2)) if m else None))
    return made


def fill_defaults(obj: str, entry: Data) -> Data:
    """Report-all view: leaves the server left out because they hold their default."""
    for path, name, default, presence, when in _defaults(obj):
        if presence is not None and not present(entry, presence):
            continue  # a presence container that is not there has no defaults
        scope = entry
        for step in path:
            if scope.get(step) == "":  # an empty container, now with defaults in it
                scope[step] = {}
            scope = scope.setdefault(step, {})
        if name not in scope and (when is None or scope.get(when[0]) == when[1]):
            scope[name] = default
    for child in ("disk", "nic"):
        for sub in entry.get(child, []) if obj == "vm" else []:
            fill_defaults(child, sub)
    return entry


def present(entry: Data, dotted: str) -> bool:
    """Whether the container at a dotted path is in the entry (an empty one reads as "")."""
    scope: Any = entry
    for step in dotted.split("."):
        scope = scope.get(step) if isinstance(scope, dict) else None
        if scope is None:
            return False
    return True


def lookup(entry: Data, dotted: str) -> str | None:
    value: Any = entry
    for step in dotted.split("."):
        if not isinstance(value, dict) or step not in value:
            return None
        value = value[step]
    return value if isinstance(value, str) else None


def duration(seconds: str | None) -> str:
    if not seconds:
        return "-"
    s = int(seconds)
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    if d:
        return f"{d}d{h:02d}h"
    if h:
        return f"{h}h{m:02d}m"
    return f"{m}m{s:02d}s" if m else f"{s}s"


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    lines = [headers, *rows]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


RUNNING_SIZE = {"cpu": "running-cpu", "memory": "running-memory"}
WAITS = "* takes effect at the next start (restart the VM)"


def waiting(vm: Data) -> dict[str, str]:
    """cpu/memory set to other than what the running VM was started with: name -> the
    value it runs with until its next start."""
    state = vm.get("state", {})
    return {name: state[ran] for name, ran in RUNNING_SIZE.items()
            if ran in state and state[ran] != vm.get(name)}


def _disk_size(disk: Data) -> str:
    """A zvol's size, else where the blocks are: device, image or iscsi (sized elsewhere)."""
    if "size" in disk:
        return str(disk["size"])
    return next((k for k in ("device", "image", "iscsi") if k in disk), "?")


def vm_table(vms: list[Data]) -> str:
    """STATE and each value a restart would change are marked `*`, with a footnote."""
    rows = []
    for vm in vms:
        state = vm.get("state", {})
        running = state.get("status") in ("running", "stopping")
        old = waiting(vm)
        pending = state.get("pending-restart") == "true"
        rows.append([
            vm["name"],
            state.get("status", "-") + ("*" if pending else ""),
            vm["cpu"] + ("*" if "cpu" in old else ""),
            f"{vm['memory']}M" + ("*" if "memory" in old else ""),
            ",".join(f"{d['name']}:{_disk_size(d)}" for d in vm.get("disk", [])) or "-",
            ",".join(n.get("network", "?") for n in vm.get("nic", [])) or "-",
            duration(state.get("uptime")) if running else "-",
        ])
    out = table(["NAME", "STATE", "CPU", "MEMORY", "DISKS", "NETWORKS", "UPTIME"], rows)
    return out + "\n" + WAITS if any(row[1].endswith("*") for row in rows) else out


def network_table(nets: list[Data]) -> str:
    rows = []
    for n in nets:
        state = n.get("state", {})
        rows.append([n["name"], n["fib"], n.get("physical-interface", "-"), n.get("vlan", "-"),
                     n["mtu"], state.get("bridge", "-"), ",".join(state.get("member", [])) or "-"])
    return table(["NAME", "FIB", "INTERFACE", "VLAN", "MTU", "BRIDGE", "MEMBERS"], rows)


def summarize_changes(changes: list[Data], spell_out: int = 3) -> str:
    """`create vm a, delete network b`; more than spell_out of one kind become a count with
    the first and last name: `create 300 vms (u000…u299)`."""
    groups: dict[tuple[str, str], list[str]] = {}
    for ch in changes:
        groups.setdefault((ch.get("operation", "?"), ch.get("kind", "")), []).append(
            ch.get("name", ""))
    parts = []
    for (op, kind), names in groups.items():
        if len(names) > spell_out:
            ordered = sorted(names)
            parts.append(f"{op} {len(names)} {kind}s ({ordered[0]}…{ordered[-1]})")
        else:
            parts += [f"{op} {kind} {name}".strip() for name in names]
    return ", ".join(parts)


def commit_table(commits: list[Data]) -> str:
    if not commits:
        return "no commits"
    rows = []
    for c in commits:
        rows.append([c.get("id", "?"), c.get("time", "-"), c.get("user", "-"),
                     c.get("source", "-"), c.get("comment", "") or "-",
                     summarize_changes(c.get("changes", [])) or "-"])
    return table(["ID", "TIME", "USER", "SOURCE", "COMMENT", "CHANGES"], rows)


def _kv(pairs: list[tuple[str, str]], indent: str = "  ") -> list[str]:
    width = max((len(k) for k, _ in pairs), default=0)
    return [f"{indent}{k.ljust(width)}  {v}" for k, v in pairs]


def _props(obj: str, entry: Data) -> list[tuple[str, str]]:
    pairs = []
    for fact in facts.OBJECTS[obj]["props"]:
        if fact["name"] == facts.OBJECTS[obj]["key"]:
            continue
        value = lookup(entry, fact["name"])
        if value is not None:
            unit = " MB" if fact.get("units") == "megabytes" else ""
            unit = " s" if fact.get("units") == "seconds" else unit
            pairs.append((fact["name"], value + unit))
    return pairs


def _state_pairs(state: Data) -> list[tuple[str, str]]:
    """A state's leaves as (name, text); a list's entries one a line, their values in order
    (a lease: MAC ADDRESS NAME EXPIRES)."""
    pairs = []
    for name, value in state.items():
        if name == "uptime":
            value = duration(value)
        if isinstance(value, list) and value and isinstance(value[0], dict):
            pairs += [(name, "  ".join(str(v) for v in entry.values())) for entry in value]
            continue
        pairs.append((name, ", ".join(value) if isinstance(value, list) else value))
    return pairs


def _until_restart(value: str, running: str | None) -> str:
    """`4096 MB` -> `4096 MB (running: 1024 MB until restarted)` when it runs with another."""
    if running is None:
        return value
    unit = value.partition(" ")[2]
    return f"{value} (running: {running}{' ' + unit if unit else ''} until restarted)"


def detail(obj: str, entry: Data) -> str:
    lines = [f"{obj} {entry['name']}"]
    old = waiting(entry) if obj == "vm" else {}
    lines += _kv([(name, _until_restart(value, old.get(name)))
                  for name, value in _props(obj, entry)])
    for child in ("disk", "nic"):
        subs = entry.get(child, [])
        if subs:
            lines.append(f"  {child}s")
            for sub in subs:
                values = [v for _, v in _props(child, sub)]
                lines.append(f"    {sub['name']}: " + "  ".join(values))
    if entry.get("address"):
        lines += _kv([("addresses", ", ".join(entry["address"]))])
    if entry.get("forward"):
        lines.append("  forwards")
        lines += [f"    {f['protocol']} {f['host-port']} -> {f['guest-address']}:"
                  f"{f.get('guest-port') or f['host-port']}" for f in entry["forward"]]
    state = entry.get("state")
    if state:
        lines.append("  state")
        lines += _kv(_state_pairs(state), "    ")
        if state.get("pending-restart") == "true":
            lines.append("  changes take effect at the next start (restart the VM)")
    return "\n".join(lines)


def short_size(text: str | None) -> str:
    """Bytes in a table's column: 21474836480 -> 20.0G, 512 -> 512B; '-' when unknown."""
    if not text:
        return "-"
    return size(float(text)).replace(" ", "").replace("iB", "")


def vm_info(entry: Data, disks: list[Data], nics: list[Data], snaps: list[Data]) -> str:
    """`hv info VM`: the VM's settings and state, its disks with their use, NICs with taps
    and bridges, and its snapshots, on one screen."""
    state = entry.get("state", {})
    status = state.get("status", "stopped")
    extra = [f"pid {state['pid']}"] if state.get("pid") else []
    extra += [f"up {duration(state['uptime'])}"] if state.get("uptime") else []
    lines = [f"vm {entry['name']}: {status}" + (f" ({', '.join(extra)})" if extra else "")]
    if state.get("console"):
        lines.append(f"  console {state['console']} (hv console {entry['name']})")
    if state.get("vnc"):
        lines.append(f"  screen: VNC {state['vnc']} (hv vnc {entry['name']})")
    if state.get("last-exit-reason"):
        lines.append(f"  last exit: {state['last-exit-reason']}")
    limits = entry.get("limits", {})
    if isinstance(limits, dict) and limits:
        lines.append("  limits: " + ", ".join(f"{k} {v}" for k, v in limits.items()))
    old = waiting(entry)
    lines += _kv([(name, _until_restart(value, old.get(name)))
                  for name, value in _props("vm", entry)])
    lines.append("disks")
    by_name = {d.get("name"): d for d in entry.get("disk", [])}
    rows = [[d.get("name", ""), short_size(d.get("volsize")), short_size(d.get("used")),
             by_name.get(d.get("name"), {}).get("emulation", "virtio-blk"), d.get("device", "")]
            for d in disks]
    lines += ["  " + r for r in table(["NAME", "SIZE", "USED", "EMULATION", "DEVICE"],
                                      rows).splitlines()] if rows else ["  none"]
    lines.append("nics")
    by_name = {n.get("name"): n for n in entry.get("nic", [])}
    rows = [[n.get("name", ""), n.get("mac", ""), n.get("network", ""), n.get("bridge", ""),
             n.get("tap", "-"), by_name.get(n.get("name"), {}).get("emulation", "virtio-net")]
            for n in nics]
    lines += ["  " + r for r in table(["NAME", "MAC", "NETWORK", "BRIDGE", "TAP", "EMULATION"],
                                      rows).splitlines()] if rows else ["  none"]
    lines.append("snapshots")
    rows = [[x.get("name", ""), x.get("creation", ""), short_size(x.get("used"))]
            for x in snaps]
    lines += ["  " + r for r in table(["NAME", "CREATED", "USED"], rows).splitlines()] \
        if rows else ["  none"]
    if state.get("pending-restart") == "true":
        lines.append("changes take effect at the next start (restart the VM)")
    return "\n".join(lines)


def key_values(data: Data) -> str:
    def flat(prefix: str, value: Any) -> list[tuple[str, str]]:
        if isinstance(value, dict):
            return [p for k, v in value.items() for p in flat(f"{prefix}{k}.", v)]
        if isinstance(value, list) and all(isinstance(v, dict) and "name" in v for v in value):
            return [p for v in value  # list entries by key: pool[zroot].size
                    for p in flat(f"{prefix[:-1]}[{v['name']}].",
                                  {k: x for k, x in v.items() if k != "name"})]
        if isinstance(value, list):
            return [(prefix[:-1], ", ".join(map(str, value)))]
        return [(prefix[:-1], value)]
    return "\n".join(_kv(flat("", data), ""))


def as_json(data: Any, path: str = "") -> str:
    import json
    return json.dumps(typed(data, path) if path else data, indent=2)


def as_xml(node: ET.Element) -> str:
    """Indented, with the modules' own prefixes rather than ElementTree's ns0, ns1…"""
    for prefix, uri in PREFIXES.items():
        ET.register_namespace(prefix, uri)
    ET.indent(node)
    return ET.tostring(node, encoding="unicode")


def plain_words(path: str) -> str:
    """`/hvd-vm:vms/hvd-vm:vm[hvd-vm:name='web']/hvd-vm:cpu` -> `vm web, cpu`."""
    from hvd_netconf.errors import plain_path  # only on the error path: it loads lxml

    steps = [s for s in re.split(r"/(?![^\[]*\])", plain_path(path)) if s]
    words = []
    for step in steps:
        m = re.fullmatch(r"([\w.-]+)\[[\w.-]+=(['\"])(.*)\2\]", step)
        if m:
            words.append(f"{m.group(1)} {m.group(3)}")
        elif step not in ("vms", "networks"):
            words.append(step)
    return ", ".join(words)


def diff_lines(text: str, color: bool) -> str:
    if not color:
        return text
    out = []
    for line in text.splitlines():
        if line.startswith("+") and not line.startswith("+++"):
            line = f"\x1b[32m{line}\x1b[0m"
        elif line.startswith("-") and not line.startswith("---"):
            line = f"\x1b[31m{line}\x1b[0m"
        out.append(line)
    return "\n".join(out)


def size(value: float | None, suffix: str = "") -> str:
    """Bytes as people read them: 1073741824 -> 1.0 GiB, 512 -> 512 B; '-' when unknown."""
    if value is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            text = f"{value:.0f}" if unit == "B" else f"{value:.1f}"
            return f"{text} {unit}{suffix}"
        value /= 1024
    return "-"  # not reached
