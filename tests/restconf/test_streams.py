"""Event streams as Server-Sent Events over HTTPS: live events in JSON and XML, filters,
replay with a stop-time, and the reader as a session of the server."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator

import httpx
from lxml import etree
from restconf.conftest import JSON, Restconf
from support.waiting import wait_for

STREAM = "/restconf/streams/NETCONF"
J = {"Content-Type": JSON}
NOTIF = "urn:ietf:params:xml:ns:netconf:notification:1.0"


def events(lines: Iterator[str]) -> Iterator[str]:
    """Each SSE event's data lines joined, comments skipped."""
    data: list[str] = []
    for line in lines:
        if line.startswith("data: "):
            data.append(line[6:])
        elif line == "" and data:
            yield "\n".join(data)
            data = []


def reader(client: httpx.Client, url: str, params: dict | None = None
           ) -> tuple[queue.Queue[str | None], threading.Thread]:
    got: queue.Queue[str | None] = queue.Queue()

    def run() -> None:
        try:
            with client.stream("GET", url, params=params, timeout=30) as r:
                assert r.status_code == 200, r.read()
                assert r.headers["content-type"] == "text/event-stream"
                for ev in events(r.iter_lines()):
                    got.put(ev)
        except httpx.HTTPError:
            pass
        finally:
            got.put(None)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return got, t


def next_matching(got: queue.Queue[str | None], word: str) -> str:
    while True:
        ev = got.get(timeout=20)
        assert ev is not None, f"the stream ended before an event with {word!r}"
        if word in ev:
            return ev


def stream_sessions(rc: Restconf) -> int:
    return sum(s.info.transport == "restconf-https" for s in rc.hvd.server.sessions.all())


def test_json_stream_sees_a_vm_start(rc: Restconf) -> None:
    c = rc.client()
    got, _ = reader(rc.client(), f"{STREAM}/json")
    wait_for(lambda: stream_sessions(rc) == 1)
    r = c.post("/restconf/data/hvd-vm:vms", json={"hvd-vm:vm": [{"name": "w", "memory": 64}]},
               headers=J)
    assert r.status_code == 201
    change = json.loads(next_matching(got, "netconf-config-change"))
    assert "eventTime" in change["ietf-restconf:notification"]
    c.post("/restconf/operations/hvd-vm:start-vm", json={"hvd-vm:input": {"name": "w"}},
           headers=J)
    ev = json.loads(next_matching(got, "vm-state-change"))
    state = ev["ietf-restconf:notification"]["hvd-vm:vm-state-change"]
    assert state["name"] == "w" and state["old-status"] == "stopped"


def test_xml_stream_with_filter_and_kill_session(rc: Restconf) -> None:
    c = rc.client()
    got, thread = reader(rc.client(), f"{STREAM}/xml",
                         {"filter": "/hvd-vm:vm-state-change"})
    wait_for(lambda: stream_sessions(rc) == 1)
    c.post("/restconf/data/hvd-vm:vms", json={"hvd-vm:vm": [{"name": "w", "memory": 64}]},
           headers=J)
    c.post("/restconf/operations/hvd-vm:start-vm", json={"hvd-vm:input": {"name": "w"}},
           headers=J)
    ev = etree.fromstring(got.get(timeout=20).encode())  # the filter let only this through
    assert ev.tag == f"{{{NOTIF}}}notification"
    assert ev.find("{urn:hvd:vm}vm-state-change/{urn:hvd:vm}name").text == "w"
    sid = next(s.info.id for s in rc.hvd.server.sessions.all()
               if s.info.transport == "restconf-https")
    m = rc.hvd.connect_uds()
    m.kill_session(str(sid))
    thread.join(20)
    assert not thread.is_alive()
    assert stream_sessions(rc) == 0


def test_replay_until_stop_time_ends_the_stream(rc: Restconf) -> None:
    c = rc.client()
    c.post("/restconf/data/hvd-vm:vms", json={"hvd-vm:vm": [{"name": "w", "memory": 64}]},
           headers=J)
    got, thread = reader(rc.client(), f"{STREAM}/json", {
        "start-time": "2000-01-01T00:00:00Z", "stop-time": "2000-01-02T00:00:00Z"})
    seen = []
    while (ev := got.get(timeout=20)) is not None:
        seen.append(ev)
    assert any("replayComplete" in e for e in seen)
    assert "notificationComplete" in seen[-1]
    thread.join(20)
    wait_for(lambda: stream_sessions(rc) == 0)


def test_stream_errors(rc: Restconf) -> None:
    c = rc.client()
    assert c.get(f"{STREAM}/yaml").status_code == 404
    r = c.get("/restconf/streams/NOPE/json")
    assert r.status_code == 400
    r = c.get(f"{STREAM}/json", params={"start-time": "yesterday"})
    assert r.status_code == 400
    assert rc.client(auth=None).get(f"{STREAM}/json").status_code == 401
    assert stream_sessions(rc) == 0


def test_restconf_state_lists_capabilities_and_stream_locations(rc: Restconf) -> None:
    c = rc.client()
    r = c.get("/restconf/data/ietf-restconf-monitoring:restconf-state")
    assert r.status_code == 200, r.text
    state = r.json()["ietf-restconf-monitoring:restconf-state"]
    caps = state["capabilities"]["capability"]
    assert "urn:ietf:params:restconf:capability:yang-patch:1.0" in caps
    netconf = next(s for s in state["streams"]["stream"] if s["name"] == "NETCONF")
    where = {a["encoding"]: a["location"] for a in netconf["access"]}
    assert where["json"] == f"{rc.base}/restconf/streams/NETCONF/json"
    with c.stream("GET", where["json"].removeprefix(rc.base)) as s:  # the listed URL works
        assert s.status_code == 200
    m = rc.hvd.connect_uds()  # the same state over NETCONF
    reply = m.get(filter=("subtree",
                          '<restconf-state xmlns="urn:ietf:params:xml:ns:yang:'
                          'ietf-restconf-monitoring"/>'))
    assert "yang-patch:1.0" in reply.data_xml
