"""YANG Patch (RFC 8072) over HTTPS: several edits as one transaction, per-edit errors, all
or nothing."""

from __future__ import annotations

from lxml import etree
from restconf.conftest import Restconf

VMS = "/restconf/data/hvd-vm:vms"
PJ = {"Content-Type": "application/yang-patch+json"}
PATCH_NS = "urn:ietf:params:xml:ns:yang:ietf-yang-patch"


def patch(*edits: dict) -> dict:
    return {"ietf-yang-patch:yang-patch": {"patch-id": "p1", "edit": list(edits)}}


def vm(name: str, memory: int = 256) -> dict:
    return {"hvd-vm:vm": [{"name": name, "memory": memory}]}


def history_len(c) -> int:
    r = c.post("/restconf/operations/hvd-system:get-commit-history",
               json={"hvd-system:input": {"limit": 100}},
               headers={"Content-Type": "application/yang-data+json"})
    return len(r.json()["hvd-system:output"].get("commit", []))


def test_edits_commit_as_one_transaction(rc: Restconf) -> None:
    c = rc.client()
    r = c.patch(VMS, json=patch(
        {"edit-id": "a", "operation": "create", "target": "/vm=a", "value": vm("a")},
        {"edit-id": "b", "operation": "create", "target": "/vm=b", "value": vm("b")}),
        headers=PJ)
    assert r.status_code == 200, r.text
    assert r.json() == {"ietf-yang-patch:yang-patch-status": {"patch-id": "p1", "ok": [None]}}
    before = history_len(c)
    r = c.patch(VMS, json=patch(
        {"edit-id": "m", "operation": "merge", "target": "/vm=a/memory",
         "value": {"hvd-vm:memory": 1024}},
        {"edit-id": "d", "operation": "delete", "target": "/vm=b"},
        {"edit-id": "c", "operation": "replace", "target": "/vm=c", "value": vm("c", 64)}),
        headers=PJ)
    assert r.status_code == 200, r.text
    assert history_len(c) == before + 1  # one commit for the three edits
    names = {v["name"]: v.get("memory") for v in
             c.get(VMS, params={"content": "config"}).json()["hvd-vm:vms"]["vm"]}
    assert names == {"a": 1024, "c": 64}


def test_a_bad_edit_is_reported_by_its_id_and_nothing_is_applied(rc: Restconf) -> None:
    c = rc.client()
    r = c.patch(VMS, json=patch(
        {"edit-id": "good", "operation": "create", "target": "/vm=x", "value": vm("x")},
        {"edit-id": "bad", "operation": "create", "target": "/vm=y",
         "value": {"hvd-vm:vm": [{"name": "y", "memory": "lots"}]}},
        {"edit-id": "alsobad", "operation": "frobnicate", "target": "/vm=z"}),
        headers=PJ)
    assert r.status_code == 400
    status = r.json()["ietf-yang-patch:yang-patch-status"]
    assert "ok" not in status
    edits = {e["edit-id"]: e["errors"]["error"][0] for e in status["edit-status"]["edit"]}
    assert set(edits) == {"bad", "alsobad"}
    assert "JSON number" in edits["bad"]["error-message"]
    assert c.get(f"{VMS}/vm=x").status_code == 404  # the good edit was not applied either


def test_engine_errors_fail_the_whole_patch(rc: Restconf) -> None:
    c = rc.client()
    c.patch(VMS, json=patch({"edit-id": "a", "operation": "create", "target": "/vm=a",
                             "value": vm("a")}), headers=PJ)
    r = c.patch(VMS, json=patch(
        {"edit-id": "n", "operation": "create", "target": "/vm=new", "value": vm("new")},
        {"edit-id": "dup", "operation": "create", "target": "/vm=a", "value": vm("a")}),
        headers=PJ)
    assert r.status_code == 409
    status = r.json()["ietf-yang-patch:yang-patch-status"]
    assert status["errors"]["error"][0]["error-tag"] == "data-exists"
    assert c.get(f"{VMS}/vm=new").status_code == 404


def test_overlapping_edits_are_refused(rc: Restconf) -> None:
    c = rc.client()
    r = c.patch(VMS, json=patch(
        {"edit-id": "a", "operation": "create", "target": "/vm=a", "value": vm("a")},
        {"edit-id": "a2", "operation": "merge", "target": "/vm=a/memory",
         "value": {"hvd-vm:memory": 8}}), headers=PJ)
    assert r.status_code == 400
    edit = r.json()["ietf-yang-patch:yang-patch-status"]["edit-status"]["edit"][0]
    assert edit["edit-id"] == "a2" and "touches" in edit["errors"]["error"][0]["error-message"]


def test_xml_patch_with_insert(rc: Restconf) -> None:
    c = rc.client(accept="application/yang-data+xml")
    r = c.post(VMS, json={"hvd-vm:vm": [{"name": "w", "memory": 64,
                                         "disk": [{"name": "d0", "size": "1G"}]}]},
               headers={"Content-Type": "application/yang-data+json"})
    assert r.status_code == 201, r.text
    body = f"""<yang-patch xmlns="{PATCH_NS}"><patch-id>x1</patch-id>
      <edit><edit-id>i</edit-id><operation>insert</operation><target>/disk=d1</target>
        <where>before</where><point>/disk=d0</point>
        <value><disk xmlns="urn:hvd:vm"><name>d1</name><size>2G</size></disk></value></edit>
    </yang-patch>"""
    r = c.patch(f"{VMS}/vm=w", content=body.encode(),
                headers={"Content-Type": "application/yang-patch+xml"})
    assert r.status_code == 200, r.text
    assert etree.fromstring(r.content).find(f"{{{PATCH_NS}}}ok") is not None
    got = c.get(f"{VMS}/vm=w", headers={"Accept": "application/yang-data+json"},
                params={"content": "config"}).json()["hvd-vm:vm"][0]["disk"]
    assert [d["name"] for d in got] == ["d1", "d0"]
