"""sysctl(8) argv: `sysctl -n <oid>` prints one value (the host limits hvd checks against,
docs/freebsd-facts.md §1)."""

from __future__ import annotations

Argv = tuple[str, ...]


def read(name: str) -> Argv:
    return ("sysctl", "-n", name)
