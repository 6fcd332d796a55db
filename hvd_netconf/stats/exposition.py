"""The statistics of a <get> reply as Prometheus metrics, exposed with prometheus_client.

Names and labels follow Prometheus' conventions (base units, `_total` for counters):
`hvd_vm_cpu_seconds_total{vm="web1"}` and so on; docs/statistics.md lists them all and the
leaf each comes from. The input is the reply as NACM left it for the asking user, so a VM the
user may not read has no metric at all.
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from hvd_netconf.namespaces import HVD, NETWORK, VM, qn


@dataclass(frozen=True)
class Spec:
    """One metric: its name without `_total`, whether it counts, help, the leaf, a scale."""

    name: str
    counter: bool
    help: str
    leaf: str
    scale: float = 1.0


_VM = (
    Spec("hvd_vm_cpu_seconds", True, "CPU time of the VM's bhyve process.", "cpu-time", 1e-3),
    Spec("hvd_vm_cpu_usage_percent", False, "Recent CPU use in percent of one host CPU.",
         "cpu-use"),
    Spec("hvd_vm_resident_memory_bytes", False, "Resident memory of the bhyve process.",
         "resident-memory"),
    Spec("hvd_vm_wired_memory_bytes", False, "Guest memory wired by bhyve -S.",
         "wired-memory"),
    Spec("hvd_vm_restarts", True, "The supervisor's restarts of the VM since hvd started.",
         "restarts"),
)
_DISK = (
    Spec("hvd_vm_disk_read_bytes", True, "Bytes read from the disk's zvol.", "read-octets"),
    Spec("hvd_vm_disk_reads", True, "Read operations on the disk's zvol.", "read-operations"),
    Spec("hvd_vm_disk_written_bytes", True, "Bytes written to the disk's zvol.",
         "write-octets"),
    Spec("hvd_vm_disk_writes", True, "Write operations on the disk's zvol.",
         "write-operations"),
)
_IF = (
    ("in_bytes", "in-octets", "Bytes received on the host side (sent by the guest)."),
    ("in_packets", "in-packets", "Packets received on the host side."),
    ("in_errors", "in-errors", "Input errors."),
    ("in_discards", "in-discards", "Received packets dropped."),
    ("out_bytes", "out-octets", "Bytes sent on the host side (to the guest)."),
    ("out_packets", "out-packets", "Packets sent on the host side."),
    ("out_errors", "out-errors", "Output errors."),
)
_NIC = tuple(Spec(f"hvd_vm_nic_{n}", True, h, leaf) for n, leaf, h in _IF)
_NET = tuple(Spec(f"hvd_network_{n}", True, f"The bridge's {h[0].lower()}{h[1:]}", leaf)
             for n, leaf, h in _IF)
_HOST = (
    Spec("hvd_host_cpus", False, "Host CPUs.", "cpus"),
    Spec("hvd_host_load1", False, "Load average over 1 minute.", "load-average-1"),
    Spec("hvd_host_load5", False, "Load average over 5 minutes.", "load-average-5"),
    Spec("hvd_host_load15", False, "Load average over 15 minutes.", "load-average-15"),
    Spec("hvd_host_physical_memory_bytes", False, "Physical memory.", "physical-memory"),
    Spec("hvd_host_wired_memory_bytes", False, "Wired memory.", "wired-memory"),
    Spec("hvd_host_vm_memory_bytes", False, "Memory the running VMs were started with.",
         "vm-memory"),
    Spec("hvd_host_arc_bytes", False, "The ZFS ARC.", "arc-size"),
    Spec("hvd_host_vmm_instances", False, "VM instances vmm holds.", "vmm-instances"),
)
_POOL = (
    Spec("hvd_pool_size_bytes", False, "The pool's size.", "size"),
    Spec("hvd_pool_allocated_bytes", False, "Space allocated in the pool.", "allocated"),
    Spec("hvd_pool_free_bytes", False, "Space free in the pool.", "free"),
    Spec("hvd_pool_fragmentation_percent", False, "Free-space fragmentation.",
         "fragmentation"),
    Spec("hvd_pool_capacity_percent", False, "Allocated as a share of size.", "capacity"),
)

ALL_NAMES = (*(s.name + ("_total" if s.counter else "")
                for s in (*_VM, *_DISK, *_NIC, *_NET, *_HOST, *_POOL)),
             "hvd_vm_running", "hvd_vm_start_time_seconds", "hvd_host_racct_enabled")


class _Families:
    def __init__(self) -> None:
        self.out: dict[str, CounterMetricFamily | GaugeMetricFamily] = {}

    def add(self, spec: Spec, labels: dict[str, str], el: etree._Element, ns: str) -> None:
        text = el.findtext(qn(ns, spec.leaf))
        if text is None:
            return
        self.value(spec, labels, float(text) * spec.scale)

    def value(self, spec: Spec, labels: dict[str, str], value: float) -> None:
        family = self.out.get(spec.name)
        if family is None:
            family = self.out[spec.name] = (
                CounterMetricFamily(spec.name, spec.help, labels=list(labels)) if spec.counter
                else GaugeMetricFamily(spec.name, spec.help, labels=list(labels)))
        family.add_metric(list(labels.values()), value)


_RUNNING = Spec("hvd_vm_running", False, "1 while the VM's bhyve runs.", "")
_STARTED = Spec("hvd_vm_start_time_seconds", False, "When the VM's bhyve started (epoch).", "")
_RACCT = Spec("hvd_host_racct_enabled", False, "1 when racct was enabled at boot.", "")


def _epoch(text: str) -> float:
    return float(calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ")))


def families(data: etree._Element) -> list[Metric]:
    """The metrics of the statistics in a <get> reply's data (anything else is ignored)."""
    f = _Families()
    for vm in data.iter(qn(VM, "vm")):
        name = vm.findtext(qn(VM, "name")) or ""
        status = vm.findtext(f"{qn(VM, 'state')}/{qn(VM, 'status')}")
        if status is not None:
            f.value(_RUNNING, {"vm": name}, 1.0 if status == "running" else 0.0)
        st = vm.find(qn(VM, "statistics"))
        if st is None:
            continue
        since = st.findtext(qn(VM, "discontinuity-time"))
        if since:
            f.value(_STARTED, {"vm": name}, _epoch(since))
        for spec in _VM:
            f.add(spec, {"vm": name}, st, VM)
        for disk in st.iterchildren(qn(VM, "disk")):
            for spec in _DISK:
                f.add(spec, {"vm": name, "disk": disk.findtext(qn(VM, "name")) or ""}, disk, VM)
        for nic in st.iterchildren(qn(VM, "nic")):
            labels = {"vm": name, "nic": nic.findtext(qn(VM, "name")) or "",
                      "tap": nic.findtext(qn(VM, "tap")) or ""}
            for spec in _NIC:
                f.add(spec, labels, nic, VM)
    for net in data.iter(qn(NETWORK, "network")):
        st = net.find(qn(NETWORK, "statistics"))
        if st is not None:
            for spec in _NET:
                f.add(spec, {"network": net.findtext(qn(NETWORK, "name")) or ""}, st, NETWORK)
    for st in data.iter(qn(HVD, "statistics")):
        for spec in _HOST:
            f.add(spec, {}, st, HVD)
        racct = st.findtext(qn(HVD, "racct-enabled"))
        if racct is not None:
            f.value(_RACCT, {}, 1.0 if racct == "true" else 0.0)
        for pool in st.iterchildren(qn(HVD, "pool")):
            for spec in _POOL:
                f.add(spec, {"pool": pool.findtext(qn(HVD, "name")) or ""}, pool, HVD)
    return list(f.out.values())


class _Fixed(Collector):
    def __init__(self, metrics: list[Metric]) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        yield from self.metrics


def exposition(data: etree._Element) -> bytes:
    """The text format (version 0.0.4) of the statistics in data."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Fixed(families(data)))
    return generate_latest(registry)
