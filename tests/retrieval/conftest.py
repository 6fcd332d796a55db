"""Every server in tests/retrieval has the read side attached and seed data."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from retrieval.readside import attach_seeded

from hvd_netconf.server import Server


@pytest.fixture
def hvd_attach() -> Callable[[Server], None]:
    return attach_seeded
