"""The loader compiles every module in yang/ and exposes the contract's node API."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hvd_netconf import namespaces as ns
from hvd_netconf.errors import InvalidValue
from hvd_netconf.schema import SchemaLoadError, load_schema

YANG = Path(__file__).resolve().parents[2] / "yang"
# hvd-network imports ietf-inet-types (its addresses and ports), hvd-types ietf-yang-types
# (counters), hvd-vm ietf-netconf-acm (default-deny-all), all found in ietf/
CORE = ("hvd-types.yang", "hvd-vm.yang", "hvd-network.yang", "ietf/ietf-inet-types.yang",
        "ietf/ietf-yang-types.yang", "ietf/ietf-netconf-acm.yang")


def _copy(d: Path) -> None:
    for f in CORE:
        (d / f).parent.mkdir(exist_ok=True)
        shutil.copy(YANG / f, d / f)


def test_modules_listed_with_text_and_revision() -> None:
    s = load_schema(YANG)
    names = {m.name: m for m in s.modules}
    assert {"hvd-types", "hvd-vm", "hvd-network"} <= set(names)
    vm = names["hvd-vm"]
    assert vm.namespace == ns.VM and vm.prefix == "hvd-vm" and vm.revision == "2026-11-27"
    assert vm.text.startswith("module hvd-vm")
    assert load_schema(YANG) is s  # cached


def test_default_dir_honours_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _copy(tmp_path)
    monkeypatch.setenv("HVD_YANG_DIR", str(tmp_path))
    assert load_schema().yang_dir == tmp_path.resolve()


def _copy_core(d: Path) -> Path:
    d.mkdir()
    _copy(d)
    return d


def test_rejected_extra_module_is_skipped(tmp_path: Path) -> None:
    d = _copy_core(tmp_path / "y")
    (d / "extra.yang").write_text("module extra { namespace urn:x; prefix x; "
                                  "leaf a { type nosuch; } }")
    s = load_schema(d)
    assert s.module("extra") is None and s.module("hvd-vm") is not None


def test_broken_core_module_is_fatal(tmp_path: Path) -> None:
    d = _copy_core(tmp_path / "y")
    p = d / "hvd-vm.yang"
    p.write_text(p.read_text().replace('range "1..32";', 'range "1..x";'))
    with pytest.raises(SchemaLoadError):
        load_schema(d)


def test_tree_shape_and_properties() -> None:
    s = load_schema(YANG)
    assert {"networks", "vms"} <= {t.name for t in s.tops}
    vm = s.top(ns.VM, "vms").child(ns.VM, "vm")
    assert vm.kind == "list" and vm.keys == ("name",)
    names = [c.name for c in vm.children]
    assert names[:4] == ["name", "description", "cpu", "memory"]
    assert vm.child(ns.VM, "cpu").default == "1"
    assert vm.child(ns.VM, "on-reboot").default == "restart"
    assert vm.child(ns.VM, "disk").ordered_by_user
    assert vm.child(ns.VM, "disk").max_elements == 8
    # size is needed unless the disk is an existing device (a must on the list, issue 19)
    assert not vm.child(ns.VM, "disk").child(ns.VM, "size").mandatory
    assert vm.child(ns.VM, "disk").child(ns.VM, "device").case == ("source", "device")
    state = vm.child(ns.VM, "state")
    assert not state.config and not state.child(ns.VM, "pid").config
    assert vm.child(ns.VM, "loader").child(ns.VM, "uefi-vars").when is not None
    assert vm.child(ns.VM, "name").is_key
    target = vm.child(ns.VM, "nic").child(ns.VM, "network").type.target
    assert target is s.top(ns.NETWORK, "networks").child(ns.NETWORK, "network").child(
        ns.NETWORK, "name")
    inp = s.rpc(ns.VM, "stop-vm")
    assert [c.name for c in inp.children] == ["name", "force", "timeout"]
    assert s.notification(ns.VM, "vm-state-change").child(ns.VM, "exit-code").type.base == "int32"


@pytest.mark.parametrize(("leaf", "text", "canonical"), [
    ("cpu", "+05", "5"), ("cpu", " 32 ", "32"), ("memory", "0064", "64"),
    ("utc-clock", "false", "false"), ("console", "none", "none"), ("name", "a.b-c_d", "a.b-c_d"),
])
def test_check_value_canonical(leaf: str, text: str, canonical: str) -> None:
    vm = load_schema(YANG).top(ns.VM, "vms").child(ns.VM, "vm")
    assert vm.child(ns.VM, leaf).check_value(text) == canonical


@pytest.mark.parametrize(("leaf", "text", "message"), [
    ("cpu", "0", "outside the range 1..32"),
    ("cpu", "256", "out of the uint8 range"),
    ("cpu", "two", "not a valid uint8"),
    ("utc-clock", "True", "not a boolean"),
    ("name", "a..b", "a name is 1 to 31 letters"),
    ("name", "x" * 32, "length 32 is outside 1..31"),
    ("install-iso", "/a/../b", "a path must not contain '..'"),
    ("install-iso", "relative", "an absolute path without empty components"),
])
def test_check_value_rejects_with_model_message(leaf: str, text: str, message: str) -> None:
    vm = load_schema(YANG).top(ns.VM, "vms").child(ns.VM, "vm")
    with pytest.raises(InvalidValue) as exc:
        vm.child(ns.VM, leaf).check_value(text)
    assert message in exc.value.message
    assert exc.value.tag == "invalid-value"
