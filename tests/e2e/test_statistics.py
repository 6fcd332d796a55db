"""Statistics over NETCONF on the sim: a running VM's counters grow while its stand-in burns CPU
and bytes go through its disk and tap; the bridge's and the host's figures; a <get> that does
not ask for statistics runs no statistics command on the host."""

from __future__ import annotations

from typing import Any

import pytest
from e2e.helpers import (
    config,
    guest_exit,
    guest_ready,
    kill_standins,
    network_xml,
    standin,
    start_vm,
    stop_vm,
    vm_xml,
)
from lxml import etree
from ncclient.operations import RPCError
from ncclient.xml_ import to_ele
from support.configs import hide_vm
from support.server import HvdInstance
from support.waiting import wait_for

from hvd_netconf.host.sim.host import SimHost
from hvd_netconf.namespaces import HVD, NETWORK, VM

NS = {"vm": VM, "net": NETWORK, "hvd": HVD}
STATS_FILTER = ("subtree", f'<vms xmlns="{VM}"><vm><name>web</name><statistics/></vm></vms>')


def _get(m: Any, flt: tuple[str, str]) -> etree._Element:
    return etree.fromstring(m.get(filter=flt).xml.encode())


def _num(data: etree._Element, path: str) -> int:
    found = data.xpath(path, namespaces=NS)
    assert found, f"{path} not in the reply"
    return int(float(found[0].text))


def test_vm_counters_grow_with_what_the_guest_does(vmhvd: HvdInstance) -> None:
    m = vmhvd.connect_uds()
    m.edit_config(target="running", config=config(
        networks=network_xml("lan"),
        vms=vm_xml("web", disks={"disk0": "1G"}, nics={"nic0": "lan"})))
    standin(vmhvd.root, "web", busy=0.5)
    start_vm(m, "web")
    guest_ready(vmhvd.root, "web")
    st = "//vm:vm[vm:name='web']/vm:statistics"
    first = _get(m, STATS_FILTER)
    assert first.xpath(f"{st}/vm:discontinuity-time/text()", namespaces=NS)[0].endswith("Z")
    assert _num(first, f"{st}/vm:resident-memory") > 1 << 20
    assert _num(first, f"{st}/vm:wired-memory") == 0
    cpu0 = _num(first, f"{st}/vm:cpu-time")
    assert wait_for(lambda: _num(_get(m, STATS_FILTER), f"{st}/vm:cpu-time") >= cpu0 + 200,
                    what="the busy guest's cpu-time to grow by 0.2 s")

    sim = SimHost(vmhvd.root)
    tap = first.xpath(f"{st}/vm:nic[vm:name='nic0']/vm:tap/text()", namespaces=NS)[0]
    nic = f"{st}/vm:nic[vm:name='nic0']"
    disk = f"{st}/vm:disk[vm:name='disk0']"
    before = _get(m, STATS_FILTER)
    sim.count_traffic(tap, rx_bytes=3000, rx_packets=2, tx_bytes=100, tx_packets=1)
    sim.count_io(f"{vmhvd.server.settings.zfs_parent}/vm/web/disks/disk0", written=8192)
    after = _get(m, STATS_FILTER)
    for leaf, grew in (("in-octets", 3000), ("in-packets", 2), ("out-octets", 100)):
        assert _num(after, f"{nic}/vm:{leaf}") - _num(before, f"{nic}/vm:{leaf}") == grew
    assert _num(after, f"{disk}/vm:write-octets") - _num(before, f"{disk}/vm:write-octets") \
        == 8192
    assert _num(after, f"{disk}/vm:write-operations") == _num(
        before, f"{disk}/vm:write-operations") + 1

    net = _get(m, ("subtree", f'<networks xmlns="{NETWORK}"><network><name>lan</name>'
                              "<statistics/></network></networks>"))
    assert net.xpath("//net:network/net:statistics/net:in-octets", namespaces=NS)

    host = _get(m, ("subtree", f'<host xmlns="{HVD}"><statistics/></host>'))
    hs = "//hvd:host/hvd:statistics"
    assert _num(host, f"{hs}/hvd:physical-memory") == 16 << 30
    assert _num(host, f"{hs}/hvd:vm-memory") == 512 << 20  # hvd-vm's default memory
    assert _num(host, f"{hs}/hvd:vmm-instances") == 1
    assert host.xpath(f"{hs}/hvd:racct-enabled/text()", namespaces=NS) == ["true"]
    assert _num(host, f"{hs}/hvd:pool[hvd:name='zroot']/hvd:size") == 64 << 40

    stop_vm(m, "web")
    assert not _get(m, STATS_FILTER).xpath(st, namespaces=NS)  # absent once it stopped


def test_a_get_of_state_alone_reads_no_statistics(vmhvd: HvdInstance, monkeypatch: Any) -> None:
    m = vmhvd.connect_uds()
    m.edit_config(target="running", config=config(vms=vm_xml("web")))
    start_vm(m, "web")
    guest_ready(vmhvd.root, "web")
    host = vmhvd.server.host
    assert host is not None
    ran: list[str] = []
    real = host.run

    def counting(argv: Any) -> str:
        ran.append(argv[0])
        return real(argv)

    monkeypatch.setattr(host, "run", counting)
    _get(m, ("subtree", f'<vms xmlns="{VM}"><vm><name>web</name><state/></vm></vms>'))
    _get(m, ("subtree", f'<host xmlns="{HVD}"><backend/></host>'))
    assert [p for p in ran if p in ("ps", "netstat", "sysctl", "zpool")] == []
    _get(m, STATS_FILTER)
    assert ran.count("ps") == 1


HISTORY = '<get-vm-statistics-history xmlns="{vm}"><name>{name}</name>{extra}' \
          '</get-vm-statistics-history>'


def test_history_over_netconf_and_nacm(hvd_factory: Any) -> None:
    inst = hvd_factory(ssh=True, stats_history="5s:1m,10s:2m")
    try:
        m = inst.connect_uds()
        m.edit_config(target="running", config=config(vms=vm_xml("web") + vm_xml("db")))
        standin(inst.root, "web", busy=0.5)
        start_vm(m, "web")
        guest_ready(inst.root, "web")
        sampler = inst.server.sampler
        assert sampler is not None and sampler.period == 5
        first = sampler.sample().vms["web"].cpu_ms or 0
        wait_for(lambda: (sampler.sample().vms["web"].cpu_ms or 0) > first + 20,
                 what="the busy guest's CPU time to grow between samples")
        reply = etree.fromstring(m.dispatch(to_ele(HISTORY.format(
            vm=VM, name="web", extra=""))).xml.encode())
        assert reply.xpath("//vm:period/text()", namespaces=NS) == ["5"]
        samples = reply.xpath("//vm:sample", namespaces=NS)
        assert len(samples) >= 3  # the thread's own first sample may be there too
        cpu = [int(s.findtext(f"{{{VM}}}cpu-time")) for s in samples]
        assert cpu == sorted(cpu) and cpu[-1] > cpu[0]
        assert samples[-1].findtext(f"{{{VM}}}cpu-use") is not None
        assert samples[0].findtext(f"{{{VM}}}cpu-use") is None  # nothing before the first
        coarse = etree.fromstring(m.dispatch(to_ele(HISTORY.format(
            vm=VM, name="web", extra="<period>6</period>"))).xml.encode())
        assert coarse.xpath("//vm:period/text()", namespaces=NS) == ["10"]

        m.edit_config(target="running", config=to_ele(hide_vm("web", "tester")))
        ssh = inst.connect_ssh()  # tester: NACM applies
        for name, tag in (("web", "access-denied"), ("nosuch", "data-missing")):
            with pytest.raises(RPCError) as e:
                ssh.dispatch(to_ele(HISTORY.format(vm=VM, name=name, extra="")))
            assert e.value.tag == tag
        empty = ssh.dispatch(to_ele(HISTORY.format(vm=VM, name="db", extra="")))
        assert "<sample" not in empty.xml  # readable, never ran
        data = etree.fromstring(ssh.get(filter=("subtree", f'<vms xmlns="{VM}"/>')).xml.encode())
        assert not data.xpath("//vm:vm[vm:name='web']", namespaces=NS)  # nor its statistics
    finally:
        stop_vm(inst.connect_uds(), "web")
        kill_standins(inst.root)


def test_restarts_count_the_supervisors_restarts(vmhvd: HvdInstance) -> None:
    m = vmhvd.connect_uds()
    m.edit_config(target="running", config=config(vms=vm_xml("web")))
    standin(vmhvd.root, "web", busy=0.8)
    start_vm(m, "web")
    guest_ready(vmhvd.root, "web")
    st = "//vm:vm[vm:name='web']/vm:statistics"
    first = _get(m, STATS_FILTER)
    assert _num(first, f"{st}/vm:restarts") == 0
    sampler = vmhvd.server.sampler
    assert sampler is not None
    # more CPU time than a new stand-in has when it is first sampled after the restart
    wait_for(lambda: (sampler.sample().vms["web"].cpu_ms or 0) > 1500, timeout=30,
             what="1.5 s of CPU time")
    guest_exit(vmhvd.root, "web", 0)  # the guest reboots: on-reboot restart
    guest_ready(vmhvd.root, "web", times=2)
    wait_for(lambda: "web" in sampler.sample().vms, what="a sample of the restarted VM")
    history = etree.fromstring(m.dispatch(to_ele(HISTORY.format(
        vm=VM, name="web", extra=""))).xml.encode())
    uses = [float(u) for u in history.xpath("//vm:sample/vm:cpu-use/text()", namespaces=NS)]
    assert all(u >= 0 for u in uses)  # none across the restart, where CPU time began anew
    after = wait_for(lambda: [d for d in [_get(m, STATS_FILTER)]
                              if d.xpath(f"{st}/vm:restarts", namespaces=NS)],
                     what="statistics of the restarted VM")[0]
    assert _num(after, f"{st}/vm:restarts") == 1
    assert after.xpath(f"{st}/vm:discontinuity-time/text()", namespaces=NS) >= \
        first.xpath(f"{st}/vm:discontinuity-time/text()", namespaces=NS)
