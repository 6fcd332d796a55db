"""Fixtures of the end-to-end tests: hvd as a child process, killed and restarted at will."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from e2e.helpers import ChildHvd, kill_standins
from support.server import HvdInstance


@pytest.fixture
def child_hvd(tmp_path: Path) -> Iterator[ChildHvd]:
    root = tmp_path / "root"
    root.mkdir()
    child = ChildHvd(root, tmp_path / "hvd.sock", tmp_path / "hvd.log")
    try:
        yield child
    finally:
        try:
            if child.proc is not None and child.proc.poll() is None:
                child.proc.kill()
                child.proc.wait(timeout=10)
            child._drop_managers()
        finally:
            kill_standins(root)


@pytest.fixture
def vmhvd(hvd_factory: Callable[..., HvdInstance]) -> Iterator[HvdInstance]:
    """An in-process hvd with the daemon's wiring; at teardown it stops (stopping its VMs)
    and no stand-in guest of its root is left running, whatever the test did."""
    inst = hvd_factory(ssh=False)
    try:
        yield inst
    finally:
        try:
            inst.stop()
        finally:
            kill_standins(inst.root)
