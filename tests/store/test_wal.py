"""The write-ahead log: its records, and big records' files written in the background."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from hvd_netconf.store import CommitMeta, Datastores, StoreError
from hvd_netconf.store.wal import CandidateSave, Delete, Put, decode, encode, read_records


def test_record_round_trip_and_framing(tmp_path: Path) -> None:
    ops = [Put("vm/a/config.xml", b"<x>\n\0bytes</x>"), Delete("vm/b/config.xml", rmdir=True),
           CandidateSave(b"<save/>"), CandidateSave(b"", reset=True), Put("config/g.xml", b"")]
    data = encode(ops)
    head, body = data.split(b"\n", 1)
    assert head.startswith(b"#hvd-wal %d " % len(body))
    assert decode(body, "f") == ops
    log = tmp_path / "wal"
    log.write_bytes(data + data[:-4])
    assert read_records(str(log)) == ([ops], len(data))


@pytest.mark.parametrize("path", ["/etc/passwd", "../x", "vm/../../x", "vm//x", "vm/a b", ""])
def test_paths_outside_the_root_are_refused(path: str) -> None:
    with pytest.raises(StoreError, match="outside the root"):
        encode([Put(path, b"")])
    body = b"del %s 0\n" % path.encode() if path else b"del  0\n"
    with pytest.raises(StoreError):
        decode(body, "f")


def _many(kit: Any, n: int, cpu: int = 1) -> dict:
    return {("vm", f"v{i}"): kit.make_vm(f"v{i}", cpu=cpu) for i in range(n)}


def test_big_commit_returns_before_its_files(open_store: Any, kit: Any,
                                             tmp_path: Path) -> None:
    ds = open_store()
    started, release = threading.Event(), threading.Event()

    def slow(name: str) -> None:
        if name.startswith("put:vm/") and threading.current_thread().name == "hvd-wal-writer":
            started.set()
            release.wait(10)

    ds._hook = slow
    cid = ds.commit(_many(kit, ds.wal.inline_ops + 1), CommitMeta())
    root = tmp_path / "hv"
    # Acknowledged and in memory; its files are on their way (the log holds them).
    assert ("vm", "v7") in ds.running and started.wait(5)
    assert not (root / "vm" / "v7" / "config.xml").exists()
    release.set()
    # A later small commit first finishes the files of the records before it (log order is
    # file order), then writes its own before it returns.
    ds.commit({("vm", "v7"): kit.make_vm("v7", cpu=9)}, CommitMeta())
    assert b"<cpu>9</cpu>" in (root / "vm" / "v7" / "config.xml").read_bytes()
    assert len(ds.history.get(cid).changes) == ds.wal.inline_ops + 1
    ds.close()
    assert Datastores(str(root), fsync=False).recovered == 0


class Crash(BaseException):
    pass


def test_crash_of_the_background_writer_is_replayed(open_store: Any, kit: Any,
                                                    tmp_path: Path) -> None:
    ds = open_store()
    ds.commit(_many(kit, 3), CommitMeta())

    crashed = threading.Event()

    def die(name: str) -> None:
        if name == "put:vm/v40/config.xml":
            crashed.set()
            raise Crash(name)

    ds._hook = die
    ds.commit(_many(kit, 100, cpu=2), CommitMeta())
    assert crashed.wait(5)
    with pytest.raises(StoreError, match="writer stopped"):
        ds.wal.drain()
    root = tmp_path / "hv"
    assert not (root / "vm" / "v99").exists()
    again = Datastores(str(root), fsync=False)
    assert again.recovered == 2
    assert {k: kit.c14n(v) for k, v in again.running.items()} == \
        {k: kit.c14n(v) for k, v in _many(kit, 100, cpu=2).items()}
    assert b"<cpu>2</cpu>" in (root / "vm" / "v99" / "config.xml").read_bytes()


def test_one_flush_per_commit_none_per_candidate_edit(tmp_path: Path, kit: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from hvd_netconf.store import wal as wal_mod

    ds = Datastores(str(tmp_path / "hv"), fsync=True)
    flushes: list[int] = []
    real = wal_mod.os.fdatasync
    monkeypatch.setattr(wal_mod.os, "fdatasync", lambda fd: (flushes.append(fd), real(fd)))
    ds.candidate.set_entry(("vm", "a"), kit.make_vm("a"))
    ds.mark_dirty([("vm", "a")])
    ds.save_candidate()
    assert flushes == []  # survives hvd's death; the commit's flush takes it to disk
    ds.commit(meta=CommitMeta())
    assert len(flushes) == 1
    ds.commit(_many(kit, 100), CommitMeta())  # however many entries
    assert len(flushes) == 2


def test_files_after_reply_wait_for_write_pending(open_store: Any, kit: Any,
                                                  tmp_path: Path) -> None:
    """A transport's request leaves its files to write_pending() (after the reply); the log
    holds them meanwhile, and anything else that uses the store writes them first."""
    ds = open_store()
    root = tmp_path / "hv"

    def request(changes: dict) -> None:  # as the server runs one for a transport
        ds.files_after_reply = True
        try:
            ds.commit(changes, CommitMeta())
        finally:
            ds.files_after_reply = False

    request({("vm", "a"): kit.make_vm("a", cpu=2)})
    assert ("vm", "a") in ds.running and ds.has_pending
    assert not (root / "vm" / "a").exists()
    ds.write_pending()  # the reply is sent
    assert b"<cpu>2</cpu>" in (root / "vm" / "a" / "config.xml").read_bytes()
    assert not ds.has_pending

    request({("vm", "a"): kit.make_vm("a", cpu=3)})
    # Nobody called write_pending(): the next write (here, one outside a request) comes
    # after it in the log, and so on disk.
    ds.commit({("vm", "b"): kit.make_vm("b")}, CommitMeta())
    assert b"<cpu>3</cpu>" in (root / "vm" / "a" / "config.xml").read_bytes()
    assert (root / "vm" / "b" / "config.xml").exists()

    request({("vm", "a"): None})
    assert (root / "vm" / "a" / "config.xml").exists()  # hvd dies here: the log replays it
    again = Datastores(str(root), fsync=False)
    assert again.recovered and ("vm", "a") not in again.running
    assert not (root / "vm" / "a").exists()


def test_a_due_checkpoint_waits_for_the_reply_too(open_store: Any, kit: Any) -> None:
    ds = open_store()
    ds.wal.checkpoint_bytes = 1
    ds.files_after_reply = True
    ds.commit({("vm", "a"): kit.make_vm("a")}, CommitMeta())
    assert ds.wal.size > 0 and ds.has_pending
    ds.files_after_reply = False
    ds.write_pending()
    assert ds.wal.size == 0 and not ds.has_pending
