"""sysctl(8) argv and the host limits hvd validates configuration against: hw.vmm.maxcpu
(vmm(4)) and net.fibs (setfib(2)); docs/freebsd-facts.md §1."""

from __future__ import annotations

Argv = tuple[str, ...]

NET_FIBS = "net.fibs"
VMM_MAXCPU = "hw.vmm.maxcpu"


def read(name: str) -> Argv:
    return ("sysctl", "-n", name)
