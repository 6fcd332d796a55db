"""NMDA datastore resources (RFC 8527): stage in candidate, commit, read operational."""

from __future__ import annotations

from restconf.conftest import JSON, Restconf

DS = "/restconf/ds/ietf-datastores"
J = {"Content-Type": JSON}


def test_stage_in_candidate_then_commit(rc: Restconf) -> None:
    c = rc.client()
    before = c.get(f"{DS}:candidate").headers["etag"]
    r = c.post(f"{DS}:candidate/hvd-vm:vms", json={"hvd-vm:vm": [{"name": "staged",
                                                                  "memory": 256}]}, headers=J)
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"{DS}:candidate/hvd-vm:vms/vm=staged"
    assert r.headers["etag"] != before
    assert c.get(f"{DS}:candidate/hvd-vm:vms/vm=staged/memory").json() == {
        "hvd-vm:memory": 256}
    assert c.get(f"{DS}:running/hvd-vm:vms/vm=staged").status_code == 404
    assert c.get("/restconf/data/hvd-vm:vms/vm=staged").status_code == 404
    ops = c.get("/restconf/operations").json()["ietf-restconf:operations"]
    assert "ietf-netconf:commit" in ops and "ietf-netconf:lock" not in ops
    r = c.post("/restconf/operations/ietf-netconf:commit", headers=J)
    assert r.status_code == 204, r.text
    assert c.get(f"{DS}:running/hvd-vm:vms/vm=staged/memory").json() == {
        "hvd-vm:memory": 256}
    state = c.get(f"{DS}:operational/hvd-vm:vms/vm=staged/state/status").json()
    assert state == {"hvd-vm:status": "stopped"}


def test_discard_changes_and_candidate_lock(rc: Restconf) -> None:
    c = rc.client()
    r = c.post(f"{DS}:candidate/hvd-vm:vms", json={"hvd-vm:vm": [{"name": "tmp",
                                                                  "memory": 64}]}, headers=J)
    assert r.status_code == 201
    assert c.post("/restconf/operations/ietf-netconf:discard-changes",
                  headers=J).status_code == 204
    assert c.get(f"{DS}:candidate/hvd-vm:vms/vm=tmp").status_code == 404
    m = rc.hvd.connect_uds()
    m.lock("candidate")
    r = c.post(f"{DS}:candidate/hvd-vm:vms", json={"hvd-vm:vm": [{"name": "tmp",
                                                                  "memory": 64}]}, headers=J)
    assert r.status_code == 409
    assert r.json()["ietf-restconf:errors"]["error"][0]["error-tag"] == "lock-denied"
    m.unlock("candidate")


def test_operational_is_read_only_and_unknown_datastores_404(rc: Restconf) -> None:
    c = rc.client()
    r = c.put(f"{DS}:operational/hvd-vm:vms", json={"hvd-vm:vms": {}}, headers=J)
    assert r.status_code == 405
    assert c.options(f"{DS}:operational").headers["allow"] == "GET, HEAD, OPTIONS"
    assert c.get(f"{DS}:intended").status_code == 404
    assert c.get(f"{DS}:running", params={"content": "config"}).status_code == 400


def test_yang_patch_in_candidate_applies_in_order_and_commits_nothing(rc: Restconf) -> None:
    c = rc.client()
    patch = {"ietf-yang-patch:yang-patch": {"patch-id": "stage", "edit": [
        {"edit-id": "1", "operation": "create", "target": "/vm=p",
         "value": {"hvd-vm:vm": [{"name": "p", "memory": 128}]}},
        {"edit-id": "2", "operation": "merge", "target": "/vm=p/memory",
         "value": {"hvd-vm:memory": 640}}]}}
    r = c.patch(f"{DS}:candidate/hvd-vm:vms", json=patch,
                headers={"Content-Type": "application/yang-patch+json"})
    assert r.status_code == 200, r.text
    assert c.get(f"{DS}:candidate/hvd-vm:vms/vm=p/memory").json() == {"hvd-vm:memory": 640}
    assert c.get(f"{DS}:running/hvd-vm:vms/vm=p").status_code == 404
    assert c.post("/restconf/operations/ietf-netconf:commit", headers=J).status_code == 204
    assert c.get(f"{DS}:running/hvd-vm:vms/vm=p/memory").json() == {"hvd-vm:memory": 640}
