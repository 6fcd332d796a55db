"""The one command table: words, parameters and their schema facts, shared by the one-shot
path, the shell's completion and help.

A command is fixed keywords followed by parameters; a parameter names what it holds (a new or
an existing object, a property, a value checked against the YANG facts), which is all that
completion, help and the local checks need.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hv_cli import facts
from hv_cli.facts import UsageError

# Parameter kinds:
#   new   a new object's key (checked against the key's type)
#   ref   an existing object (completed from the server)
#   sub   an existing disk or nic of the VM given before (completed from the server)
#   val   a value of a fixed property (obj, prop)
#   prop  a property name of obj; the parameter after it (pval) is checked against that property
#   int   a whole number in lo..hi
#   text  free text


@dataclass(frozen=True)
class Param:
    label: str
    kind: str
    obj: str = ""
    prop: str = ""
    optional: bool = False
    lo: int = 0
    hi: int = 0
    help: str = ""

    def fact(self, values: dict[str, str]) -> facts.Fact | None:
        if self.kind in ("new", "ref", "sub"):
            return facts.key_fact(self.obj)
        if self.kind == "val":
            if self.obj.startswith("rpc:"):
                return facts.rpc_input(self.obj[4:], self.prop)
            return facts.prop(self.obj, self.prop)
        if self.kind == "pval":
            return facts.prop(self.obj, values["prop"])
        if self.kind == "int":
            return {"name": self.label, "kind": "int", "range": [[self.lo, self.hi]]}
        return None

    def describe(self) -> str:
        if self.help:
            return self.help
        if self.kind in ("ref", "sub"):
            return f"an existing {self.obj}"
        if self.kind == "new":
            return f"the new {self.obj}'s name"
        if self.kind == "prop":
            return "a property: " + ", ".join(facts.props(self.obj))
        if self.kind in ("val", "int"):
            fact = self.fact({})
            assert fact is not None
            return f"{fact.get('help') or self.label} ({facts.hint(fact)})"
        return self.label


@dataclass(frozen=True)
class Flag:
    word: str
    dest: str
    value: str


@dataclass(frozen=True)
class Command:
    words: tuple[str, ...]
    action: str
    help: str
    params: tuple[Param, ...] = ()
    options: tuple[Param, ...] = ()  # keyword followed by a value: `emulation nvme`
    flags: tuple[Flag, ...] = ()
    modes: frozenset[str] = frozenset({"exec", "config"})
    read: bool = False  # a read command: --json and --xml apply
    obj: str = ""

    def usage(self) -> str:
        parts = list(self.words)
        for p in self.params:
            parts.append(f"[{p.label}]" if p.optional else f"<{p.label}>")
        parts += [f"[{o.label} {o.label.upper()}]" for o in self.options]
        groups: dict[str, list[str]] = {}
        for f in self.flags:
            groups.setdefault(f.dest, []).append(f.word)
        parts += ["[" + "|".join(w) + "]" for w in groups.values()]
        return " ".join(parts)


@dataclass
class Parsed:
    command: Command
    values: dict[str, str] = field(default_factory=dict)


def _p(label: str, kind: str, obj: str = "", prop: str = "", **kw: object) -> Param:
    return Param(label, kind, obj, prop, **kw)  # type: ignore[arg-type]


VM = _p("vm", "ref", "vm")
NET = _p("network", "ref", "network")
EXEC = frozenset({"exec"})
CONFIG = frozenset({"config"})


def _object_commands(obj: str, create: tuple[Param, ...], what: str) -> list[Command]:
    ref = _p(obj, "ref", obj)
    return [
        Command(("create", obj), "create", f"Create a {what}", (_p("name", "new", obj), *create),
                obj=obj),
        Command(("destroy", obj), "destroy", f"Destroy a {what}", (ref,), obj=obj),
        Command(("set", obj), "set", f"Set a {what} property",
                (ref, _p("prop", "prop", obj), _p("value", "pval", obj)), obj=obj),
        Command(("unset", obj), "unset", f"Remove a {what} property (back to its default)",
                (ref, _p("prop", "prop", obj)), obj=obj),
        Command(("delete", obj), "unset", f"Same as unset {obj}",
                (ref, _p("prop", "prop", obj)), obj=obj),
        Command(("show", obj), "show", f"Show a {what} in detail", (ref,), read=True, obj=obj),
        Command(("list", obj), "list", f"List all {what}s", read=True, obj=obj),
    ]


def _child_commands(obj: str, create: tuple[Param, ...], options: tuple[Param, ...],
                    flags: tuple[Flag, ...]) -> list[Command]:
    sub = _p(obj, "sub", obj)
    return [
        Command(("add", obj), "add", f"Add a {obj} to a VM",
                (VM, _p("name", "new", obj), *create), options, flags, obj=obj),
        Command(("remove", obj), "remove", f"Remove a {obj} from a VM", (VM, sub), obj=obj),
        Command(("set", obj), "set", f"Set a property of a VM's {obj}",
                (VM, sub, _p("prop", "prop", obj), _p("value", "pval", obj)), obj=obj),
        Command(("unset", obj), "unset", f"Remove a property of a VM's {obj}",
                (VM, sub, _p("prop", "prop", obj)), obj=obj),
    ]


COMMENT = _p("comment", "text", help="a comment stored with the commit")

COMMANDS: tuple[Command, ...] = (
    *_object_commands("vm", (_p("cpu", "val", "vm", "cpu"), _p("memory", "val", "vm", "memory")),
                      "VM"),
    *_object_commands("network", (_p("fib", "val", "network", "fib"),
                                  _p("if", "val", "network", "physical-interface",
                                     optional=True)), "network"),
    *_child_commands("disk", (_p("size", "val", "disk", "size"),),
                     (_p("emulation", "val", "disk", "emulation"),),
                     (Flag("sparse", "sparse", "true"), Flag("thick", "sparse", "false"))),
    *_child_commands("nic", (_p("network", "ref", "network"),),
                     (_p("mac", "val", "nic", "mac"), _p("emulation", "val", "nic", "emulation")),
                     ()),
    Command(("start",), "start-vm", "Start a VM", (VM,)),
    Command(("stop",), "stop-vm", "Stop a VM (ACPI shutdown, power off after the timeout)",
            (VM,), (_p("timeout", "val", "rpc:stop-vm", "timeout"),),
            (Flag("--force", "force", "true"), Flag("force", "force", "true"))),
    Command(("restart",), "restart-vm", "Stop a VM gracefully, then start it again", (VM,)),
    Command(("console",), "console", "Attach to a VM's serial console (cu -l)", (VM,)),
    Command(("log",), "log", "Show a VM's supervisor log, or without VM hvd's own log",
            (_p("vm", "ref", "vm", optional=True),),
            (_p("lines", "val", "rpc:get-vm-log", "lines"),), read=True),
    Command(("snapshot",), "snapshot", "Snapshot a VM's disks and configuration file at once",
            (VM, _p("name", "val", "rpc:snapshot-vm", "name", optional=True)),
            (_p("description", "val", "rpc:snapshot-vm", "description"),), read=True),
    Command(("snapshot", "list"), "snapshot-list", "List a VM's snapshots", (VM,), read=True),
    Command(("snapshot", "rollback"), "snapshot-rollback",
            "Roll a VM's disks back to one of hvd's snapshots (asks first)",
            (VM, _p("name", "val", "rpc:rollback-vm", "name")), (),
            (Flag("--stop", "stop", "true"), Flag("--destroy-newer", "destroy-newer", "true")),
            read=True),
    Command(("snapshot", "delete"), "snapshot-delete", "Delete one of hvd's snapshots of a VM "
            "(asks first)", (VM, _p("name", "val", "rpc:delete-snapshot", "name")), read=True),
    Command(("clone",), "clone", "Clone a VM from a snapshot: linked (zfs clone) or --full",
            (VM, _p("name", "new", "vm")), (_p("snapshot", "val", "rpc:clone-vm", "snapshot"),),
            (Flag("--full", "linked", "false"),), read=True),
    Command(("backup",), "backup", "Back a VM up to a backup target (incremental after the first)",
            (VM, _p("target", "val", "rpc:backup-vm", "target")), (),
            (Flag("--full", "full", "true"),), read=True),
    Command(("backup", "list"), "backup-list", "List the backups a target holds",
            (_p("target", "val", "rpc:list-backups", "target"),
             _p("vm", "val", "rpc:list-backups", "vm", optional=True)), read=True),
    Command(("restore",), "restore", "Restore a VM from a backup target as a new VM, or "
            "--verify it", (_p("target", "val", "rpc:restore-vm", "target"),
                            _p("vm", "val", "rpc:restore-vm", "vm"),
                            _p("name", "val", "rpc:restore-vm", "name", optional=True)),
            (_p("backup", "val", "rpc:restore-vm", "backup"),),
            (Flag("--verify", "verify-only", "true"),), read=True),
    Command(("show", "host"), "show-host", "Show the host: backend, OS, hvd version", read=True),
    Command(("show", "commits"), "show-commits", "Show the commit history",
            options=(_p("limit", "int", lo=1, hi=1000),), read=True),
    Command(("show", "compare"), "show-compare",
            "Show the uncommitted changes; with ID, what changed since commit ID; with ID TO, "
            "between two commits",
            (_p("id", "int", lo=1, hi=2**32 - 1, optional=True, help="a commit id"),
             _p("to", "int", lo=1, hi=2**32 - 1, optional=True, help="a later commit id"))),
    Command(("configure",), "configure",
            "Edit a private candidate; nothing applies until commit (configure private)",
            modes=EXEC, obj="private"),
    Command(("configure", "private"), "configure",
            "Edit your own copy of running; commit merges your changes onto running",
            modes=EXEC, obj="private"),
    Command(("configure", "exclusive"), "configure",
            "Lock the shared candidate and edit it; nobody else can until you leave",
            modes=EXEC, obj="exclusive"),
    Command(("configure", "shared"), "configure",
            "Edit the shared candidate; warns of changes other sessions left in it",
            modes=EXEC, obj="shared"),
    Command(("commit",), "commit", "Apply the candidate", options=(COMMENT,)),
    Command(("commit", "check"), "commit-check", "Validate the candidate without applying it"),
    Command(("commit", "confirmed"), "commit-confirmed",
            "Apply the candidate; revert unless confirmed within MINUTES (default 10)",
            (_p("minutes", "int", lo=1, hi=1440, optional=True),), (COMMENT,)),
    Command(("confirm",), "confirm",
            "Confirm the pending confirmed commit (its token: kept by hv, or --token)",
            options=(_p("--token", "text", help="the token 'commit confirmed' printed"),)),
    Command(("discard",), "discard", "Throw away the uncommitted changes"),
    Command(("rollback",), "rollback",
            "Load the configuration of commit N (in configure mode: into the candidate)",
            (_p("id", "int", lo=1, hi=2**32 - 1, help="a commit id from 'show commits'"),),
            (COMMENT,)),
    Command(("help",), "help", "Help on commands: help [command words]",
            (_p("words", "text", optional=True),)),
    Command(("exit",), "exit", "Leave configure mode, or the shell"),
    Command(("quit",), "exit", "Same as exit"),
    Command(("end",), "exit", "Same as exit", modes=CONFIG),
)


# ---- load and edit: a whole configuration into the candidate -----------------------------

FILE = _p("file", "text", help="an XML file as 'show ... --xml' prints it ('-': standard input)")
COMMANDS += (
    Command(("load", "merge"), "load", "Merge a configuration file into the candidate", (FILE,)),
    Command(("load", "replace"), "load", "Replace the candidate with a configuration file",
            (FILE,)),
    Command(("edit",), "edit", "Edit the candidate's XML in $EDITOR; kept only when valid"),
)


def matching(tokens: list[str], mode: str) -> list[Command]:
    """Commands whose keywords start the input, longest first."""
    found = [c for c in COMMANDS if mode in c.modes and tuple(tokens[: len(c.words)]) == c.words]
    return sorted(found, key=lambda c: -len(c.words))


def parse(tokens: list[str], mode: str = "exec") -> Parsed:
    if not tokens:
        raise UsageError("no command given; type 'help' for the list")
    found = matching(tokens, mode)
    if not found:
        starts = sorted({" ".join(c.words) for c in COMMANDS
                         if mode in c.modes and c.words[0] == tokens[0]})
        if starts:
            raise UsageError(f"incomplete or unknown command '{' '.join(tokens)}'; "
                             f"one of: {', '.join(starts)}")
        others = [c for c in COMMANDS if tuple(tokens[: len(c.words)]) == c.words]
        if others:
            raise UsageError(f"'{' '.join(others[0].words)}' is not available in {mode} mode")
        raise UsageError(f"unknown command '{tokens[0]}'; type 'help' for the list")
    cmd = found[0]
    return Parsed(cmd, bind(cmd, tokens[len(cmd.words):]))


def bind(cmd: Command, args: list[str]) -> dict[str, str]:
    """Assign words to parameters, options and flags; check each value against its facts."""
    values: dict[str, str] = {}
    positional: list[str] = []
    options = {o.label: o for o in cmd.options}
    flags = {f.word: f for f in cmd.flags}
    i = 0
    while i < len(args):
        word = args[i]
        if word in flags:
            values[flags[word].dest] = flags[word].value
        elif word in options and i + 1 < len(args) and len(positional) >= _required(cmd):
            if options[word].kind == "text":  # free text runs to the end of the line
                values[word] = " ".join(args[i + 1:])
                break
            values[word] = _checked(options[word], args[i + 1], values)
            i += 1
        else:
            positional.append(word)
        i += 1
    if cmd.params and cmd.params[-1].kind == "text" and len(positional) > len(cmd.params):
        keep = len(cmd.params) - 1
        positional = [*positional[:keep], " ".join(positional[keep:])]
    if not _required(cmd) <= len(positional) <= len(cmd.params):
        raise UsageError(f"usage: {cmd.usage()}")
    for param, word in zip(cmd.params, positional, strict=False):
        values[param.label] = _checked(param, word, values)
    return values


def _required(cmd: Command) -> int:
    return sum(1 for p in cmd.params if not p.optional)


def _checked(param: Param, word: str, values: dict[str, str]) -> str:
    fact: facts.Fact | None
    if param.kind == "prop":
        fact = facts.prop(param.obj, word)
        if fact["name"] == facts.OBJECTS[param.obj]["key"]:
            raise UsageError(f"the {param.obj}'s {word} is its key and cannot be changed")
        return word
    fact = param.fact(values)
    if fact is None:
        return word
    label = values.get("prop", param.label) if param.kind == "pval" else param.label
    return facts.check(fact, word, label)
