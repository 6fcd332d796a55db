"""A live hvd with RESTCONF and the web interface on 127.0.0.1 (random port, self-signed
certificate), and a read-only user beside the test user."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from restconf.conftest import Restconf, rc_factory  # noqa: F401  (the fixture, re-used)

from hvd_netconf.users import UserDB

READER, READER_PASSWORD = "viewer", "viewer-pw"


@pytest.fixture
def ui(rc_factory: Callable[..., Restconf]) -> Restconf:  # noqa: F811
    rc = rc_factory()
    UserDB.for_root(rc.hvd.root).add(READER, password=READER_PASSWORD, groups=["users"])
    return rc
