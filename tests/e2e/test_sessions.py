"""Issue 4, several sessions at once: two sessions race on the one shared candidate, and a
confirmed commit that changed the host times out while a second session watches.

(tests/transactions/test_wire.py covers the sequential candidate sharing and the confirmed
commit timeout without a host; these add real concurrency and the host.)
"""

from __future__ import annotations

import threading

import pytest
from e2e.helpers import (
    alive,
    config,
    guest_ready,
    network_xml,
    sim_bytes,
    standin,
    start_vm,
    vm_state,
    vm_xml,
    wait_for,
)
from lxml import etree
from ncclient import manager
from ncclient.operations import RPCError
from ncclient.xml_ import to_ele
from support.server import HvdInstance

from hvd_netconf.namespaces import BASE, HVD, NC_NOTIFICATIONS, VM

EDITS = 40
N = {"vm": VM, "nc": BASE, "ncn": NC_NOTIFICATIONS}


def vm_values(m: manager.Manager, source: str = "running") -> dict[str, tuple[str, str]]:
    data = etree.fromstring(m.get_config(source).xml.encode())
    return {vm.findtext("vm:name", namespaces=N) or "": (
        vm.findtext("vm:description", namespaces=N) or "", vm.findtext("vm:cpu", namespaces=N)
        or "1") for vm in data.iterfind(".//vm:vms/vm:vm", N)}


def edit(m: manager.Manager, name: str, descr: str, cpu: int) -> None:
    m.edit_config(config(vms=vm_xml(name, extra=f"<description>{descr}</description>"
                                                f"<cpu>{cpu}</cpu>")), target="candidate")


def force_commit(m: manager.Manager) -> None:
    """Commit the shared candidate with the other session's edits, knowingly."""
    m.dispatch(to_ele(f'<commit xmlns="{BASE}"><force xmlns="{HVD}"/></commit>'))


def test_two_sessions_race_on_one_candidate(vmhvd: HvdInstance) -> None:
    """Each edit is atomic, neither session's edits are lost, and a commit made while the
    other session is still editing takes exactly the edits acknowledged so far."""
    a, b = vmhvd.connect_uds(), vmhvd.connect_uds()
    sent: dict[str, list[tuple[str, tuple[str, str]]]] = {"a": [], "b": []}
    acked_before_commit: list[int] = []
    committed = threading.Event()
    errors: list[BaseException] = []

    def editor(who: str, m: manager.Manager) -> None:
        try:
            for i in range(EDITS):
                own, cpu = f"{who}{i:03}", 1 + i % 4
                edit(m, own, f"{who}-{i}", cpu)
                sent[who].append((own, (f"{who}-{i}", str(cpu))))
                edit(m, "shared", f"{who}-{i}", cpu)  # both write the same entry
                sent[who].append(("shared", (f"{who}-{i}", str(cpu))))
                if who == "a" and i == EDITS // 2:
                    force_commit(m)  # while b keeps editing
                    acked_before_commit.append(len(sent["a"]))
                    committed.set()
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=editor, args=(w, m)) for w, m in (("a", a), ("b", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert committed.is_set()

    # The mid-way commit: all of a's edits before it, none after; of b's, a prefix.
    mid = vm_values(b)
    a_in = [name for name, _v in sent["a"][:acked_before_commit[0]] if name != "shared"]
    assert all(n in mid for n in a_in)
    assert not [n for n in mid if n.startswith("a") and n not in a_in]
    b_names = [n for n, _v in sent["b"] if n != "shared"]
    b_in = [n for n in b_names if n in mid]
    assert b_in == b_names[:len(b_in)], "b's edits reached running out of order"
    for name, values in mid.items():
        if name != "shared":
            assert values == dict(sent[name[0]])[name], f"{name} is a mix of two edits"

    # Everything both sessions sent is in the candidate; b commits it.
    force_commit(b)
    final = vm_values(a)
    for who in ("a", "b"):
        for name, values in sent[who]:
            if name != "shared":
                assert final[name] == values
    # The shared entry holds one whole edit: the last one of either session.
    assert final["shared"] in (sent["a"][-1][1], sent["b"][-1][1])
    assert vm_values(a, "candidate") == final


def test_confirmed_commit_times_out_and_the_host_is_reverted(vmhvd: HvdInstance) -> None:
    """A confirmed commit adds a network and a VM that then runs; nobody confirms. At the
    timeout hvd stops the guest, removes what the commit made on the host, and the session
    that stayed connected sees the revert in running and as notifications."""
    root = vmhvd.root
    a, b = vmhvd.connect_uds(), vmhvd.connect_uds()
    a.edit_config(config(networks=network_xml("keep")), target="running")
    host_before = sim_bytes(root)
    running_before = vm_values(b)
    b.create_subscription()

    a.edit_config(config(networks=network_xml("tmp", phys="em1", vlan=7),
                         vms=vm_xml("trial", disks={"d0": "1G"}, nics={"n0": "tmp"},
                                    extra="<stop-timeout>2</stop-timeout>")),
                  target="candidate")
    a.commit(confirmed=True, timeout="3")
    standin(root, "trial")
    start_vm(a, "trial")
    guest_ready(root, "trial")
    pid = int(vm_state(b, "trial")["pid"])
    assert "trial" in vm_values(b) and sim_bytes(root) != host_before
    with pytest.raises(RPCError) as ei:
        b.lock("running")
    assert ei.value.tag == "lock-denied"
    b.edit_config(config(vms=vm_xml("other")), target="candidate")
    with pytest.raises(RPCError) as ei:
        b.commit()
    assert ei.value.tag == "in-use"
    b.discard_changes()

    events: list[tuple[str, etree._Element]] = []

    def reverted() -> bool:
        notif = b.take_notification(block=True, timeout=0.2)
        if notif is not None:
            body = etree.fromstring(notif.notification_xml.encode())[1]
            events.append((etree.QName(body).localname, body))
        return any(name == "netconf-confirmed-commit"
                   and body.findtext("ncn:confirm-event", namespaces=N) == "timeout"
                   for name, body in events)

    wait_for(reverted, 15, "the confirmed commit to time out")
    assert vm_values(b) == running_before
    assert sim_bytes(root) == host_before, "the revert left host objects behind"
    assert not alive(pid)
    assert not (root / "vm/trial/config.xml").exists()
    assert not (root / "networks/tmp/config.xml").exists()
    names = [name for name, _b in events]
    assert "vm-state-change" in names and "netconf-config-change" in names
    stop = [body for name, body in events if name == "vm-state-change"]
    assert [s.findtext("vm:new-status", namespaces=N) for s in stop][-2:] == [
        "stopping", "stopped"]
    b.lock("running")  # refused while the confirmed commit was pending (checked above)
    b.unlock("running")
