"""The candidate: dirty tracking, discard, persistence of only its changed entries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hvd_netconf.errors import InvalidValue
from hvd_netconf.store import CommitMeta, candlog
from hvd_netconf.store.wal import read_records


@pytest.fixture
def ds(open_store: Any, kit: Any) -> Any:
    store = open_store()
    store.commit({("vm", f"v{i}"): kit.make_vm(f"v{i}") for i in range(5)}
                 | {("network", "lan"): kit.make_net("lan")}, CommitMeta())
    return store


def _saved(tmp_path: Path) -> list[str]:
    """What the saved candidate holds (snapshot and log): kind/name.xml for an entry,
    kind/name.deleted."""
    wal = str(tmp_path / "hv" / ".hvd" / "wal")
    saved = candlog.live(candlog.saved_candidate(
        str(tmp_path / "hv" / ".hvd" / candlog.LOG_NAME), read_records(wal)[0], wal))
    return sorted(f"{k}/{n}" + (".deleted" if v is None else ".xml")
                  for (k, n), v in saved.items())


def test_candidate_starts_equal_and_separate(ds: Any, kit: Any) -> None:
    assert kit.snapshot(ds.candidate) == kit.snapshot(ds.running)
    assert not ds.candidate_dirty and ds.dirty_keys == frozenset()
    assert ds.candidate.get(("vm", "v1")) is not ds.running.get(("vm", "v1"))


def test_persistence_across_reopen(ds: Any, kit: Any, open_store: Any,
                                   tmp_path: Path) -> None:
    ds.candidate.set_entry(("vm", "v1"), kit.make_vm("v1", cpu=8))
    ds.candidate.set_entry(("vm", "new"), kit.make_vm("new"))
    ds.candidate.set_entry(("vm", "v2"), None)
    ds.mark_dirty([("vm", "v1"), ("vm", "new"), ("vm", "v2")])
    ds.save_candidate()
    assert _saved(tmp_path) == ["vm/new.xml", "vm/v1.xml", "vm/v2.deleted"]
    again = open_store()
    assert kit.snapshot(again.candidate) == kit.snapshot(ds.candidate)
    assert kit.snapshot(again.running) == kit.snapshot(ds.running)
    assert again.dirty_keys == {("vm", "v1"), ("vm", "new"), ("vm", "v2")}
    # Reopening folded the log into the snapshot; only what changed since the last save is
    # written again: one log record, one append.
    wal = tmp_path / "hv" / ".hvd" / "wal"
    assert read_records(str(wal)) == ([], 0)
    again.candidate.set_entry(("vm", "v2"), kit.make_vm("v2", memory=1024))
    again.mark_dirty([("vm", "v2")])
    steps: list[str] = []
    again._hook = steps.append
    again.save_candidate()
    assert steps == ["append", "written", "logged"]
    added = wal.read_bytes()[:again.wal.size]
    assert added.count(b"#hvd-wal ") == 1 and b"cand - " in added and b'name="v1"' not in added
    assert _saved(tmp_path) == ["vm/new.xml", "vm/v1.xml", "vm/v2.xml"]


def test_created_then_removed_is_forgotten(ds: Any, kit: Any, open_store: Any,
                                           tmp_path: Path) -> None:
    ds.candidate.set_entry(("vm", "tmp"), kit.make_vm("tmp"))
    ds.mark_dirty([("vm", "tmp")])
    ds.save_candidate()
    ds.candidate.set_entry(("vm", "tmp"), None)
    ds.mark_dirty([("vm", "tmp")])
    ds.save_candidate()
    assert _saved(tmp_path) == []
    assert ("vm", "tmp") not in open_store().candidate


def test_torn_last_record_is_dropped(ds: Any, kit: Any, open_store: Any,
                                     tmp_path: Path) -> None:
    ds.candidate.set_entry(("vm", "v1"), kit.make_vm("v1", cpu=8))
    ds.mark_dirty([("vm", "v1")])
    ds.save_candidate()
    wal = tmp_path / "hv" / ".hvd" / "wal"
    good = ds.wal.size
    ds.candidate.set_entry(("vm", "v2"), kit.make_vm("v2", cpu=7))
    ds.mark_dirty([("vm", "v2")])
    ds.save_candidate()
    data = wal.read_bytes()[:ds.wal.size]
    for cut in (good + 5, len(data) - 3):
        wal.write_bytes(data[:cut])
        again = open_store()
        assert again.dirty_keys == {("vm", "v1")}
        assert read_records(str(wal)) == ([], 0)  # replayed, folded in, emptied
        again.close()
        (tmp_path / "hv" / ".hvd" / candlog.LOG_NAME).unlink()


def test_commit_of_candidate_cleans_saved_files(ds: Any, kit: Any, open_store: Any,
                                                tmp_path: Path) -> None:
    ds.candidate.set_entry(("vm", "v1"), kit.make_vm("v1", cpu=8))
    ds.candidate.set_entry(("vm", "v3"), None)
    ds.mark_dirty([("vm", "v1"), ("vm", "v3")])
    ds.save_candidate()
    cid = ds.commit(meta=CommitMeta(comment="from candidate"))
    assert not ds.candidate_dirty and _saved(tmp_path) == []
    assert kit.snapshot(ds.running) == kit.snapshot(ds.candidate)
    assert ("vm", "v3") not in ds.running
    assert [c.op for c in ds.history.get(cid).changes] == ["modify", "delete"]
    again = open_store()
    assert not again.candidate_dirty
    assert kit.snapshot(again.running) == kit.snapshot(ds.running)


def test_discard_restores_only_dirty_entries(ds: Any, kit: Any, open_store: Any,
                                             tmp_path: Path) -> None:
    untouched = ds.candidate.get(("vm", "v4"))
    ds.candidate.set_entry(("vm", "v1"), kit.make_vm("v1", cpu=8))
    ds.candidate.set_entry(("vm", "new"), kit.make_vm("new"))
    ds.mark_dirty([("vm", "v1"), ("vm", "new")])
    ds.save_candidate()
    ds.discard_candidate()
    assert kit.snapshot(ds.candidate) == kit.snapshot(ds.running)
    assert ds.candidate.get(("vm", "v4")) is untouched
    assert not ds.candidate_dirty and _saved(tmp_path) == []
    assert not open_store().candidate_dirty


def test_write_running_candidate_follows_unless_edited(ds: Any, kit: Any) -> None:
    ds.candidate.set_entry(("vm", "v1"), kit.make_vm("v1", cpu=8))
    ds.mark_dirty([("vm", "v1")])
    ds.write_running({("vm", "v1"): kit.make_vm("v1", cpu=2),
                      ("vm", "v2"): kit.make_vm("v2", cpu=3)},
                     CommitMeta(source="edit-running"))
    assert kit.c14n(ds.candidate.get(("vm", "v1"))) == kit.c14n(kit.make_vm("v1", cpu=8))
    assert kit.c14n(ds.candidate.get(("vm", "v2"))) == kit.c14n(kit.make_vm("v2", cpu=3))
    assert ds.dirty_keys == {("vm", "v1")}


def test_commit_with_explicit_changes_cleans_those_keys(ds: Any, kit: Any) -> None:
    ds.candidate.set_entry(("vm", "v1"), kit.make_vm("v1", cpu=8))
    ds.candidate.set_entry(("vm", "v2"), kit.make_vm("v2", cpu=9))
    ds.mark_dirty([("vm", "v1"), ("vm", "v2")])
    ds.commit({("vm", "v1"): kit.make_vm("v1", cpu=5)}, CommitMeta())
    assert ds.dirty_keys == {("vm", "v2")}
    assert kit.c14n(ds.candidate.get(("vm", "v1"))) == kit.c14n(ds.running.get(("vm", "v1")))


def test_mark_all_dirty(ds: Any, kit: Any) -> None:
    ds.candidate.set_entry(("vm", "extra"), kit.make_vm("extra"))
    ds.mark_dirty(None)
    assert len(ds.dirty_keys) == 7
    ds.mark_dirty([])
    with pytest.raises(InvalidValue):
        ds.mark_dirty([("vm", "../x")])


def test_unchanged_dirty_entries_are_not_rewritten(ds: Any) -> None:
    ds.mark_dirty(None)
    steps: list[str] = []
    ds._hook = steps.append
    cid = ds.commit(meta=CommitMeta())
    assert [s for s in steps if s.startswith("put:vm")] == []
    assert ds.history.get(cid).changes == ()
