"""dnsmasq as the sim runs it: `dnsmasq --test` checks a configuration as dnsmasq does, and a
stand-in server runs in its place (`python -m hvd_netconf.host.sim.dnsmasq ARGS`).

The check knows the options hvd writes; anything else, or a value dnsmasq would refuse, fails
in dnsmasq's words (`dnsmasq: bad dhcp-range at line 9 of FILE`). The stand-in serves no
DHCP: it says so in its log, fails as dnsmasq does when its bridge is missing (`unknown
interface`), and writes the lease file as guests that booted would make it: a lease for each
static host (dhcp-host) with an address. SIGHUP changes nothing it simulates (dnsmasq then
re-reads its hosts files, of which hvd gives it none); it exits on SIGTERM.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import sys
import time
from pathlib import Path

from hvd_netconf.host.sim.commands import Fail

INTERFACES_ENV = "HVD_SIM_INTERFACES"  # the sim host's interfaces when it was spawned
FLAGS = {"bind-interfaces", "dhcp-authoritative", "domain-needed", "bogus-priv",
         "expand-hosts", "enable-ra", "no-resolv", "keep-in-foreground"}
VALUED = {"interface", "except-interface", "pid-file", "log-facility", "dhcp-leasefile",
          "dhcp-host", "dhcp-range", "dhcp-option", "domain", "local", "port", "conf-file"}


def check(path: str) -> dict[str, list[str]]:
    """The options of a configuration file, or Fail with dnsmasq's complaint."""
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise Fail(f"dnsmasq: cannot read {path}: {e.strerror}", 3) from None
    opts: dict[str, list[str]] = {}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, eq, value = line.partition("=")
        if (key in FLAGS and not eq) or (key in VALUED and eq):
            if key == "dhcp-range" and not _good_range(value):
                raise Fail(f"dnsmasq: bad dhcp-range at line {n} of {path}", 1)
            opts.setdefault(key, []).append(value)
        else:
            raise Fail(f"dnsmasq: bad option at line {n} of {path}", 1)
    return opts


def _good_range(value: str) -> bool:
    parts = value.split(",")
    if parts[0] == "::":
        return len(parts) >= 2 and parts[1].startswith("constructor:")
    try:
        start, end = ipaddress.IPv4Address(parts[0]), ipaddress.IPv4Address(parts[1])
    except (ValueError, IndexError):
        return False
    return start <= end


def test(argv: tuple[str, ...], out: list[str]) -> None:
    """`dnsmasq --test --conf-file=F`: what the sim's host runs; the verdict is on stderr."""
    conf = [a.partition("=")[2] for a in argv if a.startswith("--conf-file=")]
    if "--test" not in argv or len(conf) != 1:
        raise Fail("hvd sim: only `dnsmasq --test --conf-file=FILE` is simulated", 127)
    check(conf[0])


class Server:
    def __init__(self, conf: str) -> None:
        self.conf = conf
        self.opts = check(conf)

    def say(self, text: str) -> None:
        sys.stderr.write(f"dnsmasq: {text}\n")
        sys.stderr.flush()

    def bridge_exists(self) -> bool:
        known = os.environ.get(INTERFACES_ENV)
        return known is None or all(i in known.split(",")
                                    for i in self.opts.get("interface", []))

    def leases(self) -> None:
        """A lease for each static host with an address: the guests that asked."""
        hosts = self.opts.get("dhcp-host", [])
        lease_file = self.opts.get("dhcp-leasefile", [])
        if not lease_file:
            return
        seconds = int(self.opts["dhcp-range"][0].split(",")[-1])
        lines = []
        for line in hosts:
            fields = line.split(",")
            if len(fields) == 3:
                lines.append(f"{int(time.time()) + seconds} {fields[0]} {fields[2]} "
                             f"{fields[1]} *\n")
        tmp = Path(lease_file[0] + ".new")
        tmp.write_text("".join(lines))
        tmp.replace(lease_file[0])
        self.say(f"{len(hosts)} static leases, {len(lines)} with an address (simulated)")

    def run(self) -> int:
        if not self.bridge_exists():
            self.say(f"unknown interface {self.opts['interface'][0]}")
            return 2
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        self.say("started, version 2.90 (simulated by hvd: no DHCP or DNS is served)")
        for r in self.opts.get("dhcp-range", []):
            self.say(f"DHCP range {r} (simulated)")
        self.leases()
        while True:
            signal.pause()


def main(argv: list[str]) -> int:
    conf = [a.partition("=")[2] for a in argv if a.startswith("--conf-file=")]
    if len(conf) != 1:
        sys.stderr.write("dnsmasq (sim): usage: --keep-in-foreground --conf-file=FILE\n")
        return 64
    try:
        server = Server(conf[0])
    except Fail as e:
        sys.stderr.write(e.stderr)
        return e.code
    return server.run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

