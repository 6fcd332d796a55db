"""Debian's firefox-esr, headless, driven over Marionette (Firefox's own remote protocol) by
Mozilla's marionette-driver: Debian packages no geckodriver for Selenium, and Marionette is
what geckodriver itself speaks to Firefox. The page API the tests use is Browser's."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path
from typing import Any

from marionette_driver.marionette import Marionette
from webui.browser import Browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Driver:
    """The few Selenium calls Browser makes, on a Marionette session."""

    def __init__(self, m: Marionette) -> None:
        self.m = m

    def get(self, url: str) -> None:
        self.m.navigate(url)

    def find_element(self, by: str, value: str) -> Any:
        return self.m.find_element(by, value)

    def find_elements(self, by: str, value: str) -> list[Any]:
        return list(self.m.find_elements(by, value))

    def execute_script(self, script: str, *args: Any) -> Any:
        return self.m.execute_script(script, script_args=list(args))

    def active_element(self) -> Any:
        return self.m.get_active_element()


class Firefox(Browser):
    @classmethod
    def start(cls, tmp_path: Path) -> Firefox:
        binary = shutil.which("firefox-esr") or shutil.which("firefox") or "/usr/bin/firefox-esr"
        m = Marionette(host="127.0.0.1", port=_free_port(), bin=binary, headless=True,
                       gecko_log=str(tmp_path / "gecko.log"), startup_timeout=60)
        m.start_session({"acceptInsecureCerts": True})  # hvd's self-signed certificate
        m.set_window_rect(width=1280, height=900)
        return cls(_Driver(m))  # type: ignore[arg-type]

    def quit(self) -> None:
        m = self.driver.m  # type: ignore[attr-defined]
        m.delete_session()
        m.cleanup()
