"""The one command table: words, parameters and their schema facts, shared by the one-shot
path, the shell's completion and help.

A command is fixed keywords followed by parameters; a parameter names what it holds (a new or
an existing object, a property, a value checked against the YANG facts), which is all that
completion, help and the local checks need.
"""

from __future__ import annotations

from typing import NamedTuple

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
#   snap  an existing snapshot of the VM given before, one hvd made (completed from the server;
#         checked as the rpc input obj's prop)
#   listed  a name the server lists by an RPC (obj: template, iso), completed from it
#   file  a file on the client's side, read by hv


# What a `listed` parameter is checked as: the RPC input leaf that takes it.
LISTED = {"template": ("create-vm", "template"), "iso": ("install-vm", "iso")}


class Param(NamedTuple):
    label: str
    kind: str
    obj: str = ""
    prop: str = ""
    optional: bool = False
    unless: str = ""  # required unless this option is given (then left out)
    lo: int = 0
    hi: int = 0
    help: str = ""

    def fact(self, values: dict[str, str]) -> facts.Fact | None:
        if self.kind == "listed":
            return facts.rpc_input(*LISTED[self.obj])
        if self.kind in ("new", "ref", "sub", "vmsnap"):
            return facts.key_fact(self.obj)
        if self.kind in ("val", "snap"):
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
        if self.kind == "vmsnap":
            return "an existing vm, or VM@SNAPSHOT: one of its snapshots"
        if self.kind == "snap":
            return "one of hvd's snapshots of the VM"
        if self.kind == "new":
            return f"the new {self.obj}'s name"
        if self.kind == "listed":
            return f"a{'n' if self.obj == 'iso' else ''} {self.obj}: {self.obj} list shows them"
        if self.kind == "prop":
            return "a property: " + ", ".join(facts.props(self.obj))
        if self.kind in ("val", "int"):
            fact = self.fact({})
            assert fact is not None
            return f"{fact.get('help') or self.label} ({facts.hint(fact)})"
        return self.label


class Flag(NamedTuple):
    word: str
    dest: str
    value: str


class Command(NamedTuple):
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
            parts.append(f"[{p.label}]" if p.optional and not p.unless else f"<{p.label}>")
        parts += [f"[{o.label} {o.label.lstrip('-').upper()}]" for o in self.options]
        groups: dict[str, list[str]] = {}
        for f in self.flags:
            groups.setdefault(f.dest, []).append(f.word)
        parts += ["[" + "|".join(w) + "]" for w in groups.values()]
        return " ".join(parts)


class Parsed(NamedTuple):
    command: Command
    values: dict[str, str]


def _p(label: str, kind: str, obj: str = "", prop: str = "", **kw: object) -> Param:
    return Param(label, kind, obj, prop, **kw)  # type: ignore[arg-type]


VM = _p("vm", "ref", "vm")
NET = _p("network", "ref", "network")
EXEC = frozenset({"exec"})
CONFIG = frozenset({"config"})


def _object_commands(obj: str, create: tuple[Param, ...], what: str,
                     options: tuple[Param, ...] = ()) -> list[Command]:
    ref = _p(obj, "ref", obj)
    return [
        Command(("create", obj), "create", f"Create a {what}", (_p("name", "new", obj), *create),
                options, obj=obj),
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
ADDRESS = _p("address", "text", help="an address with its prefix length: 10.0.0.1/24, fd00::1/64")
PROTO, HOST_PORT = _p("protocol", "val", "forward", "protocol"), _p("host-port", "val", "forward",
                                                                   "host-port")


def _network_part_commands() -> list[Command]:
    """A network's addresses (a leaf-list) and port forwards (a list keyed by protocol and
    host port): added and removed like a VM's disks and NICs."""
    return [
        Command(("set", "dhcp"), "set-dhcp",
                "Serve DHCP (and DNS) on a network: its dynamic range, FIRST-LAST",
                (NET, _p("range", "text", help="FIRST-LAST, e.g. 10.0.0.100-10.0.0.200")),
                obj="network"),
        Command(("unset", "dhcp"), "unset-dhcp", "Stop serving DHCP on a network", (NET,),
                obj="network"),
        Command(("add", "address"), "add-address",
                "Add an address of the host to a network's bridge", (NET, ADDRESS),
                obj="address"),
        Command(("remove", "address"), "remove-address",
                "Remove an address of the host from a network's bridge", (NET, ADDRESS),
                obj="address"),
        Command(("add", "forward"), "add-forward",
                "Forward a port of a NAT network's outside interface to a guest",
                (NET, PROTO, HOST_PORT, _p("guest-address", "val", "forward", "guest-address"),
                 _p("guest-port", "val", "forward", "guest-port", optional=True)),
                obj="forward"),
        Command(("remove", "forward"), "remove-forward", "Remove a port forward of a network",
                (NET, PROTO, HOST_PORT), obj="forward"),
    ]


COMMANDS: tuple[Command, ...] = (
    *_object_commands("vm", (_p("cpu", "val", "vm", "cpu", optional=True, unless="--template"),
                             _p("memory", "val", "vm", "memory", optional=True,
                                unless="--template")), "VM",
                      (_p("--template", "listed", "template"),
                       _p("--network", "ref", "network",
                          help="the network of the template's NICs that name none"),
                       _p("--image", "val", "rpc:create-vm", "image"),
                       _p("--ssh-key", "file",
                          help="a public key file (here, where hv runs) for cloud-init"))),
    *_object_commands("network", (_p("fib", "val", "network", "fib"),
                                  _p("if", "val", "network", "physical-interface",
                                     optional=True)), "network"),
    *_child_commands("disk", (_p("size", "val", "disk", "size"),),
                     (_p("emulation", "val", "disk", "emulation"),),
                     (Flag("sparse", "sparse", "true"), Flag("thick", "sparse", "false"),
                      Flag("file", "file", ""))),
    Command(("add", "lun"), "add-lun", "Add an iSCSI LUN to a VM as a disk",
            (VM, _p("name", "new", "disk"), _p("portal", "val", "disk", "iscsi.portal"),
             _p("target", "val", "disk", "iscsi.target")),
            (*(_p(o, "val", "disk", f"iscsi.{o}") for o in ("lun", "serial", "auth-nickname")),
             _p("emulation", "val", "disk", "emulation")), obj="disk"),
    *_child_commands("nic", (_p("network", "ref", "network"),),
                     (_p("mac", "val", "nic", "mac"), _p("emulation", "val", "nic", "emulation")),
                     ()),
    *_network_part_commands(),
    Command(("start",), "start-vm", "Start a VM", (VM,)),
    Command(("stop",), "stop-vm", "Stop a VM (ACPI shutdown, power off after the timeout)",
            (VM,), (_p("timeout", "val", "rpc:stop-vm", "timeout"),),
            (Flag("--force", "force", "true"), Flag("force", "force", "true"))),
    Command(("restart",), "restart-vm", "Stop a VM gracefully, then start it again", (VM,)),
    Command(("console",), "console", "Attach to a VM's serial console (cu -l)", (VM,)),
    Command(("vnc",), "vnc", "Print the address of a running VM's VNC server (graphics)",
            (VM,), read=True),
    Command(("log",), "log", "Show a VM's supervisor log, or without VM hvd's own log",
            (_p("vm", "ref", "vm", optional=True),),
            (_p("lines", "val", "rpc:get-vm-log", "lines"),), read=True),
    Command(("top",), "top", "Live table of the VMs by CPU, memory, disk and network rates "
            "(keys: c m d n v sort, q quits)",
            options=(_p("interval", "int", lo=1, hi=3600, help="seconds between refreshes"),),
            read=True),
    Command(("stats",), "stats", "Show a VM's statistics and, on a terminal, graphs of its "
            "recent history", (VM,),
            (_p("period", "val", "rpc:get-vm-statistics-history", "period"),), read=True),
    Command(("snapshot",), "snapshot", "Snapshot a VM's disks and configuration file at once",
            (VM, _p("name", "val", "rpc:snapshot-vm", "name", optional=True)),
            (_p("description", "val", "rpc:snapshot-vm", "description"),),
            (Flag("--no-freeze", "quiesce", "false"),), read=True),
    Command(("snapshot", "list"), "snapshot-list", "List a VM's snapshots", (VM,), read=True),
    Command(("import", "vm-bhyve"), "import-vm-bhyve",
            "Import vm-bhyve's guests and switches (its vm_dir on the hypervisor): shows what "
            "it would commit and what it leaves, then asks",
            (_p("directory", "text", help="vm-bhyve's vm_dir, e.g. /zroot/vm"),),
            (_p("dataset", "val", "rpc:import-vm-bhyve", "dataset"),), read=True),
    Command(("snapshot", "schedule"), "snapshot-schedule",
            "Show the scheduled snapshots a VM keeps per period, and where each count is set",
            (VM,), read=True),
    Command(("set", "snapshot-schedule"), "set-snapshot-schedule",
            "Set how many scheduled snapshots of a period every VM keeps (a VM's own wins)",
            (_p("period", "text", help="frequent, hourly, daily, weekly or monthly"),
             _p("count", "int", lo=0, hi=65535, help="how many to keep (0: none)"))),
    Command(("unset", "snapshot-schedule"), "set-snapshot-schedule",
            "Remove a period's host-wide count (back to 0)",
            (_p("period", "text", help="frequent, hourly, daily, weekly or monthly"),)),
    Command(("snapshot", "rollback"), "snapshot-rollback",
            "Roll a VM's disks back to one of hvd's snapshots (asks first)",
            (VM, _p("name", "snap", "rpc:rollback-vm", "name")), (),
            (Flag("--stop", "stop", "true"), Flag("--destroy-newer", "destroy-newer", "true")),
            read=True),
    Command(("snapshot", "delete"), "snapshot-delete", "Delete one of hvd's snapshots of a VM "
            "(asks first)", (VM, _p("name", "snap", "rpc:delete-snapshot", "name")), read=True),
    Command(("info",), "info", "Everything about a VM on one screen: settings, state, disks "
            "with their use, NICs with taps and bridges, snapshots; without VM, the host",
            (_p("vm", "ref", "vm", optional=True),), read=True),
    Command(("install",), "install", "Boot a stopped VM once from an ISO, then from its disk",
            (VM, _p("iso", "listed", "iso")), (),
            (Flag("--no-start", "start", "false"),), read=True),
    Command(("template", "list"), "template-list",
            "List the guest templates create vm --template takes", read=True),
    Command(("image", "write"), "image-write",
            "Write a raw or qcow2 disk image (a path on the host) onto a stopped VM's disk",
            (VM, _p("disk", "sub", "disk"), _p("image", "val", "rpc:write-disk-image", "image")),
            read=True),
    Command(("iso", "list"), "iso-list", "List the installation ISOs on the host", read=True),
    Command(("iso", "add"), "iso-add",
            "Copy a local ISO (or fetch a URL) into the host's ISO directory",
            (_p("source", "val", "rpc:add-iso", "source"),
             _p("name", "val", "rpc:add-iso", "name", optional=True)), read=True),
    Command(("clone",), "clone", "Clone a VM from a snapshot: linked (zfs clone) or --full",
            (_p("vm", "vmsnap", "vm"), _p("name", "new", "vm")),
            (_p("snapshot", "val", "rpc:clone-vm", "snapshot"),),
            (Flag("--full", "linked", "false"),), read=True),
    Command(("backup",), "backup", "Back a VM up to a backup target (incremental after the first)",
            (VM, _p("target", "val", "rpc:backup-vm", "target")), (),
            (Flag("--full", "full", "true"),), read=True),
    Command(("backup", "cancel"), "backup-cancel",
            "Cancel the backup or restore of a VM under way (what it made is removed)",
            (_p("vm", "val", "rpc:cancel-backup", "vm"),), read=True),
    Command(("backup", "jobs"), "backup-jobs", "List the backups and restores under way",
            read=True),
    Command(("backup", "list"), "backup-list", "List the backups a target holds",
            (_p("target", "val", "rpc:list-backups", "target"),
             _p("vm", "val", "rpc:list-backups", "vm", optional=True)), read=True),
    Command(("restore",), "restore", "Restore a VM from a backup target as a new VM, over "
            "itself (--replace, stopped), or --verify it",
            (_p("target", "val", "rpc:restore-vm", "target"),
             _p("vm", "val", "rpc:restore-vm", "vm"),
             _p("name", "val", "rpc:restore-vm", "name", optional=True)),
            (_p("backup", "val", "rpc:restore-vm", "backup"),),
            (Flag("--verify", "verify-only", "true"), Flag("--replace", "replace", "true")),
            read=True),
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
    for param in cmd.params:
        if param.unless and (param.label in values) == (param.unless in values):
            raise UsageError(f"usage: {cmd.usage()}" if param.unless not in values else
                             f"{param.label} comes from the template ({param.unless} "
                             f"{values[param.unless]}); change it once the VM exists")
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
    if param.kind == "vmsnap" and "@" in word:  # VM@SNAPSHOT: each part checked as itself
        vm, _, snap = word.partition("@")
        facts.check(facts.rpc_input("clone-vm", "snapshot"), snap, "snapshot")
        return facts.check(facts.key_fact("vm"), vm, param.label) + "@" + snap
    fact = param.fact(values)
    if fact is None:
        return word
    label = values.get("prop", param.label) if param.kind == "pval" else param.label
    return facts.check(fact, word, label)
