"""The manual pages lint clean and tell the truth about the settings and the sample file."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from dataclasses import fields
from pathlib import Path

from hvd_netconf.config import Settings, from_mapping

REPO = Path(__file__).resolve().parents[2]
PAGES = sorted((REPO / "man").glob("*.[1-9]"))


def test_every_page_lints_clean() -> None:
    mandoc = shutil.which("mandoc")
    assert mandoc, "mandoc is missing: make test installs it (tools/install-test-deps.sh)"
    assert {p.name for p in PAGES} == {"hv.1", "hvd.8", "hvd.conf.5"}
    for page in PAGES:
        res = subprocess.run([mandoc, "-T", "lint", "-W", "style", str(page)],
                             capture_output=True, text=True)
        # Cross-references to FreeBSD pages this Linux machine does not have are the only
        # messages allowed.
        problems = [line for line in (res.stdout + res.stderr).splitlines()
                    if "referenced manual not found" not in line and "mandoc.db" not in line]
        assert problems == [], page.name


def test_every_setting_is_documented_and_the_sample_loads() -> None:
    documented = set()
    for line in (REPO / "man" / "hvd.conf.5").read_text().splitlines():
        if line.startswith(".It Cm "):
            keys = line.removeprefix(".It Cm ").split(" Pq ")[0]
            documented |= {k.strip() for k in keys.split(",")}
    settings = {f.name.replace("_", "-") for f in fields(Settings)} - {"extra"}
    assert settings - documented == set()
    assert documented - settings == set()
    sample = from_mapping(tomllib.loads((REPO / "hvd.conf.sample").read_text()))
    assert sample.zfs_parent == "zroot/hv" and sample.socket_mode == 0o660
