"""The statistics containers of <get> (hvd-vm, hvd-network, hvd-system), read from the host
when asked: only for the entries the reply holds, and only when the filter can select a
`statistics` node (daemon.state_providers registers them with below="statistics")."""

from __future__ import annotations

import time
from collections.abc import Mapping, MutableMapping
from typing import TYPE_CHECKING, Protocol
from xml.sax.saxutils import escape

from lxml import etree

from hvd_netconf.host import bhyve, specs, stats
from hvd_netconf.namespaces import HVD, NETWORK, VM, qn
from hvd_netconf.operational import entries
from hvd_netconf.state import child, leaf
from hvd_netconf.stats.collect import Guest, HostFigures, VmFigures, collect, guest

if TYPE_CHECKING:
    from hvd_netconf.config import Settings
    from hvd_netconf.host.backend import Host
    from hvd_netconf.stats.sampler import Sampler
    from hvd_netconf.supervisor.core import Supervisor


class Started(Protocol):
    @property
    def netconf_start_time(self) -> str: ...


class StatsView(Protocol):
    """What the statistics providers read of the server."""

    settings: Settings

    @property
    def supervisor(self) -> Supervisor | None: ...

    @property
    def host(self) -> Host | None: ...

    @property
    def stats(self) -> Started: ...

    @property
    def sampler(self) -> Sampler | None: ...


def rfc3339(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def running_guests(supervisor: Supervisor, entries: Mapping[str, etree._Element],
                   zfs_parent: str,
                   known: MutableMapping[tuple[str, int], Guest] | None = None) -> list[Guest]:
    """The running VMs among these configured ones, as the sample asks about them. `known`
    keeps each (VM, pid)'s Guest: disks and NICs change only with a restart, so a sampler
    reads a VM's configuration once per start."""
    out: list[Guest] = []
    for name, run in supervisor.active().items():
        entry = entries.get(name)
        if entry is None:
            continue
        found = known.get((name, run.pid)) if known is not None else None
        if found is None:
            spec = specs.read_vm(entry)
            _cpu, memory = bhyve.launched_size(run.launch)
            found = guest(name, run.pid, run.started, memory, "-S" in run.launch.commands[-1],
                          [d.name for d in spec.disks],
                          list(zip((n.name for n in spec.nics), run.taps, strict=False)),
                          zfs_parent, run.restarts)
            if known is not None:
                known[(name, run.pid)] = found
        out.append(found)
    return out


_IF_LEAVES = ("in-octets", "in-packets", "in-errors", "in-discards", "out-octets",
              "out-packets", "out-errors")


def _counters(parent: etree._Element, ns: str, c: stats.IfCounters) -> None:
    for name, value in zip(_IF_LEAVES, c, strict=True):  # IfCounters' fields in this order
        etree.SubElement(parent, qn(ns, name)).text = str(value)


def _vm_text(f: VmFigures) -> str:
    """One statistics container as XML text: numbers as they are, names escaped."""
    since = rfc3339(f.started)
    out = [f"<statistics><discontinuity-time>{since}</discontinuity-time>"]
    if f.cpu_ms is not None:
        out.append(f"<cpu-time>{f.cpu_ms}</cpu-time>")
    if f.cpu_use is not None:
        out.append(f"<cpu-use>{f.cpu_use:.1f}</cpu-use>")
    if f.rss is not None:
        out.append(f"<resident-memory>{f.rss}</resident-memory>")
    out.append(f"<wired-memory>{f.wired}</wired-memory><restarts>{f.restarts}</restarts>")
    for name, io in f.disks.items():
        out.append(f"<disk><name>{escape(name)}</name><discontinuity-time>{since}"
                   f"</discontinuity-time><read-octets>{io.nread}</read-octets>"
                   f"<read-operations>{io.reads}</read-operations><write-octets>{io.nwritten}"
                   f"</write-octets><write-operations>{io.writes}</write-operations></disk>")
    for name, (tap, c) in f.nics.items():
        # the tap is created at the VM's start, so the VM's discontinuity is the tap's
        out.append(f"<nic><name>{escape(name)}</name><tap>{escape(tap)}</tap>"
                   f"<discontinuity-time>{since}</discontinuity-time>"
                   + "".join(f"<{k}>{v}</{k}>" for k, v in zip(_IF_LEAVES, c, strict=True))
                   + "</nic>")
    out.append("</statistics>")
    return "".join(out)


# The text render_vms writes is hvd's own (every name escaped, every figure a number): it
# needs no hostile-input checks (xmlparse), only a parser with entities, DTDs and network off.
_OWN_TEXT = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                            huge_tree=True)


def render_vms(entries: Mapping[str, etree._Element], figures: Mapping[str, VmFigures]) -> None:
    """Each VM's statistics container into its entry. Written as text and parsed once: for
    a thousand VMs that is several times faster than building the elements one by one."""
    names = [n for n in figures if n in entries]
    if not names:
        return
    text = f'<all xmlns="{VM}">' + "".join(_vm_text(figures[n]) for n in names) + "</all>"
    parsed = etree.fromstring(text.encode(), _OWN_TEXT)
    for name, statistics in zip(names, list(parsed), strict=True):
        entries[name].append(statistics)


def vm_statistics(server: StatsView, data: etree._Element) -> None:
    if server.supervisor is None or server.host is None:
        return
    vms = entries(data, VM, "vms", "vm")
    known = server.sampler.known if server.sampler is not None else None
    guests = running_guests(server.supervisor, vms, server.settings.zfs_parent, known)
    if not guests:
        return
    render_vms(vms, collect(server.host, guests).vms)


def network_statistics(server: StatsView, data: etree._Element) -> None:
    if server.host is None:
        return
    networks = entries(data, NETWORK, "networks", "network")
    if not networks:
        return
    counters = collect(server.host, [], interfaces=True).interfaces
    for entry in networks.values():
        found = counters.get(specs.read_network(entry).bridge)
        if found is None:
            continue
        st = child(entry, NETWORK, "statistics")
        # hvd does not know when the bridge was created; its own start is a safe bound.
        leaf(st, "discontinuity-time", server.stats.netconf_start_time)
        _counters(st, NETWORK, found)


def render_host(host: etree._Element, f: HostFigures, vm_memory: int) -> None:
    st = child(host, HVD, "statistics")
    s = f.sysctl
    if "hw.ncpu" in s:
        leaf(st, "cpus", s["hw.ncpu"])
    load = stats.load_average(s.get("vm.loadavg", ""))
    if load is not None:
        for minutes, value in zip((1, 5, 15), load, strict=True):
            leaf(st, f"load-average-{minutes}", f"{value:.2f}")
    if "hw.physmem" in s:
        leaf(st, "physical-memory", s["hw.physmem"])
    if "vm.stats.vm.v_wire_count" in s and "hw.pagesize" in s:
        leaf(st, "wired-memory", int(s["vm.stats.vm.v_wire_count"]) * int(s["hw.pagesize"]))
    leaf(st, "vm-memory", vm_memory)
    if "kstat.zfs.misc.arcstats.size" in s:
        leaf(st, "arc-size", s["kstat.zfs.misc.arcstats.size"])
    leaf(st, "vmm-instances", f.vmm_instances)
    leaf(st, "racct-enabled", s.get("kern.racct.enable") == "1")
    for name, p in f.pools.items():
        pool = etree.SubElement(st, qn(HVD, "pool"))
        leaf(pool, "name", name)
        pool_leaves: tuple[tuple[str, object], ...] = (
            ("size", p.size), ("allocated", p.allocated), ("free", p.free),
            ("fragmentation", p.fragmentation), ("capacity", p.capacity), ("health", p.health))
        for key, amount in pool_leaves:
            if amount is not None:
                leaf(pool, key, amount)


def host_statistics(server: StatsView, data: etree._Element) -> None:
    if server.host is None:
        return
    vm_memory = 0
    if server.supervisor is not None:
        for run in server.supervisor.active().values():
            vm_memory += bhyve.launched_size(run.launch)[1] << 20
    figures = collect(server.host, [], with_host=True).host
    assert figures is not None  # asked for with_host
    render_host(child(data, HVD, "host"), figures, vm_memory)
