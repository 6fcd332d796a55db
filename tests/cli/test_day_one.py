"""What a user meets on day one: versions, memory units, show in configure mode, compare
between commits, typed JSON, commit summaries."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable

from support.server import HvdInstance

from hvd_netconf import __version__
from tests.cli.conftest import Result
from tests.cli.test_shell import drive

HV = Callable[..., Result]
Q = Callable[[str], list[str]]


def test_versions() -> None:
    for argv, name in (([sys.executable, "-m", "hv_cli.main", "--version"], "hv"),
                       ([sys.executable, "-m", "hvd_netconf.daemon", "--version"], "hvd")):
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        assert (r.returncode, r.stdout) == (0, f"{name} {__version__}\n"), r.stderr


def test_memory_takes_sizes(hv: HV, running: Q) -> None:
    assert hv("create vm web 1 1G").status == 0
    assert running("//vm:vm/vm:memory/text()") == ["1024"]
    assert hv("set vm web memory 512M").status == 0
    assert running("//vm:vm/vm:memory/text()") == ["512"]
    r = hv("set vm web memory 1.5G")
    assert r.status == 2
    assert r.err == ("hv: memory must be a whole number of megabytes or a size such as 512M "
                     "or 2G (64..1048576), not '1.5G'\n")


def test_show_in_configure_mode_shows_the_candidate(hvd: HvdInstance, hv: HV) -> None:
    assert hv("create vm web 1 256").status == 0
    keys = "configure\nset vm web cpu 4\nshow vm web\nlist vm\nexit\ny\nshow vm web\nexit\n"
    status, out, err = drive(hvd, keys)
    assert (status, err) == (0, "")
    shown = [line.split()[1] for line in out.splitlines() if line.strip().startswith("cpu ")]
    assert shown == ["4", "1"], out  # candidate in configure mode, running after
    assert re.search(r"^web\s+-\s+4\s+256M", out, re.M), out


def test_show_compare_between_commits(hv: HV) -> None:
    for line in ("create vm a 1 256", "create vm b 1 256", "set vm a cpu 2"):
        assert hv(line).status == 0
    ids = [c["id"] for c in json.loads(hv("show commits --json").out)]
    first, second, third = sorted(ids)
    since = hv(f"show compare {first}")
    assert since.status == 0 and "+" in since.out and "b" in since.out, since
    between = hv(f"show compare {second} {third}")
    assert between.status == 0, between
    changed = [ln for ln in between.out.splitlines() if ln[:1] in "+-" and ln[:3] not in
               ("+++", "---")]
    assert any("cpu" in ln and "2" in ln for ln in changed), between.out
    assert not any(">b<" in ln or "name b" in ln for ln in changed), between.out
    assert hv(f"show compare {third}").out == "no differences\n"


def test_a_long_commit_is_summarised(hvd: HvdInstance, hv: HV) -> None:
    keys = "configure\n" + "".join(f"create vm u{i:03d} 1 64\n" for i in range(12)) + \
        "commit\nexit\nshow commits\nexit\n"
    status, out, err = drive(hvd, keys)
    assert (status, err) == (0, "")
    assert "create 12 vms (u000…u011)" in out, out


def test_list_order_is_by_name_whatever_the_creation_order(hv: HV) -> None:
    for name in ("zeta", "alpha", "mid"):
        assert hv(f"create vm {name} 1 64").status == 0
    names = [line.split()[0] for line in hv("list vm").out.splitlines()[1:]]
    assert names == ["alpha", "mid", "zeta"]  # as a restarted hvd, which reloads sorted
    assert [v["name"] for v in json.loads(hv("list vm --json").out)] == names
