"""docs/remote.md shows the example files the interop tests run, byte for byte, and its
host-key step (ssh-keyscan) yields what the host's key file says."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from interop.remote import REPO, ClientHome, RemoteHvd

from hvd_netconf.transport.ssh import load_host_key

DOC = REPO / "docs" / "remote.md"
EXAMPLES = REPO / "docs" / "examples"
EMBED = re.compile(r"<!-- example: (\S+) -->\n```[a-z]*\n(.*?)```\n", re.S)


def test_remote_md_embeds_every_example_verbatim() -> None:
    embedded = {path: body for path, body in EMBED.findall(DOC.read_text())}
    files = {str(p.relative_to(REPO)) for p in EXAMPLES.rglob("*") if p.is_file()
             and "__pycache__" not in p.parts}
    assert set(embedded) == files
    for path, body in embedded.items():
        assert body == (REPO / path).read_text(), f"docs/remote.md is stale for {path}"


def test_readme_examples_are_the_tested_files() -> None:
    embedded = dict(EMBED.findall((REPO / "README.md").read_text()))
    assert {"docs/examples/ncclient_remote.py", "docs/examples/ansible/inventory.yml",
            "docs/examples/ansible/vm-lifecycle.yml"} <= set(embedded)
    for path, body in embedded.items():
        assert body == (REPO / path).read_text(), f"README.md is stale for {path}"


@pytest.mark.interop
def test_keyscan_pins_the_host_key(remote_hvd: RemoteHvd, client_home: ClientHome) -> None:
    keyscan = shutil.which("ssh-keyscan")
    assert keyscan, "ssh-keyscan (openssh-client) is needed"
    p = subprocess.run([keyscan, "-t", "ed25519", "-p", str(remote_hvd.port), "127.0.0.1"],
                       capture_output=True, text=True, timeout=30, check=False)
    key = load_host_key(remote_hvd.root / ".hvd")
    assert p.stdout == f"[127.0.0.1]:{remote_hvd.port} {key.get_name()} {key.get_base64()}\n"
    assert p.stdout == (client_home.path / ".ssh" / "known_hosts").read_text()
