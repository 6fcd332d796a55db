"""The Python API as the README shows it, run against a live hvd: the example's VM is in
running with what it set; a wrong value fails at the assignment, before anything is sent;
a refused commit raises the server's rpc-error and leaves the candidate clean."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hv_cli.api import Hvd
from ncclient.operations import RPCError
from ncclient.xml_ import to_ele
from support.server import HvdInstance

README = Path(__file__).resolve().parents[2] / "README.md"


def example() -> str:
    section = README.read_text().split("## Python API", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found is not None
    return found.group(1)


def test_the_readme_example_runs(hvd: HvdInstance, capsys: pytest.CaptureFixture[str]) -> None:
    code = example().replace('"/var/run/hvd.sock"', repr(str(hvd.socket_path)))
    exec(compile(code, "README.md", "exec"), {})  # the README's own example
    assert capsys.readouterr().out == "1024\n"
    m = hvd.connect_uds()
    xml = m.get_config("running").xml
    assert "<name>web</name>" in xml and "<size>10G</size>" in xml and "<cpu>2</cpu>" in xml
    history = m.dispatch(to_ele(
        '<get-commit-history xmlns="urn:hvd:system"><limit>1</limit></get-commit-history>'))
    assert "web server" in history.xml


def test_types_are_checked_at_assignment_and_refusals_come_back(hvd: HvdInstance) -> None:
    with Hvd.socket(str(hvd.socket_path)) as api:
        vm = api.new_vm("db")
        with pytest.raises(ValueError, match="cpu must be of a type compatible"):
            vm.cpu = 300
        with pytest.raises(KeyError, match="key value name must be valid"):
            api.new_vm("Bad Name!")
        net = api.new_network("lan")
        vm.nic.add("n0").network = "nowhere"  # a leafref only the server resolves
        with pytest.raises(RPCError) as err:
            api.commit(vm, net)
        assert "nowhere" in str(err.value)
        assert api.vm("db") is None and api.network("lan") is None
        api.commit(net)
        assert api.network("lan") is not None
        m = hvd.connect_uds()
        assert "<name>db</name>" not in m.get_config("candidate").xml
