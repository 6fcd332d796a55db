"""Start-up trusts nothing on disk: every fault stops the start, naming the file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from hvd_netconf.schema import load_schema
from hvd_netconf.store import CommitMeta, Datastores, StoreError


@pytest.fixture
def hv(open_store: Any, kit: Any, tmp_path: Path) -> Path:
    ds = open_store()
    ds.commit({("vm", "web"): kit.make_vm("web", cpu=2),
               ("network", "lan"): kit.make_net("lan")}, CommitMeta())
    ds.close()  # a clean stop: the files alone hold the configuration, as a hand edit finds it
    return tmp_path / "hv"


def _fails(hv: Path, file: Path, needle: str, **kw: Any) -> None:
    with pytest.raises(StoreError) as info:
        Datastores(str(hv), fsync=False, **kw)
    assert info.value.file == str(file)
    assert str(file) in info.value.message and needle in info.value.message


CASES = {
    "not xml": (b"<vms xmlns='urn:hvd:vm'><vm>", "not well-formed"),
    "entity": (b"<!DOCTYPE x [<!ENTITY a 'b'>]><vms xmlns='urn:hvd:vm'/>", "DOCTYPE"),
    "wrong root": (b"<networks xmlns='urn:hvd:network'/>", "expected <vms"),
    "wrong namespace": (b"<vms><vm><name>web</name></vm></vms>", "expected <vms"),
    "two entries": (b"<vms xmlns='urn:hvd:vm'><vm><name>web</name></vm>"
                    b"<vm><name>web2</name></vm></vms>", "exactly one <vm>"),
    "no entry": (b"<vms xmlns='urn:hvd:vm'/>", "exactly one <vm>"),
    "name mismatch": (b"<vms xmlns='urn:hvd:vm'><vm><name>db</name></vm></vms>",
                      "its directory is 'web'"),
    "no name": (b"<vms xmlns='urn:hvd:vm'><vm><cpu>1</cpu></vm></vms>", "exactly one <name>"),
    "stray text": (b"<vms xmlns='urn:hvd:vm'>junk<vm><name>web</name></vm></vms>",
                   "unexpected text"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hand_edited_entry_file(hv: Path, case: str) -> None:
    data, needle = CASES[case]
    file = hv / "vm" / "web" / "config.xml"
    file.write_bytes(data)
    _fails(hv, file, needle)


def test_schema_fault_names_the_file(hv: Path) -> None:
    file = hv / "vm" / "web" / "config.xml"
    file.write_bytes(b"<vms xmlns='urn:hvd:vm'><vm><name>web</name><cpu>99</cpu></vm></vms>")
    _fails(hv, file, "cpu", schema=load_schema())


def test_dangling_leafref_names_the_file(hv: Path) -> None:
    file = hv / "vm" / "web" / "config.xml"
    file.write_bytes(b"<vms xmlns='urn:hvd:vm'><vm><name>web</name><nic><name>n0</name>"
                     b"<network>nowhere</network></nic></vm></vms>")
    _fails(hv, file, "network", schema=load_schema())


def test_valid_tree_loads_with_schema(hv: Path) -> None:
    ds = Datastores(str(hv), schema=load_schema(), fsync=False)
    assert ds.running.keys() == [("vm", "web"), ("network", "lan")]


def test_bad_directory_name(hv: Path) -> None:
    (hv / "vm" / "bad name").mkdir()
    _fails(hv, hv / "vm" / "bad name", "not a valid vm name")


def test_network_name_checked_by_schema(hv: Path) -> None:
    (hv / "networks" / "lan.2").mkdir()
    _fails(hv, hv / "networks" / "lan.2", "not a valid network name", schema=load_schema())


def test_unknown_file_in_vm_dir(hv: Path) -> None:
    (hv / "vm" / "notes.txt").write_text("hi")
    _fails(hv, hv / "vm" / "notes.txt", "unknown file")


def test_symlinked_entry_refused(hv: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    os.symlink(outside, hv / "vm" / "linked")
    _fails(hv, hv / "vm" / "linked", "unknown file")
    os.unlink(hv / "vm" / "linked")
    cfg = hv / "vm" / "web" / "config.xml"
    (outside / "config.xml").write_bytes(cfg.read_bytes())
    cfg.unlink()
    os.symlink(outside / "config.xml", cfg)
    _fails(hv, cfg, "not a regular file")


def test_unknown_file_in_history(hv: Path) -> None:
    (hv / ".hvd" / "history" / "notes").write_text("x")
    _fails(hv, hv / ".hvd" / "history" / "notes", "unknown file")


def test_corrupt_history_record(hv: Path) -> None:
    rec = hv / ".hvd" / "history" / "000000000001.xml"
    rec.write_bytes(rec.read_bytes().replace(b'op="create"', b'op="delete"', 1))
    _fails(hv, rec, "bad history record")


def _two_saves(open_store: Any, kit: Any) -> Any:
    ds = open_store()
    ds.candidate.set_entry(("vm", "web"), None)
    ds.mark_dirty([("vm", "web")])
    ds.save_candidate()
    ds.candidate.set_entry(("vm", "web"), kit.make_vm("web", cpu=2))
    ds.mark_dirty([("vm", "web")])
    ds.save_candidate()
    return ds


def test_corrupt_log_record(hv: Path, open_store: Any, kit: Any) -> None:
    _two_saves(open_store, kit)
    wal = hv / ".hvd" / "wal"
    data = wal.read_bytes()
    assert data.count(b"#hvd-wal ") == 2
    # A damaged record followed by another is not a torn append: the start stops.
    wal.write_bytes(data.replace(b'<delete kind="vm" name="web"/>',
                                 b'<delete kind="vm" name="wex"/>', 1))
    _fails(hv, wal, "damaged write-ahead log record")


def test_corrupt_saved_candidate_snapshot(hv: Path, open_store: Any, kit: Any) -> None:
    _two_saves(open_store, kit).close()
    snap = hv / ".hvd" / "candidate.log"
    data = snap.read_bytes()
    assert data.count(b"#hvd-candidate ") == 1 and b'name="web"' in data
    snap.write_bytes(data.replace(b'name="web"', b'name="wex"', 1) + data)
    _fails(hv, snap, "damaged saved-candidate record")


def test_crash_log_wins_over_a_later_hand_edit(hv: Path, open_store: Any, kit: Any) -> None:
    """After a crash the log is replayed: it holds acknowledged commits, the files may not."""
    ds = open_store()
    ds.commit({("vm", "web"): kit.make_vm("web", cpu=3)}, CommitMeta())
    file = hv / "vm" / "web" / "config.xml"
    file.write_bytes(file.read_bytes().replace(b"<cpu>3</cpu>", b"<cpu>5</cpu>"))
    again = Datastores(str(hv), fsync=False)
    assert again.recovered == 1 and b"<cpu>3</cpu>" in file.read_bytes()


def test_dataset_without_config_is_no_entry(hv: Path) -> None:
    (hv / "vm" / "old" / "disks").mkdir(parents=True)
    assert ("vm", "old") not in Datastores(str(hv), fsync=False).running
