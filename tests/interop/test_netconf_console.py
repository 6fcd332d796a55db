"""netconf-console2 (SSH only: it has no Unix-socket transport) edits the candidate from the
documented files, commits, and reads back; the result is checked on the server's side.

Found here: netconf-console2 3.0.1 sends its default password `admin` as the key passphrase
when --privKeyFile is given without --ssh-config, and paramiko refuses an unencrypted key
with a passphrase, so key authentication needs --ssh-config (docs/remote.md says so).
"""

from __future__ import annotations

import pytest
from e2e.helpers import running_xml
from interop.remote import PASSWORD, REPO, USER, ClientHome, RemoteHvd, run_tool
from lxml import etree

from hvd_netconf.namespaces import BASE, NETWORK, VM

pytestmark = pytest.mark.interop

EXAMPLES = REPO / "docs" / "examples" / "config"
N = {"vm": VM, "net": NETWORK, "nc": BASE}


def console(home: ClientHome, *args: str) -> str:
    p = run_tool(["netconf-console2", "--hostkey-verify", *args], home, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


def xml_docs(out: str) -> list[etree._Element]:
    """netconf-console prints one pretty-printed XML document per operation."""
    parts = [p for p in out.split("<?xml version='1.0' encoding='UTF-8'?>") if p.strip()]
    parser = etree.XMLParser(remove_blank_text=True)
    return [etree.fromstring(p.strip().encode(), parser) for p in parts]


def test_edit_commit_and_get_config(remote_hvd: RemoteHvd, client_home: ClientHome) -> None:
    hvd = remote_hvd
    # Password authentication; lock, edit the candidate from two files, commit, unlock.
    out = console(client_home, "--host", "127.0.0.1", "--port", str(hvd.port), "-u", USER,
                  "-p", PASSWORD, "--db", "candidate", "--lock",
                  "--edit-config", str(EXAMPLES / "lan.xml"), str(EXAMPLES / "web.xml"),
                  "--commit", "--unlock")
    replies = xml_docs(out)
    assert [etree.QName(r).localname for r in replies] == ["ok"] * 4, out

    m = hvd.uds()
    data = etree.fromstring(m.get_config("running").xml.encode())
    assert data.xpath("//net:network[net:name='lan']/net:mtu/text()", namespaces=N) == ["9000"]
    vm = data.find(".//vm:vm", N)
    assert vm is not None
    assert [vm.findtext(f"vm:{k}", namespaces=N) for k in ("name", "cpu", "memory")] == \
        ["web", "2", "1024"]
    assert vm.xpath("vm:disk/vm:size/text()", namespaces=N) == ["10G"]
    assert "<cpu>2</cpu>" in (hvd.root / "vm/web/config.xml").read_text()
    [commit] = hvd.history()
    assert commit["user"] == USER and commit["source"] == "commit", commit
    assert commit["changes"] == [("network", "lan", "create"), ("vm", "web", "create")]
    m.lock("candidate")  # netconf-console's lock is gone
    m.unlock("candidate")

    # Key authentication through ~/.ssh/config; the reply is the server's running config.
    (client_home.path / ".ssh" / "config").write_text(
        f"Host hv1\n  HostName 127.0.0.1\n  Port {hvd.port}\n  User {USER}\n"
        "  IdentityFile ~/.ssh/id_ed25519\n")
    out = console(client_home, "--ssh-config", "--host", "hv1", "--port", str(hvd.port),
                  "--get-config")
    [got] = xml_docs(out)
    assert etree.QName(got) == etree.QName(BASE, "data")
    assert etree.tostring(got, method="c14n") == running_xml(m)

    # <get> with an XPath filter reaches operational state: the VM exists and is stopped.
    out = console(client_home, "--ssh-config", "--host", "hv1", "--port", str(hvd.port),
                  "--get", "-N", f"v={VM}", "-x", "/v:vms/v:vm[v:name='web']/v:state/v:status")
    [got] = xml_docs(out)
    assert got.xpath("//vm:vm/vm:state/vm:status/text()", namespaces=N) == ["stopped"], out
