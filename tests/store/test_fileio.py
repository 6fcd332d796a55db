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


def test_swap_in_without_renameat2_is_a_replace(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """As on FreeBSD: no exchange, a plain atomic rename."""
    from hvd_netconf.store.fileio import swap_in

    monkeypatch.setattr(fileio, "_RENAMEAT2", None)
    target, tmp = tmp_path / "config.xml", tmp_path / "config.xml.wal.new"
    target.write_bytes(b"old")
    tmp.write_bytes(b"new")
    swap_in(str(tmp), str(target))
    assert target.read_bytes() == b"new" and not tmp.exists()


def test_checkpoint_without_syncfs_fsyncs_each_touched_path(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As on FreeBSD: every file and directory the log's writes touched is fsynced."""
    from lxml import etree

    from hvd_netconf.namespaces import VM
    from hvd_netconf.store import CommitMeta, Datastores

    monkeypatch.setattr(fileio, "_SYNCFS", None)
    synced: list[str] = []
    monkeypatch.setattr(fileio, "fsync_file", synced.append)
    monkeypatch.setattr(fileio, "fsync_dir", synced.append)
    ds = Datastores(str(tmp_path / "hv"), fsync=True)
    vm = etree.Element(f"{{{VM}}}vm", nsmap={None: VM})
    etree.SubElement(vm, f"{{{VM}}}name").text = "a"
    ds.commit({("vm", "a"): vm}, CommitMeta())
    synced.clear()
    ds.close()
    root = str(tmp_path / "hv")
    assert f"{root}/vm/a/config.xml" in synced and f"{root}/vm/a" in synced
    assert f"{root}/vm" in synced  # the new directory's entry
