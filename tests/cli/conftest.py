"""Running hv against a live hvd (the tests/support fixture, sim backend)."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hv_cli.main import main
from lxml import etree
from support.server import HvdInstance

NS = {"vm": "urn:hvd:vm", "net": "urn:hvd:network"}


@dataclass
class Result:
    status: int
    out: str
    err: str


def run_hv(socket_path: str, *args: str) -> Result:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["--socket", socket_path, *args])
    return Result(status, out.getvalue(), err.getvalue())


@pytest.fixture
def hv_at() -> Callable[..., Result]:
    """hv against any socket path (for a server that is not there)."""
    return run_hv


@pytest.fixture
def hv(hvd: HvdInstance) -> Callable[..., Result]:
    """`hv("create vm test 2 1024")` -> Result, against this test's server."""
    def run(line: str, *extra: str) -> Result:
        return run_hv(str(hvd.socket_path), *line.split(), *extra)
    return run


@pytest.fixture
def running(hvd: HvdInstance) -> Callable[[str], list[str]]:
    """XPath over the server's running configuration, read with ncclient (not hv)."""
    manager = hvd.connect_uds()

    def query(xpath: str) -> list[str]:
        root = etree.fromstring(manager.get_config("running").data_xml.encode())
        return [str(x) for x in root.xpath(xpath, namespaces=NS)]
    return query
