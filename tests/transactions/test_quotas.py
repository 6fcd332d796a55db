"""Issue 21 item 7: resource pools and the memory policy, over the wire. A commit that takes a
pool past a maximum is refused at validation with the pool, the resource, the limit and the
total, and changes nothing; within the pool it goes in; the pool's usage is operational
state; a tenant whose NACM rules forbid the resource-pool leaf cannot move a VM out of its
pool nor raise the pool's maxima."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree
from ncclient import manager
from ncclient.operations import RPCError
from support.server import HvdInstance, start_hvd

from hvd_netconf.namespaces import BASE, NACM, VM
from hvd_netconf.users import UserDB

N = {"v": VM}
POOL = ("<resource-pools xmlns='urn:hvd:vm'><resource-pool><name>team-a</name>"
        "<max-cpus>4</max-cpus><max-memory>2048</max-memory><max-disk>20G</max-disk>"
        "<max-vms>3</max-vms></resource-pool></resource-pools>")


def wrap(*parts: str) -> str:
    return f'<config xmlns="{BASE}">{"".join(parts)}</config>'


def vm(name: str, cpu: int = 1, memory: int = 512, pool: str | None = "team-a",
       disk: str | None = None, autostart: bool = False) -> str:
    extra = f"<resource-pool>{pool}</resource-pool>" if pool else ""
    if disk:
        extra += f"<disk><name>d0</name><size>{disk}</size></disk>"
    if autostart:
        extra += "<autostart><enabled>true</enabled></autostart>"
    return (f"<vms xmlns='{VM}'><vm><name>{name}</name><cpu>{cpu}</cpu>"
            f"<memory>{memory}</memory>{extra}</vm></vms>")


def vms(*entries: str) -> str:
    """Several vm() entries in one <vms> (a container is given once)."""
    inner = "".join(e.removeprefix(f"<vms xmlns='{VM}'>").removesuffix("</vms>") for e in entries)
    return f"<vms xmlns='{VM}'>{inner}</vms>"


def refused(m: manager.Manager, *parts: str) -> RPCError:
    """The commit of `parts` is refused; the candidate is discarded again."""
    m.edit_config(target="candidate", config=wrap(*parts))
    with pytest.raises(RPCError) as info:
        m.commit()
    m.discard_changes()
    return info.value


def running_vms(m: manager.Manager) -> list[str]:
    root = etree.fromstring(m.get_config("running").xml.encode())
    return sorted(root.xpath("//v:vms/v:vm/v:name/text()", namespaces=N))


def usage(m: manager.Manager) -> dict[str, str]:
    reply = m.get(filter=("subtree", "<resource-pools xmlns='urn:hvd:vm'><resource-pool>"
                                     "<name>team-a</name><usage/></resource-pool>"
                                     "</resource-pools>"))
    u = etree.fromstring(reply.xml.encode()).find(".//v:usage", namespaces=N)
    assert u is not None
    return {etree.QName(c).localname: c.text or "" for c in u}


@pytest.fixture
def pool(hvd: HvdInstance) -> Iterator[manager.Manager]:
    m = hvd.connect_uds()
    m.edit_config(target="candidate", config=wrap(POOL, vm("a1", cpu=2, memory=1024)))
    m.commit()
    yield m
    m.close_session()


def test_within_the_pool_goes_in_and_usage_is_reported(pool: manager.Manager) -> None:
    pool.edit_config(target="candidate", config=wrap(vm("a2", cpu=2, memory=1024,
                                                        disk="20G")))
    pool.commit()
    assert running_vms(pool) == ["a1", "a2"]
    assert usage(pool) == {"vms": "2", "cpus": "4", "memory": "2048",
                           "disk": str(20 << 30)}


@pytest.mark.parametrize(("part", "words"), [
    (vm("a2", cpu=3), "5 vCPUs, above its max-cpus of 4"),
    (vm("a2", memory=1536), "2560 MB of memory, above its max-memory of 2048 MB"),
    (vm("a2", disk="21G"), f"{21 << 30} bytes of disks, above its max-disk of 20G"),
])
def test_a_commit_over_the_pool_is_refused_with_the_numbers(
        pool: manager.Manager, part: str, words: str) -> None:
    err = refused(pool, part)
    assert err.tag == "resource-denied"
    assert f"resource pool team-a would hold {words}" in err.message
    assert err.path == ("/hvd-vm:vms/hvd-vm:vm[hvd-vm:name='a2']/hvd-vm:resource-pool")
    assert running_vms(pool) == ["a1"]  # nothing went in


def test_the_vm_count_and_a_lowered_maximum(pool: manager.Manager) -> None:
    pool.edit_config(target="candidate", config=wrap(vms(vm("a2", cpu=1, memory=256),
                                                         vm("a3", cpu=1, memory=256))))
    pool.commit()
    err = refused(pool, vm("a4", cpu=1, memory=128, pool="team-a"))
    assert "4 VMs, above its max-vms of 3" in err.message
    lowered = POOL.replace("<max-memory>2048", "<max-memory>1024")
    err = refused(pool, lowered)  # the pool itself is blamed: no VM changed
    assert "1536 MB of memory, above its max-memory of 1024 MB" in err.message
    assert err.path == "/hvd-vm:resource-pools/hvd-vm:resource-pool[hvd-vm:name='team-a']"
    pool.edit_config(target="candidate", config=wrap(vm("a4", cpu=8, pool=None)))
    pool.commit()  # a VM in no pool counts against none


def test_memory_overcommit_policy(pool: manager.Manager) -> None:
    """The sim host has 16 GiB (hw.physmem): autostart VMs promised more are refused under
    `refuse`, accepted with a warning in hvd's log under `warn`."""
    policy = "<resource-policy xmlns='urn:hvd:vm'><memory-overcommit>{}</memory-overcommit>" \
             "</resource-policy>"
    big = [vm(f"b{i}", memory=6144, pool=None, autostart=True) for i in range(3)]
    pool.edit_config(target="candidate", config=wrap(policy.format("refuse"), vms(*big[:2])))
    pool.commit()  # 12 GiB of 16
    err = refused(pool, big[2])
    assert err.tag == "resource-denied"
    assert ("the VMs set to autostart would have 18432 MB of memory, more than the host's "
            "16384 MB (resource-policy memory-overcommit refuse)") in err.message
    pool.edit_config(target="candidate", config=wrap(vm("b2", memory=6144, pool=None)))
    pool.commit()  # not set to autostart: not promised at start
    pool.edit_config(target="candidate", config=wrap(policy.format("warn"), big[2]))
    pool.commit()
    assert "b2" in running_vms(pool)


TENANT_RULES = (
    f'<nacm xmlns="{NACM}">'
    "<rule-list><name>admin</name><group>admin</group>"
    "<rule><name>all</name><action>permit</action></rule></rule-list>"
    "<rule-list><name>tenants</name><group>team-a</group>"
    "<rule><name>no-moving</name><module-name>hvd-vm</module-name>"
    "<path>/hvd-vm:vms/hvd-vm:vm/hvd-vm:resource-pool</path>"
    "<access-operations>create update delete</access-operations><action>deny</action></rule>"
    "<rule><name>no-pools</name><module-name>hvd-vm</module-name>"
    "<path>/hvd-vm:resource-pools</path>"
    "<access-operations>create update delete</access-operations><action>deny</action></rule>"
    "<rule><name>vms</name><module-name>hvd-vm</module-name><path>/hvd-vm:vms</path>"
    "<access-operations>*</access-operations><action>permit</action></rule>"
    "<rule><name>ops</name><module-name>ietf-netconf</module-name>"
    "<access-operations>exec</access-operations><action>permit</action></rule>"
    "</rule-list></nacm>")


def test_a_tenant_cannot_move_a_vm_out_of_its_pool(tmp_path: Path) -> None:
    inst = start_hvd(tmp_path / "site")
    try:
        UserDB.for_root(inst.root).add("tina", password="tina-pw", groups=["team-a"])
        admin = inst.connect_ssh()
        admin.edit_config(target="candidate", config=wrap(POOL, vm("a1"), TENANT_RULES))
        admin.commit()
        tina = inst.connect_ssh(username="tina", password="tina-pw")
        tina.edit_config(target="candidate", config=wrap(vm("a1", memory=768)))
        tina.commit()  # her pool's VM: she may change it
        for part in (vm("a1", pool=None).replace(
                "<memory>512</memory>",
                "<memory>512</memory><resource-pool xmlns:nc='" + BASE
                + "' nc:operation='delete'/>"),
                POOL.replace("<max-cpus>4", "<max-cpus>64")):
            with pytest.raises(RPCError) as info:
                tina.edit_config(target="candidate", config=wrap(part))
                tina.commit()
            assert info.value.tag == "access-denied", info.value
            tina.discard_changes()
        got = etree.fromstring(admin.get_config("running").xml.encode())
        assert got.xpath("//v:vm[v:name='a1']/v:resource-pool/text()", namespaces=N) == [
            "team-a"]
        assert got.xpath("//v:resource-pool/v:max-cpus/text()", namespaces=N) == ["4"]
    finally:
        inst.stop()
