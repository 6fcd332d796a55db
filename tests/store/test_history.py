"""History: metadata, bounds, images of the touched entries only, config_at, rollback set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from lxml import etree

from hvd_netconf.errors import InvalidValue
from hvd_netconf.store import CommitMeta, Datastore


def _run(ds: Any, kit: Any, n: int) -> dict[int, dict]:
    """n commits of creates, modifies and deletes; the snapshot after each, by id."""
    after: dict[int, dict] = {}
    for i in range(n):
        changes = {("vm", f"v{i}"): kit.make_vm(f"v{i}", cpu=1 + i % 4)}
        if i >= 2:
            changes[("vm", f"v{i - 2}")] = kit.make_vm(f"v{i - 2}", memory=100 + i)
        if i >= 4 and i % 3 == 0:
            changes[("vm", f"v{i - 4}")] = None
        if i % 5 == 0:
            changes[("network", f"n{i}")] = kit.make_net(f"n{i}", fib=i % 16)
        src = "commit" if i % 2 else "edit-running"
        meta = CommitMeta(user=f"u{i}", session_id=i, transport="ssh", comment=f"c{i}",
                          source=src)
        cid = ds.commit(changes, meta) if i % 2 else ds.write_running(changes, meta)
        after[cid] = kit.snapshot(ds.running)
    return after


def test_metadata_and_order(open_store: Any, kit: Any) -> None:
    ds = open_store()
    _run(ds, kit, 6)
    recs = ds.history.list()
    assert [r.id for r in recs] == [6, 5, 4, 3, 2, 1]
    r = recs[0]
    assert (r.meta.user, r.meta.session_id, r.meta.transport, r.meta.comment,
            r.meta.source) == ("u5", 5, "ssh", "c5", "commit")
    assert r.time.endswith("Z") and r.time[4] == "-" and "T" in r.time
    assert {(c.key, c.op) for c in r.changes} == {(("vm", "v5"), "create"),
                                                  (("vm", "v3"), "modify"),
                                                  (("network", "n5"), "create")}
    assert [x.id for x in ds.history.list(offset=2, limit=2)] == [4, 3]
    again = open_store()
    assert again.history.list() == recs  # metadata survives a restart
    assert ds.history.list(offset=10) == []


def test_images_are_only_the_touched_entries(open_store: Any, kit: Any) -> None:
    ds = open_store()
    _run(ds, kit, 6)
    rec = ds.history.get(5)  # the fifth commit, i = 4 in _run
    assert set(rec.images) == {("vm", "v4"), ("vm", "v2")}
    before, after = rec.images[("vm", "v2")]
    assert kit.c14n(before) == kit.c14n(kit.make_vm("v2", cpu=3))
    assert kit.c14n(after) == kit.c14n(kit.make_vm("v2", memory=104))
    assert rec.images[("vm", "v4")][0] is None


def test_bounded(open_store: Any, kit: Any, tmp_path: Path) -> None:
    ds = open_store(history_limit=4)
    _run(ds, kit, 9)
    assert ds.history.ids() == [6, 7, 8, 9]
    ds.wal.drain()  # history files are written in the background
    files = sorted(p.name for p in (tmp_path / "hv" / ".hvd" / "history").iterdir())
    assert files == [f"{i:012d}.xml" for i in (6, 7, 8, 9)]
    again = open_store(history_limit=4)
    assert again.history.ids() == [6, 7, 8, 9]
    assert again.commit({("vm", "z"): kit.make_vm("z")}, CommitMeta()) == 10


def test_default_limit_is_50(open_store: Any, kit: Any) -> None:
    ds = open_store()
    for i in range(53):
        ds.commit({("vm", "a"): kit.make_vm("a", cpu=1 + i % 30)}, CommitMeta())
    assert len(ds.history) == 50 and ds.history.ids()[0] == 4


def test_config_at_every_kept_commit(open_store: Any, kit: Any) -> None:
    ds = open_store(history_limit=5)
    after = _run(ds, kit, 10)
    for cid in ds.history.ids():
        root = ds.history.config_at(cid)
        assert kit.snapshot(Datastore(root)) == after[cid], cid
        assert root is not ds.running.root
    assert kit.snapshot(Datastore(ds.history.config_at(10, ds.running.root))) == after[10]
    for gone in (0, 5, 11, -1):
        with pytest.raises(InvalidValue):
            ds.history.config_at(gone)


def test_revert_changes_is_the_minimal_set(open_store: Any, kit: Any) -> None:
    ds = open_store()
    after = _run(ds, kit, 8)
    changes = ds.history.revert_changes(6)
    # Commits 7 and 8 (i = 6, 7): v6 and v7 created, v4 and v5 modified, v2 deleted.
    assert set(changes) == {("vm", "v6"), ("vm", "v4"), ("vm", "v2"), ("vm", "v7"),
                            ("vm", "v5")}
    assert changes[("vm", "v7")] is None and changes[("vm", "v6")] is None
    assert kit.c14n(changes[("vm", "v2")]) == kit.c14n(kit.make_vm("v2", memory=104))
    cid = ds.write_running(changes, CommitMeta(source="rollback", comment="to 6"))
    assert kit.snapshot(ds.running) == after[6]
    assert ds.history.get(cid).meta.source == "rollback"


def test_unknown_source_refused() -> None:
    with pytest.raises(ValueError):
        CommitMeta(source="magic")


def test_record_file_is_readable_xml(open_store: Any, kit: Any, tmp_path: Path) -> None:
    ds = open_store()
    ds.commit({("vm", "a"): kit.make_vm("a", description="<&>")},
              CommitMeta(user="bob", comment="first & <best>"))
    ds.wal.drain()  # history files are written in the background
    doc = etree.parse(str(tmp_path / "hv" / ".hvd" / "history" / "000000000001.xml"))
    assert doc.getroot().get("id") == "1"
    assert doc.findtext("{urn:hvd:store:history}comment") == "first & <best>"


def _lxml_header(rec_id: int, time: str, meta: Any) -> bytes:
    """The record's metadata as lxml writes it: the reference for render_record's text."""
    ns = "urn:hvd:store:history"
    root = etree.Element(f"{{{ns}}}commit", nsmap={None: ns}, id=str(rec_id))
    fields = [("time", time), ("user", meta.user)]
    if meta.session_id is not None:
        fields.append(("session-id", str(meta.session_id)))
    fields += [("transport", meta.transport), ("comment", meta.comment),
               ("source", meta.source)]
    for name, value in fields:
        etree.SubElement(root, f"{{{ns}}}{name}").text = value
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True)[:-len(b"</commit>")]


@settings(max_examples=300, deadline=None)
@example(user="a&b<c>d\r", comment="\r\n\t]]> &amp;", sid=1)
@example(user="\x00", comment="\ud800", sid=None)
@given(user=st.text(max_size=12), comment=st.text(max_size=40),
       sid=st.one_of(st.none(), st.integers(0, 2**31)))
def test_record_metadata_is_written_as_lxml_would(user: str, comment: str,
                                                  sid: int | None) -> None:
    from hvd_netconf.store.history import render_record

    meta = CommitMeta(user=user, session_id=sid, transport="ssh", comment=comment)
    try:
        expected = _lxml_header(7, "2026-11-27T22:05:14.123Z", meta)
    except ValueError:  # characters XML cannot carry: refused the same way
        with pytest.raises(ValueError):
            render_record(7, "2026-11-27T22:05:14.123Z", meta, {})
        return
    data, _rec = render_record(7, "2026-11-27T22:05:14.123Z", meta, {})
    assert data == expected + b"\n</commit>\n"
