"""Client certificates from restconf-client-ca log in as a user: by the subject's CN when no
cert-to-name entries are configured, else by the RFC 7407 entries in id order (fingerprint of
the certificate or of its CA; specified, SAN or common-name)."""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import ssl
import tomllib
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hvd_netconf.config import from_mapping
from hvd_netconf.users import UserDB
from hvd_netconf.wire.certnames import map_certificate, parse_entries

VMS = "/restconf/data/hvd-vm:vms"


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def issue(ca_key, ca_name: x509.Name, cn: str, key_path: Path, cert_path: Path,
          *, ca: bool = False, sans: list[x509.GeneralName] | None = None
          ) -> ec.EllipticCurvePrivateKey:
    """A key and certificate for cn signed by ca_key (None: self-signed)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    builder = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(ca_name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(ca_key or key, hashes.SHA256())
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key


def der(path: Path) -> bytes:
    return x509.load_pem_x509_certificate(path.read_bytes()).public_bytes(
        serialization.Encoding.DER)


def fp(path: Path, form: str = "04") -> str:
    digest = hashlib.sha256(der(path)).hexdigest().upper()
    return f"{form}:" + ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    """A CA and three client certificates it signed: t (CN tester), s (CN stranger, e-mail
    SAN ops@Example.ORG), d (CN nobody, DNS and IPv6 SANs); and o, signed by another CA."""
    ca_key = issue(None, _name("test CA"), "test CA", tmp_path / "ca-key.pem",
                   tmp_path / "ca.pem", ca=True)
    issue(ca_key, _name("test CA"), "tester", tmp_path / "t.key", tmp_path / "t.pem")
    issue(ca_key, _name("test CA"), "stranger", tmp_path / "s.key", tmp_path / "s.pem",
          sans=[x509.RFC822Name("ops@Example.ORG")])
    issue(ca_key, _name("test CA"), "nobody", tmp_path / "d.key", tmp_path / "d.pem",
          sans=[x509.DNSName("Web.Example.org"),
                x509.IPAddress(ipaddress.ip_address("2001:db8::1"))])
    other = issue(None, _name("other CA"), "other CA", tmp_path / "o-ca-key.pem",
                  tmp_path / "o-ca.pem", ca=True)
    issue(other, _name("other CA"), "tester", tmp_path / "o.key", tmp_path / "o.pem")
    return tmp_path


def test_entries_in_id_order_with_each_map_type(pki: Path) -> None:
    trusted = x509.load_pem_x509_certificates((pki / "ca.pem").read_bytes())
    entries = parse_entries([
        {"id": 30, "fingerprint": fp(pki / "ca.pem"), "map-type": "common-name"},
        {"id": 10, "fingerprint": fp(pki / "t.pem", "sha256"), "map-type": "specified",
         "name": "alice"},
        {"id": 20, "fingerprint": fp(pki / "ca.pem"), "map-type": "san-rfc822-name"},
    ], "restconf-cert-to-name")
    assert [e.id for e in entries] == [10, 20, 30]
    # t: its own fingerprint comes first (10) even though the CA's entries would map it too
    assert map_certificate(der(pki / "t.pem"), entries, trusted) == "alice"
    # s: by its CA (20), the e-mail SAN with its host part in lower case
    assert map_certificate(der(pki / "s.pem"), entries, trusted) == "ops@example.org"
    # d has no e-mail SAN: 20 is passed over, 30 gives its CN
    assert map_certificate(der(pki / "d.pem"), entries, trusted) == "nobody"
    # o: another CA's certificate; no fingerprint of its chain is listed
    assert map_certificate(der(pki / "o.pem"), entries, trusted) is None
    dns = parse_entries([{"id": 1, "fingerprint": fp(pki / "ca.pem"),
                          "map-type": "san-dns-name"}], "x")
    assert map_certificate(der(pki / "d.pem"), dns, trusted) == "web.example.org"
    ip = parse_entries([{"id": 1, "fingerprint": fp(pki / "d.pem"),
                         "map-type": "san-ip-address"}], "x")
    assert map_certificate(der(pki / "d.pem"), ip, trusted) == \
        "20010db8000000000000000000000001"


@pytest.mark.parametrize(("entry", "words"), [
    ({"id": 1, "fingerprint": "04:AB", "map-type": "common-name"}, "not a sha256 hash"),
    ({"id": 1, "fingerprint": "09:AB", "map-type": "common-name"}, "must start with"),
    ({"id": 1, "fingerprint": "04:" + "00" * 32, "map-type": "cn"}, "map-type must be"),
    ({"id": 1, "fingerprint": "04:" + "00" * 32, "map-type": "specified"}, "name is given"),
    ({"id": 1, "fingerprint": "04:" + "00" * 32, "map-type": "common-name", "name": "x"},
     "name is given"),
    ({"fingerprint": "04:" + "00" * 32, "map-type": "common-name"}, "needs an id"),
    ({"id": 1, "fingerprint": "04:" + "00" * 32, "map-type": "common-name", "nme": "x"},
     "no 'nme'"),
])
def test_bad_entries_are_refused(entry: dict, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_entries([entry], "restconf-cert-to-name")


def test_hvd_conf_table_and_its_checks(pki: Path) -> None:
    text = f"""
restconf-client-ca = "{pki / 'ca.pem'}"
[[restconf-cert-to-name]]
id = 2
fingerprint = "{fp(pki / 'ca.pem')}"
map-type = "common-name"
[[restconf-cert-to-name]]
id = 1
fingerprint = "{fp(pki / 't.pem')}"
map-type = "specified"
name = "alice"
"""
    settings = from_mapping(tomllib.loads(text))
    assert [(e.id, e.map_type, e.name) for e in settings.restconf_cert_to_name] == \
        [(1, "specified", "alice"), (2, "common-name", None)]
    with pytest.raises(ValueError, match="needs restconf-client-ca"):
        from_mapping(tomllib.loads(text.replace("restconf-client-ca", "#")))
    with pytest.raises(ValueError, match="ids must be unique"):
        from_mapping(tomllib.loads(text.replace("id = 2", "id = 1")))


def _client(rc, pki: Path, name: str) -> httpx.Client:
    ctx = ssl.create_default_context(cafile=str(rc.cert))
    ctx.load_cert_chain(str(pki / f"{name}.pem"), str(pki / f"{name}.key"))
    return httpx.Client(base_url=rc.base, verify=ctx, timeout=20)


def test_client_certificate_maps_by_cn_without_entries(rc_factory, pki: Path) -> None:
    rc = rc_factory(restconf_client_ca=pki / "ca.pem")
    with _client(rc, pki, "t") as c:
        r = c.post(VMS, json={"hvd-vm:vm": [{"name": "w", "memory": 64}]},
                   headers={"Content-Type": "application/yang-data+json"})
        assert r.status_code == 201, r.text  # tester is in the admin group: may write
    with _client(rc, pki, "s") as c:
        assert c.get(VMS).status_code == 401
    assert rc.client().get(VMS).status_code == 200  # Basic still works without a certificate


def test_cert_to_name_entries_over_https(rc_factory, pki: Path) -> None:
    entries = parse_entries([
        {"id": 1, "fingerprint": fp(pki / "s.pem"), "map-type": "specified", "name": "tester"},
        {"id": 2, "fingerprint": fp(pki / "ca.pem"), "map-type": "san-dns-name"},
    ], "restconf-cert-to-name")
    rc = rc_factory(restconf_client_ca=pki / "ca.pem", restconf_cert_to_name=entries)
    UserDB.for_root(rc.hvd.root).add("web.example.org", password="x", groups=["users"])
    with _client(rc, pki, "s") as c:  # CN stranger, mapped to tester by its fingerprint
        r = c.post(VMS, json={"hvd-vm:vm": [{"name": "w", "memory": 64}]},
                   headers={"Content-Type": "application/yang-data+json"})
        assert r.status_code == 201, r.text
    with _client(rc, pki, "d") as c:  # by its CA: the DNS SAN, a user outside wheel
        assert c.get(f"{VMS}/vm=w").status_code == 200
        r = c.delete(f"{VMS}/vm=w")
        assert r.status_code == 403, r.text
    with _client(rc, pki, "t") as c:  # CN tester, but no DNS SAN: no entry maps it
        assert c.get(VMS).status_code == 401
