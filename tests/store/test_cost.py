"""A one-entry commit costs O(change): the same files are written whatever the store's size."""

from __future__ import annotations

from typing import Any

from hvd_netconf.store import CommitMeta


def _writes(open_store: Any, kit: Any, n: int, tag: str) -> list[str]:
    ds = open_store()
    ds.write_running({("vm", f"{tag}{i}"): kit.make_vm(f"{tag}{i}") for i in range(n)},
                     CommitMeta(source="copy-config"))
    ds.wal.drain()  # a big record's files are written in the background
    steps: list[str] = []
    ds._hook = steps.append
    ds.commit({("vm", f"{tag}1"): kit.make_vm(f"{tag}1", cpu=2)}, CommitMeta())
    ds.wal.drain()
    return [s.split(":")[0] + ":" + s.split("/")[0].split(":")[-1] for s in steps]


def test_one_entry_commit_touches_two_files_at_any_size(open_store: Any, kit: Any) -> None:
    small = _writes(open_store, kit, 10, "s")
    large = _writes(open_store, kit, 2000, "l")
    assert small == large
    assert sorted(s for s in small if s.startswith("put:")) == ["put:.hvd", "put:vm"]
