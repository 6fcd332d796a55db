"""Fixtures every test directory may use: a live hvd (`hvd`), a factory and the attach hook."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.server import HvdInstance, start_hvd

from hvd_netconf.server import Server


@pytest.fixture
def hvd_attach() -> Callable[[Server], None] | None:
    """Override to attach other components; None means the daemon's own wire_components."""
    return None


@pytest.fixture
def hvd_factory(tmp_path: Path, hvd_attach: Callable[[Server], None] | None
                ) -> Iterator[Callable[..., HvdInstance]]:
    """Start more servers or ones with other settings: `hvd_factory(idle_timeout=1)`."""
    started: list[HvdInstance] = []

    def factory(*, attach: Callable[[Server], None] | None = None, ssh: bool = True,
                **overrides: Any) -> HvdInstance:
        sub = tmp_path / f"hvd{len(started)}"
        inst = start_hvd(sub, attach or hvd_attach, ssh=ssh, **overrides)
        started.append(inst)
        return inst

    yield factory
    for inst in started:
        inst.stop()


@pytest.fixture
def hvd(hvd_factory: Callable[..., HvdInstance]) -> HvdInstance:
    """A running hvd: Unix socket under tmp_path and SSH on 127.0.0.1 (random port)."""
    return hvd_factory()
