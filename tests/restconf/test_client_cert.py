"""A client certificate from restconf-client-ca logs in as the user its CN names."""

from __future__ import annotations

import datetime
import ssl
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

VMS = "/restconf/data/hvd-vm:vms"


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def issue(ca_key, ca_name: x509.Name, cn: str, key_path: Path, cert_path: Path,
          *, ca: bool = False) -> ec.EllipticCurvePrivateKey:
    """A key and certificate for cn signed by ca_key (None: self-signed)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(ca_name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(ca_key or key, hashes.SHA256()))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key


def test_client_certificate_maps_to_a_user(rc_factory, tmp_path: Path) -> None:
    ca_cert = tmp_path / "ca.pem"
    ca_key = issue(None, _name("test CA"), "test CA", tmp_path / "ca-key.pem", ca_cert, ca=True)
    issue(ca_key, _name("test CA"), "tester", tmp_path / "t.key", tmp_path / "t.pem")
    issue(ca_key, _name("test CA"), "stranger", tmp_path / "s.key", tmp_path / "s.pem")
    rc = rc_factory(restconf_client_ca=ca_cert)

    def client(name: str) -> httpx.Client:
        ctx = ssl.create_default_context(cafile=str(rc.cert))
        ctx.load_cert_chain(str(tmp_path / f"{name}.pem"), str(tmp_path / f"{name}.key"))
        return httpx.Client(base_url=rc.base, verify=ctx, timeout=20)

    with client("t") as c:
        r = c.post(VMS, json={"hvd-vm:vm": [{"name": "w", "memory": 64}]},
                   headers={"Content-Type": "application/yang-data+json"})
        assert r.status_code == 201, r.text  # tester is in the admin group: may write
    with client("s") as c:
        assert c.get(VMS).status_code == 401
    assert rc.client().get(VMS).status_code == 200  # Basic still works without a certificate
