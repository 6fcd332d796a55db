"""DHCP and DNS for a private network through dnsmasq(8): the files hvd writes for it and the
argv that runs it (docs/freebsd-facts.md §23). Pure: text and argv lists, golden-tested.

One file per network in hvd's state directory, `<net>.conf`, the server's configuration,
with the static leases as its `dhcp-host=MAC,NAME[,ADDRESS]` lines (one for each VM NIC on
the network). dnsmasq reads it as root, before it drops to an unprivileged user who cannot
enter the state directory, so a dhcp-hostsfile there, which it would read again on SIGHUP,
could not be read at all (docs/freebsd-facts.md §23): a change of the leases is a restart,
like any change of the file, and the leases given stay in the lease file.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hvd_netconf.host.specs import NetworkSpec, VmSpec

DNSMASQ = "dnsmasq"
RUN_DIR = "dnsmasq"  # below hvd's state directory
LOOPBACK = "lo0"  # FreeBSD's loopback interface


@dataclass(frozen=True)
class Files:
    """Where a network's server keeps its files."""

    conf: str
    leases: str
    pid: str  # hvd's record of the running server (pid-file= : dnsmasq writes none)

    @classmethod
    def of(cls, state_dir: str | Path, network: str) -> Files:
        d = f"{str(state_dir).rstrip('/')}/{RUN_DIR}/{network}"
        return cls(f"{d}.conf", f"{d}.leases", f"{d}.pid")


def argv(files: Files) -> list[str]:
    """dnsmasq in the foreground (supervised: -k), with only hvd's file (--conf-file: the
    system's /etc/dnsmasq.conf is not read)."""
    return [DNSMASQ, "--keep-in-foreground", f"--conf-file={files.conf}"]


def ps(pid: int) -> list[str]:
    """`ps -ww -o command= -p PID` (ps(1)): one process's command line, in full."""
    return ["ps", "-ww", "-o", "command=", "-p", str(pid)]


def is_server(command: str, files: Files) -> bool:
    """Whether a command line, as ps prints it, is the dnsmasq of these files."""
    words = command.split()
    return bool(words) and Path(words[0]).name == DNSMASQ and \
        f"--conf-file={files.conf}" in words


def test_argv(files: Files) -> list[str]:
    """`dnsmasq --test`: read the configuration, say what is wrong, exit (dnsmasq(8))."""
    return [DNSMASQ, "--test", f"--conf-file={files.conf}"]


def gateway(net: NetworkSpec) -> ipaddress.IPv4Interface | None:
    """The network's IPv4 address whose prefix holds the DHCP range (else its first): where
    guests find the host, as router and DNS server."""
    v4 = [i for i in map(ipaddress.ip_interface, net.addresses)
          if isinstance(i, ipaddress.IPv4Interface)]
    if net.dhcp is not None:
        start = ipaddress.IPv4Address(net.dhcp.range_start)
        v4 = [i for i in v4 if start in i.network] or v4
    return v4[0] if v4 else None


def conf(net: NetworkSpec, files: Files, vms: Iterable[VmSpec] = ()) -> str | None:
    """The network's dnsmasq configuration (None: the network has no DHCP server), with the
    static leases of the NICs of vms on it."""
    d = net.dhcp
    gw = gateway(net)
    if d is None or gw is None:
        return None
    lines = [f"# written by hvd for network {net.name}; hvd rewrites it at each change",
             f"interface={net.bridge}", "bind-interfaces", "pid-file=", "log-facility=-",
             f"dhcp-leasefile={files.leases}", "dhcp-authoritative",
             f"dhcp-range={d.range_start},{d.range_end},{gw.netmask},{d.lease_time}",
             f"dhcp-option=option:router,{gw.ip}"]
    if d.dns:
        # off the host's loopback, which interface= adds: a second network's dnsmasq (or
        # local_unbound) would find its port 53 taken there (docs/freebsd-facts.md §23)
        lines += [f"except-interface={LOOPBACK}",
                  f"dhcp-option=option:dns-server,{gw.ip}", "domain-needed", "bogus-priv"]
        if d.domain:
            lines += [f"domain={d.domain}", f"local=/{d.domain}/", "expand-hosts"]
    else:
        lines.append("port=0")  # DHCP only: no DNS server
    if d.router_advertisements:
        v6 = [ipaddress.ip_interface(a) for a in net.addresses]
        if any(isinstance(i, ipaddress.IPv6Interface) for i in v6):
            lines += ["enable-ra", f"dhcp-range=::,constructor:{net.bridge},ra-only"]
    lines += [f"dhcp-host={lease}" for lease in static_leases(net, vms)]
    return "\n".join(lines) + "\n"


def static_leases(net: NetworkSpec, vms: Iterable[VmSpec]) -> list[str]:
    """The static leases, as dhcp-host takes them: each NIC of a VM on the network, by its
    MAC, named after its VM (the first NIC; the others `<vm>-<nic>`), at its dhcp-address
    when it has one."""
    lines = []
    for vm in sorted(vms, key=lambda v: v.name):
        on = [n for n in vm.nics if n.network == net.name]
        for i, nic in enumerate(on):
            name = vm.name if i == 0 else f"{vm.name}-{nic.name}"
            fields = [nic.mac, name] + ([nic.dhcp_address] if nic.dhcp_address else [])
            lines.append(",".join(fields))
    return lines


@dataclass(frozen=True)
class Lease:
    expires: int  # seconds since the epoch (0: never)
    mac: str
    address: str
    hostname: str | None


def parse_leases(text: str) -> list[Lease]:
    """dnsmasq's lease file: `EXPIRY MAC ADDRESS HOSTNAME CLIENT-ID` a line, `*` for none."""
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[0].isdigit():
            out.append(Lease(int(parts[0]), parts[1].lower(), parts[2],
                             None if parts[3] == "*" else parts[3]))
    return out
