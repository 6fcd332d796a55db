"""Names are checked against the model before they become paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hvd_netconf.errors import InvalidValue
from hvd_netconf.schema import load_schema
from hvd_netconf.store import CommitMeta, check_name

BAD = ["", ".", "..", "../etc", "a/b", "/abs", "a..b", ".hidden", "trailing.", "-dash",
       "x" * 32, "sp ace", "nul\0", "tab\t", "é", "a\nb", "*", "a:b"]


@pytest.mark.parametrize("schema", [None, "yang"])
@pytest.mark.parametrize("name", BAD)
def test_bad_vm_names_refused(name: str, schema: str | None) -> None:
    with pytest.raises(InvalidValue):
        check_name(("vm", name), load_schema() if schema else None)


@pytest.mark.parametrize("name", ["a", "web-1", "db_2", "v.1", "x" * 31, "A.b.C", "_x"])
def test_good_vm_names(name: str) -> None:
    check_name(("vm", name), load_schema())
    check_name(("vm", name))


def test_network_names_follow_their_own_type() -> None:
    check_name(("network", "lan-1"), load_schema())
    with pytest.raises(InvalidValue):
        check_name(("network", "lan.1"), load_schema())  # dots would reach the bridge name


def test_unknown_kind_refused() -> None:
    with pytest.raises(InvalidValue):
        check_name(("disk", "a"))


@pytest.mark.parametrize("name", ["..", "../escape", "a/b", "a..b"])
def test_commit_refuses_bad_name_and_writes_nothing(open_store: Any, kit: Any,
                                                    tmp_path: Path, name: str) -> None:
    ds = open_store()
    with pytest.raises(InvalidValue):
        ds.commit({("vm", "ok"): kit.make_vm("ok"), ("vm", name): kit.make_vm(name)},
                  CommitMeta())
    assert sorted(p.name for p in (tmp_path / "hv" / "vm").iterdir()) == []
    assert not (tmp_path / "escape").exists()
    assert ds.running.keys() == [] and len(ds.history) == 0


def test_entry_must_match_its_key(open_store: Any, kit: Any) -> None:
    ds = open_store()
    with pytest.raises(InvalidValue):
        ds.commit({("vm", "a"): kit.make_vm("b")}, CommitMeta())
    with pytest.raises(InvalidValue):
        ds.commit({("network", "a"): kit.make_vm("a")}, CommitMeta())
