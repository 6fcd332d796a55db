"""The stand-in guest's QEMU guest agent: the Unix socket bhyve makes for a virtio-console
port named org.qemu.guest_agent.0 (bhyve(8)), with an agent behind it that answers
guest-sync, guest-fsfreeze-freeze, -thaw and -status as qemu-guest-agent does, and says in
the guest's log what it froze and thawed. With the stand-in's `agent` setting false, bhyve's
socket is there but nothing in the guest answers, as in a guest without the agent."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
from collections.abc import Callable, Sequence

PORT = "org.qemu.guest_agent.0="


def agent_path(argv: Sequence[str]) -> str | None:
    """The socket of the agent's port in a bhyve command line, if it has one."""
    for word in argv:
        if word.split(",", 1)[-1].startswith("virtio-console,") or ",virtio-console," in word:
            for part in word.split(","):
                if part.startswith(PORT):
                    return part[len(PORT):]
    return None


class AgentPort:
    def __init__(self, path: str, answers: Callable[[], bool], say: Callable[[str], None]
                 ) -> None:
        self.path = path
        self.answers = answers  # read at each connection: the stand-in's settings
        self.say = say
        self.frozen = False
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(1)
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            conn, _ = self.sock.accept()
            with conn:
                if self.answers():
                    self._talk(conn)
                else:  # bhyve holds the connection; no agent in the guest reads it
                    with contextlib.suppress(OSError):
                        while conn.recv(4096):
                            pass

    def _talk(self, conn: socket.socket) -> None:
        buf = b""
        while True:
            try:
                data = conn.recv(4096)
            except OSError:
                return
            if not data:
                return
            buf += data
            while b"\n" in buf:
                line, _, buf = buf.partition(b"\n")
                with contextlib.suppress(OSError):
                    conn.sendall(json.dumps(self._answer(line)).encode() + b"\n")

    def _answer(self, line: bytes) -> dict[str, object]:
        try:
            msg = json.loads(line)
            command = msg["execute"]
        except (ValueError, KeyError, TypeError):
            return {"error": {"class": "GenericError", "desc": "Invalid JSON syntax"}}
        if command == "guest-sync":
            return {"return": msg.get("arguments", {}).get("id")}
        if command == "guest-fsfreeze-freeze":
            if self.frozen:
                return {"error": {"class": "GenericError",
                                  "desc": "Command guest-fsfreeze-freeze has been disabled"}}
            self.frozen = True
            self.say("guest agent: file systems frozen (simulated)")
            return {"return": 1}
        if command == "guest-fsfreeze-thaw":
            was, self.frozen = self.frozen, False
            if was:
                self.say("guest agent: file systems thawed (simulated)")
            return {"return": 1 if was else 0}
        if command == "guest-fsfreeze-status":
            return {"return": "frozen" if self.frozen else "thawed"}
        return {"error": {"class": "CommandNotFound",
                          "desc": f"The command {command} has not been found"}}
