"""A crash at any step of the commit protocol leaves exactly the old or the new configuration.

The crash is simulated by a fault hook raising a BaseException at a named step: the store
then does no cleanup, as if the process had died there; a new Datastores recovers.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from hvd_netconf.store import CommitMeta, Datastores
from hvd_netconf.store import journal as journal_mod
from hvd_netconf.store.journal import journal_path, recover


class Crash(BaseException):
    pass


def _populate(root: Path, kit: Any) -> Datastores:
    ds = Datastores(str(root), fsync=True, history_limit=2)
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


def _temps(root: Path) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.name.endswith((".new", ".tmp"))]


def _states(tmp_path: Path, kit: Any) -> tuple[list[str], dict, dict]:
    root = tmp_path / "probe"
    ds = _populate(root, kit)
    steps: list[str] = []
    ds._hook = steps.append
    old = kit.snapshot(ds.running)
    _the_commit(ds, kit)
    return steps, old, kit.snapshot(ds.running)


def test_crash_at_every_step(tmp_path: Path, kit: Any) -> None:
    steps, old, new = _states(tmp_path, kit)
    assert "journaled" in steps and steps[-1] == "done"
    point = steps.index("journaled")
    assert old != new
    for i, step in enumerate(steps):
        root = tmp_path / f"crash{i}"
        ds = _populate(root, kit)

        def hook(name: str, at: str = step) -> None:
            if name == at:
                raise Crash(at)

        ds._hook = hook
        with pytest.raises(Crash):
            _the_commit(ds, kit)
        again = Datastores(str(root), fsync=True, history_limit=2)
        want = new if i >= point else old
        assert kit.snapshot(again.running) == want, f"crash at {step}"
        assert again.history.last_id == (3 if i >= point else 2), step
        assert again.history.ids() == ([2, 3] if i >= point else [1, 2]), step
        # The saved candidate edit of x survives only if the commit did not happen.
        assert again.candidate_dirty == (i < point), step
        assert _temps(root) == [] and os.path.getsize(journal_path(str(root))) == 0
        journal_left = point <= i < steps.index("done")
        assert again.recovered == ("rolled-forward" if journal_left else None), step


def test_torn_journal_rolls_back(tmp_path: Path, kit: Any) -> None:
    _steps, old, _new = _states(tmp_path, kit)
    for cut in ("marker", "half", "empty"):
        root = tmp_path / cut
        ds = _populate(root, kit)

        def hook(name: str) -> None:
            if name == "journaled":
                raise Crash(name)

        ds._hook = hook
        with pytest.raises(Crash):
            _the_commit(ds, kit)
        jp = journal_path(str(root))
        data = Path(jp).read_bytes()
        body = data.split(b"\n")[0]
        torn = {"marker": data[:len(body) + 20], "half": data[:len(body) // 2],
                "empty": b""}[cut]
        Path(jp).write_bytes(torn)
        again = Datastores(str(root), fsync=False, history_limit=2)
        assert again.recovered == (None if cut == "empty" else "rolled-back")
        assert kit.snapshot(again.running) == old
        assert _temps(root) == []


def test_marker_of_another_body_is_not_a_commit(tmp_path: Path, kit: Any) -> None:
    _steps, old, _new = _states(tmp_path, kit)
    root = tmp_path / "r"
    ds = _populate(root, kit)
    ds._hook = lambda name: (_ for _ in ()).throw(Crash()) if name == "journaled" else None
    with pytest.raises(Crash):
        _the_commit(ds, kit)
    jp = Path(journal_path(str(root)))
    body, marker, _ = jp.read_bytes().split(b"\n")
    jp.write_bytes(body.replace(b"wan", b"waN") + b"\n" + marker + b"\n")
    assert kit.snapshot(Datastores(str(root), fsync=False).running) == old


def test_recovery_interrupted_then_repeated(tmp_path: Path, kit: Any,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    _steps, _old, new = _states(tmp_path, kit)
    root = tmp_path / "r"
    ds = _populate(root, kit)
    ds._hook = lambda name: (_ for _ in ()).throw(Crash()) if name == "journaled" else None
    with pytest.raises(Crash):
        _the_commit(ds, kit)
    calls = {"n": 0}
    real = os.replace

    def flaky(src: str, dst: str) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise Crash("died during recovery")
        real(src, dst)

    monkeypatch.setattr(journal_mod.os, "replace", flaky)
    with pytest.raises(Crash):
        recover(str(root))
    monkeypatch.setattr(journal_mod.os, "replace", real)
    again = Datastores(str(root), fsync=True, history_limit=2)
    assert again.recovered == "rolled-forward"
    assert kit.snapshot(again.running) == new
    assert recover(str(root)) is None


def test_failure_before_commit_point_changes_nothing(tmp_path: Path, kit: Any,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "r"
    ds = _populate(root, kit)
    old = kit.snapshot(ds.running)

    def full(name: str) -> None:
        if name.startswith("put:vm/y"):
            raise OSError(28, "No space left on device")

    ds._hook = full
    with pytest.raises(OSError):
        _the_commit(ds, kit)
    assert kit.snapshot(ds.running) == old and ds.history.last_id == 2
    assert _temps(root) == []
    ds._hook = None
    assert _the_commit(ds, kit) == 3


def test_failure_after_commit_point_is_completed_in_process(tmp_path: Path, kit: Any) -> None:
    _steps, _old, new = _states(tmp_path, kit)
    root = tmp_path / "r"
    ds = _populate(root, kit)

    def flaky(name: str) -> None:
        if name == "rename:vm/y/config.xml":
            raise OSError(5, "I/O error")

    ds._hook = flaky
    assert _the_commit(ds, kit) == 3
    assert kit.snapshot(ds.running) == new
    assert os.path.getsize(journal_path(str(root))) == 0
    assert kit.snapshot(Datastores(str(root), fsync=False).running) == new


def test_orphan_temp_files_are_removed_at_start(tmp_path: Path, kit: Any) -> None:
    root = tmp_path / "r"
    _populate(root, kit)
    (root / "vm" / "x" / "config.xml.3-abcd.new").write_bytes(b"<half")
    (root / ".hvd" / "history" / "000000000003.xml.3-abcd.new").write_bytes(b"")
    ds = Datastores(str(root), fsync=False)
    assert _temps(root) == [] and ds.history.last_id == 2
