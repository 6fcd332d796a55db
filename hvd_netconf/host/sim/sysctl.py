"""sysctl(8) as the sim reads it: `sysctl -n <oid>` over a fixed table of values; and
pciconf(8) -l over a fixed list of PCI devices."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from hvd_netconf.host.sim.commands import Fail, State, unknown

DEFAULT_SYSCTLS = {
    "net.fibs": "4",
    "hw.vmm.maxcpu": "16",
    "hw.ncpu": "4",  # the sim's own host CPUs, whatever machine it runs on
    "net.link.tap.up_on_open": "1",
    "kern.ostype": "FreeBSD",
    "hw.physmem": str(16 << 30),  # a 16 GiB host: bhyve cannot wire more guest memory
    "net.inet.ip.forwarding": "0",  # FreeBSD's default without gateway_enable
    "hw.pagesize": "4096",
    "vm.stats.vm.v_wire_count": "0",  # the sim wires no memory
    "kstat.zfs.misc.arcstats.size": str(1 << 30),  # a fixed figure: the sim has no ARC
    "kern.racct.enable": "1",  # set "0" for a host booted without racct
}
WRITABLE = ("net.inet.ip.forwarding",)
# pciconf -l of the sim's host: a NIC of its own and one device reserved for passthrough
PCI_DEVICES = (
    "hostb0@pci0:0:0:0:\tclass=0x060000 rev=0x00 hdr=0x00 vendor=0x8086 device=0x3ec2",
    "em0@pci0:0:25:0:\tclass=0x020000 rev=0x10 hdr=0x00 vendor=0x8086 device=0x15bc",
    "ppt0@pci0:3:0:0:\tclass=0x020000 rev=0x01 hdr=0x00 vendor=0x8086 device=0x10d3",
)



class Sysctl:
    """The sysctl reads (a part of SimHost)."""

    if TYPE_CHECKING:  # provided by SimHost
        def run(self, argv: Sequence[str]) -> str: ...
        def _sysctl_list(self, st: State, names: tuple[str, ...], out: list[str],
                         argv: tuple[str, ...]) -> None: ...

    @staticmethod
    def _pciconf(st: State, args: tuple[str, ...], out: list[str],
                 argv: tuple[str, ...]) -> None:
        if args != ("-l",):
            unknown(argv)
        out.append("".join(line + "\n" for line in st.get("pci", PCI_DEVICES)))

    def sysctl(self, name: str) -> str:
        return self.run(("sysctl", "-n", name)).strip()

    def _sysctl(self, st: State, args: tuple[str, ...], out: list[str],
                argv: tuple[str, ...]) -> None:
        if len(args) >= 2 and args[0] == "-i":
            self._sysctl_list(st, args[1:], out, argv)
            return
        if len(args) == 1 and "=" in args[0]:
            name, value = args[0].split("=", 1)
            self._sysctl_write(st, name, value, out)
            return
        if len(args) != 2 or args[0] != "-n":
            unknown(argv)
        name = args[1]
        value = st["sysctl"].get(name, DEFAULT_SYSCTLS.get(name))
        if value is None:
            raise Fail(f"sysctl: unknown oid '{name}'")
        out.append(value + "\n")

    @staticmethod
    def _sysctl_write(st: State, name: str, value: str, out: list[str]) -> None:
        """`sysctl oid=value` prints `oid: old -> new` (sysctl(8)); an integer oid takes digits."""
        if name not in st["sysctl"]:
            raise Fail(f"sysctl: unknown oid '{name}'")
        if name not in WRITABLE:
            raise Fail(f"sysctl: oid '{name}' is read only")
        if not value.isdigit():
            raise Fail(f"sysctl: invalid integer '{value}'")
        old = st["sysctl"][name]
        st["sysctl"][name] = value
        out.append(f"{name}: {old} -> {value}\n")
