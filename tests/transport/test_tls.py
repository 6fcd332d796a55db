"""NETCONF over TLS (RFC 7589) with ncclient: client certificates mapped to users by
fingerprint or common name, unknown and foreign certificates refused."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree
from ncclient import manager
from ncclient.transport.errors import SessionCloseError, TLSError, TransportError
from support.certs import Ca
from support.server import USER, HvdInstance

from hvd_netconf import config
from hvd_netconf.namespaces import MONITORING
from hvd_netconf.transport.tls import fingerprint
from hvd_netconf.wire.certnames import parse_entries


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, Any]:
    ca = Ca(tmp_path / "pki")
    server_cert, server_key, _ = ca.issue("hvd-server", server=True)
    return {"ca": ca, "server": (server_cert, server_key)}


def start_tls(hvd_factory: Callable[..., HvdInstance], pki: dict[str, Any],
              users: dict[str, str]) -> tuple[HvdInstance, int]:
    cert, key = pki["server"]
    inst = hvd_factory(tls_listen=(("127.0.0.1", 0),), tls_cert=cert, tls_key=key,
                       tls_ca=pki["ca"].path, tls_users=users)
    assert inst.running.tls is not None
    return inst, inst.running.tls.addresses[0][1]


def connect(port: int, pki: dict[str, Any], cert: Path, key: Path) -> manager.Manager:
    return manager.connect_tls(host="127.0.0.1", port=port, certfile=str(cert),
                               keyfile=str(key), ca_certs=str(pki["ca"].path),
                               protocol=ssl.PROTOCOL_TLS_CLIENT, timeout=10)


def session_row(m: manager.Manager) -> etree._Element:
    reply = m.get(filter=("subtree", f'<netconf-state xmlns="{MONITORING}"><sessions/>'
                                     "</netconf-state>"))
    data = etree.fromstring(reply.xml.encode())
    ns = {"m": MONITORING}
    return data.xpath(f"//m:session[m:session-id='{m.session_id}']", namespaces=ns)[0]


def test_certificate_mapped_by_fingerprint_and_by_cn(hvd_factory: Callable[..., HvdInstance],
                                                     pki: dict[str, Any]) -> None:
    ca = pki["ca"]
    alice_cert, alice_key, alice = ca.issue("alice-laptop")
    bob_cert, bob_key, _ = ca.issue("bob")
    fp = fingerprint(alice.public_bytes(serialization.Encoding.DER))
    _inst, port = start_tls(hvd_factory, pki, {f"sha256:{fp}": USER, "cn:bob": "bob"})
    m = connect(port, pki, alice_cert, alice_key)
    row = session_row(m)
    ns = {"m": MONITORING}
    assert row.findtext("m:username", namespaces=ns) == USER
    assert row.findtext("m:transport", namespaces=ns).endswith("netconf-tls")
    assert row.findtext("m:source-host", namespaces=ns) == "127.0.0.1"
    # the mapped user's hvd groups apply (tester is in the NACM admin group): it may write
    m.lock("candidate")
    m.unlock("candidate")
    b = connect(port, pki, bob_cert, bob_key)
    assert session_row(b).findtext("m:username", namespaces=ns) == "bob"
    b.close_session()
    m.close_session()


def test_unmapped_and_foreign_certificates_get_no_session(
        hvd_factory: Callable[..., HvdInstance], pki: dict[str, Any], tmp_path: Path) -> None:
    inst, port = start_tls(hvd_factory, pki, {"cn:alice": USER})
    stranger_cert, stranger_key, _ = pki["ca"].issue("mallory")
    with pytest.raises((TransportError, SessionCloseError, TLSError)):
        connect(port, pki, stranger_cert, stranger_key)
    other = Ca(tmp_path / "other", "other CA")
    foreign_cert, foreign_key, _ = other.issue("alice")  # right CN, wrong CA
    with pytest.raises((TransportError, SessionCloseError, TLSError, ssl.SSLError)):
        connect(port, pki, foreign_cert, foreign_key)
    assert inst.server.sessions.all() == []
    assert inst.server.stats.in_sessions == 0
    good_cert, good_key, _ = pki["ca"].issue("alice")
    m = connect(port, pki, good_cert, good_key)
    assert m.session_id
    m.close_session()


def test_cert_to_name_entries_come_before_tls_users(hvd_factory: Callable[..., HvdInstance],
                                                   pki: dict[str, Any]) -> None:
    ca = pki["ca"]
    ca_der = x509.load_pem_x509_certificate(ca.path.read_bytes()).public_bytes(
        serialization.Encoding.DER)
    carol_cert, carol_key, carol = ca.issue("carol")
    bob_cert, bob_key, _ = ca.issue("bob")
    entries = parse_entries([
        {"id": 5, "fingerprint": "sha256:" + fingerprint(
            carol.public_bytes(serialization.Encoding.DER)), "map-type": "specified",
         "name": USER},
        {"id": 9, "fingerprint": "04:" + fingerprint(ca_der), "map-type": "common-name"},
    ], "tls-cert-to-name")
    cert, key = pki["server"]
    inst = hvd_factory(tls_listen=(("127.0.0.1", 0),), tls_cert=cert, tls_key=key,
                       tls_ca=ca.path, tls_users={"cn:carol": "bob"},
                       tls_cert_to_name=entries)
    assert inst.running.tls is not None
    port = inst.running.tls.addresses[0][1]
    ns = {"m": MONITORING}
    m = connect(port, pki, carol_cert, carol_key)  # entry 5 (its own fingerprint) first
    assert session_row(m).findtext("m:username", namespaces=ns) == USER
    m.close_session()
    b = connect(port, pki, bob_cert, bob_key)  # entry 9: signed by the CA, by its CN
    assert session_row(b).findtext("m:username", namespaces=ns) == "bob"
    b.close_session()


def test_tls_settings(tmp_path: Path) -> None:
    s = config.from_mapping({"tls-listen": ["127.0.0.1", "[::1]", "192.0.2.1:7000"],
                             "tls-cert": "/c", "tls-key": "/k", "tls-ca": "/ca",
                             "tls-users": {"cn:alice": "alice"}})
    assert s.tls_listen == (("127.0.0.1", 6513), ("::1", 6513), ("192.0.2.1", 7000))
    assert s.tls_cert == Path("/c") and s.tls_users == {"cn:alice": "alice"}
    assert config.Settings().tls_listen == ()  # off by default
    with pytest.raises(ValueError, match="tls-listen needs tls-cert"):
        config.from_mapping({"tls-listen": ["127.0.0.1"]})
    with pytest.raises(ValueError, match="sha256:<fingerprint> or cn:<name>"):
        config.from_mapping({"tls-users": {"alice": "alice"}})
    with pytest.raises(ValueError, match="bad listen"):
        config.from_mapping({"listen": ["127.0.0.1"]})  # SSH has no default port
