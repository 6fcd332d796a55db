"""The grammar, the schema facts and the local checks: no server involved."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hv_cli import facts, grammar, schemagen
from hv_cli.facts import UsageError

REPO = Path(__file__).resolve().parents[2]


def test_schema_facts_match_the_yang() -> None:
    generated = schemagen.render(schemagen.generate(REPO / "yang"))
    assert (REPO / "cli" / "schema_facts.py").read_text() == generated


def test_facts_carry_ranges_enums_and_defaults() -> None:
    cpu = facts.prop("vm", "cpu")
    assert (cpu["range"], cpu["default"]) == ([[1, 32]], "1")
    assert facts.prop("disk", "emulation")["enums"] == ["virtio-blk", "nvme", "ahci-hd"]
    assert facts.prop("nic", "network")["ref"] == "network"
    assert facts.prop("vm", "loader.type")["default"] == "uefi"
    assert facts.prop("network", "mtu")["range"] == [[576, 9000]]


@pytest.mark.parametrize(("line", "values"), [
    ("create vm test 2 1024", {"name": "test", "cpu": "2", "memory": "1024"}),
    ("create network lan 0 em0", {"name": "lan", "fib": "0", "if": "em0"}),
    ("create network lan 3", {"name": "lan", "fib": "3"}),
    ("set vm test cpu 4", {"vm": "test", "prop": "cpu", "value": "4"}),
    ("set vm test utc-clock no", {"vm": "test", "prop": "utc-clock", "value": "false"}),
    ("add disk test boot 20G emulation nvme thick",
     {"vm": "test", "name": "boot", "size": "20G", "emulation": "nvme", "sparse": "false"}),
    ("add nic test nic0 lan mac 02:00:00:00:00:01",
     {"vm": "test", "name": "nic0", "network": "lan", "mac": "02:00:00:00:00:01"}),
    ("stop test --force", {"vm": "test", "force": "true"}),
    ("stop test timeout 5", {"vm": "test", "timeout": "5"}),
    ("commit comment first try", {"comment": "first try"}),
    ("commit confirmed 5", {"minutes": "5"}),
    ("rollback 3", {"id": "3"}),
])
def test_parse(line: str, values: dict[str, str]) -> None:
    assert grammar.parse(line.split()).values == values


@pytest.mark.parametrize(("line", "message"), [
    ("set vm test cpu 40", "cpu must be in 1..32, not 40"),
    ("set vm test cpu four", "cpu must be a whole number (1..32), not 'four'"),
    ("create vm test 2", "usage: create vm <name> <cpu> <memory>"),
    ("create vm test 2 1024 extra", "usage: create vm <name> <cpu> <memory>"),
    ("frobnicate", "unknown command 'frobnicate'"),
    ("create", "one of: create network, create vm"),
    ("create vm te/st 1 64", "name 'te/st' is not valid: a name is 1 to 31 letters"),
    ("set vm test colour red", "vm has no property 'colour'"),
    ("set vm test name other", "is its key and cannot be changed"),
    ("set vm test loader.type bios", "loader.type must be one of uefi|bhyveload|grub"),
    ("add disk test boot 20X", "a size is a whole number with an optional K, M, G or T suffix"),
    ("create network lan 256", "fib must be in 0..255, not 256"),
    ("stop test timeout 0", "timeout must be in 1..3600"),
    ("end", "'end' is not available in exec mode"),
])
def test_bad_input(line: str, message: str) -> None:
    with pytest.raises(UsageError) as err:
        grammar.parse(line.split())
    assert message in str(err.value)


def test_config_only_and_exec_only_commands() -> None:
    assert grammar.parse(["end"], "config").command.action == "exit"
    with pytest.raises(UsageError):
        grammar.parse(["configure"], "config")


def test_one_shot_imports_stay_lean(tmp_path: Path) -> None:
    code = (
        "import sys\nfrom hv_cli.main import main\n"
        f"main(['--socket', {str(tmp_path / 'none.sock')!r}, 'list', 'vm'])\n"
        "main(['--dry-run', 'create', 'vm', 'x', '1', '64'])\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in "
        "('paramiko', 'ncclient', 'prompt_toolkit', 'pyang', 'pyangbind', 'lxml')]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO, check=True).stdout
    assert "HEAVY []" in out
