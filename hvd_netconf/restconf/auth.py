"""HTTP Basic authentication (RFC 7617) against the SSH users' password hashes.

A verified password is remembered by a keyed hash of the header together with the user's
stored hash, so a kept-alive client is not made to pay scrypt on every request, and a changed
or deleted user is re-checked at once. Failed logins are counted per client address and each
answer is held back longer than the last (doubling up to MAX_DELAY), like a login prompt.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID

from hvd_netconf.users import UserDB
from hvd_netconf.wire.certnames import CertToName, map_certificate

log = logging.getLogger(__name__)

MAX_DELAY = 8.0
CACHE_SIZE = 1024
FORGET_AFTER = 600.0  # seconds after which a quiet address's failures are forgotten


@dataclass(frozen=True)
class Identity:
    username: str
    groups: frozenset[str]


def parse_basic(header: str | None) -> tuple[str, str] | None:
    """(user, password) of an `Authorization: Basic ...` header, or None."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(token.strip(), validate=True).decode(
            "utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep and user else None


class BasicAuth:
    def __init__(self, users: UserDB, base_delay: float,
                 cert_to_name: Sequence[CertToName] = (),
                 trusted: Sequence[x509.Certificate] = ()) -> None:
        self.users = users
        self.base_delay = base_delay
        self.cert_to_name = tuple(cert_to_name)
        self.trusted = tuple(trusted)  # restconf-client-ca: where a fingerprint may also sit
        self._key = secrets.token_bytes(32)
        self._verified: dict[bytes, str] = {}  # keyed header hash -> stored password hash
        self._failures: dict[str, tuple[int, float]] = {}  # address -> (count, last time)
        self._mutex = threading.Lock()
        self.failed_total = 0

    def remembered(self, header: str) -> Identity | None:
        """The identity of a header verified before (its user and password hash unchanged),
        or None; cheap (no scrypt), so the event loop may call it without a thread hop."""
        creds = parse_basic(header)
        user = self.users.get(creds[0]) if creds is not None else None
        if user is None or not user.password:
            return None
        with self._mutex:
            known = self._verified.get(self._token(header))
        if known is not None and hmac.compare_digest(known, user.password):
            return Identity(user.name, frozenset(user.groups))
        return None

    def _token(self, header: str) -> bytes:
        return hmac.new(self._key, header.encode(), hashlib.sha256).digest()

    def check(self, header: str | None) -> Identity | None:
        """The caller's identity, or None; blocking (scrypt), so run it off the event loop."""
        creds = parse_basic(header)
        if creds is None or header is None:
            return None
        known = self.remembered(header)
        if known is not None:
            return known
        user_name, password = creds
        user = self.users.get(user_name)
        stored = user.password if user is not None else None
        token = self._token(header)
        if not self.users.check_password(user_name, password) or user is None or not stored:
            return None
        with self._mutex:
            if len(self._verified) >= CACHE_SIZE:
                self._verified.clear()
            self._verified[token] = stored
        return Identity(user_name, frozenset(user.groups))

    def from_certificate(self, der: bytes) -> Identity | None:
        """The user a verified client certificate names: by the cert-to-name entries
        (RFC 7407, `restconf-cert-to-name`) when there are any, else by its subject's one
        common name; the name must be a user of the users file (for NACM's groups)."""
        if self.cert_to_name:
            name = map_certificate(der, self.cert_to_name, self.trusted)
        else:
            cns = x509.load_der_x509_certificate(der).subject.get_attributes_for_oid(
                NameOID.COMMON_NAME)
            name = str(cns[0].value) if len(cns) == 1 else None
        user = self.users.get(name) if name else None
        return Identity(user.name, frozenset(user.groups)) if user is not None else None

    def failed(self, address: str) -> float:
        """Count a failed login from address; returns the seconds to hold the answer back."""
        now = time.monotonic()
        with self._mutex:
            self.failed_total += 1
            count, last = self._failures.get(address, (0, now))
            if now - last > FORGET_AFTER:
                count = 0
            count += 1
            self._failures[address] = (count, now)
            if len(self._failures) > CACHE_SIZE:
                self._failures = {a: v for a, v in self._failures.items()
                                  if now - v[1] <= FORGET_AFTER}
        log.warning("restconf: failed login from %s (%d in a row)", address, count)
        return float(min(self.base_delay * 2 ** (count - 1), MAX_DELAY))

    def succeeded(self, address: str) -> None:
        with self._mutex:
            self._failures.pop(address, None)
