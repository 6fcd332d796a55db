"""sysctl(8) argv and the host limits hvd validates configuration against (§1, §4)."""

from __future__ import annotations

Argv = tuple[str, ...]

NET_FIBS = "net.fibs"
VMM_MAXCPU = "hw.vmm.maxcpu"


def read(name: str) -> Argv:
    return ("sysctl", "-n", name)
