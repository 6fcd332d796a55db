"""`hv backup`, `hv backup list` and `hv restore` one-shot, with --json."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from support.server import HvdInstance

from hvd_netconf.host.sim.host import SimHost
from tests.cli.conftest import Result


def test_backup_list_verify_restore(hvd: HvdInstance, hv: Callable[..., Result],
                                    tmp_path: Path) -> None:
    for line in ("create vm web 1 256", "add disk web d0 1G"):
        assert hv(line).status == 0, line
    m = hvd.connect_uds()
    m.edit_config(target="running", config=(
        '<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><backup-targets '
        f'xmlns="urn:hvd:vm"><backup-target><name>files</name><directory>{tmp_path}'
        "</directory></backup-target></backup-targets></config>"))
    with open(SimHost(hvd.root).zvol_file("zroot/hv/vm/web/disks/d0"), "r+b") as f:
        f.write(b"payload")
    r = hv("backup web files")
    assert r.status == 0 and r.out.startswith("backup hvd-backup-") and ": full, " in r.out, \
        r.err
    got = json.loads(hv("backup web files --json").out)
    assert got["base"].startswith("hvd-backup-") and int(got["bytes"]) > 0
    listed = hv("backup list files").out.splitlines()
    assert listed[0].split() == ["VM", "BACKUP", "BASE", "BYTES"] and len(listed) == 3
    assert listed[2].split()[2] == got["base"]
    r = hv("restore files web --verify")
    assert (r.status, r.out) == (0, f"backup {got['backup']} of vm web is whole: 2 streams "
                                    "checked\n"), r.err
    r = hv("restore files web web2")
    assert r.status == 0 and r.out.startswith(f"vm web2 restored from backup {got['backup']}")
    with open(SimHost(hvd.root).zvol_file("zroot/hv/vm/web2/disks/d0"), "rb") as f:
        assert f.read(7) == b"payload"
    assert hv("restore files web").err == "hv: a VM named 'web' is configured already\n"
