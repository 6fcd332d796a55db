"""Issue 24 item 3: the dnsmasq files and argv hvd generates for a network, literal and
checked against dnsmasq(8); the real dnsmasq's --test accepts them; the sim's check refuses
what dnsmasq refuses, in its words."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from hvd_netconf.host import dnsmasq, specs
from hvd_netconf.host.backend import CommandFailed
from hvd_netconf.host.sim.host import SimHost
from hvd_netconf.namespaces import NETWORK, VM

FILES = dnsmasq.Files.of("/hv/.hvd", "lan")


def _net(body: str) -> specs.NetworkSpec:
    return specs.read_network(etree.fromstring(
        f'<network xmlns="{NETWORK}"><name>lan</name>{body}</network>'))


def _vm(name: str, nics: str) -> specs.VmSpec:
    return specs.read_vm(etree.fromstring(f'<vm xmlns="{VM}"><name>{name}</name>{nics}</vm>'))


LAN = _net("<address>10.0.0.1/24</address><address>fd00::1/64</address>"
           "<dhcp><range-start>10.0.0.100</range-start><range-end>10.0.0.200</range-end>"
           "<domain>lab.example</domain><router-advertisements>true</router-advertisements>"
           "</dhcp>")


def test_files_and_argv() -> None:
    assert (FILES.conf, FILES.leases, FILES.pid) == (
        "/hv/.hvd/dnsmasq/lan.conf", "/hv/.hvd/dnsmasq/lan.leases", "/hv/.hvd/dnsmasq/lan.pid")
    # ps(1): -o command= the command line alone, -ww in full, -p one process
    assert dnsmasq.ps(4321) == ["ps", "-ww", "-o", "command=", "-p", "4321"]
    line = " ".join(dnsmasq.argv(FILES))
    assert dnsmasq.is_server(line, FILES) and dnsmasq.is_server("/usr/local/sbin/" + line, FILES)
    assert not dnsmasq.is_server(line, dnsmasq.Files.of("/hv/.hvd", "wan"))
    assert not dnsmasq.is_server("sshd: root", FILES) and not dnsmasq.is_server("", FILES)
    # dnsmasq(8): -k, --keep-in-foreground; -C, --conf-file=<file>; --test
    assert dnsmasq.argv(FILES) == ["dnsmasq", "--keep-in-foreground",
                                   "--conf-file=/hv/.hvd/dnsmasq/lan.conf"]
    assert dnsmasq.test_argv(FILES) == ["dnsmasq", "--test",
                                        "--conf-file=/hv/.hvd/dnsmasq/lan.conf"]


def test_the_configuration_of_a_private_network() -> None:
    assert dnsmasq.conf(LAN, FILES) == (
        "# written by hvd for network lan; hvd rewrites it at each change\n"
        "interface=hv-lan\n"
        "bind-interfaces\n"
        "pid-file=\n"
        "log-facility=-\n"
        "dhcp-leasefile=/hv/.hvd/dnsmasq/lan.leases\n"
        "dhcp-authoritative\n"
        "dhcp-range=10.0.0.100,10.0.0.200,255.255.255.0,3600\n"
        "dhcp-option=option:router,10.0.0.1\n"
        "except-interface=lo0\n"
        "dhcp-option=option:dns-server,10.0.0.1\n"
        "domain-needed\n"
        "bogus-priv\n"
        "domain=lab.example\n"
        "local=/lab.example/\n"
        "expand-hosts\n"
        "enable-ra\n"
        "dhcp-range=::,constructor:hv-lan,ra-only\n")
    dhcp_only = _net("<address>10.0.0.1/24</address><dhcp><range-start>10.0.0.100</range-start>"
                     "<range-end>10.0.0.110</range-end><dns>false</dns>"
                     "<lease-time>600</lease-time></dhcp>")
    text = dnsmasq.conf(dhcp_only, FILES)
    assert text is not None and "port=0\n" in text and "option:dns-server" not in text
    assert "except-interface" not in text  # no DNS: nothing listens on the loopback
    assert "dhcp-range=10.0.0.100,10.0.0.110,255.255.255.0,600\n" in text
    assert dnsmasq.conf(_net("<address>10.0.0.1/24</address>"), FILES) is None


def test_static_leases_from_the_vms_nics() -> None:
    web = _vm("web", "<nic><name>n0</name><network>lan</network><mac>58:9c:fc:00:00:01</mac>"
                     "<dhcp-address>10.0.0.10</dhcp-address></nic>"
                     "<nic><name>n1</name><network>lan</network><mac>58:9c:fc:00:00:02</mac>"
                     "</nic><nic><name>n2</name><network>wan</network></nic>")
    db = _vm("db", "<nic><name>n0</name><network>lan</network><mac>58:9c:fc:00:00:03</mac>"
                   "</nic>")
    # dnsmasq(8): --dhcp-host=<hwaddr>,<hostname>,<ipaddr>, one a line of the configuration
    assert dnsmasq.static_leases(LAN, [web, db]) == ["58:9c:fc:00:00:03,db",
                                                     "58:9c:fc:00:00:01,web,10.0.0.10",
                                                     "58:9c:fc:00:00:02,web-n1"]
    text = dnsmasq.conf(LAN, FILES, [web, db])
    assert text is not None and text.endswith(
        "dhcp-range=::,constructor:hv-lan,ra-only\n"
        "dhcp-host=58:9c:fc:00:00:03,db\n"
        "dhcp-host=58:9c:fc:00:00:01,web,10.0.0.10\n"
        "dhcp-host=58:9c:fc:00:00:02,web-n1\n")


def test_leases_are_read() -> None:
    assert dnsmasq.parse_leases("1764820000 58:9c:fc:00:00:01 10.0.0.10 web *\n"
                                "0 58:9C:FC:00:00:02 10.0.0.150 * 01:58:9c\n") == [
        dnsmasq.Lease(1764820000, "58:9c:fc:00:00:01", "10.0.0.10", "web"),
        dnsmasq.Lease(0, "58:9c:fc:00:00:02", "10.0.0.150", None)]


@pytest.mark.skipif(not (shutil.which("dnsmasq") or Path("/usr/sbin/dnsmasq").exists()),
                    reason="dnsmasq is not installed (tools/install-test-deps.sh installs it)")
def test_the_real_dnsmasq_accepts_the_configuration(tmp_path: Path) -> None:
    files = dnsmasq.Files.of(tmp_path, "lan")
    Path(files.conf).parent.mkdir()
    text = dnsmasq.conf(LAN, files, [_vm("web", "<nic><name>n0</name><network>lan</network>"
                                           "<mac>58:9c:fc:00:00:01</mac><dhcp-address>10.0.0.10"
                                           "</dhcp-address></nic>")])
    assert text is not None and "dhcp-host=58:9c:fc:00:00:01,web,10.0.0.10\n" in text
    Path(files.conf).write_text(text)
    binary = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
    res = subprocess.run([binary, *dnsmasq.test_argv(files)[1:]], capture_output=True,
                         text=True, timeout=30)
    assert (res.returncode, res.stderr.strip()) == (0, "dnsmasq: syntax check OK.")
    Path(files.conf).write_text(text.replace("10.0.0.200", "10.0.0.20x"))
    res = subprocess.run([binary, *dnsmasq.test_argv(files)[1:]], capture_output=True,
                         text=True, timeout=30)
    assert res.returncode == 1
    assert res.stderr.strip() == f"dnsmasq: bad dhcp-range at line 8 of {files.conf}"


def test_the_sims_check_refuses_as_dnsmasq(tmp_path: Path) -> None:
    sim = SimHost(tmp_path)
    files = dnsmasq.Files.of(tmp_path, "lan")
    Path(files.conf).parent.mkdir()
    text = dnsmasq.conf(LAN, files)
    assert text is not None
    Path(files.conf).write_text(text)
    sim.run(dnsmasq.test_argv(files))
    Path(files.conf).write_text(text.replace("10.0.0.200", "10.0.0.20x"))
    with pytest.raises(CommandFailed) as e:
        sim.run(dnsmasq.test_argv(files))
    assert e.value.stderr == f"dnsmasq: bad dhcp-range at line 8 of {files.conf}\n"
    Path(files.conf).write_text(text + "no-such-option\n")
    with pytest.raises(CommandFailed) as e:
        sim.run(dnsmasq.test_argv(files))
    assert e.value.stderr == f"dnsmasq: bad option at line 19 of {files.conf}\n"
