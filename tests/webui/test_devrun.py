"""`make run` prints the web interface's address and login, and they work; the page benchmark
still runs against the current code (its figures are not judged)."""

from __future__ import annotations

import re
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
from support.devrun import start_devrun, stop_devrun

REPO = Path(__file__).resolve().parents[2]


def test_make_run_prints_the_web_address_and_a_login_that_works(tmp_path: Path) -> None:
    proc, out = start_devrun(tmp_path)
    try:
        line = re.search(r"Web interface: (https://\S+/)\s+\(user (\S+), password (\S+);", out)
        assert line, out
        url, user, password = line.groups()
        cert = tmp_path / "run" / "restconf-cert.pem"
        with httpx.Client(base_url=url, verify=ssl.create_default_context(cafile=str(cert)),
                          timeout=20) as c:
            assert "<title>hvd</title>" in c.get("/").text
            r = c.post("/ui/login", json={"user": user, "password": password})
            assert r.status_code == 200, r.text
            vms = c.get("/restconf/data/hvd-vm:vms", headers={"Accept":
                                                              "application/yang-data+json"})
            assert [v["name"] for v in vms.json()["hvd-vm:vms"]["vm"]] == ["demo"]
    finally:
        status, rest = stop_devrun(proc)
    assert status == 0, f"devrun exited {status}:\n{out}{rest}"


def test_page_benchmark_runs() -> None:
    out = subprocess.run([sys.executable, str(REPO / "tools/bench/webpage.py"), "--vms", "3",
                          "--runs", "1"], capture_output=True, text=True, timeout=180,
                         check=True).stdout
    rows = {line[:28].strip(): line[28:].split("each:")[0].split()
            for line in out.splitlines()[2:]}
    assert list(rows) == ["first contentful paint", "VM table populated"], out
    assert all(float(x) > 0 for r in rows.values() for x in r)
    assert "4 VMs" in out  # the three made and make run's demo
