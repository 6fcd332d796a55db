"""XPath filters name nodes the way tools send them: module names as prefixes where no xmlns
binds them, unprefixed names where they are unambiguous; a name that exists in no module is
an invalid-value error naming the path (over the wire, with ncclient)."""

from __future__ import annotations

from lxml import etree
from support.server import HvdInstance

from hvd_netconf.namespaces import NETWORK, VM
from tests.retrieval.test_wire_retrieval import data_of, rpc_error, vm_names

NS = {"v": VM, "n": NETWORK}


def test_module_names_as_prefixes(hvd: HvdInstance) -> None:
    m = hvd.connect_uds()
    data = data_of(m.get_config("running", filter=(
        "xpath", "/hvd-vm:vms/hvd-vm:vm[hvd-vm:cpu > 1]/hvd-vm:cpu")))
    assert vm_names(data) == ["db", "web"]
    assert data.xpath("//v:memory", namespaces=NS) == []
    data = data_of(m.get(("xpath", "/hvd-network:networks/hvd-network:network/hvd-network:mtu")))
    assert data.xpath("//n:mtu/text()", namespaces=NS) == ["9000"]


def test_a_declared_prefix_wins_over_a_module_name(hvd: HvdInstance) -> None:
    m = hvd.connect_uds()  # "hvd-vm" bound, by xmlns, to the network module
    data = data_of(m.get_config("running", filter=(
        "xpath", ({"hvd-vm": NETWORK}, "/hvd-vm:networks/hvd-vm:network/hvd-vm:mtu"))))
    assert data.xpath("//n:mtu/text()", namespaces=NS) == ["9000"]


def test_unprefixed_names_take_the_module_of_their_path(hvd: HvdInstance) -> None:
    m = hvd.connect_uds()
    data = data_of(m.get_config("running", filter=("xpath", "/vms/vm[cpu > 1]/cpu")))
    assert vm_names(data) == ["db", "web"]
    data = data_of(m.get_config("running", filter=("xpath", "/hvd-vm:vms/vm[name='web']")))
    assert vm_names(data) == ["web"]


def test_a_name_in_no_module_is_an_error_with_the_path(hvd: HvdInstance) -> None:
    m = hvd.connect_uds()
    for select, why in (("/vmz/vm", "'vmz' names nothing in any module"),
                        ("/hvd-vm:vms/hvd-vm:vmm", "'vmm' names nothing in module hvd-vm"),
                        ("/vms/vm/cpuu", "'cpuu' names nothing in module hvd-vm"),
                        ("/nosuch:vms", "prefix 'nosuch' is neither declared")):
        err = rpc_error(m.get_config, "running", filter=("xpath", select))
        assert err.tag == "invalid-value", select
        assert select in err.message and why in err.message, err.message
        info = etree.fromstring(err.xml) if isinstance(err.xml, str) else err.xml
        assert "select" in etree.tostring(info).decode()
