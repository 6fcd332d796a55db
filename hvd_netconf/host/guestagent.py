"""The QEMU guest agent of a bhyve guest, over the Unix socket of its virtio-console port
(bhyve(8) virtio-console: each named port is a socket bhyve listens on; the agent's port is
org.qemu.guest_agent.0; docs/freebsd-facts.md §22).

The agent speaks JSON, one object a line: `{"execute": CMD, "arguments": {...}}`, answered by
`{"return": ...}` or `{"error": {"class": ..., "desc": ...}}`. A session starts with
guest-sync and a random id, and replies are read until that id comes back, so an answer left
over from an earlier client is never taken for this one's. Every read has a deadline: a guest
without an agent, or a hung one, costs at most the timeout.
"""

from __future__ import annotations

import json
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")

PORT = "org.qemu.guest_agent.0"
SOCKET = "qga.sock"  # in the VM's directory
MAX_LINE = 1 << 16


class AgentError(Exception):
    """No agent answered, or it answered with an error: the words say which."""


def socket_path(vm_dir: str) -> str:
    return f"{vm_dir.rstrip('/')}/{SOCKET}"


def console_device(vm_dir: str) -> str:
    """bhyve's `-s` device after the slot: `virtio-console,org.qemu.guest_agent.0=PATH`."""
    return f"virtio-console,{PORT}={socket_path(vm_dir)}"


class Agent:
    def __init__(self, path: str, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._buf = b""

    def __enter__(self) -> Agent:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.path)
        except OSError as e:
            sock.close()
            raise AgentError(f"cannot reach the guest agent's port ({e.strerror})") from None
        self._sock = sock
        token = random.randrange(1, 1 << 31)
        self._send("guest-sync", {"id": token})
        deadline = time.monotonic() + self.timeout
        while self._reply(deadline) != token:
            pass  # an answer to an earlier client
        return self

    def __exit__(self, *exc: object) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _send(self, command: str, arguments: dict[str, Any] | None = None) -> None:
        assert self._sock is not None
        msg: dict[str, Any] = {"execute": command}
        if arguments:
            msg["arguments"] = arguments
        try:
            self._sock.sendall(json.dumps(msg).encode() + b"\n")
        except OSError as e:
            raise AgentError(f"the guest agent's port closed ({e.strerror})") from None

    def _reply(self, deadline: float) -> Any:
        assert self._sock is not None
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AgentError(f"no answer from the guest agent within {self.timeout:g} s")
            self._sock.settimeout(left)
            try:
                data = self._sock.recv(4096)
            except TimeoutError:
                continue
            except OSError as e:
                raise AgentError(f"the guest agent's port failed ({e.strerror})") from None
            if not data:
                raise AgentError("the guest agent's port closed")
            self._buf += data
            if len(self._buf) > MAX_LINE:
                raise AgentError("the guest agent sent a line too long")
        line, _, self._buf = self._buf.partition(b"\n")
        try:
            msg = json.loads(line)
        except ValueError:
            raise AgentError("the guest agent sent something that is not JSON") from None
        if isinstance(msg, dict) and "error" in msg:
            err = msg["error"] if isinstance(msg["error"], dict) else {}
            raise AgentError(f"the guest agent refused: {err.get('desc', msg['error'])}")
        if not isinstance(msg, dict) or "return" not in msg:
            raise AgentError("the guest agent sent an answer without return")
        return msg["return"]

    def call(self, command: str, timeout: float | None = None) -> Any:
        """One command's return value (AgentError on an error or no answer in time)."""
        self._send(command)
        return self._reply(time.monotonic() + (timeout or self.timeout))


SYNC_TIMEOUT = 2.0  # a guest whose agent has not answered by then is taken to have none
FREEZE_TIMEOUT = 10.0  # the most the freeze may take (a guest flushing its caches)
THAW_TRIES = 3


def frozen(path: str, act: Callable[[], T], *, sync_timeout: float = SYNC_TIMEOUT,
           freeze_timeout: float = FREEZE_TIMEOUT) -> Frozen[T]:
    """act() with the guest's file systems frozen by its agent (guest-fsfreeze-freeze, then
    -thaw whatever act did), so its result is application-consistent; when no agent answers
    or the freeze fails, act() runs anyway, crash-consistent, and the note says why. The
    thaw is tried THAW_TRIES times: a guest left frozen is worse than any snapshot."""
    try:
        agent = Agent(path, sync_timeout).__enter__()
    except AgentError as e:
        return Frozen(act(), False, None, f"crash-consistent: {e}")
    try:
        try:
            agent.call("guest-fsfreeze-freeze", freeze_timeout)
        except AgentError as e:
            _thaw(agent)  # it may have frozen some file systems before it failed
            return Frozen(act(), False, None, f"crash-consistent: the freeze failed: {e}")
        started = time.monotonic()
        try:
            result = act()
        finally:
            held = time.monotonic() - started
            thawed = _thaw(agent)
        note = None if thawed else "the thaw failed: the guest's file systems may be frozen"
        return Frozen(result, True, round(held * 1000), note)
    finally:
        agent.__exit__()


def _thaw(agent: Agent) -> bool:
    for _ in range(THAW_TRIES):
        try:
            agent.call("guest-fsfreeze-thaw")
            return True
        except AgentError:
            continue
    return False


@dataclass(frozen=True)
class Frozen(Generic[T]):
    result: T
    application: bool  # consistent as the guest's applications see it (frozen)
    frozen_ms: int | None  # how long the file systems stayed frozen
    note: str | None  # why it is only crash-consistent, or a failed thaw
