"""The web interface's main paths in Firefox (Debian's firefox-esr, headless, over
Marionette), as test_browser.py walks them in chromium: the page is plain ES modules, fetch,
EventSource and a WebSocket, and each of those is used here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from restconf.conftest import Restconf
from support.server import PASSWORD, USER
from webui.firefox import Firefox
from webui.test_browser import VMS, J, at, state_of


@pytest.fixture
def firefox(tmp_path: Path) -> Iterator[Firefox]:
    b = Firefox.start(tmp_path)
    yield b
    b.quit()


def test_log_in_start_live_edit_and_commit(ui: Restconf, firefox: Firefox) -> None:
    c = at(ui, firefox, "alpha", "beta")
    firefox.text_of("#vm-counts", "2 VMs, 2 stopped")
    firefox.open("/#/vms")
    firefox.text_of("#live", "live")  # the event stream (EventSource) is open
    firefox.find("tr[data-vm=alpha] button.start").click()
    assert firefox.find("#confirm-text").text == "Start vm alpha?"
    firefox.find("#confirm-yes").click()
    firefox.text_of("tr[data-vm=alpha] .state", "running")
    assert state_of(c, "alpha") == "running"
    r = c.post("/restconf/operations/hvd-vm:stop-vm",
               json={"hvd-vm:input": {"name": "alpha", "force": True}}, headers=J)
    assert r.status_code in (200, 204), r.text
    firefox.text_of("tr[data-vm=alpha] .state", "stopped")  # from the stream, no reload
    firefox.open("/#/vm/beta")
    memory = firefox.find("#f-memory")
    memory.clear()
    memory.send_keys("256")
    firefox.find("#stage").click()
    diff = firefox.text_of("#diff", "256")
    assert "128" in diff.text
    assert c.get(f"{VMS}/vm=beta/memory").json()["hvd-vm:memory"] == 128  # not yet
    firefox.find("#commit").click()
    firefox.text_of("#message", "Committed.")
    assert c.get(f"{VMS}/vm=beta/memory").json()["hvd-vm:memory"] == 256


def test_server_error_beside_its_field(ui: Restconf, firefox: Firefox) -> None:
    at(ui, firefox)
    firefox.open("/#/new/vm")
    firefox.find("#f-name").send_keys("Bad Name!")
    firefox.find("#stage").click()
    assert firefox.find("#f-name-error").text
    assert firefox.find("#f-name").get_attribute("aria-invalid") == "true"


def test_console_echoes(ui: Restconf, firefox: Firefox) -> None:
    c = at(ui, firefox, "alpha", user=None)
    r = c.post("/restconf/operations/hvd-vm:start-vm", json={"hvd-vm:input": {"name": "alpha"}},
               headers=J)
    assert r.status_code in (200, 204), r.text
    firefox.login(USER, PASSWORD)
    firefox.open("/#/console/alpha")
    firefox.text_of("#console-status", "connected")  # the WebSocket is open
    firefox.find(".xterm-helper-textarea").send_keys("\nhello\n")
    firefox.text_of("#terminal", "you typed 'hello'")
