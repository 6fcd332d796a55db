"""Issue 24 on the sim, over the wire: a commit that adds a network's addresses, and its
rollback, which leaves the simulated host's interfaces exactly as they were."""

from __future__ import annotations

import pytest
from e2e.helpers import config, network_xml, sim_state
from ncclient.operations import RPCError
from ncclient.xml_ import to_ele
from support.server import HvdInstance

from hvd_netconf.namespaces import HVD


def rollback_to(m, commit_id: int) -> None:  # type: ignore[no-untyped-def]
    m.dispatch(to_ele(f'<rollback xmlns="{HVD}"><id>{commit_id}</id><commit>true</commit>'
                      "</rollback>"))


def test_addresses_commit_and_rollback_leave_the_host_as_before(vmhvd: HvdInstance) -> None:
    m = vmhvd.connect_uds()
    m.edit_config(config(networks=network_xml("lan", phys="em0", fib=1)), target="candidate")
    m.commit()
    before = sim_state(vmhvd.root)["interfaces"]
    m.edit_config(config(networks=network_xml(
        "lan", phys="em0", fib=1, addresses=("10.0.0.1/24", "fd00:1::1/64"))),
        target="candidate")
    m.commit()
    assert sim_state(vmhvd.root)["interfaces"]["hv-lan"]["addresses"] == [
        "10.0.0.1/24", "fd00:1::1/64"]
    rollback_to(m, 1)
    assert sim_state(vmhvd.root)["interfaces"] == before


def test_spanning_tree_needs_an_uplink(vmhvd: HvdInstance) -> None:
    m = vmhvd.connect_uds()
    with pytest.raises(RPCError) as ei:
        m.edit_config(config(networks="<network><name>lan</name>"
                                      "<spanning-tree>true</spanning-tree></network>"),
                      target="running")
    assert "spanning-tree runs on the uplink: set a physical-interface" in ei.value.message
