"""A live hvd with RESTCONF on 127.0.0.1 (random port, self-signed certificate) and httpx
clients for it: `rc.client()` logs in as the test user, `rc.client(auth=None)` as nobody."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.server import PASSWORD, USER, HvdInstance

from hvd_netconf.restconf.listener import self_signed

JSON = "application/yang-data+json"
XML = "application/yang-data+xml"


@dataclass
class Restconf:
    hvd: HvdInstance
    base: str
    cert: Path
    _clients: list[httpx.Client] = field(default_factory=list)

    def client(self, auth: tuple[str, str] | None = (USER, PASSWORD), *,
               accept: str = JSON, **kw: Any) -> httpx.Client:
        trust = ssl.create_default_context(cafile=str(self.cert))
        c = httpx.Client(base_url=self.base, verify=trust, auth=auth,
                         headers={"Accept": accept}, timeout=20, **kw)
        self._clients.append(c)
        return c

    def close(self) -> None:
        for c in self._clients:
            c.close()


def restconf_settings(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    cert, key = tmp_path / "rc-cert.pem", tmp_path / "rc-key.pem"
    self_signed(cert, key)
    settings: dict[str, Any] = dict(restconf_listen=(("127.0.0.1", 0),), restconf_cert=cert,
                                    restconf_key=key, restconf_auth_delay=0.05)
    settings.update(overrides)
    return settings


@pytest.fixture
def rc_factory(hvd_factory: Callable[..., HvdInstance], tmp_path: Path
               ) -> Iterator[Callable[..., Restconf]]:
    made: list[Restconf] = []

    def factory(**overrides: Any) -> Restconf:
        settings = restconf_settings(tmp_path, **overrides)
        inst = hvd_factory(**settings)
        assert inst.running.restconf is not None
        host, port = inst.running.restconf.addresses[0]
        r = Restconf(inst, f"https://{host}:{port}", settings["restconf_cert"])
        made.append(r)
        return r

    yield factory
    for r in made:
        r.close()


@pytest.fixture
def rc(rc_factory: Callable[..., Restconf]) -> Restconf:
    return rc_factory()
