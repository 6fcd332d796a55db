"""What a user meets on day one: versions, memory units, show in configure mode, compare
between commits, typed JSON, commit summaries."""

from __future__ import annotations

import subprocess
import sys

from hvd_netconf import __version__


def test_versions() -> None:
    for argv, name in (([sys.executable, "-m", "hv_cli.main", "--version"], "hv"),
                       ([sys.executable, "-m", "hvd_netconf.daemon", "--version"], "hvd")):
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        assert (r.returncode, r.stdout) == (0, f"{name} {__version__}\n"), r.stderr
