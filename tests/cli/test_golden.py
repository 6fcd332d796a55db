"""The exact request each command renders (--dry-run sends nothing, needs no server).

Golden files live in tests/cli/golden/; HV_GOLDEN_UPDATE=1 rewrites them (review the diff).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hv_cli.main import main

GOLDEN = Path(__file__).parent / "golden"
CASES = {
    "create-vm": "create vm test 2 1024",
    "destroy-vm": "destroy vm test",
    "set-vm-cpu": "set vm test cpu 4",
    "set-vm-loader-type": "set vm test loader.type grub",
    "unset-vm-loader-type": "unset vm test loader.type",
    "delete-vm-description": "delete vm test description",
    "create-network": "create network lan 0 em0",
    "create-network-no-if": "create network lan 2",
    "destroy-network": "destroy network lan",
    "set-network-mtu": "set network lan mtu 9000",
    "set-network-nat": "set network lan nat em0",
    "add-address": "add address lan 10.0.0.1/24",
    "remove-address": "remove address lan fd00:1::1/64",
    "add-forward": "add forward lan tcp 8080 10.0.0.5 80",
    "add-forward-same-port": "add forward lan udp 53 10.0.0.6",
    "remove-forward": "remove forward lan tcp 8080",
    "add-disk": "add disk test boot 20G emulation nvme thick",
    "add-nic": "add nic test nic0 lan mac 02:00:00:00:00:01 emulation e1000",
    "remove-disk": "remove disk test boot",
    "remove-nic": "remove nic test nic0",
    "set-disk-size": "set disk test boot size 40G",
    "start": "start test",
    "stop": "stop test",
    "stop-force": "stop test --force",
    "restart": "restart test",
    "list-vm": "list vm",
    "show-vm": "show vm test",
    "list-network": "list network",
    "show-network": "show network lan",
    "show-host": "show host",
    "show-commits": "show commits",
    "show-compare": "show compare",
    "commit": "commit comment first try",
    "commit-check": "commit check",
    "commit-confirmed": "commit confirmed 5",
    "confirm": "confirm --token 0d5375a0876c445a",
    "discard": "discard",
    "rollback": "rollback 3",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_rendered_request(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--dry-run", *CASES[name].split()]) == 0
    out = capsys.readouterr().out
    path = GOLDEN / f"{name}.xml"
    if os.environ.get("HV_GOLDEN_UPDATE"):
        path.write_text(out)
    assert out == path.read_text()


def test_show_rpc_prints_then_sends(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status = main(["--show-rpc", "--socket", str(tmp_path / "absent.sock"), "list", "vm"])
    captured = capsys.readouterr()
    assert status == 3
    assert captured.err.startswith('<rpc xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"')
    assert "hvd is not running" in captured.err.splitlines()[-1]
