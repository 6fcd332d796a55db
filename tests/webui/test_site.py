"""The web interface's HTTP side, as a browser meets it: the page and its headers, login to a
session cookie, CSRF, forged requests, /ui/schema.json with the user's permissions."""

from __future__ import annotations

import time

import httpx
from restconf.conftest import Restconf
from support.server import PASSWORD, USER
from webui.conftest import READER, READER_PASSWORD

from hvd_netconf.webui.sessions import COOKIE, CSRF_HEADER

J = {"Content-Type": "application/yang-data+json"}
VMS = "/restconf/data/hvd-vm:vms"
START = "/restconf/operations/hvd-vm:start-vm"


def login(rc: Restconf, user: str = USER, password: str = PASSWORD) -> tuple[httpx.Client, str]:
    c = rc.client(auth=None)
    r = c.post("/ui/login", json={"user": user, "password": password})
    assert r.status_code == 200, r.text
    return c, r.json()["csrf"]


def create_vm(c: httpx.Client, csrf: str, name: str = "web1") -> None:
    r = c.post(VMS, json={"hvd-vm:vm": [{"name": name, "memory": 64}]},
               headers={**J, CSRF_HEADER: csrf})
    assert r.status_code == 201, r.text


def test_page_is_served_with_a_strict_policy(ui: Restconf) -> None:
    c = ui.client(auth=None)
    r = c.get("/")
    assert r.status_code == 200 and "<title>hvd</title>" in r.text
    csp = r.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "connect-src 'self';" in csp
    assert "<script>" not in r.text  # scripts are files, never inline
    js = c.get("/ui/static/app.js")
    assert js.headers["content-type"].startswith("text/javascript")
    again = c.get("/ui/static/app.js", headers={"If-None-Match": js.headers["etag"]})
    assert again.status_code == 304
    assert c.get("/ui/static/nothing.js").status_code == 404


def test_login_gives_a_host_only_strict_cookie(ui: Restconf) -> None:
    c = ui.client(auth=None)
    assert c.get("/ui/session").json() == {"user": None}
    bad = c.post("/ui/login", json={"user": USER, "password": "wrong"})
    assert bad.status_code == 401 and bad.json()["error"] == "wrong user name or password"
    r = c.post("/ui/login", json={"user": USER, "password": PASSWORD})
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    for attr in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
        assert attr in cookie
    assert "Domain" not in cookie
    assert c.get("/ui/session").json()["user"] == USER
    assert c.get(VMS).status_code == 200  # RESTCONF reads with the cookie alone


def test_a_change_needs_the_csrf_header_and_logout_ends_the_session(ui: Restconf) -> None:
    c, csrf = login(ui)
    r = c.post(VMS, json={"hvd-vm:vm": [{"name": "web1", "memory": 64}]}, headers=J)
    assert r.status_code == 403 and CSRF_HEADER in r.text
    r = c.post(VMS, json={"hvd-vm:vm": [{"name": "web1", "memory": 64}]},
               headers={**J, CSRF_HEADER: "not-the-token"})
    assert r.status_code == 403
    assert c.get(f"{VMS}/vm=web1").status_code == 404  # nothing was made
    create_vm(c, csrf)
    assert c.post("/ui/logout").status_code == 403  # logout is a change too
    assert c.post("/ui/logout", headers={CSRF_HEADER: csrf}).status_code == 200
    assert c.get(VMS).status_code == 401


def test_forged_cross_site_requests_are_refused_with_basic_too(ui: Restconf) -> None:
    c = ui.client()  # Basic credentials, as a browser that remembers them sends
    create_vm_basic = c.post(VMS, json={"hvd-vm:vm": [{"name": "web1", "memory": 64}]},
                             headers=J)
    assert create_vm_basic.status_code == 201
    # a form of another site: body-less POST, form type; and a no-cors fetch from elsewhere
    r = c.post(START, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415
    r = c.post(START, headers={"Origin": "https://evil.example", "Sec-Fetch-Site":
                               "cross-site"})
    assert r.status_code == 403
    r = c.post("/restconf/operations/ietf-netconf:discard-changes",
               headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    assert c.get(f"{VMS}/vm=web1/state").json()["hvd-vm:state"]["status"] == "stopped"
    cross = ui.client(auth=None).post(
        "/ui/login", json={"user": USER, "password": PASSWORD},
        headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403


def test_schema_says_what_the_user_may_do(ui: Restconf) -> None:
    admin, _ = login(ui)
    reader, _ = login(ui, READER, READER_PASSWORD)
    a = admin.get("/ui/schema.json").json()
    vm = a["lists"]["vm"]
    assert vm["may"] == {"create": True, "update": True, "delete": True}
    memory = next(n for n in vm["nodes"] if n["name"] == "memory")
    assert memory["default"] == "512" and memory["units"] == "megabytes"
    assert memory["type"] == {"base": "uint32", "ranges": ["64..1048576"]}
    assert memory["description"] == "Guest memory (bhyve -m)."
    assert a["rpcs"]["hvd-vm:start-vm"]["may"] is True
    r = reader.get("/ui/schema.json").json()
    assert r["lists"]["vm"]["may"] == {"create": False, "update": False, "delete": False}
    assert r["rpcs"]["hvd-vm:start-vm"]["may"] is False
    assert r["rpcs"]["hvd-system:get-commit-history"]["may"] is True


def test_a_stream_whose_reader_left_ends_without_waiting_for_its_keep_alive(
        ui: Restconf) -> None:
    """A page left gives its event stream's session (and, in the browser, its connection)
    back within a few seconds, not at the next keep-alive."""
    c, _ = login(ui)
    server = ui.hvd.server
    before = len(server.sessions.all())
    with c.stream("GET", "/restconf/streams/NETCONF/json",
                  headers={"Accept": "text/event-stream"}) as r:
        assert r.status_code == 200 and r.headers["content-type"] == "text/event-stream"
        deadline = time.monotonic() + 10
        while len(server.sessions.all()) == before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(server.sessions.all()) == before + 1
    c.close()  # the reader goes
    deadline = time.monotonic() + 5  # well under the 15 s keep-alive
    while len(server.sessions.all()) > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(server.sessions.all()) == before
