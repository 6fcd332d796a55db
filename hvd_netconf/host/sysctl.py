"""sysctl(8) argv: `sysctl -n <oid>` prints one value (the host limits hvd checks against,
docs/freebsd-facts.md §1); `sysctl <oid>=<value>` sets one (IPv4 forwarding, §14)."""

from __future__ import annotations

Argv = tuple[str, ...]


def read(name: str) -> Argv:
    return ("sysctl", "-n", name)


def write(name: str, value: str) -> Argv:
    """`sysctl net.inet.ip.forwarding=1` (sysctl(8)): set a writable oid."""
    return ("sysctl", f"{name}={value}")
