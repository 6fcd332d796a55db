"""The durable single-file writer others reuse (confirmed-commit state and the like)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hvd_netconf.store import atomic_write, fileio, remove_file


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "state.xml"
    atomic_write(str(target), b"one")
    atomic_write(str(target), b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in target.parent.iterdir()] == ["state.xml"]
    assert remove_file(str(target)) and not remove_file(str(target))


def test_failed_write_keeps_the_old_content(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "state.xml"
    atomic_write(str(target), b"old")

    def broken(path: str, data: bytes, *, fsync: bool = True) -> None:
        Path(path).write_bytes(data[:1])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fileio, "write_file", broken)
    with pytest.raises(OSError):
        atomic_write(str(target), b"new content")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["state.xml"]
