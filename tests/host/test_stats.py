"""Golden argv of the statistics sources and their parsers, on output written as the manual pages
give it: ps(1), rctl(8), netstat(1), zpool-list(8), sysctl(8)
(docs/freebsd-facts.md §17)."""

import json
import time

import pytest

from hvd_netconf.host import stats
from hvd_netconf.host.backend import CommandFailed
from hvd_netconf.host.sim.host import SimHost


def test_argv_as_the_manual_pages_give_them():
    assert stats.ps_usage([42, 7]) == ("ps", "-o", "pid=,time=,rss=,pcpu=", "-p", "7,42")
    assert stats.rctl_usage(42) == ("rctl", "-u", "process:42")
    assert stats.netstat_interfaces() == ("netstat", "-i", "-b", "-n", "--libxo", "json")
    assert stats.zpool_list() == (
        "zpool", "list", "-Hp", "-o",
        "name,size,allocated,free,fragmentation,capacity,health")
    assert stats.sysctl_host() == (
        "sysctl", "-i", "hw.ncpu", "hw.physmem", "hw.pagesize", "vm.loadavg",
        "vm.stats.vm.v_wire_count", "kstat.zfs.misc.arcstats.size", "kern.racct.enable")
    assert stats.sysctl_datasets("zroot") == ("sysctl", "-i", "kstat.zfs.zroot.dataset")


@pytest.mark.parametrize(("text", "seconds"), [
    ("0:00.03", 0.03), ("12:34.50", 754.5), ("1:02:03.00", 3723.0), ("2-01:00:00.00", 176400.0),
])
def test_ps_time(text, seconds):
    assert stats.cpu_time(text) == pytest.approx(seconds)


def test_ps_usage():
    text = "  812   1:02.50  524288  12.5\n 9001   0:00.01    2048   0.0\n"
    got = stats.parse_ps_usage(text)
    assert got[812] == stats.ProcUsage(62.5, 524288 * 1024, 12.5)
    assert got[9001].rss_bytes == 2048 * 1024


def test_rctl_usage():
    text = ("cputime=21\ndatasize=4096\nmemoryuse=536870912\nmemorylocked=536870912\n"
            "pcpu=97\nreadbps=1048576\nwritebps=0\nreadiops=256\nwriteiops=0\n")
    got = stats.parse_rctl_usage(text)
    assert got["cputime"] == 21 and got["memorylocked"] == 536870912
    assert got["readbps"] == 1048576 and got["readiops"] == 256


def test_netstat_keeps_the_link_row_of_each_interface():
    text = json.dumps({"statistics": {"interface": [
        {"name": "tap0", "flags": "0x8943", "mtu": 1500, "network": "<Link#3>",
         "address": "58:9c:fc:00:00:01", "received-packets": 10, "received-errors": 1,
         "dropped-packets": 2, "received-bytes": 1000, "sent-packets": 20, "send-errors": 0,
         "sent-bytes": 2000, "collisions": 0},
        {"name": "em0", "flags": "0x8843", "mtu": 1500, "network": "192.0.2.0/24",
         "address": "192.0.2.1", "received-packets": 5, "received-bytes": 500,
         "sent-packets": 5, "sent-bytes": 500},
        {"name": "tap1*", "flags": "0x8802", "mtu": 1500, "network": "<Link#4>",
         "address": "58:9c:fc:00:00:02", "received-packets": 0, "received-errors": 0,
         "dropped-packets": 0, "received-bytes": 0, "sent-packets": 0, "send-errors": 0,
         "sent-bytes": 0, "collisions": 0},
    ]}})
    got = stats.parse_netstat(text)
    assert set(got) == {"tap0", "tap1"}
    assert got["tap0"] == stats.IfCounters(1000, 10, 1, 2, 2000, 20, 0)


def test_netstat_without_a_known_field_is_an_error_not_zeros():
    text = json.dumps({"statistics": {"interface": [
        {"name": "tap0", "network": "<Link#3>", "received-packets": 10, "received-errors": 0,
         "dropped-packets": 0, "ibytes": 1000, "sent-packets": 20, "send-errors": 0,
         "sent-bytes": 2000}]}})
    with pytest.raises(ValueError, match="netstat printed no received-bytes for tap0"):
        stats.parse_netstat(text)


def test_zpool_list():
    text = ("zroot\t107374182400\t21474836480\t85899345920\t7\t20\tONLINE\n"
            "new\t1000\t0\t1000\t-\t0\tONLINE\n")
    got = stats.parse_zpool_list(text)
    assert got["zroot"] == stats.PoolUsage(107374182400, 21474836480, 85899345920, 7, 20,
                                           "ONLINE")
    assert got["new"].fragmentation is None


def test_sysctl_and_kstats():
    got = stats.parse_sysctl("hw.ncpu: 8\nvm.loadavg: { 0.52 0.41 0.30 }\n")
    assert got == {"hw.ncpu": "8", "vm.loadavg": "{ 0.52 0.41 0.30 }"}
    assert stats.load_average(got["vm.loadavg"]) == (0.52, 0.41, 0.30)
    text = ("kstat.zfs.zroot.dataset.objset-0x36.dataset_name: zroot/hv/vm/web/disks/disk0\n"
            "kstat.zfs.zroot.dataset.objset-0x36.writes: 12\n"
            "kstat.zfs.zroot.dataset.objset-0x36.nwritten: 49152\n"
            "kstat.zfs.zroot.dataset.objset-0x36.reads: 3\n"
            "kstat.zfs.zroot.dataset.objset-0x36.nread: 12288\n"
            "kstat.zfs.zroot.dataset.objset-0x36.nunlinks: 0\n")
    assert stats.parse_dataset_kstats(text) == {
        "zroot/hv/vm/web/disks/disk0": stats.DatasetIo(3, 12, 12288, 49152)}



# ---- the sim answers the same argv --------------------------------------------------------

@pytest.fixture
def sim(tmp_path):
    return SimHost(tmp_path)


def _guest(sim, tmp_path, vm="web", busy=0.0):
    state = tmp_path / vm
    state.mkdir()
    (state / "standin.json").write_text(json.dumps({"busy": busy}))
    return sim.spawn(("bhyve", "-c", "1", "-m", "64M", vm), log_path=state / "bhyve.log")


def _wait(fn, timeout=10.0):
    end = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > end:
            return value
        time.sleep(0.05)


def test_sim_reports_the_standins_own_cpu_and_memory(sim, tmp_path):
    busy, idle = _guest(sim, tmp_path, "busy", busy=0.9), _guest(sim, tmp_path, "idle")
    try:
        def cpu():
            got = stats.parse_ps_usage(sim.run(stats.ps_usage([busy.pid, idle.pid, 1])))
            return got if busy.pid in got and got[busy.pid].cpu_seconds >= 0.3 else None
        got = _wait(cpu)
        assert got is not None, "the busy stand-in's CPU time never grew"
        assert set(got) == {busy.pid, idle.pid}  # pid 1 is not a guest of the simulated host
        assert got[busy.pid].cpu_seconds > got[idle.pid].cpu_seconds
        assert got[busy.pid].rss_bytes > 1 << 20  # a Python process' resident memory
        usage = stats.parse_rctl_usage(sim.run(stats.rctl_usage(busy.pid)))
        assert usage["memoryuse"] > 1 << 20 and usage["pcpu"] > 0
    finally:
        for p in (busy, idle):
            p.kill()
            p.wait()
    with pytest.raises(CommandFailed) as e:
        sim.run(stats.ps_usage([busy.pid]))
    assert e.value.returncode == 1


def test_rctl_on_a_host_without_racct_says_so(tmp_path):
    host = SimHost(tmp_path, sysctls={"kern.racct.enable": "0"})
    with pytest.raises(CommandFailed) as e:
        host.run(stats.rctl_usage(1))
    assert e.value.stderr.strip() == f"rctl: {stats.RACCT_DISABLED}"


def test_rctl_of_no_such_process(sim):
    with pytest.raises(CommandFailed) as e:
        sim.run(stats.rctl_usage(999999))
    assert e.value.stderr.strip() == (
        "rctl: failed to show resource consumption for 'process:999999': No such process")


def test_sim_counters_move_with_the_bytes_pushed(sim):
    sim.run(("ifconfig", "tap", "create"))
    before = stats.parse_netstat(sim.run(stats.netstat_interfaces()))["tap0"]
    sim.count_traffic("tap0", rx_bytes=1500, rx_packets=1, tx_bytes=60, tx_packets=1)
    after = stats.parse_netstat(sim.run(stats.netstat_interfaces()))["tap0"]
    assert (after.in_octets - before.in_octets, after.out_octets - before.out_octets) == (1500, 60)
    sim.run(("zfs", "create", "-p", "-s", "-V", "1G", "zroot/hv/vm/web/disks/disk0"))
    sim.count_io("zroot/hv/vm/web/disks/disk0", written=65536, read=4096)
    io = stats.parse_dataset_kstats(sim.run(stats.sysctl_datasets("zroot")))
    assert io["zroot/hv/vm/web/disks/disk0"] == stats.DatasetIo(1, 1, 4096, 65536)
    pools = stats.parse_zpool_list(sim.run(stats.zpool_list()))
    assert pools["zroot"].size == 64 << 40 and pools["zroot"].allocated >= 65536
    host = stats.parse_sysctl(sim.run(stats.sysctl_host()))
    assert host["hw.physmem"] == str(16 << 30) and stats.load_average(host["vm.loadavg"])
