"""A crash at any step of the commit protocol leaves exactly the old or the new configuration.

The crash is simulated by a fault hook raising a BaseException at a named step: the store
then does no cleanup, as if the process had died there (what it wrote stays, as the page
cache keeps a dead process's writes); a new Datastores recovers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hvd_netconf.store import CommitMeta, Datastores, StoreError
from hvd_netconf.store import wal as wal_mod
from hvd_netconf.store.wal import read_records, wal_path


class Crash(BaseException):
    pass


def _populate(root: Path, kit: Any, checkpoint_bytes: int | None = None) -> Datastores:
    ds = Datastores(str(root), fsync=True, history_limit=2)
    if checkpoint_bytes is not None:
        ds.wal.checkpoint_bytes = checkpoint_bytes
    ds.commit({("vm", "x"): kit.make_vm("x", cpu=1), ("vm", "z"): kit.make_vm("z"),
               ("network", "lan"): kit.make_net("lan", fib=1)}, CommitMeta(comment="one"))
    ds.commit({("vm", "w"): kit.make_vm("w")}, CommitMeta(comment="two"))
    ds.candidate.set_entry(("vm", "x"), kit.make_vm("x", cpu=3))
    ds.mark_dirty([("vm", "x")])
    ds.save_candidate()
    return ds


def _the_commit(ds: Datastores, kit: Any) -> int:
    """Modify, create, delete, across both kinds, pruning history and saved candidate."""
    return ds.commit({
        ("vm", "x"): kit.make_vm("x", cpu=2, memory=1024),
        ("vm", "y"): kit.make_vm("y"),
        ("vm", "z"): None,
        ("network", "lan"): kit.make_net("lan", fib=4),
        ("network", "wan"): kit.make_net("wan"),
    }, CommitMeta(user="bob", comment="three"))


def _logged(root: Path) -> int:
    """The length of the log's records (the file also holds zeroed space after them)."""
    return read_records(wal_path(str(root)))[1]


def _temps(root: Path) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.name.endswith((".new", ".tmp"))]


def _states(tmp_path: Path, kit: Any, checkpoint_bytes: int | None = None
            ) -> tuple[list[str], dict, dict]:
    root = tmp_path / "probe"
    ds = _populate(root, kit, checkpoint_bytes)
    steps: list[str] = []
    ds._hook = steps.append
    old = kit.snapshot(ds.running)
    _the_commit(ds, kit)
    ds.wal.drain()  # with the history files, written in the background
    return steps, old, kit.snapshot(ds.running)


def _crash_at(ds: Datastores, at: str) -> None:
    def hook(name: str) -> None:
        if name == at:
            raise Crash(at)

    ds._hook = hook


# The populating commits and the candidate save, still in the log (no checkpoint yet).
POPULATED = 3


@pytest.mark.parametrize("checkpoint_bytes", [None, 0], ids=["lazy", "checkpoint-each"])
def test_crash_at_every_step(tmp_path: Path, kit: Any, checkpoint_bytes: int | None) -> None:
    steps, old, new = _states(tmp_path, kit, checkpoint_bytes)
    # Once the record's bytes are written, a dead process's page cache still holds them.
    point = steps.index("written")
    assert steps[:point + 2] == ["append", "written", "logged"]
    assert "put:vm/y/config.xml" in steps and "delete:vm/z/config.xml" in steps
    if checkpoint_bytes == 0:
        assert steps[-3:] == ["synced", "snapshot", "checkpointed"]
    assert old != new
    for i, step in enumerate(steps):
        root = tmp_path / f"crash{i}"
        ds = _populate(root, kit, checkpoint_bytes)
        _crash_at(ds, step)
        # A crash of the background file writer shows when its files are waited for.
        with pytest.raises((Crash, StoreError)):
            _the_commit(ds, kit)
            ds.wal.drain()
        again = Datastores(str(root), fsync=True, history_limit=2)
        want = new if i >= point else old
        assert kit.snapshot(again.running) == want, f"crash at {step}"
        assert again.history.last_id == (3 if i >= point else 2), step
        assert again.history.ids() == ([2, 3] if i >= point else [1, 2]), step
        # The saved candidate edit of x survives only if the commit did not happen.
        assert again.candidate_dirty == (i < point), step
        assert _temps(root) == [] and _logged(root) == 0, step
        if checkpoint_bytes is None:
            assert again.recovered == POPULATED + (i >= point), step
        again.close()
        # What start-up wrote is the tree itself: a second start has nothing to replay.
        third = Datastores(str(root), fsync=False, history_limit=2)
        assert third.recovered == 0 and kit.snapshot(third.running) == want, step


@pytest.mark.parametrize("cut", ["header", "half", "last-byte", "bad-sum"])
def test_torn_last_record_is_cut_off(tmp_path: Path, kit: Any, cut: str) -> None:
    _steps, old, _new = _states(tmp_path, kit)
    root = tmp_path / cut
    ds = _populate(root, kit)
    wal = Path(wal_path(str(root)))
    before = ds.wal.size
    _crash_at(ds, "logged")
    with pytest.raises(Crash):
        _the_commit(ds, kit)
    data = wal.read_bytes()
    record = data[before:ds.wal.size]
    torn = {"header": record[:12], "half": record[:len(record) // 2],
            "last-byte": record[:-1], "bad-sum": record[:-1] + b"#"}[cut]
    wal.write_bytes(data[:before] + torn + bytes(100))
    again = Datastores(str(root), fsync=False, history_limit=2)
    assert again.recovered == POPULATED
    assert kit.snapshot(again.running) == old
    assert _temps(root) == [] and _logged(root) == 0 and not wal.read_bytes().strip(b"\0")


def test_recovery_interrupted_then_repeated(tmp_path: Path, kit: Any,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    _steps, _old, new = _states(tmp_path, kit)
    root = tmp_path / "r"
    ds = _populate(root, kit)
    _crash_at(ds, "logged")
    with pytest.raises(Crash):
        _the_commit(ds, kit)
    calls = {"n": 0}
    real = wal_mod.swap_in

    def flaky(src: str, dst: str) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise Crash("died during recovery")
        real(src, dst)

    monkeypatch.setattr(wal_mod, "swap_in", flaky)
    with pytest.raises(Crash):
        Datastores(str(root), fsync=True, history_limit=2)
    monkeypatch.setattr(wal_mod, "swap_in", real)
    again = Datastores(str(root), fsync=True, history_limit=2)
    assert again.recovered == POPULATED + 1
    assert kit.snapshot(again.running) == new
    assert _temps(root) == []


def test_failure_before_commit_point_changes_nothing(tmp_path: Path, kit: Any) -> None:
    root = tmp_path / "r"
    ds = _populate(root, kit)
    old = kit.snapshot(ds.running)
    wal = Path(wal_path(str(root)))
    logged = wal.read_bytes()[:ds.wal.size]

    def full(name: str) -> None:
        if name == "written":
            raise OSError(28, "No space left on device")

    ds._hook = full
    with pytest.raises(OSError):
        _the_commit(ds, kit)
    assert kit.snapshot(ds.running) == old and ds.history.last_id == 2
    data = wal.read_bytes()
    assert data[:ds.wal.size] == logged and not data[ds.wal.size:].strip(b"\0")  # zeroed
    assert _temps(root) == [] and not (root / "vm" / "y").exists()
    ds._hook = None
    assert _the_commit(ds, kit) == 3
    assert kit.snapshot(Datastores(str(root), fsync=False).running) == kit.snapshot(ds.running)


def test_failure_after_commit_point_is_completed_in_process(tmp_path: Path, kit: Any) -> None:
    _steps, _old, new = _states(tmp_path, kit)
    root = tmp_path / "r"
    ds = _populate(root, kit)
    failed: list[str] = []

    def flaky(name: str) -> None:
        if name == "put:vm/y/config.xml" and not failed:
            failed.append(name)
            raise OSError(5, "I/O error")

    ds._hook = flaky
    assert _the_commit(ds, kit) == 3
    assert failed and kit.snapshot(ds.running) == new
    assert b"<name>y</name>" in (root / "vm" / "y" / "config.xml").read_bytes()
    assert kit.snapshot(Datastores(str(root), fsync=False).running) == new


def test_files_that_keep_failing_are_left_to_the_log(tmp_path: Path, kit: Any,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    _steps, _old, new = _states(tmp_path, kit)
    root = tmp_path / "r"
    ds = _populate(root, kit)

    def broken(name: str) -> None:
        if name == "put:vm/y/config.xml":
            raise OSError(5, "I/O error")

    ds._hook = broken
    assert _the_commit(ds, kit) == 3  # durable in the log: the commit stands
    assert kit.snapshot(ds.running) == new
    assert "rewritten from" in caplog.text and "the log keeps every change" in caplog.text
    assert ds.wal.size > 0 and ds.wal.wants_checkpoint()  # kept until a replay succeeds
    ds._hook = None
    again = Datastores(str(root), fsync=False, history_limit=2)
    assert kit.snapshot(again.running) == new


def test_orphan_temp_files_are_removed_at_start(tmp_path: Path, kit: Any) -> None:
    root = tmp_path / "r"
    _populate(root, kit).close()
    (root / "vm" / "x" / "config.xml.wal.new").write_bytes(b"<half")
    (root / ".hvd" / "history" / "000000000003.xml.wal.new").write_bytes(b"")
    ds = Datastores(str(root), fsync=False)
    assert _temps(root) == [] and ds.history.last_id == 2
