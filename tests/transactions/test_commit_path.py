"""Issue 15: every writer of running takes the one commit path (hvd_netconf.committer).

The same change (VM `a` appears in running) is made by each writer on a fresh server; the
host apply, the history row and the netconf-config-change notification must be the same
whichever writer made it, apart from the row's `source`. A user whom NACM forbids to write
/vms gets the same access-denied from each writer, and nothing changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from lxml import etree
from ncclient import manager
from ncclient.operations import RPCError
from ncclient.xml_ import to_ele
from support.hostapply import HostSpy
from support.server import HvdInstance
from support.waiting import wait_for

from hvd_netconf.daemon import wire_store
from hvd_netconf.namespaces import BASE, HVD, NACM, VM
from hvd_netconf.notify.events import NC_NOTIFICATIONS
from hvd_netconf.server import Server
from hvd_netconf.users import UserDB

N = {"h": HVD, "ncn": NC_NOTIFICATIONS}
VM_A = f'<vms xmlns="{VM}"><vm><name>a</name><cpu>2</cpu></vm></vms>'
CREATE = f'<config xmlns="{BASE}">{VM_A}</config>'
DELETE = (f'<config xmlns="{BASE}" xmlns:nc="{BASE}"><vms xmlns="{VM}">'
          '<vm nc:operation="delete"><name>a</name></vm></vms></config>')
COPY = (f'<copy-config xmlns="{BASE}"><target><running/></target><source>'
        f"<config>{VM_A}</config></source></copy-config>")


def rollback_to(commit_id: int) -> str:
    return f'<rollback xmlns="{HVD}"><id>{commit_id}</id><commit>true</commit></rollback>'


def attach_store(server: Server) -> None:
    wire_store(server, fsync=False)


def call(m: manager.Manager, xml: str) -> etree._Element:
    return etree.fromstring(m.dispatch(to_ele(xml)).xml.encode())


def config(m: manager.Manager, datastore: str) -> bytes:
    reply = etree.fromstring(m.get_config(datastore).xml.encode())
    return etree.tostring(reply[0], method="c14n")


def last_commit(m: manager.Manager) -> dict[str, Any]:
    row = call(m, f'<get-commit-history xmlns="{HVD}"><limit>1</limit></get-commit-history>'
               ).find(".//h:commit", N)
    assert row is not None
    out: dict[str, Any] = {f: row.findtext(f"h:{f}", namespaces=N)
                           for f in ("user", "session-id", "transport", "comment", "source")}
    out["changes"] = [tuple(c.findtext(f"h:{f}", namespaces=N)
                            for f in ("kind", "name", "operation"))
                      for c in row.findall("h:changes", N)]
    return out


def config_change(m: manager.Manager) -> dict[str, Any]:
    """The next netconf-config-change m's subscription delivers, as plain data."""
    while True:
        notif = m.take_notification(block=True, timeout=5)
        assert notif is not None, "no netconf-config-change arrived"
        env = etree.fromstring(notif.notification_xml.encode())
        ev = env.find("ncn:netconf-config-change", N)
        if ev is not None:
            break
    by = ev.find("ncn:changed-by", N)
    assert by is not None
    return {
        "changed-by": {etree.QName(el).localname: el.text for el in by.iter()
                       if el is not by and not len(el)},
        "datastore": ev.findtext("ncn:datastore", namespaces=N),
        "edits": [(e.findtext("ncn:target", namespaces=N),
                   e.findtext("ncn:operation", namespaces=N))
                  for e in ev.findall("ncn:edit", N)],
    }


# Each writer makes VM `a` appear in running; setup runs first (its notifications are read
# off before the writer's own).

def edit_running(m: manager.Manager) -> None:
    m.edit_config(target="running", config=CREATE)


def commit(m: manager.Manager) -> None:
    m.edit_config(target="candidate", config=CREATE)
    m.commit()


def copy_config(m: manager.Manager) -> None:
    call(m, COPY)


def rollback(m: manager.Manager) -> None:
    call(m, rollback_to(1))


def setup_rollback(m: manager.Manager) -> int:
    m.edit_config(target="running", config=CREATE)
    m.edit_config(target="running", config=DELETE)
    return 2


def setup_revert(m: manager.Manager) -> int:
    m.edit_config(target="running", config=CREATE)
    m.edit_config(target="candidate", config=DELETE)
    m.commit(confirmed=True, timeout="1")
    return 2


def timeout_revert(m: manager.Manager) -> None:
    """The confirmed commit that deleted `a` times out: the server puts `a` back."""


WRITERS: dict[str, tuple[Callable[[manager.Manager], int] | None,
                         Callable[[manager.Manager], None], str]] = {
    "edit-config": (None, edit_running, "edit-running"),
    "commit": (None, commit, "commit"),
    "copy-config": (None, copy_config, "copy-config"),
    "rollback": (setup_rollback, rollback, "rollback"),
    "confirmed-timeout": (setup_revert, timeout_revert, "confirmed-revert"),
}


@pytest.mark.parametrize("writer", list(WRITERS))
def test_every_writer_commits_the_same_way(writer: str,
                                           hvd_factory: Callable[..., HvdInstance]) -> None:
    setup, write, source = WRITERS[writer]
    inst = hvd_factory(attach=attach_store)
    applied: list[list[tuple[str, str]]] = []
    spy = HostSpy(lambda old, new, keys: applied.append(sorted(keys)) or (lambda: None))
    assert inst.server.committer is not None
    inst.server.committer.host = spy
    m = inst.connect_ssh()
    m.create_subscription()
    for _ in range(setup(m) if setup else 0):
        config_change(m)
    applied.clear()
    spy.settled_count = 0
    write(m)
    change = config_change(m)
    if writer == "confirmed-timeout":
        wait_for(lambda: last_commit(m)["source"] == source, timeout=10)
    row = last_commit(m)

    # the server itself reverts a confirmed commit; everyone else is the calling session
    by_server = writer == "confirmed-timeout"
    who = ({"user": "server", "session-id": "0", "transport": ""} if by_server else
           {"user": "tester", "session-id": str(m.session_id), "transport": "netconf-ssh"})
    assert row == {**who, "comment": None, "source": source,
                   "changes": [("vm", "a", "create")]}
    changed_by = ({"server": None} if by_server else
                  {"username": "tester", "session-id": str(m.session_id),
                   "source-host": "127.0.0.1"})
    assert change == {"changed-by": changed_by, "datastore": "running",
                      "edits": [("/hvd-vm:vms/hvd-vm:vm[hvd-vm:name='a']", "create")]}
    assert applied == [[("vm", "a")]]
    assert spy.settled_count == 1


DENY_VMS = (
    f'<config xmlns="{BASE}"><nacm xmlns="{NACM}">'
    "<rule-list><name>admin</name><group>admin</group>"
    "<rule><name>all</name><action>permit</action></rule></rule-list>"
    "<rule-list><name>ops</name><group>ops</group>"
    "<rule><name>rpcs</name><rpc-name>*</rpc-name><access-operations>exec</access-operations>"
    "<action>permit</action></rule>"
    "<rule><name>no-vms</name><module-name>hvd-vm</module-name><path>/hvd-vm:vms</path>"
    "<access-operations>create update delete</access-operations><action>deny</action></rule>"
    "</rule-list></nacm></config>"
)


def test_a_denied_user_is_refused_alike_by_every_writer(
        hvd_factory: Callable[..., HvdInstance]) -> None:
    inst = hvd_factory(attach=attach_store)
    UserDB.for_root(inst.root).add("olga", password="olga-pw", groups=["ops"])
    admin = inst.connect_ssh()
    admin.edit_config(target="running", config=DENY_VMS)
    admin.edit_config(target="running", config=CREATE)
    admin.edit_config(target="running", config=DELETE)  # commit 3; rollback 2 brings `a` back
    olga = inst.connect_ssh(username="olga", password="olga-pw")
    before = config(admin, "running")
    history = last_commit(admin)

    attempts: dict[str, Callable[[], object]] = {
        "edit-config": lambda: edit_running(olga),
        # a commit carries only what the candidate holds: olga's edit of it is refused
        "commit": lambda: commit(olga),
        "copy-config": lambda: copy_config(olga),
        "rollback": lambda: call(olga, rollback_to(2)),
    }
    outcomes = {}
    for writer, attempt in attempts.items():
        with pytest.raises(RPCError) as info:
            attempt()
        outcomes[writer] = (info.value.tag, info.value.type)
    assert outcomes == dict.fromkeys(attempts, ("access-denied", "application"))
    assert config(admin, "running") == before and last_commit(admin) == history
    assert config(admin, "candidate") == before
