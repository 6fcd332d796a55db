"""RESTCONF data and operations resources over real HTTPS (httpx) against a live hvd (sim)."""

from __future__ import annotations

import contextlib
import io

from hv_cli.main import main as hv_main
from lxml import etree
from restconf.conftest import JSON, XML, Restconf
from support.server import on_disk

from hvd_netconf.users import UserDB

VMS = "/restconf/data/hvd-vm:vms"
WEB1 = f"{VMS}/vm=web1"
J = {"Content-Type": JSON}
X = {"Content-Type": XML}
NS = {"vm": "urn:hvd:vm", "rc": "urn:ietf:params:xml:ns:yang:ietf-restconf"}


def create_web1(c, memory: int = 512) -> None:
    r = c.post(VMS, json={"hvd-vm:vm": [{"name": "web1", "memory": memory}]}, headers=J)
    assert r.status_code == 201, r.text


def error_of(r) -> dict:
    return r.json()["ietf-restconf:errors"]["error"][0]


def test_host_meta_root_and_library_version(rc: Restconf) -> None:
    c = rc.client()
    r = c.get("/.well-known/host-meta")
    assert r.status_code == 200
    assert etree.fromstring(r.content).find(
        "{http://docs.oasis-open.org/ns/xri/xrd-1.0}Link").get("href") == "/restconf"
    assert c.get("/restconf").json() == {"ietf-restconf:restconf": {
        "data": {}, "operations": {}, "yang-library-version": "2019-01-04"}}
    r = c.get("/restconf/yang-library-version", headers={"Accept": XML})
    assert r.headers["content-type"] == XML
    assert etree.fromstring(r.content).text == "2019-01-04"


def test_operations_list_hides_netconf_base(rc: Restconf) -> None:
    ops = rc.client().get("/restconf/operations").json()["ietf-restconf:operations"]
    assert ops["hvd-vm:start-vm"] == [None]
    assert "ietf-netconf:edit-config" not in ops and "ietf-netconf:lock" not in ops


def test_create_read_replace_merge_delete_json(rc: Restconf) -> None:
    c = rc.client()
    r = c.post(VMS, json={"hvd-vm:vm": [{"name": "web1", "memory": 512, "cpu": 2}]},
               headers=J)
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"{WEB1}"
    vm = c.get(WEB1, params={"content": "config"}).json()
    assert vm == {"hvd-vm:vm": [{"name": "web1", "cpu": 2, "memory": 512}]}
    r = c.post(VMS, json={"hvd-vm:vm": [{"name": "web1", "memory": 512}]}, headers=J)
    assert r.status_code == 409 and error_of(r)["error-tag"] == "data-exists"
    r = c.patch(f"{WEB1}/memory", json={"hvd-vm:memory": 2048}, headers=J)
    assert r.status_code == 204, r.text
    assert c.get(f"{WEB1}/memory").json() == {"hvd-vm:memory": 2048}
    r = c.put(WEB1, json={"hvd-vm:vm": [{"name": "web1", "memory": 1024}]}, headers=J)
    assert r.status_code == 204, r.text
    assert c.get(WEB1, params={"content": "config"}).json() == {
        "hvd-vm:vm": [{"name": "web1", "memory": 1024}]}  # cpu gone: replaced
    r = c.put(f"{VMS}/vm=web2", json={"hvd-vm:vm": [{"name": "web2", "memory": 256}]},
              headers=J)
    assert r.status_code == 201, r.text
    assert c.delete(WEB1).status_code == 204
    r = c.get(WEB1)
    assert r.status_code == 404 and error_of(r)["error-tag"] == "invalid-value"
    assert c.delete(WEB1).status_code == 404
    assert c.patch(f"{WEB1}", json={"hvd-vm:vm": [{"name": "web1"}]},
                   headers=J).status_code == 404


def test_xml_encoding_both_ways(rc: Restconf) -> None:
    c = rc.client(accept=XML)
    body = b'<vm xmlns="urn:hvd:vm"><name>db</name><memory>768</memory></vm>'
    r = c.post(VMS, content=body, headers=X)
    assert r.status_code == 201, r.text
    r = c.get(f"{VMS}/vm=db/memory")
    assert r.headers["content-type"] == XML
    assert etree.fromstring(r.content).tag == "{urn:hvd:vm}memory"
    assert etree.fromstring(r.content).text == "768"
    r = c.put(f"{VMS}/vm=db/memory", content=b'<memory xmlns="urn:hvd:vm">1024</memory>',
              headers=X)
    assert r.status_code == 204, r.text
    r = c.put(f"{VMS}/vm=db/memory", content=b'<memory xmlns="urn:hvd:vm">lots</memory>',
              headers=X)
    assert r.status_code == 400
    err = etree.fromstring(r.content)
    assert err.tag == "{urn:ietf:params:xml:ns:yang:ietf-restconf}errors"
    assert err.findtext("rc:error/rc:error-tag", namespaces=NS) == "invalid-value"
    data = etree.fromstring(c.get("/restconf/data", params={"content": "config"}).content)
    assert data.tag == "{urn:ietf:params:xml:ns:yang:ietf-restconf}data"
    assert data.findtext("vm:vms/vm:vm/vm:memory", namespaces=NS) == "1024"


def test_head_and_options(rc: Restconf) -> None:
    c = rc.client()
    create_web1(c)
    get = c.get(WEB1)
    head = c.head(WEB1)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == get.headers["etag"]
    assert head.headers["content-length"] == get.headers["content-length"]
    r = c.options(WEB1)
    assert r.status_code == 200
    assert set(r.headers["allow"].split(", ")) == {
        "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"}
    assert JSON in r.headers["accept-patch"]
    assert c.options("/restconf/operations/hvd-vm:start-vm").headers["allow"] == "OPTIONS, POST"
    r = c.delete("/restconf/data")
    assert r.status_code == 405


def test_datastore_put_patch(rc: Restconf) -> None:
    c = rc.client()
    create_web1(c)
    r = c.patch("/restconf/data", json={"ietf-restconf:data": {
        "hvd-vm:vms": {"vm": [{"name": "app", "memory": 128}]}}}, headers=J)
    assert r.status_code == 204, r.text
    names = [v["name"] for v in c.get(VMS).json()["hvd-vm:vms"]["vm"]]
    assert sorted(names) == ["app", "web1"]


def test_errors_and_status_codes(rc: Restconf) -> None:
    c = rc.client()
    r = c.get("/restconf/data/hvd-vm:nothing")
    assert r.status_code == 400 and error_of(r)["error-tag"] == "unknown-element"
    r = c.get("/restconf/data/vms")
    assert r.status_code == 400 and "module" in error_of(r)["error-message"]
    assert c.get(VMS, headers={"Accept": "text/html"}).status_code == 406
    r = c.post(VMS, content=b"name=web1", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    r = c.post(VMS, json={"hvd-vm:vm": [{"name": "web1", "memory": "512"}]}, headers=J)
    assert r.status_code == 400 and "JSON number" in error_of(r)["error-message"]
    r = c.get(VMS, params={"depth": "0"})
    assert r.status_code == 400
    r = c.get(VMS, params={"bogus": "1"})
    assert r.status_code == 400 and "bogus" in error_of(r)["error-message"]
    r = c.post(VMS, content=b'{"hvd-vm:vm": [{"name": "a"}], "hvd-vm:vm": []}', headers=J)
    assert r.status_code == 400 and "twice" in error_of(r)["error-message"]
    assert c.get("/restconf/nowhere").status_code == 404
    assert c.get("/elsewhere").status_code == 404


def test_query_content_and_depth(rc: Restconf) -> None:
    c = rc.client()
    create_web1(c)
    state = c.get(WEB1, params={"content": "nonconfig"}).json()["hvd-vm:vm"][0]
    assert set(state) == {"name", "state"}  # the key names the entry; no memory
    config = c.get(WEB1, params={"content": "config"}).json()["hvd-vm:vm"][0]
    assert "state" not in config
    shallow = c.get(VMS, params={"depth": "1"}).json()
    assert shallow == {"hvd-vm:vms": {}}
    two = c.get(VMS, params={"depth": "3", "content": "config"}).json()
    assert two == {"hvd-vm:vms": {"vm": [{"name": "web1", "memory": 512}]}}


def test_lock_held_over_netconf_is_409(rc: Restconf) -> None:
    c = rc.client()
    m = rc.hvd.connect_uds()
    m.lock("running")
    r = c.post(VMS, json={"hvd-vm:vm": [{"name": "web1", "memory": 512}]}, headers=J)
    assert r.status_code == 409 and error_of(r)["error-tag"] == "lock-denied"
    m.unlock("running")
    create_web1(c)


def test_etag_preconditions_between_two_clients(rc: Restconf) -> None:
    a, b = rc.client(), rc.client()
    create_web1(a)
    tag = a.get(WEB1).headers["etag"]
    assert b.get(WEB1).headers["etag"] == tag
    r = a.patch(f"{WEB1}/memory", json={"hvd-vm:memory": 1024},
                headers={**J, "If-Match": tag})
    assert r.status_code == 204
    assert r.headers["etag"] != tag
    r = b.patch(f"{WEB1}/memory", json={"hvd-vm:memory": 4096},
                headers={**J, "If-Match": tag})
    assert r.status_code == 412
    assert b.get(f"{WEB1}/memory").json() == {"hvd-vm:memory": 1024}  # a's edit kept
    new = b.get(WEB1)
    assert new.headers["cache-control"] == "no-cache"  # a browser's cache asks each time
    config = f"{WEB1}?content=config"
    assert b.get(config, headers={"If-None-Match": new.headers["etag"]}).status_code == 304
    since = new.headers["last-modified"]
    assert b.get(config, headers={"If-Modified-Since": since}).status_code == 304
    # with state data, the configuration's tag says nothing of the VM's state: no 304
    assert b.get(WEB1, headers={"If-None-Match": new.headers["etag"]}).status_code == 200
    assert b.get(WEB1, headers={"If-Modified-Since": since}).status_code == 200
    r = b.put(WEB1, json={"hvd-vm:vm": [{"name": "web1", "memory": 64}]},
              headers={**J, "If-None-Match": "*"})
    assert r.status_code == 412  # exists already
    r = b.patch(f"{WEB1}/memory", json={"hvd-vm:memory": 4096},
                headers={**J, "If-Match": new.headers["etag"]})
    assert r.status_code == 204


def test_nacm_non_admin_may_read_not_write(rc: Restconf) -> None:
    UserDB.for_root(rc.hvd.root).add("guest", password="guest-pw", groups=["users"])
    admin, guest = rc.client(), rc.client(auth=("guest", "guest-pw"))
    create_web1(admin)
    assert guest.get(WEB1).status_code == 200
    r = guest.patch(f"{WEB1}/memory", json={"hvd-vm:memory": 1024}, headers=J)
    assert r.status_code == 403 and error_of(r)["error-tag"] == "access-denied"
    r = guest.post("/restconf/operations/hvd-vm:start-vm",
                   json={"hvd-vm:input": {"name": "web1"}}, headers=J)
    assert r.status_code == 403


def test_authentication(rc: Restconf) -> None:
    r = rc.client(auth=None).get(VMS)
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Basic")
    bad = rc.client(auth=("tester", "wrong"))
    listener = rc.hvd.running.restconf
    assert listener is not None
    before = listener.web.auth.failed_total
    for _ in range(3):
        assert bad.get(VMS).status_code == 401
    assert listener.web.auth.failed_total == before + 3
    assert listener.web.auth.failed("192.0.2.1") == 0.05
    assert listener.web.auth.failed("192.0.2.1") == 0.1  # doubles per failure
    assert rc.client().get(VMS).status_code == 200


def test_a_remembered_login_ends_with_a_password_change(rc: Restconf) -> None:
    users = UserDB.for_root(rc.hvd.root)
    users.add("walker", password="first-pw", groups=["wheel"])
    c = rc.client(auth=("walker", "first-pw"))
    assert c.get(VMS).status_code == 200
    assert c.get(VMS).status_code == 200  # remembered: no scrypt this time
    users.add("walker", password="second-pw", groups=["wheel"])
    assert c.get(VMS).status_code == 401
    assert rc.client(auth=("walker", "second-pw")).get(VMS).status_code == 200
    users.delete("walker")
    assert rc.client(auth=("walker", "second-pw")).get(VMS).status_code == 401


def test_restconf_and_netconf_see_each_others_edits(rc: Restconf) -> None:
    c = rc.client()
    create_web1(c, memory=640)
    m = rc.hvd.connect_uds()
    reply = m.get_config("running", filter=("subtree", '<vms xmlns="urn:hvd:vm"/>'))
    assert reply.data_ele.xpath("//vm:vm/vm:memory/text()", namespaces=NS) == ["640"]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = hv_main(["--socket", str(rc.hvd.socket_path), "list", "vm"])
    assert status == 0 and "web1" in out.getvalue()
    m.edit_config(target="running", config=(
        '<config><vms xmlns="urn:hvd:vm"><vm><name>from-nc</name><memory>256</memory>'
        '</vm></vms></config>'))
    on_disk(m)
    assert c.get(f"{VMS}/vm=from-nc/memory").json() == {"hvd-vm:memory": 256}


def test_invoke_rpc_start_vm_and_history(rc: Restconf) -> None:
    c = rc.client()
    create_web1(c)
    r = c.post("/restconf/operations/hvd-vm:start-vm", json={"hvd-vm:input": {"name": "web1"}},
               headers=J)
    assert r.status_code == 204, r.text
    status = c.get(f"{WEB1}/state/status").json()
    assert status["hvd-vm:status"] in ("starting", "running")
    r = c.post("/restconf/operations/hvd-system:get-commit-history", headers=J,
               json={"hvd-system:input": {}})
    assert r.status_code == 200, r.text
    commits = r.json()["hvd-system:output"]["commit"]
    assert commits[0]["transport"] == "restconf-https" and commits[0]["user"] == "tester"
    assert isinstance(commits[0]["id"], int)  # a uint32: a JSON number (RFC 7951 §6.1)
    r = c.post("/restconf/operations/hvd-vm:start-vm", json={"hvd-vm:input": {"nme": "x"}},
               headers=J)
    assert r.status_code == 400
    assert c.post("/restconf/operations/ietf-netconf:lock", headers=J).status_code == 404


def test_insert_and_point_on_an_ordered_by_user_list(rc: Restconf) -> None:
    c = rc.client()
    r = c.post(VMS, json={"hvd-vm:vm": [{"name": "web1", "memory": 512,
                                         "disk": [{"name": "d0", "size": "1G"}]}]}, headers=J)
    assert r.status_code == 201, r.text
    disks = f"{WEB1}"
    r = c.post(disks, params={"insert": "first"},
               json={"hvd-vm:disk": [{"name": "d1", "size": "1G"}]}, headers=J)
    assert r.status_code == 201, r.text
    r = c.post(disks, params={"insert": "after", "point": "/hvd-vm:vms/vm=web1/disk=d1"},
               json={"hvd-vm:disk": [{"name": "d2", "size": "1G"}]}, headers=J)
    assert r.status_code == 201, r.text
    got = c.get(WEB1, params={"content": "config"}).json()["hvd-vm:vm"][0]["disk"]
    assert [d["name"] for d in got] == ["d1", "d2", "d0"]
    r = c.post(disks, params={"insert": "before"},
               json={"hvd-vm:disk": [{"name": "d3", "size": "1G"}]}, headers=J)
    assert r.status_code == 400 and "point" in error_of(r)["error-message"]
    r = c.post(VMS, params={"insert": "first"},
               json={"hvd-vm:vm": [{"name": "web2", "memory": 512}]}, headers=J)
    assert r.status_code == 400 and error_of(r)["error-tag"] == "bad-attribute"


def test_query_fields(rc: Restconf) -> None:
    c = rc.client()
    r = c.post(VMS, json={"hvd-vm:vm": [{"name": "web1", "memory": 512, "cpu": 2,
                                         "disk": [{"name": "d0", "size": "1G"}]}]}, headers=J)
    assert r.status_code == 201, r.text
    got = c.get(WEB1, params={"fields": "memory;disk(size);state/status"}).json()
    assert got == {"hvd-vm:vm": [{"name": "web1", "memory": 512,
                                  "disk": [{"name": "d0", "size": "1G"}],
                                  "state": {"status": "stopped"}}]}
    top = c.get("/restconf/data", params={"fields": "hvd-vm:vms/vm(cpu)"}).json()
    assert top == {"ietf-restconf:data": {"hvd-vm:vms": {"vm": [{"name": "web1", "cpu": 2}]}}}
    for bad in ("memory(", "a;;b", "(x)"):
        assert c.get(WEB1, params={"fields": bad}).status_code == 400
