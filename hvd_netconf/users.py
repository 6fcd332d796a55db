"""NETCONF users for SSH: scrypt password hashes, authorized keys and groups under ROOT/.hvd/.

The file is JSON, mode 0600, replaced atomically; no plaintext password is ever stored.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                            dklen=32)
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        want = base64.b64decode(digest)
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n),
                             r=int(r), p=int(p), maxmem=256 * 1024 * 1024, dklen=len(want))
    except (ValueError, binascii.Error):
        return False
    return hmac.compare_digest(got, want)


def parse_key_line(line: str) -> tuple[str, bytes] | None:
    """`type base64 [comment]` -> (type, blob); None for blanks and comments."""
    parts = line.strip().split()
    if not parts or parts[0].startswith("#") or len(parts) < 2:
        return None
    try:
        return parts[0], base64.b64decode(parts[1], validate=True)
    except binascii.Error:
        raise ValueError(f"bad public key line: {line.strip()[:40]!r}") from None


@dataclass
class User:
    name: str
    password: str | None = None  # the scrypt hash
    authorized_keys: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)


class UserDB:
    """The users file; re-read when it changes on disk, so `hvd user add` needs no restart."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._mutex = threading.Lock()
        self._users: dict[str, User] = {}
        self._stamp: tuple[int, int] | None = None

    @classmethod
    def for_root(cls, root: Path) -> UserDB:
        return cls(Path(root) / ".hvd" / "users.json")

    def _load(self) -> dict[str, User]:
        with self._mutex:
            try:
                st = self.path.stat()
            except FileNotFoundError:
                self._users, self._stamp = {}, None
                return self._users
            stamp = (st.st_mtime_ns, st.st_size)
            if stamp != self._stamp:
                data = json.loads(self.path.read_text())
                self._users = {
                    name: User(name, u.get("password"), list(u.get("authorized_keys", [])),
                               list(u.get("groups", [])))
                    for name, u in data.get("users", {}).items()
                }
                self._stamp = stamp
            return self._users

    def _save(self, users: dict[str, User]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = {"users": {u.name: {"password": u.password, "authorized_keys": u.authorized_keys,
                                   "groups": u.groups} for u in users.values()}}
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)
        self._stamp = None

    def get(self, name: str) -> User | None:
        return self._load().get(name)

    def list(self) -> list[User]:
        return sorted(self._load().values(), key=lambda u: u.name)

    def add(self, name: str, *, password: str | None = None, keys: Sequence[str] = (),
            groups: Sequence[str] = ()) -> User:
        if not _NAME.match(name):
            raise ValueError(f"bad user name {name!r}")
        for line in keys:
            parse_key_line(line)
        users = dict(self._load())
        user = users.get(name) or User(name)
        if password is not None:
            user.password = hash_password(password)
        user.authorized_keys = [*user.authorized_keys,
                                *(k.strip() for k in keys if parse_key_line(k))]
        user.groups = sorted({*user.groups, *groups})
        users[name] = user
        self._save(users)
        return user

    def delete(self, name: str) -> None:
        users = dict(self._load())
        if name not in users:
            raise KeyError(name)
        del users[name]
        self._save(users)

    def check_password(self, name: str, password: str) -> bool:
        user = self.get(name)
        if user is None or not user.password:
            verify_password(password, _dummy_hash())  # same cost for unknown users
            return False
        return verify_password(password, user.password)

    def key_allowed(self, name: str, key_type: str, blob: bytes) -> bool:
        user = self.get(name)
        if user is None:
            return False
        for line in user.authorized_keys:
            parsed = parse_key_line(line)
            if parsed and parsed[0] == key_type and hmac.compare_digest(parsed[1], blob):
                return True
        return False


@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_hex(8))
