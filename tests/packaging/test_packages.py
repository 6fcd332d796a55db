"""pyproject.toml lists packages by hand (bindings/ and cli/ install under other names), so a
new subpackage left out of it would vanish from a real install; this catches that."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_every_hvd_netconf_package_is_listed() -> None:
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    found = {
        ".".join(p.parent.relative_to(REPO).parts)
        for p in (REPO / "hvd_netconf").rglob("__init__.py")
    }
    assert found - listed == set()
    assert {"hvd_bindings", "hv_cli"} <= listed
