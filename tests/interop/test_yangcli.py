"""yuma123's yangcli against a child hvd over SSH: get-schema, edit-config of the candidate from
files, commit and get, in one scripted session (tests/transport/test_yangcli.py already covers
the session, lock, lock-denied and kill-session).

What yangcli 2.13 cannot do with hvd, and why (so these are not tested):
- it does not autoload hvd's modules: YANG 1.1 modules are announced only through the
  yang-library:1.1 capability (RFC 7950 §5.6.4), which it skips;
- `mgrload hvd-vm --modpath=yang` fails: its parser rejects `modifier invert-match` (YANG 1.1)
  in hvd-types, so schema-aware commands (sget, create, start-vm ...) are unavailable.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from interop.remote import PASSWORD, REPO, USER, ClientHome, RemoteHvd, run_tool
from lxml import etree

from hvd_netconf.namespaces import NETWORK, VM

pytestmark = pytest.mark.interop

YANGCLI = shutil.which("yangcli") or "/usr/bin/yangcli"
EXAMPLES = REPO / "docs" / "examples" / "config"
N = {"vm": VM, "net": NETWORK}


def yangcli(hvd: RemoteHvd, home: ClientHome, script: Path, cwd: Path
            ) -> subprocess.CompletedProcess[str]:
    return run_tool([YANGCLI, "--server=127.0.0.1", f"--ncport={hvd.port}", f"--user={USER}",
                     f"--password={PASSWORD}", "--batch-mode", f"--run-script={script}"],
                    home, timeout=60, cwd=cwd)


def block(out: str, head: str) -> str:
    """The `head { ... }` block of yangcli's text rendering of a reply."""
    start = out.index(head + " {")
    depth = 0
    for i in range(start, len(out)):
        depth += {"{": 1, "}": -1}.get(out[i], 0)
        if depth == 0 and out[i] == "}":
            return out[start:i + 1]
    raise AssertionError(f"unterminated {head} block")


def test_get_schema_edit_commit_get(remote_hvd: RemoteHvd, client_home: ClientHome) -> None:
    """The documented session.yc, run where its @files are, as docs/remote.md says."""
    hvd = remote_hvd
    p = yangcli(hvd, client_home, EXAMPLES / "session.yc", EXAMPLES)
    out = p.stdout + p.stderr
    assert p.returncode == 0 and "canceled" not in out, out
    assert "NETCONF session established" in out
    assert (REPO / "yang" / "hvd-vm.yang").read_text().strip() in out
    assert out.count("RPC OK Reply") == 3, out

    data = etree.fromstring(hvd.uds().get_config("running").xml.encode())
    assert data.xpath("//net:network/net:mtu/text()", namespaces=N) == ["9000"]
    assert data.xpath("//vm:vm/vm:memory/text()", namespaces=N) == ["1024"]
    assert (hvd.root / "vm/web/config.xml").exists()
    [commit] = hvd.history()
    assert commit["user"] == USER and commit["source"] == "commit"
    assert commit["changes"] == [("network", "lan", "create"), ("vm", "web", "create")]

    # The <get> after the commit saw the new VM with its operational state.
    reply = out[out.rindex("rpc-reply {"):]
    vms = block(reply, "vms")
    assert "name web" in vms and "status stopped" in vms, vms
    assert "mtu 9000" in block(reply, "networks")


def test_yangcli_refused_edit_leaves_running_alone(remote_hvd: RemoteHvd,
                                                  client_home: ClientHome,
                                                  tmp_path: Path) -> None:
    """A VM on a network that does not exist: commit fails with the model's error, seen by
    yangcli, and running stays empty."""
    bad = tmp_path / "orphan.xml"
    bad.write_text(f'<vms xmlns="{VM}"><vm><name>orphan</name>'
                   "<nic><name>nic0</name><network>nowhere</network></nic></vm></vms>")
    script = tmp_path / "bad.yc"
    script.write_text("edit-config target=candidate config=@orphan.xml\ncommit\n")
    p = yangcli(remote_hvd, client_home, script, tmp_path)
    out = p.stdout + p.stderr
    assert "RPC OK Reply" in out  # the edit of the candidate
    assert "error-tag data-missing" in out and "nowhere" in out, out
    reply = etree.fromstring(remote_hvd.uds().get_config("running").xml.encode())
    assert [len(data) for data in reply] == [0], "running must stay empty"
    assert remote_hvd.history() == []
