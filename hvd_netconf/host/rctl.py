"""rctl(8) argv for a VM's resource limits: rules on its bhyve process (docs/freebsd-facts.md
§18). Pure: argv and rule strings only.

A rule is `subject:subject-id:resource:action=amount`; hvd writes process rules only, named
by the bhyve's pid, so they end with the process and never touch another subject's rules.
"""

from __future__ import annotations

from hvd_netconf.host import specs

Argv = tuple[str, ...]

# hvd-vm limits leaf -> (rctl resource, the amount from the leaf's value)
RESOURCES = {"cpu-percent": "pcpu", "memory-use": "memoryuse"}


def rules(vm: specs.VmSpec, pid: int) -> dict[str, str]:
    """resource -> the rule the VM's limits ask for on its process (none: no limit)."""
    out = {}
    if vm.limit_cpu is not None:
        out["pcpu"] = f"process:{pid}:pcpu:deny={vm.limit_cpu}"
    if vm.limit_memory is not None:
        out["memoryuse"] = f"process:{pid}:memoryuse:deny={vm.limit_memory << 20}"
    return out


def list_rules() -> Argv:
    """rctl with no argument: every rule, one per line."""
    return ("rctl",)


def parse_rules(text: str, pid: int) -> dict[str, str]:
    """resource -> the rule of that process among `rctl`'s lines."""
    out = {}
    for line in text.splitlines():
        parts = line.strip().split(":")
        if len(parts) == 4 and parts[:2] == ["process", str(pid)]:
            out[parts[2]] = line.strip()
    return out


def add(rule: str) -> Argv:
    """rctl -a: add the rule."""
    return ("rctl", "-a", rule)


def remove(pid: int, resource: str) -> Argv:
    """rctl -r: remove the process' rules for one resource (a filter, rctl(8) FILTERS)."""
    return ("rctl", "-r", f"process:{pid}:{resource}")


def changes(old: specs.VmSpec | None, new: specs.VmSpec, pid: int
            ) -> list[tuple[str, list[Argv], list[Argv]]]:
    """(what, do, undo) per resource whose rule differs between old and new, for a VM running
    as pid, one command each way: adding a deny rule replaces the process' rule that differs
    from it only by amount (§18), so a changed amount is one `rctl -a` and so is its undo."""
    before = rules(old, pid) if old is not None else {}
    after = rules(new, pid)
    out = []
    for resource in sorted(set(before) | set(after)):
        was, now = before.get(resource), after.get(resource)
        if was == now:
            continue
        do = [add(now)] if now else [remove(pid, resource)]
        undo = [add(was)] if was else [remove(pid, resource)]
        out.append((f"{resource} limit of VM {new.name} (pid {pid}): "
                    f"{_amount(was)} -> {_amount(now)}", do, undo))
    return out


def _amount(rule: str | None) -> str:
    return rule.rpartition("=")[2] if rule else "none"
