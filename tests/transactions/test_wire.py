"""edit-config, commit, confirmed commit and the history RPCs through ncclient on a live hvd."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from lxml import etree
from ncclient.operations import RPCError
from ncclient.xml_ import to_ele
from support.hostapply import HostSpy
from support.server import on_disk
from support.waiting import wait_for

from hvd_netconf.daemon import wire_store
from hvd_netconf.namespaces import BASE, HVD, NETWORK, VM


@pytest.fixture
def hvd_attach():
    def attach(server):
        _SERVERS.append(server)
        wire_store(server, fsync=False)
    return attach


def vm_cfg(name: str, body: str = "", op: str = "") -> str:
    attr = f' xc:operation="{op}"' if op else ""
    return (f'<config xmlns:xc="{BASE}"><vms xmlns="{VM}"><vm{attr}><name>{name}</name>{body}'
            "</vm></vms></config>")


def tree(root: Path) -> dict[str, str]:
    out = {}
    for d, _dirs, files in os.walk(root):
        for f in files:
            p = Path(d) / f
            if p.is_symlink():  # the sim's console stand-ins point at ptys: never read one
                out[str(p.relative_to(root))] = "-> " + os.readlink(p)
                continue
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


_SERVERS: list = []


def _store(ds: str):
    # get-config replies are not servable yet (server.dispatch lacks RawXml); read the store.
    return getattr(_SERVERS[-1].datastores, ds)


def running(m, ds: str = "running") -> str:
    return etree.tostring(_store(ds).root).decode()


def cpu_of(m, name: str, ds: str = "running") -> str | None:
    data = _store(ds).root
    return data.findtext(f".//{{{VM}}}vm[{{{VM}}}name='{name}']/{{{VM}}}cpu")


def err(exc_info) -> RPCError:
    return exc_info.value


def test_capabilities(hvd):
    with hvd.connect_uds() as m:
        caps = list(m.server_capabilities)
    for c in ("candidate:1.0", "writable-running:1.0", "rollback-on-error:1.0", "validate:1.1",
              "confirmed-commit:1.1"):
        assert f"urn:ietf:params:netconf:capability:{c}" in caps


def test_edit_candidate_commit_history(hvd):
    with hvd.connect_uds() as m:
        m.edit_config(vm_cfg("web", "<cpu>2</cpu>"), target="candidate")
        assert cpu_of(m, "web", "candidate") == "2" and cpu_of(m, "web") is None
        assert b'name="web"' in (hvd.root / ".hvd/wal").read_bytes()  # the saved edit
        m.dispatch(to_ele(f'<commit xmlns="{BASE}"><comment xmlns="{HVD}">first</comment>'
                          "</commit>"))
        assert cpu_of(m, "web") == "2"
        on_disk(m)
        assert (hvd.root / "vm/web/config.xml").exists()
        r = m.dispatch(to_ele(f'<get-commit-history xmlns="{HVD}"/>'))
        x = etree.fromstring(r.xml.encode())
        assert x.findtext(f".//{{{HVD}}}comment") == "first"
        assert x.findtext(f".//{{{HVD}}}changes/{{{HVD}}}operation") == "create"
        assert x.findtext(f".//{{{HVD}}}source") == "commit"


def test_edit_running_is_committed_and_applied(hvd):
    calls = []
    hvd.server.committer.host = HostSpy(
        lambda old, new, keys: calls.append(sorted(keys)) or (lambda: None))
    with hvd.connect_uds() as m:
        m.edit_config(vm_cfg("db", "<memory>1024</memory>"), target="running")
        assert calls == [[("vm", "db")]]
        assert "1024" in running(m) and "1024" in running(m, "candidate")
        r = etree.fromstring(m.dispatch(to_ele(f'<get-commit-history xmlns="{HVD}"/>')).xml
                             .encode())
        assert r.findtext(f".//{{{HVD}}}source") == "edit-running"


def test_errors_leave_everything_byte_for_byte(hvd):
    with hvd.connect_uds() as m:
        m.edit_config(vm_cfg("a", "<cpu>2</cpu>"), target="running")
        m.edit_config(vm_cfg("b", "<cpu>3</cpu>"), target="candidate")
        before = (tree(hvd.root), running(m), running(m, "candidate"))
        cases = [
            (vm_cfg("a", op="create"), "running", "data-exists"),
            (vm_cfg("zz", op="delete"), "candidate", "data-missing"),
            (vm_cfg("a", "<cpu>99</cpu>"), "running", "invalid-value"),
            (vm_cfg("a", "<gpu>1</gpu>"), "candidate", "unknown-element"),
            (vm_cfg("a", '<disk><name>d</name><size>1G</size></disk><boot-device>x'
                         "</boot-device>"), "running", "data-missing"),
        ]
        for cfg, target, tag in cases:
            with pytest.raises(RPCError) as ei:
                m.edit_config(cfg, target=target, error_option="rollback-on-error")
            assert err(ei).tag == tag, (cfg, err(ei).tag)
            assert err(ei).path
            assert (tree(hvd.root), running(m), running(m, "candidate")) == before


def test_apply_failure_leaves_running_and_files(hvd):
    from hvd_netconf.errors import OperationFailed

    def fail(old, new, keys):
        raise OperationFailed("zfs create failed: out of space (step: zvol)")

    with hvd.connect_uds() as m:
        before = (tree(hvd.root), running(m))
        hvd.server.committer.host = HostSpy(fail)
        with pytest.raises(RPCError) as ei:
            m.edit_config(vm_cfg("a", "<cpu>2</cpu>"), target="running")
        assert "out of space" in err(ei).message
        m.edit_config(vm_cfg("a", "<cpu>2</cpu>"), target="candidate")
        before_c = tree(hvd.root)
        with pytest.raises(RPCError):
            m.commit()
        assert tree(hvd.root) == before_c and running(m) == before[1]


def test_durable_failure_runs_the_undo(hvd, monkeypatch):
    undone = []
    hvd.server.committer.host = HostSpy(lambda old, new, keys: lambda: undone.append(keys))

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(hvd.server.datastores, "commit", boom)
    with hvd.connect_uds() as m:
        m.edit_config(vm_cfg("a"), target="candidate")
        with pytest.raises(RPCError):
            m.commit()
    assert undone == [[("vm", "a")]]


def test_test_only_changes_nothing(hvd):
    with hvd.connect_uds() as m:
        before = (tree(hvd.root), running(m, "candidate"))
        m.edit_config(vm_cfg("t"), target="candidate", test_option="test-only")
        assert (tree(hvd.root), running(m, "candidate")) == before
        with pytest.raises(RPCError) as ei:
            m.edit_config(vm_cfg("t", "<cpu>0</cpu>"), target="candidate",
                          test_option="test-only")
        assert err(ei).tag == "invalid-value"


def test_candidate_defers_full_validation_to_commit(hvd):
    with hvd.connect_uds() as m:
        m.edit_config(vm_cfg("a", "<boot-device>nope</boot-device>"), target="candidate")
        with pytest.raises(RPCError) as ei:
            m.validate("candidate")
        assert err(ei).tag == "data-missing"
        with pytest.raises(RPCError):
            m.commit()
        m.discard_changes()
        assert "nope" not in running(m, "candidate")


def test_continue_on_error(hvd):
    with hvd.connect_uds() as m:
        cfg = (f'<config xmlns:xc="{BASE}"><vms xmlns="{VM}">'
               '<vm xc:operation="delete"><name>zz</name></vm><vm><name>ok</name></vm>'
               "<vm><name>bad</name><cpu>0</cpu></vm></vms></config>")
        with pytest.raises(RPCError) as ei:
            m.edit_config(cfg, target="candidate", error_option="continue-on-error")
        assert len(ei.value.errors) == 2
        assert "ok" in running(m, "candidate")


def test_locks(hvd):
    with hvd.connect_uds() as a, hvd.connect_uds() as b:
        a.lock("running")
        with pytest.raises(RPCError) as ei:
            b.edit_config(vm_cfg("x"), target="running")
        assert err(ei).tag == "lock-denied"
        a.unlock("running")
        b.edit_config(vm_cfg("x"), target="candidate")
        with pytest.raises(RPCError) as ei:
            a.lock("candidate")  # dirty candidate
        assert err(ei).tag == "lock-denied" and "uncommitted" in err(ei).message
        b.discard_changes()
        a.lock("candidate")
        a.edit_config(vm_cfg("y"), target="candidate")
        with pytest.raises(RPCError) as ei:
            b.edit_config(vm_cfg("z"), target="candidate")
        assert err(ei).tag == "lock-denied"
        a.unlock("candidate")  # releasing the lock discards the candidate
        assert "y" not in running(b, "candidate").replace("yang", "")


def test_two_sessions_share_the_candidate(hvd):
    """The candidate is shared, but a commit does not take another session's change unseen:
    it is refused naming the change and its editor, which <get> lists too, until the client
    says <force/>."""
    with hvd.connect_uds() as a, hvd.connect_uds() as b:
        a.edit_config(vm_cfg("from-a"), target="candidate")
        b.edit_config(vm_cfg("from-b"), target="candidate")
        with pytest.raises(RPCError) as ei:
            b.commit()
        assert err(ei).tag == "in-use"
        assert f"vm from-a (by session {a.session_id} (user " in str(ei.value)
        assert "from-b" not in str(ei.value) and "from-a" not in running(a)
        state = etree.fromstring(b.get(("subtree", f'<candidate xmlns="{HVD}"/>')).xml.encode())
        editors = {(c.findtext("h:name", namespaces={"h": HVD}),
                    c.findtext("h:editor/h:session-id", namespaces={"h": HVD}))
                   for c in state.iter(f"{{{HVD}}}change")}
        assert editors == {("from-a", a.session_id), ("from-b", b.session_id)}
        force_commit(b)
        out = running(a)
        assert "from-a" in out and "from-b" in out
        a.edit_config(vm_cfg("from-a-again", "<cpu>2</cpu>"), target="candidate")
        a.commit()  # its own change only: no force needed


def force_commit(m) -> None:
    m.dispatch(to_ele(f'<commit xmlns="{BASE}"><force xmlns="{HVD}"/></commit>'))


def test_copy_and_delete_config(hvd):
    with hvd.connect_uds() as m:
        m.edit_config(vm_cfg("c1"), target="running")
        with pytest.raises(RPCError) as ei:
            m.copy_config(source="running", target="running")
        assert err(ei).tag == "invalid-value"
        with pytest.raises(RPCError) as ei:
            m.delete_config("running")
        assert err(ei).tag == "invalid-value"
        with pytest.raises(RPCError) as ei:
            m.dispatch(to_ele(f'<delete-config xmlns="{BASE}"><target><url>file:///x</url>'
                              "</target></delete-config>"))
        assert err(ei).tag == "operation-not-supported"
        m.dispatch(to_ele(f'<copy-config xmlns="{BASE}"><target><running/></target><source>'
                          f'<config><vms xmlns="{VM}"><vm><name>c2</name></vm></vms></config>'
                          "</source></copy-config>"))
        out = running(m)
        assert "c2" in out and "c1" not in out
        m.edit_config(vm_cfg("c3"), target="candidate")
        m.copy_config(source="running", target="candidate")
        assert "c3" not in running(m, "candidate")


def test_confirmed_commit_confirm_and_timeout(hvd):
    with hvd.connect_uds() as a, hvd.connect_uds() as b:
        a.edit_config(vm_cfg("keep"), target="candidate")
        a.commit()
        a.edit_config(vm_cfg("temp"), target="candidate")
        a.commit(confirmed=True, timeout="1")
        assert "temp" in running(b)
        with pytest.raises(RPCError) as ei:
            b.lock("running")
        assert err(ei).tag == "lock-denied"
        wait_for(lambda: "temp" not in running(b), 5, "the revert")
        assert "temp" not in running(b) and "keep" in running(b)
        assert not (hvd.root / "vm/temp").exists()
        a.edit_config(vm_cfg("t2"), target="candidate")
        a.commit(confirmed=True, timeout="30")
        a.edit_config(vm_cfg("t3"), target="candidate")
        a.commit(confirmed=True, timeout="30")  # follow-up keeps the first revert point
        a.commit()
        assert "t2" in running(b) and "t3" in running(b)
        assert not (hvd.root / ".hvd/confirmed-commit.xml").exists()


def test_follow_up_then_cancel_reverts_to_first_point(hvd):
    with hvd.connect_uds() as a:
        a.edit_config(vm_cfg("f1"), target="candidate")
        a.commit(confirmed=True)
        a.edit_config(vm_cfg("f2"), target="candidate")
        a.commit(confirmed=True)
        a.cancel_commit()
        out = running(a)
        assert "f1" not in out and "f2" not in out
        with pytest.raises(RPCError):
            a.cancel_commit()


def test_persist_from_other_session(hvd):
    a = hvd.connect_uds()
    with hvd.connect_uds() as b:
        a.edit_config(vm_cfg("pvm"), target="candidate")
        a.commit(confirmed=True, persist="tok")
        a_id = int(a.session_id)
        a.close_session()
        # Its end (and any end hook) runs under the server lock that b's next rpc also takes.
        wait_for(lambda: hvd.server.sessions.get(a_id) is None, what="session a's end")
        assert "pvm" in running(b)
        with pytest.raises(RPCError) as ei:
            b.commit(persist_id="wrong")
        assert err(ei).tag == "invalid-value"
        b.commit(persist_id="tok")
        assert "pvm" in running(b)
        assert not (hvd.root / ".hvd/confirmed-commit.xml").exists()


def test_persist_cancel_from_other_session(hvd):
    with hvd.connect_uds() as a, hvd.connect_uds() as b:
        a.edit_config(vm_cfg("pvm"), target="candidate")
        a.commit(confirmed=True, persist="tok")
        with pytest.raises(RPCError) as ei:
            b.cancel_commit(persist_id="nope")
        assert err(ei).tag == "invalid-value"
        b.cancel_commit(persist_id="tok")
        assert "pvm" not in running(b)


def test_revert_on_session_drop(hvd):
    with hvd.connect_uds() as b:
        a = hvd.connect_uds()
        a.edit_config(vm_cfg("gone"), target="candidate")
        a.commit(confirmed=True)
        with pytest.raises(RPCError) as ei:
            b.commit()
        assert err(ei).tag == "in-use"
        a._session.close()  # drop the transport without close-session
        wait_for(lambda: "gone" not in running(b), 5, "the revert")
        assert "gone" not in running(b)


def test_confirmed_commit_restored_after_restart(hvd_factory, hvd_attach, tmp_path):
    first = hvd_factory()
    with first.connect_uds() as a:
        a.edit_config(vm_cfg("pp"), target="candidate")
        a.commit(confirmed=True, persist="tok", timeout="1")
    first.running.stop()
    state_file = first.root / ".hvd/confirmed-commit.xml"
    assert state_file.exists()
    from hvd_netconf.server import Server

    srv = Server(first.server.settings)
    hvd_attach(srv)
    wait_for(lambda: not state_file.exists(), 5, "the revert after restart")
    assert srv.datastores.running.get(("vm", "pp")) is None


def test_compare_and_rollback(hvd):
    with hvd.connect_uds() as m:
        m.edit_config(vm_cfg("r", "<cpu>1</cpu>"), target="candidate")
        m.commit()
        m.edit_config(vm_cfg("r", "<cpu>4</cpu>"), target="candidate")
        r = etree.fromstring(m.dispatch(to_ele(f'<compare xmlns="{HVD}"/>')).xml.encode())
        text = r.findtext(f".//{{{HVD}}}text")
        assert "-" in text and "+" in text and "<cpu>4</cpu>" in text
        assert r.findtext(f".//{{{HVD}}}edit/{{{HVD}}}operation") == "replace"
        m.commit()
        r = etree.fromstring(m.dispatch(to_ele(
            f'<rollback xmlns="{HVD}"><id>1</id><commit>true</commit></rollback>')).xml.encode())
        assert r.findtext(f".//{{{HVD}}}commit-id") == "3"
        assert cpu_of(m, "r") == "1"
        r = etree.fromstring(m.dispatch(to_ele(
            f'<compare xmlns="{HVD}"><source>2</source><target>running</target></compare>'))
            .xml.encode())
        assert "<cpu>1</cpu>" in r.findtext(f".//{{{HVD}}}text")
        r = etree.fromstring(m.dispatch(to_ele(f'<compare xmlns="{HVD}"/>')).xml.encode())
        assert not (r.findtext(f".//{{{HVD}}}text") or "")
        m.dispatch(to_ele(f'<rollback xmlns="{HVD}"><id>2</id></rollback>'))
        assert cpu_of(m, "r", "candidate") == "4" and cpu_of(m, "r") == "1"
        with pytest.raises(RPCError) as ei:
            m.dispatch(to_ele(f'<rollback xmlns="{HVD}"><id>99</id></rollback>'))
        assert err(ei).tag == "invalid-value"


def net_vm_cfg() -> str:
    return (f'<config xmlns:xc="{BASE}"><networks xmlns="{NETWORK}"><network><name>lan</name>'
            f'</network></networks><vms xmlns="{VM}"><vm><name>y</name><nic><name>n0</name>'
            "<network>lan</network></nic></vm></vms></config>")


def test_commit_checks_what_the_shared_candidate_holds_then(hvd):
    """Another session's edit of the candidate, or a write of running, between an edit and
    its commit: the commit validates and writes what both datastores hold when it runs."""
    with hvd.connect_uds() as a, hvd.connect_uds() as b:
        a.edit_config(vm_cfg("x", "<cpu>2</cpu>"), target="candidate")
        b.edit_config(vm_cfg("x", "<cpu>3</cpu>"), target="candidate")
        force_commit(a)  # b's edit too, knowingly
        assert cpu_of(a, "x") == "3"

        a.edit_config(net_vm_cfg(), target="candidate")
        b.edit_config(f'<config xmlns:xc="{BASE}"><networks xmlns="{NETWORK}">'
                      '<network xc:operation="delete"><name>lan</name></network></networks>'
                      "</config>", target="candidate")
        with pytest.raises(RPCError) as ei:
            force_commit(a)
        # One error, though the nic's reference is found from the VM and from the network.
        assert err(ei).tag == "data-missing"
        assert err(ei).message == "network lan is used by y/n0 but is not in the configuration"
        assert err(ei).path.endswith("hvd-vm:network")
        a.discard_changes()

        a.edit_config(vm_cfg("x", "<cpu>2</cpu>"), target="candidate")
        b.edit_config(vm_cfg("x", "<memory>2048</memory>"), target="running")
        a.commit()
        ds = hvd.server.datastores
        before, after = ds.history.get(ds.history.last_id).images[("vm", "x")]
        assert before.findtext(f"{{{VM}}}memory") == "2048"
        assert after.findtext(f"{{{VM}}}cpu") == "2"
