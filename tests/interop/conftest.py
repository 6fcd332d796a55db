"""Fixtures of the interop tests: hvd child processes reached over SSH like remote hosts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from interop.remote import ClientHome, RemoteHvd, launch_all, make_fleet


@pytest.fixture
def client_home(tmp_path: Path) -> ClientHome:
    return ClientHome.create(tmp_path / "home")


@pytest.fixture
def remote_hvds(tmp_path: Path, client_home: ClientHome
                ) -> Iterator[Callable[[int], list[RemoteHvd]]]:
    """`remote_hvds(3)`: three hvds, each with the user `ops` (client_home's key, a password)
    and its host key pinned in client_home's known_hosts; all stopped at teardown."""
    started: list[RemoteHvd] = []

    def start(count: int) -> list[RemoteHvd]:
        fleet = make_fleet(tmp_path / f"fleet{len(started)}", count)
        started.extend(fleet)
        launch_all(fleet, client_home)
        return fleet

    yield start
    for hvd in started:
        hvd.stop()


@pytest.fixture
def remote_hvd(remote_hvds: Callable[[int], list[RemoteHvd]]) -> RemoteHvd:
    return remote_hvds(1)[0]
