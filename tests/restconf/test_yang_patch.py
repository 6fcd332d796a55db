"""YANG Patch (RFC 8072) over HTTPS: several edits as one transaction, per-edit errors, all
or nothing."""

from __future__ import annotations

from lxml import etree
from restconf.conftest import Restconf

from hvd_netconf.users import UserDB

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
    if r.status_code == 204:  # no commit yet: the output is empty
        return 0
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


def test_an_edit_failing_mid_patch_leaves_nothing(rc: Restconf) -> None:
    c = rc.client()
    c.patch(VMS, json=patch({"edit-id": "a", "operation": "create", "target": "/vm=a",
                             "value": vm("a")}), headers=PJ)
    before = history_len(c)
    r = c.patch(VMS, json=patch(
        {"edit-id": "n", "operation": "create", "target": "/vm=new", "value": vm("new")},
        {"edit-id": "m", "operation": "merge", "target": "/vm=a/memory",
         "value": {"hvd-vm:memory": 2048}},
        {"edit-id": "dup", "operation": "create", "target": "/vm=a", "value": vm("a")},
        {"edit-id": "after", "operation": "create", "target": "/vm=z", "value": vm("z")}),
        headers=PJ)
    assert r.status_code == 409, r.text
    status = r.json()["ietf-yang-patch:yang-patch-status"]
    assert "ok" not in status and "errors" not in status
    [edit] = status["edit-status"]["edit"]
    assert edit["edit-id"] == "dup"
    assert edit["errors"]["error"][0]["error-tag"] == "data-exists"
    assert "edit-id" not in edit["errors"]["error"][0].get("error-info", {})
    assert c.get(f"{VMS}/vm=new").status_code == 404
    assert c.get(f"{VMS}/vm=z").status_code == 404
    assert c.get(f"{VMS}/vm=a/memory").json() == {"hvd-vm:memory": 256}
    assert history_len(c) == before


def test_create_then_merge_the_same_vm_in_one_patch(rc: Restconf) -> None:
    c = rc.client()
    before = history_len(c)
    r = c.patch(VMS, json=patch(
        {"edit-id": "a", "operation": "create", "target": "/vm=a", "value": vm("a")},
        {"edit-id": "a2", "operation": "merge", "target": "/vm=a",
         "value": {"hvd-vm:vm": [{"name": "a", "memory": 1024, "cpu": 2}]}},
        {"edit-id": "a3", "operation": "merge", "target": "/vm=a/memory",
         "value": {"hvd-vm:memory": 2048}}), headers=PJ)
    assert r.status_code == 200, r.text
    got = c.get(f"{VMS}/vm=a", params={"content": "config"}).json()["hvd-vm:vm"][0]
    assert (got["memory"], got["cpu"]) == (2048, 2)
    assert history_len(c) == before + 1


def test_delete_a_leaf_of_an_entry_created_earlier_in_the_patch(rc: Restconf) -> None:
    c = rc.client()
    r = c.patch(VMS, json=patch(
        {"edit-id": "a", "operation": "create", "target": "/vm=a",
         "value": {"hvd-vm:vm": [{"name": "a", "memory": 128, "description": "tmp"}]}},
        {"edit-id": "d", "operation": "delete", "target": "/vm=a/description"}), headers=PJ)
    assert r.status_code == 200, r.text
    got = c.get(f"{VMS}/vm=a", params={"content": "config"}).json()["hvd-vm:vm"][0]
    assert got["memory"] == 128 and "description" not in got
    # in the other order the delete finds nothing to delete: reported against its edit
    r = c.patch(VMS, json=patch(
        {"edit-id": "d", "operation": "delete", "target": "/vm=b/description"},
        {"edit-id": "b", "operation": "create", "target": "/vm=b",
         "value": {"hvd-vm:vm": [{"name": "b", "description": "x"}]}}), headers=PJ)
    assert r.status_code == 409, r.text
    [edit] = r.json()["ietf-yang-patch:yang-patch-status"]["edit-status"]["edit"]
    assert edit["edit-id"] == "d" and edit["errors"]["error"][0]["error-tag"] == "data-missing"
    assert c.get(f"{VMS}/vm=b").status_code == 404


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


def test_nacm_denies_a_patch_to_a_user_who_may_not_write(rc: Restconf) -> None:
    UserDB.for_root(rc.hvd.root).add("guest", password="guest-pw", groups=["users"])
    guest = rc.client(auth=("guest", "guest-pw"))
    r = guest.patch(VMS, json=patch(
        {"edit-id": "a", "operation": "create", "target": "/vm=a", "value": vm("a")},
        {"edit-id": "a2", "operation": "merge", "target": "/vm=a/memory",
         "value": {"hvd-vm:memory": 512}}), headers=PJ)
    assert r.status_code == 403, r.text
    status = r.json()["ietf-yang-patch:yang-patch-status"]
    assert status["errors"]["error"][0]["error-tag"] == "access-denied"
    assert rc.client().get(f"{VMS}/vm=a").status_code == 404
