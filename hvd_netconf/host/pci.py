"""pciconf(8) for PCI passthrough: which host devices the ppt driver holds (reserved at boot
with pptdevs in /boot/loader.conf), so a VM's passthru is checked before a commit. Pure."""

from __future__ import annotations

import re

Argv = tuple[str, ...]
# `ppt0@pci0:3:0:0:	class=0x020000 ...`: driver and unit, then domain:bus:slot:function
_LINE = re.compile(r"([a-z_]+)(\d+)@pci\d+:(\d+):(\d+):(\d+):")


def list_devices() -> Argv:
    """pciconf -l: one line per PCI device, named by the driver attached to it."""
    return ("pciconf", "-l")


def reserved(text: str) -> set[str]:
    """The bus/slot/function of every device the ppt driver holds."""
    return {f"{m.group(3)}/{m.group(4)}/{m.group(5)}" for m in map(_LINE.match, text.splitlines())
            if m is not None and m.group(1) == "ppt"}
