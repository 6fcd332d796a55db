"""A headless chromium driven by Selenium, with the waits the tests need: every wait is on a
condition the user would see, with a timeout, never a sleep."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

WAIT = 20.0
SHOTS = os.environ.get("HVD_WEBUI_SCREENSHOTS")  # a folder: write the docs' screenshots


class Browser:
    def __init__(self, driver: webdriver.Chrome, base: str = "") -> None:
        self.driver = driver
        self.base = base

    @classmethod
    def start(cls, tmp_path: Path) -> Browser:
        opts = webdriver.ChromeOptions()
        opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--window-size=1280,900", f"--user-data-dir={tmp_path / 'chromium'}"):
            opts.add_argument(arg)
        opts.accept_insecure_certs = True  # hvd's self-signed development certificate
        opts.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
        service = Service(shutil.which("chromedriver") or "/usr/bin/chromedriver")
        return cls(webdriver.Chrome(options=opts, service=service))

    def quit(self) -> None:
        self.driver.quit()

    def open(self, path: str) -> None:
        self.driver.get(self.base + path)

    def find(self, css: str) -> WebElement:
        return self.until(lambda: self.driver.find_element(By.CSS_SELECTOR, css), css)

    def all(self, css: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def until(self, check: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
        def probe(_d: Any) -> Any:
            try:
                return check()
            except (StaleElementReferenceException, Exception):  # not there yet
                return False
        return WebDriverWait(self.driver, timeout).until(probe, f"waiting for {what}")

    def text_of(self, css: str, text: str) -> WebElement:
        return self.until(lambda: next(e for e in self.all(css) if text in e.text),
                          f"{text!r} in {css}")

    def login(self, user: str, password: str) -> None:
        self.open("/")
        self.find("#user").send_keys(user)
        self.find("#password").send_keys(password)
        self.find("form button[type=submit]").click()
        self.find("#logout")

    def hosts_asked(self) -> set[str]:
        """Every host the page sent a request to (chromium's network log)."""
        hosts = set()
        for entry in self.driver.get_log("performance"):
            msg = json.loads(entry["message"])["message"]
            if msg["method"] == "Network.requestWillBeSent":
                url = msg["params"]["request"]["url"]
                if url.startswith(("http:", "https:", "ws:", "wss:")):  # not chrome://
                    hosts.add(urlsplit(url).netloc)
        return hosts

    def console_errors(self) -> list[str]:
        return [e["message"] for e in self.driver.get_log("browser") if e["level"] == "SEVERE"]

    def screenshot(self, name: str) -> None:
        """Only when HVD_WEBUI_SCREENSHOTS names a folder: a normal run writes nothing."""
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            self.driver.save_screenshot(str(Path(SHOTS) / f"{name}.png"))
