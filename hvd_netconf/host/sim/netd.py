"""A stand-in netd for the sim: a NETCONF server on a Unix socket that takes netd's edits
(docs/freebsd-facts.md §13.1) and applies them to the sim's interfaces. SIMULATED.

It speaks through hvd's own sans-IO session (wire/session.py), keeps edit-config in a
candidate until <commit>, and applies a commit by running on the sim host the ifconfig(8)
commands that do the same, so it refuses what the kernel refuses with the sim's words, and
refuses as netd does what its model does not hold (an unknown element, a create of an
interface that exists, a delete of one that does not). A commit that fails part-way puts back
what it had done, and the reply is an rpc-error with the message.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import socket
import threading
from collections.abc import Callable
from pathlib import Path

from lxml import etree

from hvd_netconf import errors
from hvd_netconf.host import ifconfig
from hvd_netconf.host.backend import CommandFailed, Host
from hvd_netconf.host.netd_edits import IF, IP, NETD, NI
from hvd_netconf.namespaces import BASE, CAP_BASE_10, CAP_BASE_11, CAP_PREFIX
from hvd_netconf.wire import messages
from hvd_netconf.wire.session import Close, HelloDone, RpcReceived, Send, WireSession

log = logging.getLogger("hvd.host.sim.netd")

Argv = tuple[str, ...]
Change = tuple[Argv, Argv | None]  # a command and the one that undoes it (None: nothing)
CAPABILITIES = (CAP_BASE_10, CAP_BASE_11, CAP_PREFIX + "candidate:1.0")
_OP = f"{{{BASE}}}operation"


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def _text(el: etree._Element, ns: str, name: str) -> str:
    child = el.find(_q(ns, name))
    if child is None or not (child.text or "").strip():
        raise errors.MissingElement(f"{name} is missing", path=f"/interfaces/interface/{name}")
    return (child.text or "").strip()


class _Translate:
    """netd's edits -> the ifconfig commands that make them, checked against the sim."""

    def __init__(self, host: Host) -> None:
        self.host = host

    def exists(self, ifname: str) -> bool:
        try:
            self.host.run(ifconfig.show(ifname))
        except CommandFailed:
            return False
        return True

    def interface(self, el: etree._Element) -> list[Change]:
        name = _text(el, IF, "name")
        op = el.get(_OP, "merge")
        if op == "delete":
            if not self.exists(name):
                raise errors.DataMissing(f"interface {name} does not exist")
            return [(ifconfig.destroy(name), None)]
        if op == "create":
            if self.exists(name):
                raise errors.DataExists(f"interface {name} already exists")
            return self._create(el, name)
        if op != "merge":
            raise errors.OperationNotSupported(f"operation {op} on an interface")
        return [c for child in el if child.tag != _q(IF, "name")
                for c in self._leaf(name, child)]

    def _create(self, el: etree._Element, name: str) -> list[Change]:
        kind = _text(el, IF, "type").rpartition(":")[2]
        descr = el.findtext(_q(IF, "description")) or ""
        if kind == "bridge":
            return [(ifconfig.bridge_create(name, descr), ifconfig.destroy(name))]
        if kind == "l2vlan":
            info = el.find(_q(NETD, "vlan-info"))
            if info is None:
                raise errors.MissingElement("vlan-info is missing for a VLAN interface")
            parent, tag = _text(info, NETD, "vlan-parent"), int(_text(info, NETD, "vlan-id"))
            if ifconfig.vlan_create(parent, tag)[-2] != name:
                raise errors.InvalidValue(f"a VLAN of {parent} tag {tag} is not named {name}")
            return [(ifconfig.vlan_create(parent, tag), ifconfig.destroy(name)),
                    (ifconfig.tag(name, descr), None)]
        if kind == "tap":
            group = el.findtext(f"{_q(NETD, 'groups')}/{_q(NETD, 'group')}")
            return [(ifconfig.create(name), ifconfig.destroy(name)),
                    (ifconfig.tag(name, descr, group or "tap"), None), (ifconfig.up(name), None)]
        raise errors.OperationNotSupported(f"netd cannot create an interface of type {kind}")

    def _leaf(self, name: str, child: etree._Element) -> list[Change]:
        op = child.get(_OP, "merge")
        if child.tag == _q(IF, "description"):
            return [(ifconfig.set_descr(name, child.text or ""), None)]
        if child.tag == _q(NETD, "bridge-members"):
            member = _text(child, NETD, "member")
            if op == "delete":
                return [(ifconfig.bridge_deletem(name, member), None)]
            return [(ifconfig.bridge_addm(name, member), ifconfig.bridge_deletem(name, member))]
        if child.tag == _q(NI, "bind-ni-name"):
            if op == "remove":
                return [(ifconfig.set_fib(name, 0), None)]
            vrf = (child.text or "").strip()
            if not vrf.startswith("vrf") or not vrf[3:].isdigit():
                raise errors.InvalidValue(f"no network instance {vrf}")
            return [(ifconfig.set_fib(name, int(vrf[3:])), None)]
        if child.tag in (_q(IP, "ipv4"), _q(IP, "ipv6")):
            out: list[Change] = []
            for a in child.iter(_q(IP, "address")):
                cidr = f"{_text(a, IP, 'ip')}/{_text(a, IP, 'prefix-length')}"
                if a.get(_OP) == "delete":
                    out.append((ifconfig.address_remove(name, cidr), None))
                else:
                    out.append((ifconfig.address_add(name, cidr),
                                ifconfig.address_remove(name, cidr)))
            return out
        raise errors.UnknownElement(
            f"netd's model has no {etree.QName(child).localname} on an interface")


class StandinNetd:
    """SIMULATED netd on a Unix socket: start(), then hvd connects; stop() ends it."""

    def __init__(self, host: Host, path: Path) -> None:
        self.host = host
        self.path = Path(path)
        self._translate = _Translate(host)
        self._candidate: list[etree._Element] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._srv: socket.socket | None = None
        self.commits = 0  # commits applied, for tests
        self.refuse: Callable[[etree._Element], str | None] = lambda _el: None

    def start(self) -> StandinNetd:
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(str(self.path))
        srv.listen(8)
        self._srv = srv
        log.warning("netd on %s is SIMULATED: it changes only the sim's interfaces", self.path)
        threading.Thread(target=self._accept, name="sim-netd", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._srv is not None:
            with contextlib.suppress(OSError):
                self._srv.shutdown(socket.SHUT_RDWR)
            self._srv.close()
            self._srv = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def _accept(self) -> None:
        while (srv := self._srv) is not None:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        session = WireSession(next(self._ids), CAPABILITIES)
        with conn:
            conn.sendall(session.hello_bytes())
            while True:
                try:
                    data = conn.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                for ev in session.receive(data):
                    if isinstance(ev, Send):
                        conn.sendall(ev.data)
                    elif isinstance(ev, Close):
                        return
                    elif isinstance(ev, RpcReceived):
                        reply, done = self._answer(ev.rpc)
                        conn.sendall(session.frame(reply))
                        if done:
                            return
                    else:
                        assert isinstance(ev, HelloDone)

    def _answer(self, rpc: messages.Rpc) -> tuple[bytes, bool]:
        name = etree.QName(rpc.op).localname
        try:
            with self._lock:
                if name == "edit-config":
                    self._edit(rpc.op)
                elif name == "commit":
                    self._commit()
                elif name == "discard-changes":
                    self._candidate.clear()
                elif name not in ("lock", "unlock", "close-session"):
                    raise errors.OperationNotSupported(f"the sim's netd has no {name}")
        except errors.RpcError as e:
            return messages.reply_errors(rpc.attrib, [e]), False
        return messages.reply_ok(rpc.attrib), name == "close-session"

    def _edit(self, op: etree._Element) -> None:
        if op.find(f"{{{BASE}}}target/{{{BASE}}}candidate") is None:
            raise errors.OperationNotSupported("netd takes edits into the candidate only")
        config = op.find(f"{{{BASE}}}config")
        if config is None:
            raise errors.MissingElement("config is missing")
        for top in config:
            if top.tag != _q(IF, "interfaces"):
                raise errors.UnknownElement(f"netd's model has no {etree.QName(top).localname}")
            self._candidate.extend(top.iterfind(_q(IF, "interface")))

    def _commit(self) -> None:
        pending, self._candidate = self._candidate, []
        done: list[Argv | None] = []
        try:
            for el in pending:
                if (why := self.refuse(el)) is not None:
                    raise errors.OperationFailed(why)
                for argv, undo in self._translate.interface(el):
                    self.host.run(argv)
                    done.append(undo)
        except CommandFailed as e:
            self._undo(done)
            raise errors.OperationFailed(e.stderr.strip()) from e
        except errors.RpcError:
            self._undo(done)
            raise
        self.commits += 1

    def _undo(self, done: list[Argv | None]) -> None:
        for undo in reversed(done):
            if undo is not None:
                with contextlib.suppress(CommandFailed):
                    self.host.run(undo)
