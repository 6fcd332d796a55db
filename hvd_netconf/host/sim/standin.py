"""The stand-in guest the sim backend runs in place of bhyve (and of bhyveload/grub-bhyve).

Run as `python -m hvd_netconf.host.sim.standin bhyve ... <vm>`. It behaves like bhyve where
the supervisor can see it, so every exit path is exercised with a real child process:
- SIGTERM is the ACPI power button: the guest powers off (exit 1) after `poweroff_delay`,
  unless `ignore_sigterm` is set (a guest that ignores ACPI, like many Windows installs);
- SIGUSR1 / SIGUSR2 are what the sim's `bhyvectl --force-poweroff` / `--force-reset` send:
  exit 1 / exit 0 at once;
- a control file `standin-exit` in the VM's state dir, holding an exit code, makes it exit
  with that code (0 reboot, 1 poweroff, 2 halt, 3 triple fault, 4 error, anything else);
  the file is consumed, so a restarted guest does not exit again.
Settings come from `standin.json` in the same dir (poweroff_delay, ignore_sigterm,
poll_interval, loader_delay, loader_exit, busy). The state dir is HVD_STANDIN_STATE_DIR, or else
the directory of the file stderr goes to (the sim spawns with stderr on <state>/bhyve.log).
Every line it writes says it is a simulation, never that it is bhyve.

Guest agent: with a virtio-console port org.qemu.guest_agent.0 it listens on the port's
socket, and an agent answers there unless the `agent` setting is false (host/sim/agent.py).

Graphics: with an fbuf device in its command line it serves a framebuffer over VNC on its
tcp= address (host/sim/rfb.py), and fails as bhyve does when that port is taken.

COM1: when the sim gave it a console pair (host/sim/console.py), the guest prints a banner and
a login prompt there and echoes what is typed, a line at a time, as a guest's getty would.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

from hvd_netconf.host.sim import agent, rfb

EXIT_FILE = "standin-exit"
SETTINGS_FILE = "standin.json"
DEFAULTS: dict[str, Any] = {
    "poweroff_delay": 0.05,
    "ignore_sigterm": False,
    "poll_interval": 0.02,
    "loader_delay": 0.0,
    "loader_exit": 0,
    "busy": 0.0,  # the share of each poll interval the guest spends burning CPU (statistics)
    "agent": True,  # a guest agent answers on the agent's port, when bhyve was given one
}
LOADERS = ("bhyveload", "grub-bhyve")
# Set by the sim when this host's bhyve would refuse the command line: bhyve's own words, which
# the stand-in prints before it exits 4 as bhyve does (host.sim.vmm.bhyve_refusal).
REFUSAL_ENV = "HVD_SIM_BHYVE_REFUSAL"
BHYVE_ERROR_EXIT = 4
# The sim (host/sim/console.py) hands the console pair over in it: "<master fd>,<slave fd>".
CONSOLE_FDS = "HVD_STANDIN_CONSOLE_FDS"


def state_dir() -> Path | None:
    explicit = os.environ.get("HVD_STANDIN_STATE_DIR")
    if explicit:
        return Path(explicit)
    try:
        target = os.readlink("/proc/self/fd/2")
    except OSError:
        return None
    parent = Path(target).parent
    return parent if target.startswith("/") and parent.is_dir() else None


def settings(where: Path | None) -> dict[str, Any]:
    if where is None:
        return dict(DEFAULTS)
    try:
        loaded = json.loads((where / SETTINGS_FILE).read_text())
    except (OSError, ValueError):
        loaded = {}
    return {**DEFAULTS, **{k: v for k, v in loaded.items() if k in DEFAULTS}}


class SerialConsole:
    """The guest's end of COM1 (the nmdm A side): a banner, a prompt, and an echo."""

    def __init__(self, fd: int, vm: str) -> None:
        self.fd = fd
        self.vm = vm
        self.line = bytearray()
        os.set_blocking(fd, False)  # an operator who never reads must not stop the guest

    @classmethod
    def handed_over(cls, vm: str) -> SerialConsole | None:
        """The console the sim passed in the environment (the slave stays open, unused, so
        the pair lives on between operators)."""
        fds = os.environ.get(CONSOLE_FDS, "")
        return cls(int(fds.split(",")[0]), vm) if fds else None

    def write(self, text: str) -> None:
        with contextlib.suppress(OSError):  # a full buffer: the bytes are lost, as on a wire
            os.write(self.fd, text.replace("\n", "\r\n").encode())

    def prompt(self) -> None:
        self.write(f"{self.vm} login: ")

    def boot(self) -> None:
        self.write(f"hvd-standin: the simulated console of VM {self.vm} (the sim backend; "
                   "no real guest runs)\n\n")
        self.prompt()

    def serve(self, timeout: float) -> None:
        """Wait up to timeout for typed bytes and answer them."""
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return
        try:
            data = os.read(self.fd, 1024)
        except OSError:
            return
        for byte in data:
            if byte in (0x0D, 0x0A):
                typed = self.line.decode(errors="replace")
                self.line.clear()
                self.write("\n")
                if typed:
                    self.write(f"hvd-standin: a simulated guest has no login; you typed "
                               f"{typed!r}\n")
                self.prompt()
            elif byte in (0x08, 0x7F):
                if self.line:
                    self.line.pop()
                    self.write("\b \b")
            else:
                self.line.append(byte)
                self.write(chr(byte) if 0x20 <= byte < 0x7F else "?")


def take_exit_code(where: Path | None) -> int | None:
    """The code asked for in the control file, consumed; None when there is none (yet)."""
    if where is None:
        return None
    path = where / EXIT_FILE
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    if not text:  # being written
        return None
    path.unlink(missing_ok=True)
    return int(text)


class Guest:
    def __init__(self, prog: str, vm: str, where: Path | None,
                 argv: list[str] | None = None) -> None:
        self.prog = prog
        self.vm = vm
        self.argv = argv or []
        self.where = where
        self.power_button_at: float | None = None
        self.forced: int | None = None

    def say(self, text: str) -> None:
        sys.stderr.write(f"hvd-standin (simulated {self.prog}, not a real VM) {self.vm}: {text}\n")
        sys.stderr.flush()

    def on_term(self, _sig: int, _frame: FrameType | None) -> None:
        if settings(self.where)["ignore_sigterm"]:
            self.say("ACPI power button pressed; the guest ignores it")
            return
        if self.power_button_at is None:
            self.say("ACPI power button pressed; guest shutting down")
            self.power_button_at = time.monotonic()

    def on_usr(self, sig: int, _frame: FrameType | None) -> None:
        self.forced = 1 if sig == signal.SIGUSR1 else 0

    def run_guest(self) -> int:
        conf = settings(self.where)
        signal.signal(signal.SIGTERM, self.on_term)
        signal.signal(signal.SIGUSR1, self.on_usr)
        signal.signal(signal.SIGUSR2, self.on_usr)
        fbuf = rfb.parse_fbuf(self.argv)
        if fbuf is not None:  # the framebuffer's VNC server, before the guest runs, as bhyve
            address, port, width, height = fbuf
            try:
                rfb.serve(address, port, width, height, self.say)
            except OSError as e:
                sys.stderr.write(f"bhyve: could not listen for VNC on {address}:{port}: "
                                 f"{e.strerror} (simulated)\n")
                return BHYVE_ERROR_EXIT
        qga = agent.agent_path(self.argv)
        if qga is not None:  # bhyve listens on the port's socket from the start
            agent.AgentPort(qga, lambda: bool(settings(self.where)["agent"]), self.say)
        self.say(f"guest running (pid {os.getpid()})")
        console = SerialConsole.handed_over(self.vm)
        if console is not None:
            console.boot()
        code = self.guest_loop(conf, console)
        if console is not None:  # seen by an attached operator; unread, the hangup drops it
            console.write(f"\nhvd-standin: VM {self.vm} exits with status {code}\n")
        return code

    def guest_loop(self, conf: dict[str, Any], console: SerialConsole | None) -> int:
        while True:
            if self.forced is not None:
                self.say("forced " + ("power-off" if self.forced == 1 else "reset"))
                return self.forced
            code = take_exit_code(self.where)
            if code is not None:
                self.say(f"exiting with status {code} as the control file asked")
                return code
            if self.power_button_at is not None and (
                time.monotonic() - self.power_button_at >= float(conf["poweroff_delay"])
            ):
                self.say("guest powered off")
                return 1
            interval = float(conf["poll_interval"])
            spin_until = time.monotonic() + interval * float(conf["busy"])
            while time.monotonic() < spin_until:
                pass
            if console is not None:
                console.serve(interval * (1 - float(conf["busy"])))
            else:
                time.sleep(interval * (1 - float(conf["busy"])))

    def run_loader(self) -> int:
        conf = settings(self.where)
        self.say("loading the guest kernel")
        time.sleep(float(conf["loader_delay"]))
        code = int(conf["loader_exit"])
        self.say("loader done" if code == 0 else f"loader failed with status {code}")
        return code


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        sys.stderr.write("usage: python -m hvd_netconf.host.sim.standin bhyve [args...] vm\n")
        return 64
    prog = os.path.basename(argv[0])
    refusal = os.environ.get(REFUSAL_ENV)
    if refusal:
        sys.stderr.write(refusal + "\n")
        return BHYVE_ERROR_EXIT
    guest = Guest(prog, argv[-1], state_dir(), argv)
    return guest.run_loader() if prog in LOADERS else guest.run_guest()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
