"""One-shot commands against a real hvd: output, exit status and the server's resulting state."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from support.server import HvdInstance

HV = Callable[..., Any]
Q = Callable[[str], list[str]]
VM_CPU = "//vm:vm[vm:name='{}']/vm:cpu/text()"


def test_create_show_list_destroy_vm(hv: HV, running: Q) -> None:
    r = hv("create vm test 2 1024")
    assert (r.status, r.out, r.err) == (0, "created vm test\n", "")
    assert running(VM_CPU.format("test")) == ["2"]
    assert running("//vm:vm[vm:name='test']/vm:memory/text()") == ["1024"]

    r = hv("show vm test")
    assert r.status == 0
    lines = r.out.splitlines()
    assert lines[0] == "vm test"
    assert any(line.split() == ["cpu", "2"] for line in lines)
    assert any(line.split() == ["memory", "1024", "MB"] for line in lines)

    r = hv("list vm")
    header, row = r.out.splitlines()
    assert header.split() == ["NAME", "STATE", "CPU", "MEMORY", "DISKS", "NETWORKS", "UPTIME"]
    assert row.split()[0] == "test" and row.split()[2:4] == ["2", "1024M"]

    r = hv("destroy vm test --yes")
    assert (r.status, r.out) == (0, "destroyed vm test\n")
    assert running("//vm:vm/vm:name/text()") == []


def test_set_vm_property(hv: HV, running: Q) -> None:
    hv("create vm test 2 1024")
    r = hv("set vm test cpu 4")
    assert (r.status, r.out) == (0, "set cpu of vm test to 4\n")
    assert running(VM_CPU.format("test")) == ["4"]
    assert hv("set vm test install-iso /iso/installer.iso").status == 0  # grub boots it
    assert hv("set vm test loader.type grub").status == 0
    assert running("//vm:vm/vm:loader/vm:type/text()") == ["grub"]
    assert hv("unset vm test loader.type").status == 0
    assert running("//vm:vm/vm:loader/vm:type/text()") == []


def test_out_of_range_is_refused_locally(hv: HV, running: Q) -> None:
    hv("create vm test 2 1024")
    r = hv("set vm test cpu 40")
    assert (r.status, r.out, r.err) == (2, "", "hv: cpu must be in 1..32, not 40\n")
    assert running(VM_CPU.format("test")) == ["2"]


def test_unknown_vm(hv: HV, running: Q) -> None:
    r = hv("show vm ghost")
    assert (r.status, r.out, r.err) == (1, "", "hv: no vm named 'ghost'\n")
    r = hv("set vm ghost cpu 2")
    assert r.status == 1 and r.out == ""
    assert len(r.err.splitlines()) == 1 and r.err.startswith("hv: ")
    assert running("//vm:vm/vm:name/text()") == []


def test_server_error_is_one_plain_line(hv: HV) -> None:
    hv("create vm test 2 1024")
    r = hv("create vm test 2 1024")
    assert r.status == 1
    assert len(r.err.splitlines()) == 1
    assert "hvd-vm:" not in r.err  # prefixes stripped from the error-path


def test_bad_usage_changes_nothing(hv: HV, running: Q) -> None:
    for line, status in (("create vm test 2", 2), ("frobnicate", 2), ("create vm a/b 1 64", 2)):
        r = hv(line)
        assert (r.status, r.out) == (status, "")
        assert len(r.err.splitlines()) == 1
    assert running("//vm:vm/vm:name/text()") == []


def test_networks(hv: HV, running: Q) -> None:
    r = hv("create network lan 0 em0")
    assert (r.status, r.out) == (0, "created network lan\n")
    assert running("//net:network[net:name='lan']/net:physical-interface/text()") == ["em0"]
    assert hv("set network lan mtu 9000").status == 0
    assert running("//net:network/net:mtu/text()") == ["9000"]
    r = hv("list network")
    assert r.out.splitlines()[1].split()[:5] == ["lan", "0", "em0", "-", "9000"]
    r = hv("show network lan")
    assert r.out.splitlines()[0] == "network lan"
    assert hv("destroy network lan --yes").status == 0
    assert running("//net:network/net:name/text()") == []


def test_disks_and_nics(hv: HV, running: Q) -> None:
    hv("create network lan 0")
    hv("create vm test 2 1024")
    assert hv("add disk test boot 20G emulation nvme thick").status == 0
    assert running("//vm:disk[vm:name='boot']/vm:emulation/text()") == ["nvme"]
    assert running("//vm:disk[vm:name='boot']/vm:sparse/text()") == ["false"]
    assert hv("add nic test nic0 lan").status == 0
    assert running("//vm:nic[vm:name='nic0']/vm:network/text()") == ["lan"]
    row = hv("list vm").out.splitlines()[1].split()
    assert row[4:6] == ["boot:20G", "lan"]
    assert hv("remove nic test nic0 --yes").status == 0
    assert hv("remove disk test boot --yes").status == 0
    assert running("//vm:disk | //vm:nic") == []


def test_json_and_xml(hv: HV) -> None:
    hv("create vm test 2 1024")
    vms = json.loads(hv("list vm --json").out)
    assert [(v["name"], v["cpu"], v["memory"]) for v in vms] == [("test", 2, 1024)]
    shown = json.loads(hv("show vm test --json").out)
    xml = hv("show vm test --xml").out
    assert "<hvd-vm:cpu>2</hvd-vm:cpu>" in xml
    assert 'xmlns:hvd-vm="urn:hvd:vm"' in xml
    # The same leaves as --xml (defaults the server leaves out stay out), typed per RFC 7951.
    assert ("loader" in shown) == ("<hvd-vm:loader>" in xml)
    assert (shown["cpu"], shown["memory"], shown["state"]["status"]) == (2, 1024, "stopped")
    assert hv("set vm test utc-clock false").status == 0
    assert hv("add disk test d0 1G thick").status == 0
    shown = json.loads(hv("show vm test --json").out)
    assert shown["utc-clock"] is False and shown["disk"][0]["sparse"] is False
    commits = json.loads(hv("show commits --json").out)
    assert isinstance(commits[0]["id"], int) and isinstance(commits[0]["session-id"], int)


def test_start_and_stop(hv: HV) -> None:
    hv("create vm test 1 64")
    assert hv("start test").out == "started vm test\n"
    assert hv("show vm test --json").out and \
        json.loads(hv("show vm test --json").out)["state"]["status"] == "running"
    assert hv("stop test --force").out == "stopped vm test\n"
    assert json.loads(hv("show vm test --json").out)["state"]["status"] == "stopped"
    r = hv("start ghost")
    assert r.status == 1 and len(r.err.splitlines()) == 1


def test_show_host(hv: HV) -> None:
    r = hv("show host")
    assert r.status == 0
    assert any(line.split()[:2] == ["backend", "sim"] for line in r.out.splitlines())
    # the host's statistics, a list entry's leaves named by its key
    assert ["statistics.pool[zroot].size", str(64 << 40)] in [ln.split() for ln in
                                                               r.out.splitlines()]


def test_server_not_running(tmp_path: Path, hv_at: HV) -> None:
    r = hv_at(str(tmp_path / "hvd.sock"), "list", "vm")
    assert (r.status, r.out) == (3, "")
    assert r.err == f"hv: hvd is not running (nothing listens on {tmp_path / 'hvd.sock'})\n"


def test_console_script_and_env_socket(hvd: HvdInstance) -> None:
    """The installed `hv` entry point, with the socket from HV_SOCKET."""
    hv_bin = Path(sys.executable).with_name("hv")
    env = {"HV_SOCKET": str(hvd.socket_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([str(hv_bin), "create", "vm", "test", "2", "1024"], env=env,
                          capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stdout) == (0, "created vm test\n")
    done = subprocess.run([str(hv_bin), "set", "vm", "test", "cpu", "40"], env=env,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and done.stderr == "hv: cpu must be in 1..32, not 40\n"


def test_an_iscsi_lun_as_a_disk(hv: HV, running: Q) -> None:
    hv("create vm db 1 256")
    r = hv("add lun db data 10.0.0.5 iqn.2026-01.org.example:store lun 2 serial SER-2")
    assert (r.status, r.out) == (0, "added disk data (LUN 2 of iqn.2026-01.org.example:store "
                                    "at 10.0.0.5) to vm db\n")
    lun = "//vm:disk[vm:name='data']/vm:iscsi/vm:{}/text()"
    assert [running(lun.format(k))[0] for k in ("portal", "target", "lun", "serial")] == [
        "10.0.0.5", "iqn.2026-01.org.example:store", "2", "SER-2"]
    assert running("//vm:disk[vm:name='data']/vm:size") == []
    assert hv("list vm").out.splitlines()[1].split()[4] == "data:iscsi"
    assert hv("set disk db data iscsi.lun 3").status == 0
    assert running(lun.format("lun")) == ["3"]
    r = hv("add lun db more 10.0.0.5 store")
    assert r.status != 0 and "an iSCSI name is iqn.YYYY-MM.domain[:name]" in r.err


def test_a_file_disk(hv: HV, running: Q, hvd: HvdInstance) -> None:
    hv("create vm web 1 256")
    assert hv("add disk web data 2G file").status == 0
    assert running("//vm:disk[vm:name='data']/vm:file") != []
    assert (hvd.root / "vm" / "web" / "disks" / "data.img").stat().st_size == 2 << 30
    assert hv("list vm").out.splitlines()[1].split()[4] == "data:2G"


def test_dhcp_on_a_network(hv: HV, running: Q) -> None:
    from support.waiting import wait_for

    hv("create network lan 0")
    assert hv("add address lan 10.0.0.1/24").status == 0
    r = hv("set dhcp lan 10.0.0.100-10.0.0.200")
    assert (r.status, r.out) == (0, "network lan serves DHCP from 10.0.0.100 to 10.0.0.200\n")
    assert running("//net:dhcp/net:range-end/text()") == ["10.0.0.200"]
    hv("create vm web 1 256")
    hv("add nic web n0 lan mac 58:9c:fc:00:00:01")
    assert hv("set nic web n0 dhcp-address 10.0.0.10").status == 0
    wait_for(lambda: "58:9c:fc:00:00:01  10.0.0.10  web" in hv("show network lan").out,
             what="the lease")
    shown = hv("show network lan").out
    assert "dhcp-server  running (pid" in shown
    leases = json.loads(hv("show network lan --json").out)["state"]["lease"]
    assert leases == [{"mac": "58:9c:fc:00:00:01", "address": "10.0.0.10", "hostname": "web",
                       "expires": leases[0]["expires"]}]
    r = hv("set dhcp lan 10.0.0.200")
    assert r.status != 0 and "a DHCP range is FIRST-LAST" in r.err
    assert hv("unset dhcp lan").status == 0
    assert running("//net:dhcp") == []
