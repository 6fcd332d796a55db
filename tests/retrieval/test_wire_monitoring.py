"""RFC 6022 /netconf-state, <get-schema> and RFC 8525 /yang-library over the wire."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from lxml import etree
from ncclient.operations import RPCError
from support.server import HvdInstance

from hvd_netconf.errors import InvalidValue, OperationFailed
from hvd_netconf.namespaces import BASE, MONITORING, YANG_LIBRARY
from hvd_netconf.ops.monitoring import find_schema

M = {"m": MONITORING, "y": YANG_LIBRARY}


def state(m: Any, body: str) -> etree._Element:
    reply = m.get(filter=("subtree", body))
    data = etree.fromstring(reply.xml.encode()).find(f"{{{BASE}}}data")
    assert data is not None
    return data


def ncs(m: Any, inner: str) -> etree._Element:
    return state(m, f'<netconf-state xmlns="{MONITORING}">{inner}</netconf-state>')


def test_sessions_list_unix_and_ssh_with_transport_identities(hvd: HvdInstance) -> None:
    uds, ssh = hvd.connect_uds(), hvd.connect_ssh()
    data = ncs(uds, "<sessions/>")
    sessions = {int(s.findtext("m:session-id", namespaces=M)): s
                for s in data.iterfind(".//m:session", namespaces=M)}
    assert set(sessions) == {int(uds.session_id), int(ssh.session_id)}
    u = sessions[int(uds.session_id)].find("m:transport", namespaces=M)
    prefix, _, ident = u.text.partition(":")
    assert (u.nsmap[prefix], ident) == ("urn:hvd:netconf-monitoring", "unix-socket")
    s = sessions[int(ssh.session_id)]
    prefix, _, ident = s.findtext("m:transport", namespaces=M).partition(":")
    assert (s.find("m:transport", namespaces=M).nsmap[prefix], ident) == (MONITORING,
                                                                          "netconf-ssh")
    assert s.findtext("m:username", namespaces=M) == hvd.username
    assert s.findtext("m:source-host", namespaces=M) == "127.0.0.1"
    assert int(sessions[int(uds.session_id)].findtext("m:in-rpcs", namespaces=M)) >= 1


def test_datastore_locks_are_reported(hvd: HvdInstance) -> None:
    m = hvd.connect_uds()
    m.lock("candidate")
    data = ncs(m, "<datastores/>")
    ds = {d.findtext("m:name", namespaces=M): d for d in data.iterfind(".//m:datastore",
                                                                      namespaces=M)}
    assert set(ds) == {"running", "candidate", "startup"}
    lock = ds["candidate"].find("m:locks/m:global-lock", namespaces=M)
    assert lock.findtext("m:locked-by-session", namespaces=M) == str(m.session_id)
    assert lock.findtext("m:locked-time", namespaces=M).endswith("Z")
    assert ds["running"].find("m:locks", namespaces=M) is None


def test_capabilities_and_statistics(hvd: HvdInstance) -> None:
    m = hvd.connect_uds()
    data = ncs(m, "<capabilities/><statistics/>")
    caps = data.xpath("//m:capability/text()", namespaces=M)
    assert set(caps) == set(m.server_capabilities)
    assert int(data.findtext(".//m:in-sessions", namespaces=M)) >= 1
    assert data.findtext(".//m:netconf-start-time", namespaces=M)


def test_schemas_list_every_served_module(hvd: HvdInstance) -> None:
    data = ncs(hvd.connect_uds(), "<schemas/>")
    ids = set(data.xpath("//m:schema/m:identifier/text()", namespaces=M))
    assert {"hvd-types", "hvd-vm", "hvd-network", "ietf-netconf-monitoring",
            "ietf-yang-library", "hvd-netconf-monitoring", "notifications"} <= ids
    vm = data.xpath("//m:schema[m:identifier='hvd-vm']", namespaces=M)[0]
    assert vm.findtext("m:location", namespaces=M) == "NETCONF"
    fmt = vm.find("m:format", namespaces=M)
    prefix, _, ident = fmt.text.partition(":")
    assert (fmt.nsmap[prefix], ident) == (MONITORING, "yang")


def test_get_schema_returns_module_text(hvd: HvdInstance) -> None:
    m = hvd.connect_uds()
    text = m.get_schema("hvd-vm").data
    assert text.lstrip().startswith("module hvd-vm {")
    text = m.get_schema("ietf-yang-library", version="2019-01-04").data
    assert "module ietf-yang-library" in text


@pytest.mark.parametrize(("ident", "version", "fmt"), [
    ("no-such-module", None, "yang"),
    ("hvd-vm", "1999-01-01", "yang"),
    ("hvd-vm", None, "xsd"),
])
def test_get_schema_refusals_are_invalid_value(hvd: HvdInstance, ident: str,
                                               version: str | None, fmt: str) -> None:
    m = hvd.connect_uds()
    with pytest.raises(RPCError) as info:
        m.get_schema(ident, version=version, format=fmt)
    assert info.value.tag == "invalid-value"


def test_get_schema_without_identifier_is_missing_element(hvd: HvdInstance) -> None:
    m = hvd.connect_uds()
    with pytest.raises(RPCError) as info:
        m.dispatch(etree.fromstring(f'<get-schema xmlns="{MONITORING}"/>'))
    assert info.value.tag == "missing-element"


@dataclass
class _Mod:
    name: str
    revision: str | None


def test_find_schema_ambiguous_is_data_not_unique() -> None:
    mods = [_Mod("a", "2020-01-01"), _Mod("a", "2021-01-01"), _Mod("b", None)]
    with pytest.raises(OperationFailed) as info:
        find_schema(mods, "a", None)
    assert info.value.app_tag == "data-not-unique"
    assert find_schema(mods, "a", "2021-01-01").revision == "2021-01-01"
    assert find_schema(mods, "b", None).name == "b"
    with pytest.raises(InvalidValue):
        find_schema(mods, "b", "2020-01-01")


def test_yang_library(hvd: HvdInstance) -> None:
    m = hvd.connect_uds()
    lib = state(m, f'<yang-library xmlns="{YANG_LIBRARY}"/>')
    mods = {e.findtext("y:name", namespaces=M): e
            for e in lib.iterfind(".//y:module-set/y:module", namespaces=M)}
    assert mods["hvd-vm"].findtext("y:revision", namespaces=M) == "2026-11-27"
    assert mods["hvd-vm"].findtext("y:namespace", namespaces=M) == "urn:hvd:vm"
    assert "ietf-netconf-monitoring" in mods
    features = mods["ietf-netconf"].xpath("y:feature/text()", namespaces=M)
    assert "xpath" in features and "startup" in features and "url" not in features
    only = set(lib.xpath("//y:import-only-module/y:name/text()", namespaces=M))
    assert {"hvd-types", "ietf-yang-types", "ietf-inet-types"} <= only
    assert not only & set(mods)
    datastores = lib.xpath("//y:yang-library/y:datastore/y:name/text()", namespaces=M)
    assert [d.partition(":")[2] for d in datastores] == [
        "running", "candidate", "startup", "operational"]
    cid = lib.findtext(".//y:content-id", namespaces=M)
    cap = [c for c in m.server_capabilities if ":yang-library:1.1?" in c]
    assert cap == [f"urn:ietf:params:netconf:capability:yang-library:1.1?revision=2019-01-04"
                   f"&content-id={cid}"]
