"""The OpenAPI description generated from the YANG: a valid OpenAPI 3.0 document (checked by
openapi-spec-validator) whose schemas accept what the server really answers."""

from __future__ import annotations

from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate
from restconf.conftest import JSON, Restconf

J = {"Content-Type": JSON}


def test_openapi_is_valid_and_matches_real_replies(rc: Restconf) -> None:
    c = rc.client()
    r = c.get("/restconf/openapi.json")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    spec = r.json()
    validate(spec)
    vm_path = "/data/hvd-vm:vms/vm={vm-name}"
    assert set(spec["paths"][vm_path]) >= {"get", "put", "patch", "delete", "parameters"}
    assert "post" in spec["paths"]["/operations/hvd-vm:start-vm"]
    r = c.post("/restconf/data/hvd-vm:vms", headers=J, json={"hvd-vm:vm": [
        {"name": "web1", "cpu": 2, "memory": 512, "utc-clock": True,
         "disk": [{"name": "d0", "size": "8G"}]}]})
    assert r.status_code == 201, r.text
    reply = c.get("/restconf/data/hvd-vm:vms/vm=web1").json()
    get = spec["paths"][vm_path]["get"]["responses"]["200"]["content"][JSON]["schema"]
    OAS30Validator(get).validate(reply)
    assert not OAS30Validator(get).is_valid({"hvd-vm:vm": [{"name": "x", "cpu": "2"}]})
    history = c.post("/restconf/operations/hvd-system:get-commit-history", headers=J,
                     json={"hvd-system:input": {}}).json()
    out = spec["paths"]["/operations/hvd-system:get-commit-history"]["post"]["responses"]
    OAS30Validator(out["200"]["content"][JSON]["schema"]).validate(history)
