"""The sim's nmdm(4): a pseudo-terminal pair stands in for each VM's console pair.

On FreeBSD bhyve gets the A side (`-l com1,/dev/nmdm-<vm>.1A`) and the operator opens the B
side with `cu -l /dev/nmdm-<vm>.1B` (docs/freebsd-facts.md §5.6). Linux has no nmdm, so the
sim opens a pty when it spawns the stand-in bhyve: the stand-in gets the master as its A side,
and the B side is the pty's slave device, reached through a symlink named like the nmdm
device in the sim's own dev folder, ROOT/.sim/dev/nmdm-<vm>.1B. The VM's state reports that
symlink: a path that exists, opens the console, and says by where it lies that it is
simulated. The stand-in also keeps the slave open (raw), so the pty outlives an operator who
disconnects, as an nmdm pair outlives cu.
"""

from __future__ import annotations

import contextlib
import os
import tty
from pathlib import Path

from hvd_netconf.host import names
from hvd_netconf.host.sim.standin import CONSOLE_FDS

__all__ = ["CONSOLE_FDS", "Console"]


class Console:
    """The sim's console pairs (a part of SimHost, which sets `dir`)."""

    dir: Path

    @property
    def dev_dir(self) -> Path:
        return self.dir / "dev"

    def console_path(self, vm: str) -> str:
        """The B side the operator opens: the symlink standing in for /dev/nmdm-<vm>.1B."""
        return str(self.dev_dir / os.path.basename(names.console_user_side(vm)))

    def open_console(self, vm: str) -> tuple[int, int]:
        """A new pty pair for the VM's COM1, the symlink pointed at its slave; (master,
        slave), both to be passed to the stand-in and closed here once it has them."""
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo or line editing in the "wire": the guest echoes
        self.dev_dir.mkdir(exist_ok=True)
        link = Path(self.console_path(vm))
        tmp = link.with_name(link.name + ".tmp")
        tmp.unlink(missing_ok=True)
        os.symlink(os.ttyname(slave), tmp)
        os.replace(tmp, link)
        return master, slave

    def close_console(self, vm: str) -> None:
        """The pair is gone with its guest (bhyvectl --destroy): remove the symlink."""
        with contextlib.suppress(OSError):
            Path(self.console_path(vm)).unlink()
