"""Issue 20 items 5 and 6 through hv: the generic `set` reaches the new VM leaves (the schema
facts are generated from the YANG), and the model's refusals reach the operator."""

from __future__ import annotations

from collections.abc import Callable

from tests.cli.conftest import Result

HV = Callable[..., Result]
Q = Callable[[str], list[str]]


def test_topology_set(hv: HV, running: Q) -> None:
    assert hv("create vm web 2 2G").status == 0
    assert hv("set vm web cpu-topology.sockets 2").status == 0  # 2 x 1 x 1 = 2
    assert running("//vm:vm/vm:cpu-topology/vm:sockets/text()") == ["2"]
    assert running("//vm:vm/vm:memory/text()") == ["2048"]  # 2G, kept exact in megabytes


def test_topology_that_does_not_add_up_is_refused(hv: HV, running: Q) -> None:
    assert hv("create vm web 4 512M").status == 0
    r = hv("set vm web cpu-topology.sockets 3")
    assert r.status != 0
    assert "sockets x cores x threads of cpu-topology must equal cpu" in r.err, r.err
    assert running("//vm:vm/vm:cpu-topology") == []


def test_device_and_flag_leaves(hv: HV, running: Q) -> None:
    assert hv("create vm web 1 512M").status == 0
    for line in ("set vm web virtio-rnd true", "set vm web com2 nmdm",
                 "set vm web memory-wired true", "set vm web acpi false"):
        assert hv(line).status == 0, line
    assert running("//vm:vm/vm:virtio-rnd/text()") == ["true"]
    assert running("//vm:vm/vm:com2/text()") == ["nmdm"]
    assert running("//vm:vm/vm:memory-wired/text()") == ["true"]
    assert running("//vm:vm/vm:acpi/text()") == ["false"]
