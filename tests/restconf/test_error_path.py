"""error-path over real HTTPS: the RFC 7951 instance-identifier in JSON bodies (module names,
qualified only where the module changes), NETCONF's prefixed XPath in XML bodies with its
prefixes declared on the element."""

from __future__ import annotations

from lxml import etree
from restconf.conftest import JSON, XML, Restconf

from hvd_netconf.restconf.errors import json_path

VMS = "/restconf/data/hvd-vm:vms"
RC = "urn:ietf:params:xml:ns:yang:ietf-restconf"


def _create_a(rc: Restconf) -> None:
    r = rc.client().post(VMS, json={"hvd-vm:vm": [{"name": "a", "memory": 128}]},
                         headers={"Content-Type": JSON})
    assert r.status_code == 201, r.text


def test_json_error_path_is_an_instance_identifier(rc: Restconf) -> None:
    _create_a(rc)
    r = rc.client().patch(f"{VMS}/vm=a/memory", json={"hvd-vm:memory": 1},
                          headers={"Content-Type": JSON})
    assert r.status_code == 400, r.text
    error = r.json()["ietf-restconf:errors"]["error"][0]
    assert error["error-path"] == "/hvd-vm:vms/vm[name='a']/memory"


def test_xml_error_path_keeps_prefixes_and_declares_them(rc: Restconf) -> None:
    _create_a(rc)
    body = b'<memory xmlns="urn:hvd:vm">1</memory>'
    r = rc.client(accept=XML).patch(f"{VMS}/vm=a/memory", content=body,
                                    headers={"Content-Type": XML})
    assert r.status_code == 400, r.text
    path = etree.fromstring(r.content).find(f"{{{RC}}}error/{{{RC}}}error-path")
    assert path is not None
    assert path.text == "/hvd-vm:vms/hvd-vm:vm[hvd-vm:name='a']/hvd-vm:memory"
    assert path.nsmap["hvd-vm"] == "urn:hvd:vm"


def test_yang_patch_edit_errors_use_the_json_form(rc: Restconf) -> None:
    _create_a(rc)
    patch = {"ietf-yang-patch:yang-patch": {"patch-id": "p", "edit": [
        {"edit-id": "e1", "operation": "merge", "target": "/vm=a/memory",
         "value": {"hvd-vm:memory": 1}}]}}
    r = rc.client().patch(VMS, json=patch,
                          headers={"Content-Type": "application/yang-patch+json"})
    assert r.status_code == 400, r.text
    [edit] = r.json()["ietf-yang-patch:yang-patch-status"]["edit-status"]["edit"]
    assert edit["edit-id"] == "e1"
    assert edit["errors"]["error"][0]["error-path"] == "/hvd-vm:vms/vm[name='a']/memory"


def test_module_changes_keep_their_qualifier() -> None:
    prefixes = {"hvd-vm": "urn:hvd:vm", "x": "urn:x"}
    modules = {"urn:hvd:vm": "hvd-vm", "urn:x": "ext"}
    path = ("/hvd-vm:vms/hvd-vm:vm[hvd-vm:name='a:b/c'][hvd-vm:n=\"it's\"]/x:aug/x:leaf"
            "/hvd-vm:back/q:unknown")
    assert json_path(path, prefixes, modules) == \
        "/hvd-vm:vms/vm[name='a:b/c'][n=\"it's\"]/ext:aug/leaf/hvd-vm:back/q:unknown"
