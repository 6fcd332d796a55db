"""get-config / get over the wire (ncclient over the Unix socket and SSH)."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree
from ncclient.operations import RPCError
from support.server import HvdInstance

from hvd_netconf import operational
from hvd_netconf.namespaces import BASE, NETMOD_NOTIF, NETWORK, VM, WD_ATTR
from hvd_netconf.ops.retrieval import CAP_WITH_DEFAULTS, CAP_XPATH
from hvd_netconf.state import leaf, list_entry

NS = {"v": VM, "n": NETWORK, "nc": BASE}


def data_of(reply: Any) -> etree._Element:
    data = etree.fromstring(reply.xml.encode()).find(f"{{{BASE}}}data")
    assert data is not None
    return data


def vm_names(data: etree._Element) -> list[str]:
    return data.xpath("//v:vms/v:vm/v:name/text()", namespaces=NS)


def rpc_error(fn: Any, *args: Any, **kw: Any) -> RPCError:
    with pytest.raises(RPCError) as info:
        fn(*args, **kw)
    return info.value


def test_capabilities_advertised(hvd: HvdInstance) -> None:
    m = hvd.connect_uds()
    caps = list(m.server_capabilities)
    assert CAP_XPATH in caps
    assert CAP_WITH_DEFAULTS in caps
    assert CAP_WITH_DEFAULTS == ("urn:ietf:params:netconf:capability:with-defaults:1.0"
                                 "?basic-mode=explicit&also-supported=report-all,"
                                 "report-all-tagged,trim")


def test_get_config_everything(hvd: HvdInstance) -> None:
    data = data_of(hvd.connect_uds().get_config("running"))
    assert vm_names(data) == ["db", "idle", "web"]
    assert data.xpath("n:networks/n:network/n:mtu/text()", namespaces=NS) == ["9000"]


def test_get_config_candidate(hvd: HvdInstance) -> None:
    data = data_of(hvd.connect_uds().get_config("candidate"))
    assert vm_names(data) == ["db", "idle", "new", "web"]


def test_get_config_empty_datastore_is_empty_data(hvd: HvdInstance) -> None:
    with hvd.server.lock:
        for key in list(hvd.server.datastores.running.keys()):
            hvd.server.datastores.running.set_entry(key, None)
    data = data_of(hvd.connect_uds().get_config("running"))
    assert data.tag == f"{{{BASE}}}data" and len(data) == 0


def test_subtree_content_match_over_uds_and_ssh(hvd: HvdInstance) -> None:
    flt = ("subtree", f'<vms xmlns="{VM}"><vm><name>db</name><memory/></vm></vms>')
    for m in (hvd.connect_uds(), hvd.connect_ssh()):
        data = data_of(m.get_config("running", filter=flt))
        vm = data.find(f"{{{VM}}}vms/{{{VM}}}vm")
        assert [c.text for c in vm] == ["db", "4096"]


def test_subtree_union_and_selection(hvd: HvdInstance) -> None:
    flt = [f'<vms xmlns="{VM}"><vm><name>web</name><cpu/></vm></vms>',
           f'<networks xmlns="{NETWORK}"/>']
    data = data_of(hvd.connect_uds().get_config("running", filter=flt))
    assert vm_names(data) == ["web"]
    assert data.xpath("//v:cpu/text()", namespaces=NS) == ["2"]
    assert data.xpath("//n:mtu/text()", namespaces=NS) == ["9000"]


def test_empty_filter_selects_nothing(hvd: HvdInstance) -> None:
    m = hvd.connect_uds()
    reply = m.dispatch(etree.fromstring(
        f'<get-config xmlns="{BASE}"><source><running/></source><filter type="subtree"/>'
        '</get-config>'))
    assert len(data_of(reply)) == 0


def test_xpath_filter_with_declared_prefix(hvd: HvdInstance) -> None:
    m = hvd.connect_uds()
    data = data_of(m.get_config("running", filter=("xpath", ({"v": VM},
                                                              "/v:vms/v:vm[v:cpu > 1]/v:cpu"))))
    assert vm_names(data) == ["db", "web"]
    assert data.xpath("//v:memory", namespaces=NS) == []


def test_xpath_undeclared_prefix_is_invalid_value(hvd: HvdInstance) -> None:
    m = hvd.connect_uds()
    err = rpc_error(m.get_config, "running", filter=("xpath", "/zz:vms"))
    assert err.tag == "invalid-value"


def test_xpath_non_node_set_is_invalid_value(hvd: HvdInstance) -> None:
    m = hvd.connect_uds()
    err = rpc_error(m.get_config, "running", filter=("xpath", ({"v": VM}, "count(/v:vms)")))
    assert err.tag == "invalid-value"


def test_bad_and_missing_source(hvd: HvdInstance) -> None:
    m = hvd.connect_uds()
    err = rpc_error(m.dispatch, etree.fromstring(
        f'<get-config xmlns="{BASE}"><source><url/></source></get-config>'))
    assert err.tag == "invalid-value"
    err = rpc_error(m.dispatch, etree.fromstring(f'<get-config xmlns="{BASE}"/>'))
    assert err.tag == "missing-element"


def _idle(m: Any, mode: str | None) -> etree._Element:
    flt = ("subtree", f'<vms xmlns="{VM}"><vm><name>idle</name></vm></vms>')
    kw = {"with_defaults": mode} if mode else {}
    data = data_of(m.get_config("running", filter=flt, **kw))
    return data.find(f"{{{VM}}}vms/{{{VM}}}vm")


def test_with_defaults_modes(hvd: HvdInstance) -> None:
    m = hvd.connect_uds()
    explicit = _idle(m, None)
    assert [etree.QName(c).localname for c in explicit] == ["name", "cpu"]
    assert [etree.QName(c).localname for c in _idle(m, "explicit")] == ["name", "cpu"]
    trimmed = _idle(m, "trim")
    assert [etree.QName(c).localname for c in trimmed] == ["name"]  # cpu 1 is the default
    full = _idle(m, "report-all")
    assert full.findtext(f"{{{VM}}}memory") == "512"
    assert full.findtext(f"{{{VM}}}loader/{{{VM}}}type") == "uefi"
    assert full.find(f"{{{VM}}}loader/{{{VM}}}grub-root") is None  # its when is false
    assert full.find(f"{{{VM}}}memory").get(f"{{{WD_ATTR}}}default") is None
    tagged = _idle(m, "report-all-tagged")
    assert tagged.find(f"{{{VM}}}memory").get(f"{{{WD_ATTR}}}default") == "true"
    assert tagged.find(f"{{{VM}}}cpu").get(f"{{{WD_ATTR}}}default") == "true"
    assert tagged.find(f"{{{VM}}}name").get(f"{{{WD_ATTR}}}default") is None


def test_with_defaults_report_all_unfiltered_and_filter_sees_defaults(hvd: HvdInstance) -> None:
    m = hvd.connect_uds()
    data = data_of(m.get_config("running", with_defaults="report-all"))
    assert data.xpath("//v:vm[v:name='web']/v:console/text()", namespaces=NS) == ["nmdm"]
    flt = ("subtree", f'<vms xmlns="{VM}"><vm><console>nmdm</console></vm></vms>')
    assert vm_names(data_of(m.get_config("running", filter=flt))) == []
    assert vm_names(data_of(m.get_config("running", filter=flt, with_defaults="report-all"))) \
        == ["db", "idle", "web"]


def test_unsupported_with_defaults_mode_is_invalid_value(hvd: HvdInstance) -> None:
    m = hvd.connect_uds()
    err = rpc_error(m.dispatch, etree.fromstring(
        f'<get-config xmlns="{BASE}"><source><running/></source>'
        '<with-defaults xmlns="urn:ietf:params:xml:ns:yang:ietf-netconf-with-defaults">'
        'everything</with-defaults></get-config>'))
    assert err.tag == "invalid-value"


def test_get_has_config_and_state(hvd: HvdInstance) -> None:
    data = data_of(hvd.connect_uds().get())
    assert vm_names(data) == ["db", "idle", "web"]
    tops = {etree.QName(c).localname for c in data}
    assert {"vms", "networks", "netconf-state", "yang-library", "netconf"} <= tops
    assert data.xpath("//s:stream/s:name/text()", namespaces={"s": NETMOD_NOTIF}) == ["NETCONF"]


def test_get_filter_selects_state(hvd: HvdInstance) -> None:
    flt = ("subtree", f'<netconf xmlns="{NETMOD_NOTIF}"><streams><stream>'
                      '<replaySupport/></stream></streams></netconf>')
    data = data_of(hvd.connect_uds().get(filter=flt))
    assert [etree.QName(c).localname for c in data] == ["netconf"]
    stream = data.find(f".//{{{NETMOD_NOTIF}}}stream")
    assert [c.text for c in stream] == ["NETCONF", "true"]


def test_registered_state_provider_is_merged_into_entries(hvd: HvdInstance) -> None:
    def vm_state(server: Any, data: etree._Element) -> None:
        for name in ("web", "ghost"):
            vm = list_entry(data, (VM, "vms"), (VM, "vm"), "name", name)
            state = etree.SubElement(vm, f"{{{VM}}}state")
            leaf(state, "status", "running")

    # The daemon's own VM state provider would add state to every VM; step it aside.
    state = hvd.server.state
    state.remove("vm-state")
    state.add("test-vm-state", vm_state, tops=[(VM, "vms")])
    try:
        m = hvd.connect_uds()
        data = data_of(m.get(filter=("subtree", f'<vms xmlns="{VM}"><vm><state/></vm></vms>')))
        assert vm_names(data) == ["web", "ghost"]
        assert data.xpath("//v:vm[v:name='web']/v:state/v:status/text()", namespaces=NS) \
            == ["running"]
        # get-config never sees operational state
        plain = data_of(m.get_config("running", filter=("subtree", f'<vms xmlns="{VM}"/>')))
        assert vm_names(plain) == ["db", "idle", "web"]
        assert plain.xpath("//v:state", namespaces=NS) == []
    finally:
        state.remove("test-vm-state")
        state.add("vm-state", operational.vm_state, tops=[(VM, "vms")])
