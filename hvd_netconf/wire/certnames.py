"""Client certificate to user name, as ietf-x509-cert-to-name (RFC 7407 §2) defines it and
RFC 7589 §7 uses it: an ordered list of entries, each a certificate fingerprint and a way to
take the name from the presented certificate.

The entries are tried in order of their id. An entry applies when its fingerprint is that of
the presented (end-entity) certificate or of a CA certificate that issued it (directly or
through others of the trusted CA file); it then yields a name by its map-type: `specified`
(the entry's own name), `san-rfc822-name`, `san-dns-name`, `san-ip-address`, `san-any` (the
first of those subjectAltNames) or `common-name` (the subject's one CN). An entry whose
map-type finds nothing in the certificate is passed over, and the next one is tried.

A fingerprint is written as RFC 7407's tls-fingerprint (`04:AB:...`: the hash algorithm's
TLS HashAlgorithm number, 4 = SHA-256, 5 = SHA-384, 6 = SHA-512, then the hash), or as
`sha256:AB:...` like `tls-users`; colons are optional, case does not matter.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

MAP_TYPES = ("specified", "san-rfc822-name", "san-dns-name", "san-ip-address", "san-any",
             "common-name")
# RFC 5246 §7.4.1.4.1 HashAlgorithm numbers, as tls-fingerprint's first octet (RFC 7407)
HASHES = {"04": "sha256", "05": "sha384", "06": "sha512"}
_SAN_TYPES: dict[str, tuple[type[x509.GeneralName], ...]] = {
    "san-rfc822-name": (x509.RFC822Name,),
    "san-dns-name": (x509.DNSName,),
    "san-ip-address": (x509.IPAddress,),
    "san-any": (x509.RFC822Name, x509.DNSName, x509.IPAddress),
}


@dataclass(frozen=True)
class CertToName:
    """One cert-to-name entry (RFC 7407's list `cert-to-name`, keyed and ordered by id)."""

    id: int
    algorithm: str  # hashlib name
    digest: bytes
    map_type: str
    name: str | None = None  # the user, for map-type specified

    def matches(self, der: bytes) -> bool:
        return hashlib.new(self.algorithm, der).digest() == self.digest


def parse_fingerprint(text: str) -> tuple[str, bytes]:
    """(hashlib name, digest) of `04:AB:...` or `sha256:AB:...`."""
    head, sep, rest = text.strip().partition(":")
    if head.lower() in HASHES.values() and sep:
        algorithm, hexdigits = head.lower(), rest
    elif head in HASHES:
        algorithm, hexdigits = HASHES[head], rest
    else:
        raise ValueError(f"fingerprint {text!r} must start with 04: (SHA-256), 05: (SHA-384), "
                         "06: (SHA-512) or sha256:")
    try:
        digest = bytes.fromhex(hexdigits.replace(":", ""))
    except ValueError:
        raise ValueError(f"fingerprint {text!r} is not hexadecimal") from None
    if len(digest) != hashlib.new(algorithm).digest_size:
        raise ValueError(f"fingerprint {text!r} is not a {algorithm} hash")
    return algorithm, digest


def parse_entries(value: Any, setting: str) -> tuple[CertToName, ...]:
    """The entries of a TOML array of tables (id, fingerprint, map-type, name), by id."""
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ValueError(f"{setting} must be an array of tables ([[{setting}]])")
    out = []
    for item in value:
        known = {k.replace("_", "-") for k in item}
        extra = known - {"id", "fingerprint", "map-type", "name"}
        if extra:
            raise ValueError(f"{setting} entries have no {sorted(extra)[0]!r}")
        fields = {k.replace("_", "-"): v for k, v in item.items()}
        ident, fp, map_type = fields.get("id"), fields.get("fingerprint"), fields.get("map-type")
        name = fields.get("name")
        if not isinstance(ident, int) or isinstance(ident, bool) or not 0 <= ident < 2**32:
            raise ValueError(f"each {setting} entry needs an id (0 to 4294967295)")
        if not isinstance(fp, str):
            raise ValueError(f"{setting} entry {ident} needs a fingerprint")
        if map_type not in MAP_TYPES:
            raise ValueError(f"{setting} entry {ident}: map-type must be one of "
                             f"{', '.join(MAP_TYPES)}")
        if (map_type == "specified") != isinstance(name, str) or name == "":
            raise ValueError(f"{setting} entry {ident}: name is given with map-type "
                             "specified, and only then")
        algorithm, digest = parse_fingerprint(fp)
        out.append(CertToName(ident, algorithm, digest, map_type, name))
    ids = [e.id for e in out]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{setting} ids must be unique")
    return tuple(sorted(out, key=lambda e: e.id))


def issuers(leaf: x509.Certificate, trusted: Sequence[x509.Certificate]
            ) -> list[x509.Certificate]:
    """The CA certificates among `trusted` that issued leaf, nearest first (its chain)."""
    chain: list[x509.Certificate] = []
    here = leaf
    while len(chain) < len(trusted):
        above = next((ca for ca in trusted if ca not in chain and _issued(here, ca)), None)
        if above is None or above == here:
            break
        chain.append(above)
        here = above
    return chain


def _issued(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _name(cert: x509.Certificate, entry: CertToName) -> str | None:
    if entry.map_type == "specified":
        return entry.name
    if entry.map_type == "common-name":
        cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(cns[0].value) if len(cns) == 1 else None
    try:
        sans: Iterable[x509.GeneralName] = cert.extensions.get_extension_for_class(
            x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    for san in sans:
        if isinstance(san, _SAN_TYPES[entry.map_type]):
            return _san_text(san)
    return None


def _san_text(san: x509.GeneralName) -> str:
    """A subjectAltName as RFC 7407's identities turn it into a name: a DNS name in lower
    case, an e-mail address with its host part in lower case, an IPv4 address dotted, an
    IPv6 address as 32 lower-case hex digits without colons."""
    value = san.value
    if isinstance(value, ipaddress.IPv6Address):
        return value.packed.hex()
    if isinstance(san, x509.DNSName):
        return str(value).lower()
    if isinstance(san, x509.RFC822Name):
        local, at, host = str(value).rpartition("@")
        return f"{local}{at}{host.lower()}"
    return str(value)


def map_certificate(der: bytes, entries: Sequence[CertToName],
                    trusted: Sequence[x509.Certificate] = ()) -> str | None:
    """The name the first applicable entry gives the presented certificate, or None."""
    leaf = x509.load_der_x509_certificate(der)
    chain = [der] + [ca.public_bytes(Encoding.DER) for ca in issuers(leaf, trusted)]
    for entry in entries:
        if any(entry.matches(c) for c in chain):
            name = _name(leaf, entry)
            if name:
                return name
    return None

