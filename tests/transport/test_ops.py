"""lock/unlock and close/kill-session through ncclient, over the Unix socket and SSH."""

from __future__ import annotations

import pytest
from ncclient.operations import RPCError
from support.rawclient import errors, is_ok
from support.server import HvdInstance
from support.waiting import wait_for


def test_ncclient_over_unix_and_ssh_lock_each_other_out(hvd: HvdInstance) -> None:
    a = hvd.connect_uds()
    b = hvd.connect_ssh()
    a.lock("running")
    with pytest.raises(RPCError) as info:
        b.lock("running")
    assert info.value.tag == "lock-denied"
    assert info.value.info and str(a.session_id) in info.value.info
    b.lock("candidate")
    assert hvd.server.locks.holder("candidate") == int(b.session_id)
    assert hvd.server.locks.locked_time("candidate")


def test_lock_denied_names_the_holders_user(hvd: HvdInstance) -> None:
    """RFC 6241 §7.5 puts the holder's session-id in error-info; the message adds its user."""
    holder = hvd.connect_ssh()
    holder.lock("running")
    with hvd.raw() as c:
        c.hello()
        [err] = errors(c.rpc("<lock><target><running/></target></lock>"))
        assert err["tag"] == "lock-denied"
        assert err["info"] == {"session-id": str(holder.session_id)}
        assert err["message"] == (f"the running datastore is already locked by session "
                                  f"{holder.session_id} ({hvd.username})")
        [err] = errors(c.rpc('<edit-config><target><running/></target><config>'
                             '<vms xmlns="urn:hvd:vm"/></config></edit-config>', "2"))
        assert err["tag"] == "lock-denied"
        assert err["message"] == (f"the running datastore is locked by session "
                                  f"{holder.session_id} ({hvd.username})")


def test_lock_twice_by_holder_is_denied_with_own_id(hvd: HvdInstance) -> None:
    with hvd.raw() as c:
        c.hello()
        assert is_ok(c.rpc("<lock><target><candidate/></target></lock>"))
        [err] = errors(c.rpc("<lock><target><candidate/></target></lock>", "2"))
        assert err["tag"] == "lock-denied" and err["type"] == "protocol"
        assert err["info"] == {"session-id": str(c.session_id)}


def test_unlock_errors(hvd: HvdInstance) -> None:
    with hvd.raw() as a, hvd.raw() as b:
        a.hello()
        b.hello()
        [err] = errors(a.rpc("<unlock><target><running/></target></unlock>"))
        assert err["tag"] == "operation-failed"
        assert is_ok(a.rpc("<lock><target><running/></target></lock>"))
        [err] = errors(b.rpc("<unlock><target><running/></target></unlock>"))
        assert err["tag"] == "operation-failed"
        assert is_ok(a.rpc("<unlock><target><running/></target></unlock>"))
        assert is_ok(b.rpc("<lock><target><running/></target></lock>"))


@pytest.mark.parametrize(("op", "tag"), [
    ("<lock/>", "missing-element"),
    ("<lock><target><url/></target></lock>", "operation-not-supported"),
    ("<lock><target><nope/></target></lock>", "operation-not-supported"),
    ("<lock><target/></lock>", "invalid-value"),
])
def test_lock_bad_targets(hvd: HvdInstance, op: str, tag: str) -> None:
    with hvd.raw() as c:
        c.hello()
        [err] = errors(c.rpc(op))
        assert err["tag"] == tag


def test_guards_and_release_hooks(hvd: HvdInstance) -> None:
    from hvd_netconf.errors import LockDenied

    released: list[tuple[str, int]] = []
    locks = hvd.server.locks
    locks.add_guard(lambda ds, sid: LockDenied("candidate is dirty", holder=0)
                    if ds == "candidate" else None)
    locks.add_release_hook(lambda ds, sid: released.append((ds, sid)))
    m = hvd.connect_uds()
    with pytest.raises(RPCError) as info:
        m.lock("candidate")
    assert "dirty" in info.value.message
    m.lock("running")
    m.unlock("running")
    m.lock("running")
    sid = int(m.session_id)
    m.close_session()
    wait_for(lambda: len(released) == 2)
    assert released == [("running", sid), ("running", sid)]


def test_check_writable(hvd: HvdInstance) -> None:
    from hvd_netconf.errors import LockDenied

    locks = hvd.server.locks
    locks.lock("running", 0)  # a non-NETCONF holder
    locks.check_writable("running", 0)
    with pytest.raises(LockDenied) as info:
        locks.check_writable("running", 5)
    assert info.value.holder == 0
    locks.check_writable("candidate", 5)


def test_kill_session(hvd: HvdInstance) -> None:
    ends: list[tuple[int, str, int | None]] = []
    hvd.server.add_session_end_hook(lambda info, reason, by: ends.append((info.id, reason, by)))
    victim = hvd.connect_ssh()
    killer = hvd.connect_uds()
    victim.lock("running")
    vid, kid = int(victim.session_id), int(killer.session_id)
    killer.kill_session(str(vid))
    # the reply came after the victim's lock was released and its session ended
    assert hvd.server.locks.holder("running") is None
    assert hvd.server.sessions.get(vid) is None
    assert (vid, "killed", kid) in ends
    wait_for(lambda: not victim.connected)
    killer.lock("running")


def test_kill_session_own_and_unknown_ids(hvd: HvdInstance) -> None:
    with hvd.raw() as c:
        c.hello()
        for sid in (str(c.session_id), "999999", "0", "abc"):
            [err] = errors(c.rpc(f"<kill-session><session-id>{sid}</session-id></kill-session>"))
            assert err["tag"] == "invalid-value", sid
        [err] = errors(c.rpc("<kill-session/>"))
        assert err["tag"] == "missing-element"
        assert is_ok(c.rpc("<lock><target><running/></target></lock>"))  # still alive


def test_transport_drop_releases_locks(hvd: HvdInstance) -> None:
    ends: list[str] = []
    hvd.server.add_session_end_hook(lambda info, reason, by: ends.append(reason))
    c = hvd.raw()
    c.hello()
    assert is_ok(c.rpc("<lock><target><candidate/></target></lock>"))
    c.close()
    # The locks go first, then the end hooks run: wait for both.
    wait_for(lambda: hvd.server.locks.holder("candidate") is None and ends != [])
    assert ends == ["dropped"]
    assert hvd.server.stats.dropped_sessions == 1


def test_session_info_and_counters(hvd: HvdInstance) -> None:
    started = []
    hvd.server.add_session_start_hook(started.append)
    m = hvd.connect_ssh()
    m.lock("running")
    with pytest.raises(RPCError):
        m.lock("running")
    info = hvd.server.sessions.get(int(m.session_id)).info
    assert started == [info]
    assert (info.username, info.transport, info.source_host) == ("tester", "netconf-ssh",
                                                                 "127.0.0.1")
    assert info.groups == frozenset({"admin"})
    assert (info.in_rpcs, info.out_rpc_errors) == (2, 1)
    u = hvd.connect_uds()
    uinfo = hvd.server.sessions.get(int(u.session_id)).info
    assert uinfo.transport == "hvd-unix" and uinfo.uid is not None and uinfo.username
    assert hvd.server.stats.in_sessions == 2


def test_notifications_reach_the_session(hvd: HvdInstance) -> None:
    from lxml import etree

    with hvd.raw() as c:
        c.hello()
        assert is_ok(c.rpc("<lock><target><running/></target></lock>"))
        live = hvd.server.sessions.get(c.session_id)
        note = etree.fromstring(
            '<notification xmlns="urn:ietf:params:xml:ns:netconf:notification:1.0">'
            "<eventTime>2025-01-01T00:00:00Z</eventTime><x xmlns='urn:x'/></notification>")
        live.send_notification(note)
        got = c.read_xml()
        assert got.tag.endswith("notification")
    assert hvd.server.stats.out_notifications == 1
