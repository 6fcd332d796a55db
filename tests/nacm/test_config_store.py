"""/nacm as the store's singleton entry ("nacm", "nacm"): file, history, candidate, start-up,
and the parts of hvd that show or check entries (compare, <get>)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from lxml import etree

from hvd_netconf.edit import edit_config
from hvd_netconf.edit.diff import diff_keys
from hvd_netconf.errors import InvalidValue
from hvd_netconf.keys import check_name, entry_file, key_of
from hvd_netconf.namespaces import BASE, NACM
from hvd_netconf.schema import load_schema
from hvd_netconf.store import CommitMeta, Datastores, StoreError

KEY = ("nacm", "nacm")


def rules(action: str = "permit", group: str = "ops") -> etree._Element:
    return etree.fromstring(
        f'<nacm xmlns="{NACM}"><rule-list><name>l</name><group>{group}</group><rule>'
        f"<name>r</name><rpc-name>start-vm</rpc-name><action>{action}</action></rule>"
        "</rule-list></nacm>")


@pytest.fixture
def root(tmp_path: Path) -> str:
    return str(tmp_path / "hv")


def open_store(root: str) -> Datastores:
    return Datastores(root, load_schema(), fsync=False)


def test_key_file_and_names(root: str) -> None:
    assert key_of(rules()) == KEY
    assert entry_file(root, KEY) == f"{root}/config/nacm.xml"
    check_name(KEY)
    with pytest.raises(InvalidValue):
        check_name(("nacm", "other"))


def test_commit_file_history_and_restart(root: str) -> None:
    ds = open_store(root)
    first = ds.commit({KEY: rules()}, CommitMeta(user="a"))
    data = Path(entry_file(root, KEY)).read_bytes()
    assert data.startswith(b"<?xml") and b'<nacm xmlns="' + NACM.encode() in data
    second = ds.write_running({KEY: rules(group="dev")}, CommitMeta(source="edit-running"))
    again = open_store(root)
    assert again.running.get(KEY).findtext(f".//{{{NACM}}}group") == "dev"
    assert [c.key for c in again.history.list(0, 5)[0].changes] == [KEY]
    at_first = again.history.config_at(first)
    assert at_first.findtext(f".//{{{NACM}}}group") == "ops"
    assert again.history.revert_changes(first)[KEY].findtext(f".//{{{NACM}}}group") == "ops"
    assert second == first + 1
    again.commit({KEY: None}, CommitMeta())
    assert not Path(entry_file(root, KEY)).exists()
    assert open_store(root).running.get(KEY) is None


def test_candidate_edit_is_saved_and_discarded(root: str) -> None:
    ds = open_store(root)
    ds.candidate.set_entry(KEY, rules())
    ds.mark_dirty([KEY])
    ds.save_candidate()
    again = open_store(root)
    assert again.candidate_dirty and again.candidate.get(KEY) is not None
    assert again.running.get(KEY) is None
    again.discard_candidate()
    assert again.candidate.get(KEY) is None and open_store(root).candidate.get(KEY) is None


def test_stored_file_is_checked_at_start(root: str) -> None:
    ds = open_store(root)
    ds.commit({KEY: rules()}, CommitMeta())
    ds.close()  # a clean stop, then hand edits
    file = Path(entry_file(root, KEY))
    for bad, needle in ((etree.tostring(rules(action="allow")), "allow"),
                        (b"<nacm xmlns='urn:x'/>", "expected <nacm"),
                        (b"<nacm", "")):
        file.write_bytes(bad)
        with pytest.raises(StoreError) as info:
            open_store(root)
        assert info.value.file == str(file) and needle in info.value.message
    file.unlink()
    (file.parent / "stray.xml").write_bytes(b"<x/>")
    with pytest.raises(StoreError) as info:
        open_store(root)
    assert info.value.file == str(file.parent / "stray.xml")


def test_edit_engine_touches_the_one_entry_and_empties_nothing() -> None:
    schema = load_schema()
    root = etree.Element(f"{{{BASE}}}config", nsmap={None: BASE})
    root.append(rules())
    cfg = etree.fromstring(
        f'<config xmlns="{BASE}"><nacm xmlns="{NACM}"><rule-list xmlns:nc="{BASE}" '
        'nc:operation="delete"><name>l</name></rule-list></nacm></config>')
    before = copy.deepcopy(root)
    res = edit_config(schema, root, cfg)
    assert not res.errors and res.touched == {KEY}
    assert len(root) == 0  # an emptied /nacm is no configuration, not an empty container
    res.undo()
    assert etree.tostring(root, method="c14n") == etree.tostring(before, method="c14n")


def test_apply_ignores_kinds_without_host_effect() -> None:
    assert diff_keys([KEY], lambda k: None, lambda k: rules()) == []
    with pytest.raises(ValueError):
        diff_keys([("bogus", "x")], lambda k: None, lambda k: None)
