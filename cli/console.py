"""`hv console VM`: the terminal joined to a VM's serial console, left with `~.` as in cu(1).

On FreeBSD the console is the nmdm B side and hv runs `cu -l /dev/nmdm-<vm>.1B`, which takes
the UUCP lock of the line itself (docs/freebsd-facts.md §5.6). On the sim the B side is a pty
(hvd_netconf/host/sim/console.py) and hv joins it in Python, so no cu is needed: the same
`~.` (leave) and `~~` (send one `~`) at the start of a line, and the same kind of lock, a
`LCK..<device>` file holding the user's pid beside the device (uucplock(3)), so a second
attach is refused with the pid of the first, as a second cu is.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import termios
import tty
from collections.abc import Iterator
from pathlib import Path

ESCAPE = ord("~")
LINE_ENDS = (0x0D, 0x0A)  # after these (or at the start) `~` begins an escape, as in cu(1)


class ConsoleBusy(Exception):
    """Another process holds the console's lock."""


def cu_argv(device: str) -> list[str]:
    """cu(1): `-l line` opens the line, here the nmdm B side."""
    return ["cu", "-l", device]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def line_lock(device: str) -> Iterator[Path]:
    """The UUCP lock of the line: `LCK..<name>` with the holder's pid in ten columns
    (uucplock(3)); a lock whose process is gone is stale and taken over."""
    path = Path(device).parent / f"LCK..{Path(device).name}"
    for _ in range(3):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            try:
                holder = int(path.read_text().strip() or "0")
            except (OSError, ValueError):
                holder = 0
            if holder and _alive(holder):
                raise ConsoleBusy(f"console in use by pid {holder}") from None
            path.unlink(missing_ok=True)
            continue
        with os.fdopen(fd, "w") as f:
            f.write(f"{os.getpid():10d}\n")
        try:
            yield path
        finally:
            path.unlink(missing_ok=True)
        return
    raise ConsoleBusy(f"cannot take the lock {path}")


class Relay:
    """Bytes between the terminal and the line; cu's escapes read from what is typed."""

    def __init__(self, line: int, keyboard: int, screen: int) -> None:
        self.line, self.keyboard, self.screen = line, keyboard, screen
        self.at_start = True
        self.escaped = False

    def typed(self, data: bytes) -> tuple[bytes, bool]:
        """What goes to the line, and whether `~.` asked to leave."""
        out = bytearray()
        for byte in data:
            if self.escaped:
                self.escaped = False
                if byte == ord("."):
                    return bytes(out), True
                if byte != ESCAPE:
                    out.append(ESCAPE)
            elif self.at_start and byte == ESCAPE:
                self.escaped = True
                continue
            out.append(byte)
            self.at_start = byte in LINE_ENDS
        return bytes(out), False

    def run(self) -> bool:
        """Until `~.` (True) or the line closes (False: the VM stopped)."""
        while True:
            ready, _, _ = select.select([self.line, self.keyboard], [], [])
            if self.line in ready:
                try:
                    data = os.read(self.line, 4096)
                except OSError as exc:  # EIO: the other side is gone
                    if exc.errno != errno.EIO:
                        raise
                    data = b""
                if not data:
                    return False
                _write_all(self.screen, data)
            if self.keyboard in ready:
                data = os.read(self.keyboard, 1024)
                if not data:
                    return True
                send, leave = self.typed(data)
                _write_all(self.line, send)
                if leave:
                    return True


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data):]


def attach(device: str, keyboard: int, screen: int) -> bool:
    """Join the terminal to the line under its lock, raw both ways; True when left with `~.`,
    False when the console closed."""
    with line_lock(device):
        line = os.open(device, os.O_RDWR | os.O_NOCTTY)
        try:
            tty.setraw(line, termios.TCSANOW)  # TCSAFLUSH would drop what the guest said
            saved = termios.tcgetattr(keyboard)
            tty.setraw(keyboard)
            try:
                return Relay(line, keyboard, screen).run()
            finally:
                termios.tcsetattr(keyboard, termios.TCSADRAIN, saved)
        finally:
            os.close(line)
