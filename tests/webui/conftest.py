"""A live hvd with RESTCONF and the web interface on 127.0.0.1 (random port, self-signed
certificate), and a read-only user beside the test user."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from restconf.conftest import Restconf, rc_factory  # noqa: F401  (the fixture, re-used)
from webui.browser import Browser

from hvd_netconf.users import UserDB

READER, READER_PASSWORD = "viewer", "viewer-pw"


@pytest.fixture
def ui(rc_factory: Callable[..., Restconf]) -> Restconf:  # noqa: F811
    rc = rc_factory()
    UserDB.for_root(rc.hvd.root).add(READER, password=READER_PASSWORD, groups=["users"])
    return rc


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    """Debian's headless chromium through chromedriver (tools/install-test-deps.sh)."""
    b = Browser.start(tmp_path)
    yield b
    b.quit()
