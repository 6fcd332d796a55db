"""Every server in tests/notify has the read side (with the notification bus) attached."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from retrieval.readside import attach_seeded

from hvd_netconf.server import Server


@pytest.fixture
def hvd_attach() -> Callable[[Server], None]:
    return attach_seeded
