"""What each command does: the request it sends and how the reply is shown.

A Session holds one connection (opened on first use, never for --dry-run), the mode (exec:
edits go to running at once; config: edits go to the candidate) and the output options.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from hv_cli import loadfile, render, rpcs
from hv_cli.client import REPLY_TIMEOUT, Client, ConnectError, NetconfError, Progress
from hv_cli.facts import UsageError
from hv_cli.grammar import Parsed
from hv_cli.progress import JobBar
from hv_cli.rpcs import OP, El, el, leaf

from hvd_netconf.namespaces import BASE, CAP_PREFIX, VM

if TYPE_CHECKING:
    from hv_cli import top

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CONNECT = 0, 1, 2, 3
WRITABLE_RUNNING = CAP_PREFIX + "writable-running:1.0"
TOKENS = "~/.hv_confirm"  # the persist token of each server's pending confirmed commit


class NotFound(Exception):
    """The named object does not exist on the server."""


class ConsoleFailed(Exception):
    """The console could not be joined, or closed under the operator."""


class NotConfirmed(Exception):
    """A destructive change was declined, or asked for without a terminal and without --yes."""


def ask_terminal(question: str) -> bool | None:
    """y/N on the terminal; None when there is no terminal to ask on."""
    if not sys.stdin.isatty():
        return None
    try:
        return input(question + " [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        return False


class Options:
    """hv's global options (plain classes here: the one-shot path does not load
    dataclasses, whose import costs more than the rest of a small command)."""

    socket = "/var/run/hvd.sock"

    def __init__(self, *, socket: str = socket, host: str | None = None, port: int = 830,
                 port_given: int = 0, user: str | None = None, json: bool = False,
                 xml: bool = False, show_rpc: bool = False, dry_run: bool = False,
                 version: bool = False, yes: bool = False, timeout: float = REPLY_TIMEOUT
                 ) -> None:
        self.socket = socket
        self.host = host
        self.port = port
        self.port_given = port_given  # --host HOST:PORT and --port PORT exclude each other
        self.user = user
        self.json = json
        self.xml = xml
        self.show_rpc = show_rpc
        self.dry_run = dry_run
        self.version = version
        self.yes = yes  # destructive changes go ahead without the preview and the question
        self.timeout = timeout

    def copy(self, **changes: object) -> Options:
        out = Options()
        out.__dict__.update(self.__dict__)
        for name, value in changes.items():
            if not hasattr(out, name):
                raise AttributeError(name)
            setattr(out, name, value)
        return out


class Session:
    def __init__(self, opts: Options, out: TextIO | None = None, err: TextIO | None = None,
                 interactive: bool = False) -> None:
        self.opts = opts
        self.out = out if out is not None else sys.stdout
        self.err = err if err is not None else sys.stderr
        self.mode = "exec"
        self.interactive = interactive
        self.dirty = False  # this shell edited the candidate since its last commit or discard
        self.candidate = "private"  # configure mode's candidate: private, exclusive or shared
        self.unconfirmed: str | None = None  # the token of a confirmed commit this shell made
        self.ask: Callable[[str], bool | None] = ask_terminal
        self._client: Client | None = None

    @property
    def client(self) -> Client:
        if self._client is None:
            if self.opts.host:
                from hv_cli.ssh import connect  # paramiko only for remote hosts

                self._client = connect(self.opts.host, self.opts.port, self.opts.user,
                                       self.opts.timeout, ask=self.ask)
            else:
                self._client = Client.unix(self.opts.socket, self.opts.timeout)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def second(self) -> Client:
        """Another session to the same server (a progress bar reads through it while the
        first waits for its reply)."""
        if self.opts.host:
            from hv_cli.ssh import connect  # paramiko only for remote hosts

            return connect(self.opts.host, self.opts.port, self.opts.user, self.opts.timeout,
                           ask=self.ask)
        return Client.unix(self.opts.socket, self.opts.timeout)

    def job_send(self, op: El, label: str, vm: str) -> ET.Element | None:
        """send() of a backup or restore: on a terminal, a bar of its job's progress."""
        if not sys.stderr.isatty():
            return self.send(op, progress=label)
        job = JobBar(label, vm, self.second)
        try:
            return self.send(op, progress=job)
        finally:
            job.close()

    def print(self, text: str) -> None:
        if text:
            self.out.write(text + "\n")
            self.out.flush()

    def send(self, op: El, progress: Progress = None, timeout: float | None = None
             ) -> ET.Element | None:
        """Send one request; None under --dry-run, where it is only shown."""
        if self.opts.show_rpc or self.opts.dry_run:
            msg_id = self._client.next_id if self._client else 1
            shown = rpcs.to_xml(rpcs.rpc(op, msg_id), indent="  ").lstrip() + "\n"
            (self.out if self.opts.dry_run else self.err).write(shown)
        if self.opts.dry_run:
            return None
        return self.client.call(op, progress, timeout)

    @property
    def server(self) -> str:
        """Which server: the key of its confirm token in TOKENS."""
        return f"{self.opts.host}:{self.opts.port}" if self.opts.host else self.opts.socket

    @property
    def target(self) -> str:
        return "candidate" if self.mode == "config" else "running"

    def edit(self, config: El, default_operation: str, done: str, vm: str | None = None
             ) -> None:
        """vm: the VM the edit changes; the reply says when it waits for a restart."""
        if self.mode == "exec" and not self.opts.dry_run and not self.client.has(WRITABLE_RUNNING):
            raise UsageError("the server does not allow direct edits of running; "
                             "use 'configure' and 'commit'")
        if self.send(rpcs.edit_config(self.target, config, default_operation)) is None:
            return
        if self.mode == "config":
            self.dirty = True
            done += " (uncommitted)"
        elif vm is not None and self.waiting_for_restart(vm):
            done += f" (takes effect at the next start: {self.hv}restart {vm})"
        self.print(done)

    @property
    def hv(self) -> str:
        """How a command is typed here: `hv restart web`, or in the shell `restart web`."""
        return "" if self.interactive else "hv "

    def waiting_for_restart(self, vm: str | None = None) -> list[str]:
        """The running VMs (this one, or all) started with other settings than they now have."""
        reply = self.send(rpcs.get(rpcs.pending_restart(vm)))
        if reply is None:
            return []
        return sorted(entry.findtext(f"{{{VM}}}name") or "" for entry in reply.iter()
                      if render.local(entry.tag) == "vm"
                      and entry.findtext(f"{{{VM}}}state/{{{VM}}}pending-restart")
                      == "true")

    def say_what_waits(self) -> None:
        """After a commit: the VMs it changed (or others changed) that wait for a restart."""
        for vm in self.waiting_for_restart():
            self.print(f"vm {vm}: changes take effect at the next start ({self.hv}restart {vm})")


# ---- destructive changes: preview, then ask --------------------------------------------

def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


class Preview:
    """What preview-commit says a commit of the candidate would do."""

    def __init__(self, counts: dict[str, int], plan: str, steps: int) -> None:
        self.counts = counts
        self.plan = plan
        self.steps = steps

    @classmethod
    def of(cls, reply: ET.Element) -> Preview:
        counts: dict[str, int] = {}
        plan, steps = "", 0
        for e in reply.iter():
            name = render.local(e.tag)
            if name == "text":
                plan = e.text or ""
            elif name == "step":
                steps += 1
            elif name == "summary":
                counts = {render.local(c.tag): int(c.text or 0) for c in e}
        return cls(counts, plan, steps)

    @property
    def destroys(self) -> bool:
        return any(self.counts.values())

    def describe(self) -> str:
        words = (("vms-stopped", "stop", "VM"), ("vms-destroyed", "destroy", "VM"),
                 ("volumes-destroyed", "destroy", "volume"),
                 ("bridges-destroyed", "remove", "bridge"))
        parts = [f"{verb} {_plural(self.counts[key], noun)}" for key, verb, noun in words
                 if self.counts.get(key)]
        plan = self.plan.rstrip("\n")
        if plan.count("\n") >= 40:
            plan = f"({self.steps} host steps; 'commit check' in configure mode lists them)"
        return "this will " + ", ".join(parts) + "\n" + plan


def confirm(s: Session, preview: Preview, doing: str) -> None:
    """Go on when nothing is destroyed, with --yes, or when the operator says yes."""
    if preview.destroys:
        ask_first(s, preview.describe(), doing)


def ask_first(s: Session, what: str, doing: str) -> None:
    """Say what will be lost, then go on with --yes or when the operator says yes."""
    if s.opts.yes or s.opts.dry_run:
        return
    s.err.write(what + "\n")
    s.err.flush()
    answer = s.ask(f"{doing}?")
    if answer is None:
        raise NotConfirmed(f"refusing to {doing} without a terminal to ask on; "
                           "pass --yes to do it")
    if not answer:
        raise NotConfirmed(f"did not {doing}")


def guarded(s: Session, stage: El, act: Callable[[], None], doing: str) -> None:
    """An immediate change that may destroy: staged in the locked candidate for
    preview-commit, thrown away, asked about, then done as asked (act) under the same locks,
    so nothing changes between the preview and the change."""
    if s.opts.yes or s.opts.dry_run:
        act()
        return
    locked: list[str] = []
    try:
        for datastore in ("running", "candidate"):
            try:
                s.send(rpcs.lock(datastore))
            except NetconfError as exc:
                raise NotConfirmed(f"cannot preview '{doing}': {exc}; pass --yes to do it "
                                   "without a preview") from None
            locked.append(datastore)
        s.send(stage)
        try:
            reply = s.send(rpcs.preview_commit())
        finally:
            s.send(rpcs.discard())
        assert reply is not None
        confirm(s, Preview.of(reply), doing)
        act()
    finally:
        for datastore in reversed(locked):
            with contextlib.suppress(NetconfError):
                s.send(rpcs.unlock(datastore))


# ---- configuration edits ----------------------------------------------------------------

def _vm_scoped(obj: str, values: dict[str, str], *inner: El, op: str | None = None) -> El:
    """The config tree for obj (vm, network, or a disk/nic inside its VM)."""
    if obj in ("disk", "nic"):
        sub = rpcs.entry(obj, values[obj] if obj in values else values["name"], *inner, op=op)
        return rpcs.config_tree("vm", rpcs.entry("vm", values["vm"], sub))
    return rpcs.config_tree(obj, rpcs.entry(obj, values.get(obj) or values["name"], *inner, op=op))


def do_create(s: Session, p: Parsed) -> None:
    v, obj = p.values, p.command.obj
    if "--template" in v:
        create_from_template(s, v)
        return
    extra = [o for o in ("--network", "--image", "--ssh-key") if o in v]
    if extra:
        raise UsageError(f"{extra[0]} goes with --template")
    if obj == "vm":
        leaves = [leaf("cpu", v["cpu"]), leaf("memory", v["memory"])]
    else:
        leaves = [leaf("fib", v["fib"])]
        if "if" in v:
            leaves.append(leaf("physical-interface", v["if"]))
    s.edit(_vm_scoped(obj, v, *leaves, op="create"), "merge", f"created {obj} {v['name']}")


def create_from_template(s: Session, v: dict[str, str]) -> None:
    """create-vm (hvd-template): the template's settings become the VM's, in one commit."""
    name, template = v["name"], v["--template"]
    if s.mode == "config":
        raise UsageError("create vm --template commits at once (create-vm); run it outside "
                         "configure mode")
    keys = _key_file(v["--ssh-key"]) if "--ssh-key" in v else []
    reply = s.send(rpcs.create_vm(name, template, v.get("--network"), keys, v.get("--image")),
                   progress=f"creating {name}…")
    if reply is not None:
        got = _leaves(reply)
        image = (f"; {v['--image']} ({got['image-format']}) written onto its first disk"
                 if "image-format" in got else "")
        s.print(f"created vm {name} from template {template} (commit "
                f"{got.get('commit-id')}){image}")


def _key_file(path: str) -> list[str]:
    """The public keys of an authorized_keys-style file: its lines but blanks and comments."""
    try:
        with open(os.path.expanduser(path), encoding="utf-8") as f:
            lines = [line.strip() for line in f]
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    keys = [line for line in lines if line and not line.startswith("#")]
    if not keys:
        raise UsageError(f"{path} holds no public key")
    return keys


def do_template_list(s: Session, p: Parsed) -> None:
    reply = s.send(rpcs.list_templates())
    if reply is None:
        return
    found = [{render.local(c.tag): c.text or "" for c in e} for e in reply
             if render.local(e.tag) == "template"]
    rows = [[x.get("name", ""), x.get("origin", ""), x.get("description", "")] for x in found]
    _emit(s, reply, found, lambda: render.table(["NAME", "ORIGIN", "DESCRIPTION"], rows),
          "list-templates/template")


def _delete(s: Session, p: Parsed, done: str, doing: str) -> None:
    config = _vm_scoped(p.command.obj, p.values, op="delete")
    if s.mode == "config":  # the candidate only: commit asks
        s.edit(config, "none", done)
        return
    guarded(s, rpcs.edit_config("candidate", config, "none"),
            lambda: s.edit(config, "none", done, _vm_of(p)), doing)


def do_destroy(s: Session, p: Parsed) -> None:
    obj = p.command.obj
    name = p.values[obj]
    _delete(s, p, f"destroyed {obj} {name}", f"destroy {obj} {name}")


def _where(p: Parsed) -> str:
    v, obj = p.values, p.command.obj
    return f"{obj} {v[obj]}" if obj in ("vm", "network") else f"{obj} {v[obj]} of vm {v['vm']}"


def _vm_of(p: Parsed) -> str | None:
    """The existing VM a command changes (a VM, or a disk or nic of one)."""
    return p.values.get("vm") if p.command.obj in ("vm", "disk", "nic") else None


def do_set(s: Session, p: Parsed) -> None:
    prop, value = p.values["prop"], p.values["value"]
    s.edit(_vm_scoped(p.command.obj, p.values, leaf(prop, value, "merge")), "none",
           f"set {prop} of {_where(p)} to {value}", _vm_of(p))


def do_unset(s: Session, p: Parsed) -> None:
    prop = p.values["prop"]
    s.edit(_vm_scoped(p.command.obj, p.values, leaf(prop, None, "remove", outer=False)), "none",
           f"unset {prop} of {_where(p)}", _vm_of(p))


def do_add(s: Session, p: Parsed) -> None:
    v, obj = p.values, p.command.obj
    if obj == "disk":
        leaves = [leaf("size", v["size"])]
        leaves += [leaf(k, v[k]) for k in ("emulation", "sparse") if k in v]
        if "file" in v:  # a sparse image file instead of a zvol (type empty)
            leaves.append(leaf("file", None))
    else:
        leaves = [leaf("network", v["network"])]
        leaves += [leaf(k, v[k]) for k in ("mac", "emulation") if k in v]
    s.edit(_vm_scoped(obj, v, *leaves, op="create"), "none",
           f"added {obj} {v['name']} to vm {v['vm']}", v["vm"])


def do_add_lun(s: Session, p: Parsed) -> None:
    """A disk whose blocks are a LUN of an iSCSI target (attached at each start)."""
    v = p.values
    lun = El("iscsi", [el(k, text=v[k]) for k in ("portal", "target", "lun", "serial",
                                                  "auth-nickname") if k in v])
    more = [leaf("emulation", v["emulation"])] if "emulation" in v else []
    s.edit(_vm_scoped("disk", v, lun, *more, op="create"), "none",
           f"added disk {v['name']} (LUN {v.get('lun', '0')} of {v['target']} at "
           f"{v['portal']}) to vm {v['vm']}", v["vm"])


def do_remove(s: Session, p: Parsed) -> None:
    _delete(s, p, f"removed {_where(p)}", f"remove {_where(p)}")


def _network_part(p: Parsed, *inner: El) -> El:
    return rpcs.config_tree("network", rpcs.entry("network", p.values["network"], *inner))


def _forward_key(v: dict[str, str], op: str, *more: El) -> El:
    return El("forward", [el("protocol", text=v["protocol"]),
                          el("host-port", text=v["host-port"]), *more], attrs={OP: op})


def do_set_dhcp(s: Session, p: Parsed) -> None:
    v = p.values
    first, dash, last = v["range"].partition("-")
    if not dash or not first or not last:
        raise UsageError(f"a DHCP range is FIRST-LAST, e.g. 10.0.0.100-10.0.0.200, not "
                         f"{v['range']!r}")
    dhcp = El("dhcp", [el("range-start", text=first.strip()), el("range-end", text=last.strip())],
              attrs={OP: "merge"})
    s.edit(_network_part(p, dhcp), "none",
           f"network {v['network']} serves DHCP from {first.strip()} to {last.strip()}")


def do_unset_dhcp(s: Session, p: Parsed) -> None:
    v = p.values
    s.edit(_network_part(p, El("dhcp", [], attrs={OP: "remove"})), "none",
           f"network {v['network']} no longer serves DHCP")


def do_add_address(s: Session, p: Parsed) -> None:
    v = p.values
    s.edit(_network_part(p, leaf("address", v["address"], "create")), "none",
           f"added address {v['address']} to network {v['network']}")


def do_remove_address(s: Session, p: Parsed) -> None:
    v = p.values
    s.edit(_network_part(p, leaf("address", v["address"], "delete")), "none",
           f"removed address {v['address']} from network {v['network']}")


def do_add_forward(s: Session, p: Parsed) -> None:
    v = p.values
    guest = [el("guest-address", text=v["guest-address"])]
    if "guest-port" in v:
        guest.append(el("guest-port", text=v["guest-port"]))
    to = f"{v['guest-address']}:{v.get('guest-port', v['host-port'])}"
    s.edit(_network_part(p, _forward_key(v, "create", *guest)), "none",
           f"added forward {v['protocol']} {v['host-port']} -> {to} to network {v['network']}")


def do_remove_forward(s: Session, p: Parsed) -> None:
    v = p.values
    s.edit(_network_part(p, _forward_key(v, "delete")), "none",
           f"removed forward {v['protocol']} {v['host-port']} from network {v['network']}")


# ---- reads ------------------------------------------------------------------------------

def _data(reply: ET.Element) -> ET.Element | None:
    return reply.find(f"{{{BASE}}}data")


def _emit(s: Session, reply: ET.Element, data: object, human: Callable[[], str],
          path: str = "") -> None:
    """--xml: the reply's data; --json: data typed by the schema at path; else human()."""
    if s.opts.xml:
        node = _data(reply)
        s.print(render.as_xml(node) if node is not None else "")
    elif s.opts.json:
        s.print(render.as_json(data, path))
    else:
        s.print(human())


TOPS = {"vm": "vms", "network": "networks"}


def read(s: Session, filter_tree: El) -> ET.Element | None:
    """Running with its state; in configure mode the candidate, which the edits change."""
    if s.mode == "config":
        return s.send(rpcs.get_config("candidate", filter_tree))
    return s.send(rpcs.get(filter_tree))


def do_list(s: Session, p: Parsed) -> None:
    obj = p.command.obj
    reply = read(s, rpcs.select(obj))
    if reply is None:
        return
    found = render.entries(_data(reply), TOPS[obj], obj, fill=not s.opts.json)
    # ordered-by system: the server's order may change across restarts (insertion order,
    # then sorted when reloaded), so list shows them by name, always the same.
    found.sort(key=lambda entry: entry["name"])
    table = render.vm_table if obj == "vm" else render.network_table
    _emit(s, reply, found, lambda: table(found), f"{TOPS[obj]}/{obj}")


def fetch(s: Session, obj: str, name: str) -> tuple[ET.Element, render.Data] | None:
    reply = read(s, rpcs.select(obj, name))
    if reply is None:
        return None
    found = render.entries(_data(reply), TOPS[obj], obj)
    if not found:
        raise NotFound(f"no {obj} named '{name}'")
    return reply, found[0]


def do_show(s: Session, p: Parsed) -> None:
    obj = p.command.obj
    got = fetch(s, obj, p.values[obj])
    if got is not None:
        reply, entry = got
        if s.opts.json:  # as sent, the defaults left out as --xml leaves them out
            entry = render.entries(_data(reply), TOPS[obj], obj, fill=False)[0]
        _emit(s, reply, entry, lambda: render.detail(obj, entry), f"{TOPS[obj]}/{obj}")


def do_show_host(s: Session, p: Parsed) -> None:
    reply = s.send(rpcs.get(rpcs.host()))
    if reply is None:
        return
    data = _data(reply)
    host = next(iter(data), None) if data is not None else None
    if host is None:
        raise NotFound("the server reports no host information")
    info = render.to_data(host)
    _emit(s, reply, info, lambda: render.key_values(info), "host")


def _reply_body(reply: ET.Element) -> object:
    return {render.local(c.tag): render.to_data(c) for c in reply}


def do_show_commits(s: Session, p: Parsed) -> None:
    reply = s.send(rpcs.commit_history(0, int(p.values.get("limit", "20"))))
    if reply is None:
        return
    commits = [render.to_data(e) for e in reply.iter() if render.local(e.tag) == "commit"]
    _emit(s, reply, commits, lambda: render.commit_table(commits), "get-commit-history/commit")


def show_compare(s: Session, source: str = "running", target: str = "candidate") -> None:
    reply = s.send(rpcs.compare(source, target))
    if reply is None:
        return
    text = next((e.text or "" for e in reply.iter() if render.local(e.tag) == "text"), "")
    if s.opts.json or s.opts.xml:
        _emit(s, reply, _reply_body(reply), str)
        return
    text = text.strip("\n")
    same = "no uncommitted changes" if target == "candidate" else "no differences"
    s.print(render.diff_lines(text, s.out.isatty()) if text else same)


def do_show_compare(s: Session, p: Parsed) -> None:
    """No ids: candidate against running; one: commit ID against running; two: between them."""
    first, second = p.values.get("id"), p.values.get("to")
    if first is None:
        show_compare(s)
    else:
        show_compare(s, first, second or "running")


# ---- operations -------------------------------------------------------------------------

VM_RPC_WORDS = {"start-vm": ("starting", "started"), "stop-vm": ("stopping", "stopped"),
                "restart-vm": ("restarting", "restarted")}


def do_vm_rpc(s: Session, p: Parsed) -> None:
    name, vm = p.command.action, p.values["vm"]
    params = {k: p.values[k] for k in ("force", "timeout") if k in p.values}
    doing, done = VM_RPC_WORDS[name]
    wait = s.opts.timeout + int(params.get("timeout", 0))  # the guest's own time on top
    if s.send(rpcs.vm_rpc(name, vm, **params), progress=f"{doing} {vm}…",
              timeout=wait) is not None:
        s.print(f"{done} vm {vm}")


def do_top(s: Session, p: Parsed) -> None:
    """A live table on a terminal (hv_cli.top); elsewhere, or with --json, one table of the
    rates between two reads `interval` seconds apart."""
    from hv_cli import top

    interval = float(p.values.get("interval", "2"))

    live = sys.stdin.isatty() and s.out.isatty() and not (s.opts.json or s.opts.xml)
    host: list[str] = [""]  # the live view's host line, from the latest frame

    def frame() -> dict[str, top.Snap]:
        trees = (rpcs.vm_statistics(), rpcs.host_statistics()) if live else \
            (rpcs.vm_statistics(),)
        reply = s.send(rpcs.get_all(list(trees)))
        data = _data(reply) if reply is not None else None
        host[0] = top.host_line(data)
        return top.snaps(data)

    if s.opts.dry_run:
        frame()
        return
    if live:
        where = s.opts.host or s.opts.socket
        top.live(frame, s.out, sys.stdin.fileno(), interval, "cpu", where, lambda: host[0])
        return
    table = top.ordered(top.batch(frame, interval), "cpu")
    s.print(json.dumps(top.as_dicts(table), indent=2) if s.opts.json else top.table_text(table))


def _stat_lines(vm: str, st: render.Data) -> list[str]:

    def num(d: render.Data, key: str) -> float | None:
        value = d.get(key)
        return float(value) if isinstance(value, str) and value else None

    cpu_ms = num(st, "cpu-time")
    lines = [f"vm {vm} (counters since {st.get('discontinuity-time', '-')})",
             f"  cpu time         {'-' if cpu_ms is None else f'{cpu_ms / 1000:.2f} s'}",
             f"  cpu use          {st.get('cpu-use', '-')}%",
             f"  resident memory  {render.size(num(st, 'resident-memory'))}",
             f"  wired memory     {render.size(num(st, 'wired-memory'))}"]
    for disk in st.get("disk", []):
        lines.append(f"  disk {disk['name']}: read {render.size(num(disk, 'read-octets'))} "
                     f"({disk.get('read-operations', '0')} ops), written "
                     f"{render.size(num(disk, 'write-octets'))} "
                     f"({disk.get('write-operations', '0')} ops)")
    for nic in st.get("nic", []):
        lines.append(f"  nic {nic['name']} ({nic.get('tap', '-')}): in "
                     f"{render.size(num(nic, 'in-octets'))} ({nic.get('in-packets', '0')} packets, "
                     f"{nic.get('in-errors', '0')} errors, {nic.get('in-discards', '0')} "
                     f"dropped), out {render.size(num(nic, 'out-octets'))} "
                     f"({nic.get('out-packets', '0')} packets, {nic.get('out-errors', '0')} "
                     "errors)")
    return lines


def _graph_lines(period: int, points: list[top.Point]) -> list[str]:
    from hv_cli import top

    if len(points) < 2:
        return [f"history: {len(points)} sample(s) every {period} s so far; graphs need two"]
    cpu = [p.values.get("cpu-use", 0.0) for p in points[1:]]
    graphs = [("cpu %", cpu, f"{cpu[-1]:.1f}"),
              ("disk read", top.rates(points, "read-octets"), None),
              ("disk write", top.rates(points, "write-octets"), None),
              ("net in", top.rates(points, "in-octets"), None),
              ("net out", top.rates(points, "out-octets"), None)]
    lines = [f"history: {len(points)} samples, every {period} s, oldest first"]
    for label, values, last in graphs:
        shown = values[-60:]
        lines.append(f"  {label:<10} {top.spark(shown)}  "
                     f"{last if last is not None else render.size(shown[-1], '/s')}")
    return lines


def do_stats(s: Session, p: Parsed) -> None:
    """A VM's statistics now, and its recent history from the daemon's samples."""
    from hv_cli import top

    vm = p.values["vm"]
    reply = s.send(rpcs.get(rpcs.vm_statistics(vm)))
    history = s.send(rpcs.statistics_history(vm, p.values.get("period")))
    if reply is None or history is None:
        return
    found = render.entries(_data(reply), "vms", "vm", fill=False)
    if not found:
        raise NotFound(f"no vm {vm}")
    st = found[0].get("statistics")
    period, points = top.history(history)
    if s.opts.json or s.opts.xml:
        both = {"name": vm, "statistics": st or {}, "history": {
            "period": period, "sample": [{"time": pt.time, **pt.values} for pt in points]}}
        _emit(s, reply, both, lambda: "")
        return
    if not st:
        status = found[0].get("state", {}).get("status", "stopped")
        s.print(f"vm {vm} is {status}: no statistics while it does not run")
        return
    lines = _stat_lines(vm, st)
    if s.out.isatty():
        lines += _graph_lines(period, points)
    s.print("\n".join(lines))


def do_console(s: Session, p: Parsed) -> None:
    """cu -l on the nmdm B side (FreeBSD); hv's own relay on the sim's pty (hv_cli.console).
    Without a terminal it prints the device, for scripts."""
    from hv_cli import console  # termios and tty only for the console

    vm = p.values["vm"]
    got = fetch(s, "vm", vm)
    if got is None:
        return
    state = got[1].get("state", {})
    device = state.get("console")
    if not device:
        raise NotFound(f"vm {vm} has no console (is it running, with console nmdm?)")
    if s.opts.host:
        raise NotFound(f"the console of vm {vm} is on {s.opts.host}: "
                       f"ssh -t {s.opts.host} {' '.join(console.cu_argv(device))}")
    if not (sys.stdin.isatty() and s.out.isatty()):
        s.print(device)
        return
    s.close()  # no session is held while the operator is on the console
    if state.get("host-backend") != "sim":
        import subprocess  # here: only this and `edit` run a program (one-shot start-up)

        status = subprocess.run(console.cu_argv(device), check=False).returncode
        if status != 0:
            raise ConsoleFailed(f"cu exited with status {status}")
        return
    s.print(f"Connected to the console of vm {vm} ({device}; simulated: the sim backend's "
            "stand-in guest). Type ~. to leave.")
    try:
        left = console.attach(device, sys.stdin.fileno(), s.out.fileno())
    except console.ConsoleBusy as exc:
        raise ConsoleFailed(str(exc)) from None
    if not left:
        s.print("")
        raise ConsoleFailed(f"the console of vm {vm} closed: the VM stopped")
    s.print("\n[EOT]")


def do_log(s: Session, p: Parsed) -> None:
    """The newest lines of a VM's supervisor log, or of hvd's own (get-vm-log, get-log)."""
    reply = s.send(rpcs.get_log(p.values.get("vm"), p.values.get("lines")))
    if reply is None:
        return
    lines = [e.text or "" for e in reply if render.local(e.tag) == "line"]
    _emit(s, reply, lines, lambda: "\n".join(lines))


def _leaves(reply: ET.Element) -> dict[str, object]:
    """An RPC reply's leaves; a leaf-list as a list."""
    out: dict[str, object] = {}
    for e in reply:
        key = render.local(e.tag)
        if key in ("destroyed", "rolled-back", "disks", "verified"):
            out.setdefault(key, [])
            cast_list = out[key]
            assert isinstance(cast_list, list)
            cast_list.append(e.text or "")
        elif key != "ok":
            out[key] = e.text or ""
    return out


def _vm_snapshots(s: Session, vm: str) -> tuple[ET.Element | None, list[render.Data]]:
    reply = s.send(rpcs.get(rpcs.snapshots(vm)))
    found = render.entries(_data(reply) if reply is not None else None, "snapshots", "snapshot",
                           fill=False)
    return reply, [x for x in found if x.get("vm") == vm]


def do_snapshot(s: Session, p: Parsed) -> None:
    vm = p.values["vm"]
    params = {k: p.values[k] for k in ("name", "description", "quiesce") if k in p.values}
    reply = s.send(rpcs.snapshot_rpc("snapshot-vm", vm, **params), progress=f"snapshotting {vm}…")
    if reply is None:
        return
    got = _leaves(reply)
    note = ""
    if got.get("consistency") == "application":
        note = f" (the guest's file systems were frozen for {got.get('frozen-ms')} ms)"
    elif got.get("vm-was-running") == "true":
        why = got.get("note")
        note = " (the VM was running: its disks are as after a power cut" + (
            f"; {str(why).removeprefix('crash-consistent: ')})" if why else ")")
    _emit(s, reply, got, lambda: f"snapshot {got.get('name')} of vm {vm} taken, under commit "
          f"{got.get('commit-id')}{note}", "snapshot-vm")


def do_snapshot_list(s: Session, p: Parsed) -> None:
    reply, found = _vm_snapshots(s, p.values["vm"])
    if reply is None:
        return
    rows = [[x.get("name", ""), x.get("creation", ""), x.get("used", ""),
             x.get("referenced", ""), "yes" if x.get("hvd-made") == "true" else "no",
             x.get("commit-id", "-"), x.get("description", "")] for x in found]
    _emit(s, reply, found, lambda: render.table(
        ["NAME", "CREATED", "USED", "REFER", "HVD", "COMMIT", "DESCRIPTION"], rows)
        if rows else f"vm {p.values['vm']} has no snapshots", "snapshots/snapshot")


PERIODS = ("frequent", "hourly", "daily", "weekly", "monthly")


def do_snapshot_schedule(s: Session, p: Parsed) -> None:
    """Each period's count: the VM's own, else the host-wide one, else 0 (hvd-vm.yang)."""
    vm = p.values["vm"]
    vm_filter, host_filter = rpcs.snapshot_schedules(vm)
    mine_reply = s.send(rpcs.get_config("running", vm_filter))
    host_reply = s.send(rpcs.get_config("running", host_filter))
    if mine_reply is None or host_reply is None:
        return
    rows: list[tuple[str, str, str]] = []
    for period in PERIODS:
        kept, where = "0", "default"
        for reply, label in ((mine_reply, "vm"), (host_reply, "host")):
            found = [e.text for e in reply.iter() if render.local(e.tag) == period]
            if found:
                kept, where = (found[0] or "").strip(), label
                break
        rows.append((period, kept, where))
    data = {"vm": vm, "schedule": [{"period": p, "keep": int(k), "from": w} for p, k, w in rows]}
    _emit(s, mine_reply, data, lambda: render.table(["PERIOD", "KEEP", "SET BY"],
                                                    [list(r) for r in rows]))


def do_set_snapshot_schedule(s: Session, p: Parsed) -> None:
    """`set|unset snapshot-schedule PERIOD [COUNT]`: the host-wide container's counts."""
    period, count = p.values["period"], p.values.get("count")
    if period not in PERIODS:
        raise UsageError(f"no snapshot period {period!r}; one of: {', '.join(PERIODS)}")
    s.edit(rpcs.host_snapshot_schedule(period, count), "none",
           f"set the host-wide {period} snapshots kept to {count}" if count is not None
           else f"unset the host-wide {period} snapshots kept (0)")


def do_snapshot_rollback(s: Session, p: Parsed) -> None:
    vm, name = p.values["vm"], p.values["name"]
    flags = {k: p.values[k] for k in ("stop", "destroy-newer") if k in p.values}
    _reply, found = _vm_snapshots(s, vm)
    names = [x.get("name") for x in found]
    newer = names[names.index(name) + 1:] if name in names else []
    what = f"this will roll the disks of vm {vm} back to snapshot {name}, losing what was " \
           "written to them since"
    if newer and "destroy-newer" in flags:
        what += f", and destroy the newer snapshots {', '.join(str(n) for n in newer)}"
    if "stop" in flags:
        what += ", stopping the VM if it runs"
    ask_first(s, what, f"roll vm {vm} back to {name}")
    reply = s.send(rpcs.snapshot_rpc("rollback-vm", vm, name=name, **flags),
                   progress=f"rolling {vm} back…")
    if reply is None:
        return
    got = _leaves(reply)
    _emit(s, reply, got, lambda: f"vm {vm} rolled back to {name}: {got.get('message')}",
          "rollback-vm")


def do_clone(s: Session, p: Parsed) -> None:
    vm, new = p.values["vm"], p.values["name"]
    params = {k: p.values[k] for k in ("snapshot", "linked") if k in p.values}
    if "@" in vm:  # hv clone VM@SNAP NEW, as zfs names a snapshot
        if "snapshot" in params:
            raise UsageError("give the snapshot once: VM@SNAPSHOT or snapshot SNAPSHOT")
        vm, _, params["snapshot"] = vm.partition("@")
    full = params.get("linked") == "false"
    label = f"cloning {vm} as {new}{' (full copy)' if full else ''}…"
    op = rpcs.snapshot_rpc("clone-vm", vm, name=new, **params)
    reply = s.job_send(op, label, new) if full else s.send(op, progress=label)
    if reply is None:
        return
    got = _leaves(reply)
    how = (f"a full copy ({got.get('bytes')} stream bytes)" if full
           else "linked: the snapshot is kept while the clone exists")
    _emit(s, reply, got, lambda: f"vm {new} cloned from {got.get('snapshot')}, {how}; commit "
          f"{got.get('commit-id')}", "clone-vm")


def do_backup(s: Session, p: Parsed) -> None:
    vm, target = p.values["vm"], p.values["target"]
    extra = {"full": p.values["full"]} if "full" in p.values else {}
    reply = s.job_send(rpcs.vm_rpc_leaves("backup-vm", vm=vm, target=target, **extra),
                       f"backing {vm} up to {target}…", vm)
    if reply is None:
        return
    got = _leaves(reply)
    how = f"incremental from {got['base']}" if got.get("base") else "full"
    _emit(s, reply, got, lambda: f"backup {got.get('backup')} of vm {vm} on {target}: {how}, "
          f"{got.get('bytes')} stream bytes", "backup-vm")


def do_backup_list(s: Session, p: Parsed) -> None:
    params = {k: p.values[k] for k in ("target", "vm") if k in p.values}
    reply = s.send(rpcs.vm_rpc_leaves("list-backups", **params))
    if reply is None:
        return
    found = [{render.local(c.tag): c.text or "" for c in b} for b in reply
             if render.local(b.tag) == "backup"]
    rows = [[b.get("vm", ""), b.get("name", ""), b.get("base", "-") or "-",
             b.get("bytes", "-")] for b in found]
    _emit(s, reply, found, lambda: render.table(["VM", "BACKUP", "BASE", "BYTES"], rows)
          if rows else f"target {p.values['target']} holds no backups", "list-backups")


def do_backup_cancel(s: Session, p: Parsed) -> None:
    vm = p.values["vm"]
    reply = s.send(rpcs.vm_rpc_leaves("cancel-backup", vm=vm))
    if reply is None:
        return
    got = _leaves(reply)
    _emit(s, reply, got, lambda: f"cancelled job {got.get('job')} of vm {vm} after "
          f"{got.get('bytes')} bytes of its current stream; what it made is removed",
          "cancel-backup")


def do_backup_jobs(s: Session, p: Parsed) -> None:
    reply = s.send(rpcs.get(rpcs.el("backup-jobs", xmlns=VM)))
    if reply is None:
        return
    jobs = [{c.tag.rpartition("}")[2]: c.text or "" for c in j}
            for j in reply.iter(f"{{{VM}}}job")]
    if s.opts.json:
        s.print(json.dumps(jobs, indent=2))
        return
    rows = [[j.get("id", ""), j.get("vm", ""), j.get("operation", ""), j.get("target", ""),
             j.get("disk", "-"), render.size(float(j.get("bytes") or 0)),
             render.size(float(j["estimate"])) if j.get("estimate") else "-",
             j.get("started", "")] for j in jobs]
    s.print(render.table(["JOB", "VM", "WHAT", "TARGET", "DISK", "BYTES", "OF", "STARTED"],
                         rows) if rows else "no backup or restore is under way")


def do_restore(s: Session, p: Parsed) -> None:
    params = {k: p.values[k] for k in ("target", "vm", "backup", "name", "verify-only",
                                       "replace") if k in p.values}
    verify = "verify-only" in params
    if "replace" in params:
        vm = params["vm"]
        _reply, found = _vm_snapshots(s, vm)
        ask_first(s, f"this will replace the configuration and every disk of vm {vm} by the "
                  f"backup's, destroying what is on them now and the {len(found)} snapshot"
                  f"{'' if len(found) == 1 else 's'} of vm {vm}", f"restore over vm {vm}")
    label = f"{'checking' if verify else 'restoring'} {params['vm']}…"
    reply = s.send(rpcs.vm_rpc_leaves("restore-vm", **params), progress=label) if verify \
        else s.job_send(rpcs.vm_rpc_leaves("restore-vm", **params), label,
                        params.get("name", params["vm"]))
    if reply is None:
        return
    got = _leaves(reply)
    if verify:
        checked = got.get("verified", [])
        count = len(checked) if isinstance(checked, list) else 1
        _emit(s, reply, got, lambda: f"backup {got.get('backup')} of vm {params['vm']} is "
              f"whole: {count} streams checked", "restore-vm")
        return
    replaced = got.get("replaced", [])
    over = f", replacing {', '.join(replaced) if isinstance(replaced, list) else replaced}" \
        if replaced else ""
    _emit(s, reply, got, lambda: f"vm {got.get('name')} restored from backup "
          f"{got.get('backup')}{over}; commit {got.get('commit-id')}", "restore-vm")


def do_vnc(s: Session, p: Parsed) -> None:
    vm = p.values["vm"]
    reply = s.send(rpcs.get(rpcs.el("vms", rpcs.el("vm", rpcs.el("name", text=vm),
                                                     rpcs.el("state", rpcs.el("vnc"))),
                                    xmlns=VM)))
    if reply is None:
        return
    found = render.entries(_data(reply), "vms", "vm")
    if not found:
        raise NotFound(f"no vm named '{vm}'")
    state = found[0].get("state")
    address = state.get("vnc") if isinstance(state, dict) else None
    if not address:
        raise NotFound(f"vm {vm} has no VNC server running (graphics, and started)")
    _emit(s, reply, {"vnc": address}, lambda: str(address))


def _imported(reply: ET.Element) -> tuple[list[str], list[str], list[str]]:
    """(VMs, networks, what is left with why) of an import-vm-bhyve reply."""
    vms = [e.text or "" for e in reply if render.local(e.tag) == "vm"]
    nets = [e.text or "" for e in reply if render.local(e.tag) == "network"]
    left = []
    for e in reply:
        if render.local(e.tag) == "untranslated":
            f = {render.local(c.tag): c.text or "" for c in e}
            left.append(f"  {f.get('entry')}: {f.get('key')}={f.get('value')!r}: "
                        f"{f.get('reason')}")
    return vms, nets, left


def do_import_vm_bhyve(s: Session, p: Parsed) -> None:
    """A dry run first: what would be committed and what is left; then, asked, the commit."""
    params = {k: p.values[k] for k in ("directory", "dataset") if k in p.values}
    dry = s.send(rpcs.vm_rpc_leaves("import-vm-bhyve", **params, commit="false"))
    if dry is None:
        return
    vms, nets, left = _imported(dry)
    summary = (f"would import {len(vms)} VMs ({', '.join(vms) or 'none'}) and {len(nets)} "
               f"networks ({', '.join(nets) or 'none'})")
    if left:
        summary += "; left as they are (no hvd equivalent):\n" + "\n".join(left)
    if not (vms or nets) or s.opts.dry_run:
        _emit(s, dry, _leaves(dry), lambda: summary, "import-vm-bhyve")
        return
    ask_first(s, summary, f"import {len(vms)} VMs and {len(nets)} networks from vm-bhyve")
    done = s.send(rpcs.vm_rpc_leaves("import-vm-bhyve", **params, commit="true"))
    if done is None:
        return
    vms, nets, _left = _imported(done)
    _emit(s, done, _leaves(done), lambda: f"imported {len(vms)} VMs and {len(nets)} networks; "
          f"commit {_leaves(done).get('commit-id')}", "import-vm-bhyve")


def do_snapshot_delete(s: Session, p: Parsed) -> None:
    vm, name = p.values["vm"], p.values["name"]
    ask_first(s, f"this will destroy snapshot {name} of vm {vm} (its disks' and its "
              "configuration file's)", f"delete snapshot {name} of vm {vm}")
    reply = s.send(rpcs.snapshot_rpc("delete-snapshot", vm, name=name))
    if reply is None:
        return
    got = _leaves(reply)
    _emit(s, reply, got, lambda: f"deleted snapshot {name} of vm {vm}")


def do_install(s: Session, p: Parsed) -> None:
    vm = p.values["vm"]
    params = {"name": vm, "iso": p.values["iso"]}
    if "start" in p.values:
        params["start"] = p.values["start"]
    reply = s.send(rpcs.guest_rpc("install-vm", **params), progress=f"installing {vm}…")
    if reply is None:
        return
    got = _leaves(reply)
    then = ("it boots the ISO now, and its disk after the guest's first reboot"
            if params.get("start") != "false" else f"start it to boot the ISO ({s.hv}start {vm})")
    _emit(s, reply, got, lambda: f"vm {vm} installs from {got.get('iso')} (commit "
          f"{got.get('commit-id')}): {then}", "install-vm")


def do_host_info(s: Session) -> None:
    """The host, its VMs and its networks, from one <get>."""
    reply = s.send(rpcs.get_all([rpcs.host(), rpcs.select("vm"), rpcs.select("network")]))
    if reply is None:
        return
    data = _data(reply)
    host = next((e for e in data if render.local(e.tag) == "host"), None) \
        if data is not None else None
    if host is None:
        raise NotFound("the server reports no host information")
    info = render.to_data(host)
    vms = sorted(render.entries(data, "vms", "vm", fill=not s.opts.json),
                 key=lambda e: e["name"])
    nets = sorted(render.entries(data, "networks", "network", fill=not s.opts.json),
                  key=lambda e: e["name"])
    both = {"host": render.typed(info, "host"), "vms": render.typed(vms, "vms/vm"),
            "networks": render.typed(nets, "networks/network")}
    _emit(s, reply, both, lambda: "\n".join([
        "host", render.key_values(info), f"vms ({len(vms)})",
        render.vm_table(vms) if vms else "  none", f"networks ({len(nets)})",
        render.network_table(nets) if nets else "  none"]))


def do_info(s: Session, p: Parsed) -> None:
    """One VM: <get> of its config and state, vm-info (disks' use, NICs' taps), snapshots."""
    if "vm" not in p.values:
        do_host_info(s)
        return
    vm = p.values["vm"]
    got = fetch(s, "vm", vm)
    host = s.send(rpcs.guest_rpc("vm-info", name=vm))
    _snap_reply, snaps = _vm_snapshots(s, vm)
    if got is None or host is None:
        return
    reply, entry = got
    disks, nics = ([{render.local(c.tag): c.text or "" for c in e} for e in host
                    if render.local(e.tag) == kind] for kind in ("disk", "nic"))
    data = {"vm": render.typed(render.entries(_data(reply), "vms", "vm", fill=False)[0],
                               "vms/vm"),
            "disks": disks, "nics": nics,
            "snapshots": render.typed(snaps, "snapshots/snapshot")}  # RFC 7951 types
    _emit(s, reply, data, lambda: render.vm_info(entry, disks, nics, snaps))


def do_image_write(s: Session, p: Parsed) -> None:
    vm, disk, image = p.values["vm"], p.values["disk"], p.values["image"]
    reply = s.send(rpcs.guest_rpc("write-disk-image", name=vm, disk=disk, image=image),
                   progress=f"writing {image}…")
    if reply is None:
        return
    got = _leaves(reply)
    _emit(s, reply, got, lambda: f"{image} ({got.get('format')}, {got.get('bytes')} bytes) "
          f"written onto disk {disk} of vm {vm}", "write-disk-image")


def do_iso_list(s: Session, p: Parsed) -> None:
    reply = s.send(rpcs.guest_rpc("list-isos"))
    if reply is None:
        return
    found = [{render.local(c.tag): c.text or "" for c in e} for e in reply
             if render.local(e.tag) == "iso"]
    rows = [[x.get("name", ""), x.get("size", ""), x.get("path", "")] for x in found]
    _emit(s, reply, found, lambda: render.table(["NAME", "SIZE", "PATH"], rows)
          if rows else "no ISOs on the host (hv iso add FILE|URL)", "list-isos/iso")


def do_iso_add(s: Session, p: Parsed) -> None:
    params = {k: p.values[k] for k in ("source", "name") if k in p.values}
    reply = s.send(rpcs.guest_rpc("add-iso", **params), progress=f"adding {params['source']}…")
    if reply is None:
        return
    got = _leaves(reply)
    _emit(s, reply, got, lambda: f"ISO {got.get('path')} added ({got.get('size')} bytes)",
          "add-iso")


def preview_commit(s: Session, doing: str) -> None:
    """Before a commit of the candidate: say what it destroys and ask."""
    if s.opts.yes or s.opts.dry_run:
        return
    reply = s.send(rpcs.preview_commit())
    assert reply is not None
    confirm(s, Preview.of(reply), doing)


def _who(session_id: str, user: str) -> str:
    if session_id == "0":
        return f"RESTCONF, user {user}" if user else "an edit saved before hvd last restarted"
    return f"session {session_id}, user {user or 'unknown'}"


def foreign_changes(s: Session) -> list[str]:
    """The shared candidate's changes other sessions made, as 'vm x (by session 3, user
    bob)' (from /hvd-system:candidate)."""
    reply = s.send(rpcs.candidate_editors())
    if reply is None:
        return []
    me = str(s.client.session_id)
    out = []
    for change in reply.iter():
        if render.local(change.tag) != "change":
            continue
        fields = {render.local(c.tag): c for c in change}
        others = []
        for editor in change:
            if render.local(editor.tag) != "editor":
                continue
            got = {render.local(c.tag): (c.text or "").strip() for c in editor}
            if got.get("session-id") != me:
                others.append(_who(got.get("session-id", ""), got.get("user", "")))
        if others:
            kind, name = (fields[k].text or "" for k in ("kind", "name"))
            out.append(f"{kind} {name} (by {'; '.join(others)})")
    return out


def warn_foreign(s: Session, changes: list[str], then: str) -> None:
    s.err.write("warning: the candidate holds changes other sessions made:\n"
                + "".join(f"  {c}\n" for c in changes) + then + "\n")
    s.err.flush()


def others_too(s: Session) -> bool:
    """Before a commit of the shared candidate: show the changes other sessions made and ask
    whether they go in too (the server refuses them without <force/>)."""
    shared = s.candidate == "shared" or not s.interactive  # one-shot hv: the shared candidate
    if not shared or s.opts.dry_run:
        return False
    changes = foreign_changes(s)
    if not changes:
        return False
    warn_foreign(s, changes, "'show compare' shows them; they go in with your commit")
    if s.opts.yes:
        return True
    answer = s.ask("Commit them too?")
    if answer is None:
        raise NotConfirmed("refusing to commit other sessions' changes without a terminal; "
                           "pass --yes to commit them")
    if not answer:
        raise NotConfirmed("did not commit; 'discard' throws every uncommitted change away")
    return True


def do_configure(s: Session, p: Parsed) -> None:
    """Enter configure mode on the chosen candidate (hv(1) CONFIGURE MODES)."""
    kind = p.command.obj
    if kind == "private":
        s.send(rpcs.private_candidate())
        done = "edits go to your own copy of running; 'commit' merges them onto running"
    elif kind == "exclusive":
        try:
            s.send(rpcs.lock("candidate"))
        except NetconfError:
            changes = [] if s.opts.dry_run else foreign_changes(s)
            if changes:
                warn_foreign(s, changes, "commit or discard them first, or use "
                                         "'configure private'")
            raise
        done = "the candidate is locked for this session until you leave"
    else:
        done = "edits go to the candidate other sessions share"
    s.mode, s.candidate = "config", kind
    s.print(f"entering configure mode ({kind}): {done}")
    if kind == "shared" and not s.opts.dry_run:
        changes = foreign_changes(s)
        if changes:
            warn_foreign(s, changes, "'show compare' shows them; 'commit' asks before they go in")


def leave_configure(s: Session) -> None:
    """Back to exec mode: the lock goes, a private candidate with the session."""
    s.mode = "exec"
    if s.candidate == "exclusive":
        with contextlib.suppress(NetconfError, ConnectError, OSError):
            s.send(rpcs.unlock("candidate"))
    elif s.candidate == "private":
        s.close()  # the private candidate ends with its session


def do_commit(s: Session, p: Parsed) -> None:
    preview_commit(s, "commit")
    force = others_too(s)
    if s.send(rpcs.commit(comment=p.values.get("comment"), force=force)) is not None:
        s.dirty = False
        s.print("committed")
        s.say_what_waits()


def do_commit_check(s: Session, p: Parsed) -> None:
    """Validate, then show what a commit would run on the host (preview-commit)."""
    if s.send(rpcs.validate_candidate()) is None:
        return
    s.print("the candidate is valid")
    reply = s.send(rpcs.preview_commit())
    if reply is not None:
        plan = next((e.text or "" for e in reply.iter() if render.local(e.tag) == "text"), "")
        s.print("a commit would run:\n" + plan.rstrip("\n"))


def _tokens() -> dict[str, str]:
    import json  # here: only confirmed commits keep tokens (one-shot start-up)

    try:
        with open(os.path.expanduser(TOKENS), encoding="utf-8") as f:
            got = json.load(f)
    except (OSError, ValueError):
        return {}
    return got if isinstance(got, dict) else {}


def keep_token(server: str, token: str | None) -> None:
    """Note (or, None, forget) the server's pending confirm token in TOKENS, readable by
    this user only: the token confirms or cancels the commit from any session."""
    tokens = _tokens()
    if token is None:
        if tokens.pop(server, None) is None:
            return
    else:
        tokens[server] = token
    import json

    path = os.path.expanduser(TOKENS)
    fd = os.open(path + ".new", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(tokens, f)
    os.replace(path + ".new", path)


def do_commit_confirmed(s: Session, p: Parsed) -> None:
    """A confirmed commit with a persist token (RFC 6241 §8.4.5): it outlives this session,
    so leaving the shell does not revert it, and any session that has the token confirms."""
    minutes = int(p.values.get("minutes", "10"))
    preview_commit(s, "commit")
    force = others_too(s)
    import secrets  # here, not at the top: it costs the one-shot start-up a few ms

    token = "TOKEN" if s.opts.dry_run else secrets.token_hex(8)  # --dry-run shows where
    op = rpcs.commit(True, minutes * 60, persist=token, comment=p.values.get("comment"),
                     force=force)
    if s.send(op) is not None:
        s.dirty = False
        keep_token(s.server, token)
        s.unconfirmed = token
        s.print(f"committed; reverts in {minutes} min unless confirmed: 'hv confirm' from any "
                f"shell of yours, or 'hv confirm --token {token}' from anywhere")
        s.say_what_waits()


def do_confirm(s: Session, p: Parsed) -> None:
    token = p.values.get("--token") or _tokens().get(s.server)
    if token is None:
        raise NotFound("hv holds no confirm token for this server (none pending from your "
                       "shells?); pass --token TOKEN")
    exec_mode = s.mode == "exec"
    if exec_mode:  # confirm only: an empty private candidate, not what the shared one holds
        s.send(rpcs.private_candidate())
    force = False if exec_mode else others_too(s)
    try:
        if s.send(rpcs.commit(persist_id=token, force=force)) is not None:
            keep_token(s.server, None)
            s.unconfirmed = None
            s.print("confirmed")
    finally:
        if exec_mode:
            s.close()  # the private candidate goes with its session


def do_discard(s: Session, p: Parsed) -> None:
    if s.send(rpcs.discard()) is not None:
        s.dirty = False
        s.print("uncommitted changes discarded")


def do_rollback(s: Session, p: Parsed) -> None:
    apply = s.mode == "exec"
    commit_id = p.values["id"]
    op = rpcs.rollback(commit_id, apply, p.values.get("comment"))

    def act() -> None:
        if s.send(op) is None:
            return
        if apply:
            s.print(f"rolled back to commit {commit_id}")
        else:
            s.dirty = True
            s.print(f"loaded commit {commit_id} into the candidate; 'show compare', 'commit'")

    if apply:
        guarded(s, rpcs.rollback(commit_id, False), act, f"roll back to commit {commit_id}")
    else:
        act()


ACTIONS: dict[str, Callable[[Session, Parsed], None]] = {
    "create": do_create, "destroy": do_destroy, "set": do_set, "unset": do_unset,
    "add-address": do_add_address, "remove-address": do_remove_address,
    "set-dhcp": do_set_dhcp, "unset-dhcp": do_unset_dhcp,
    "add-forward": do_add_forward, "remove-forward": do_remove_forward,
    "backup-cancel": do_backup_cancel, "backup-jobs": do_backup_jobs,
    "add": do_add, "add-lun": do_add_lun, "remove": do_remove, "list": do_list, "show": do_show,
    "show-host": do_show_host, "show-commits": do_show_commits, "show-compare": do_show_compare,
    "start-vm": do_vm_rpc, "stop-vm": do_vm_rpc, "restart-vm": do_vm_rpc, "console": do_console,
    "commit": do_commit, "commit-check": do_commit_check, "commit-confirmed": do_commit_confirmed,
    "confirm": do_confirm, "discard": do_discard, "rollback": do_rollback,
    "configure": do_configure, "log": do_log, "snapshot": do_snapshot, "top": do_top,
    "stats": do_stats,
    "snapshot-list": do_snapshot_list, "snapshot-rollback": do_snapshot_rollback,
    "import-vm-bhyve": do_import_vm_bhyve, "vnc": do_vnc,
    "snapshot-schedule": do_snapshot_schedule,
    "set-snapshot-schedule": do_set_snapshot_schedule,
    "snapshot-delete": do_snapshot_delete, "install": do_install, "iso-list": do_iso_list,
    "iso-add": do_iso_add, "template-list": do_template_list, "info": do_info,
    "image-write": do_image_write,
    "clone": do_clone, "backup": do_backup,
    "backup-list": do_backup_list, "restore": do_restore,
}


# ---- load and edit: a whole configuration into the candidate, kept only when valid -------

def _next_steps(s: Session) -> str:
    return f"'{s.hv}show compare' shows the changes, '{s.hv}commit' applies them"


def _load_checked(s: Session, load: El, before: list[El]) -> bool:
    """Send the load, then validate the candidate; on an error give the candidate back what
    it held (before) and raise. False under --dry-run, where nothing was sent."""
    try:
        if s.send(load) is None:
            s.send(rpcs.validate_candidate())
            return False
        s.send(rpcs.validate_candidate())
    except NetconfError:
        s.send(rpcs.copy_config("candidate", before))
        raise
    s.dirty = True
    return True


def _candidate(s: Session) -> ET.Element | None:
    """The candidate's <data>; None under --dry-run."""
    reply = s.send(rpcs.get_config("candidate"))
    if reply is None:
        return None
    data = _data(reply)
    return data if data is not None else ET.Element(f"{{{BASE}}}data")


def do_load(s: Session, p: Parsed) -> None:
    how, name = p.command.words[1], p.values["file"]
    try:
        if name == "-":
            text = sys.stdin.read()
        else:
            with open(name, encoding="utf-8") as f:
                text = f.read()
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{name}: not UTF-8 text") from None
    tops = loadfile.parse(text, name)
    data = _candidate(s)
    before = loadfile.tops(data, "the candidate") if data is not None else []
    load = (rpcs.edit_config("candidate", tops, "merge") if how == "merge"
            else rpcs.copy_config("candidate", tops))
    try:
        if not _load_checked(s, load, before):
            return
    except NetconfError as exc:
        s.err.write(error_line(exc)[0] + "\n")
        raise NotConfirmed(f"{name} not loaded; the candidate is as it was") from None
    s.print(f"loaded {name} into the candidate ({how}); {_next_steps(s)}")


def _editor() -> list[str]:
    import os
    import shlex

    return shlex.split(os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi")


def do_edit(s: Session, p: Parsed) -> None:
    """The candidate's XML in $VISUAL/$EDITOR, loaded back as a replace and validated; on an
    error: show it, and edit again or throw the edits away (without a terminal: away)."""
    import subprocess
    import tempfile
    from pathlib import Path

    data = _candidate(s)
    if data is None:
        return
    before = loadfile.tops(data, "the candidate")
    original = render.as_xml(data) + "\n"
    editor = _editor()
    with tempfile.TemporaryDirectory(prefix="hv-edit-") as tmp:
        path = Path(tmp) / "candidate.xml"
        path.write_text(original)
        while True:
            try:
                import subprocess

                status = subprocess.run([*editor, str(path)], check=False).returncode
            except OSError as exc:
                raise UsageError(f"cannot run the editor '{editor[0]}' ({exc.strerror or exc}); "
                                 "set EDITOR") from None
            if status != 0:
                raise NotConfirmed(f"edit abandoned (the editor exited with status {status}); "
                                   "the candidate is as it was")
            text = path.read_text()
            if text == original:
                s.print("no changes")
                return
            try:
                _load_checked(s, rpcs.copy_config("candidate", loadfile.parse(text, "your edit")),
                              before)
                break
            except (UsageError, NetconfError) as exc:
                s.err.write(error_line(exc)[0] + "\n")
                s.err.flush()
                if not s.ask("Edit again? (no: throw the edits away)"):
                    raise NotConfirmed("edits thrown away; the candidate is as it was") from None
    s.print(f"the candidate holds your edits; {_next_steps(s)}")


ACTIONS.update({"load": do_load, "edit": do_edit})


def error_line(exc: BaseException) -> tuple[str, int]:
    """One line for people and the exit status that goes with it."""
    if isinstance(exc, UsageError):
        return f"hv: {exc}", EXIT_USAGE
    if isinstance(exc, ConnectError):
        return f"hv: {exc}", EXIT_CONNECT
    if isinstance(exc, NetconfError):
        parts = []
        for e in exc.errors:
            text = e.message or e.tag.replace("-", " ")
            if e.path:
                text += f" ({render.plain_words(e.path)})"
            parts.append(text)
        return "hv: " + "; ".join(parts), EXIT_FAILED
    if isinstance(exc, NotFound | NotConfirmed | ConsoleFailed):
        return f"hv: {exc}", EXIT_FAILED
    if isinstance(exc, OSError):
        return f"hv: connection failed: {exc.strerror or exc}", EXIT_CONNECT
    raise exc


def run(s: Session, parsed: Parsed) -> int:
    """Execute one parsed command; errors become one line on stderr and an exit status."""
    try:
        ACTIONS[parsed.command.action](s, parsed)
    except (UsageError, ConnectError, NetconfError, NotFound, NotConfirmed, ConsoleFailed,
            OSError) as exc:
        line, status = error_line(exc)
        s.err.write(line + "\n")
        return status
    return EXIT_OK

