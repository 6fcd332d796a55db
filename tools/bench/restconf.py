"""RESTCONF latency next to NETCONF's, on the whole daemon as `make run` starts it.

This runs `python -m hvd_netconf.devrun` (what `make run` runs: the daemon's full wiring on
the sim host, NETCONF on a Unix socket and SSH, RESTCONF on HTTPS with a self-signed
certificate) in a child process under a temporary folder, reads the RESTCONF address,
certificate and password it prints, creates --vms VMs with one NETCONF edit-config, then
times, with one kept-alive HTTPS connection (httpx) and one NETCONF session over the Unix
socket (ncclient, TICK 0.001):

- a small read: one VM (RESTCONF GET of vm=NAME; NETCONF <get> with a subtree filter);
- a one-leaf write committed to running: that VM's memory (RESTCONF PATCH; NETCONF
  <edit-config> on running).

Figures are milliseconds, p50 and p99 over --runs requests each.

    .venv/bin/python tools/bench/restconf.py [--vms 1000] [--runs 300]
"""

from __future__ import annotations

import argparse
import re
import shlex
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import ncclient.transport.session
from ncclient import manager

sys.path[:0] = [str(Path(__file__).resolve().parents[2] / "tests")]
from support.devrun import start_devrun, stop_devrun  # noqa: E402

ncclient.transport.session.TICK = 0.001
JSON = "application/yang-data+json"


def start_make_run(folder: Path) -> tuple[subprocess.Popen[str], str, str, str, str]:
    """(process, socket, base URL, certificate, password) of `make run` in folder."""
    proc, out = start_devrun(folder)
    curl = re.search(r"RESTCONF:\s+(curl .*?)\\\n\s+(https://\S+?)/restconf", out)
    if curl is None:
        stop_devrun(proc)
        raise SystemExit(f"no RESTCONF line in:\n{out}")
    words = shlex.split(curl.group(1))
    cert = str(folder / words[words.index("--cacert") + 1])
    password = words[words.index("-u") + 1].split(":", 1)[1]
    return proc, str(folder / "run" / "hvd.sock"), curl.group(2), cert, password


def create_vms(m: manager.Manager, count: int) -> None:
    """vm0 ... vm{count-1}, 256 MB each, in one edit-config of running."""
    vms = "".join(f"<vm><name>vm{i}</name><memory>256</memory></vm>" for i in range(count))
    m.edit_config(target="running", config=f'<config><vms xmlns="urn:hvd:vm">{vms}</vms></config>')


def timed(fn: Callable[[int], None], runs: int) -> tuple[float, float]:
    times = []
    for i in range(runs):
        t0 = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vms", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc, sock, base, cert, password = start_make_run(Path(tmp))
        try:
            m = manager.connect_uds(path=sock)
            create_vms(m, args.vms)
            name = f"vm{args.vms // 2}"
            client = httpx.Client(base_url=base, auth=("admin", password),
                                  verify=ssl.create_default_context(cafile=cert),
                                  headers={"Accept": JSON})
            url = f"/restconf/data/hvd-vm:vms/vm={name}"
            client.get(url).raise_for_status()  # the TLS handshake and the login, once

            def rc_get(_i: int) -> None:
                client.get(url).raise_for_status()

            def rc_patch(i: int) -> None:
                client.patch(f"{url}/memory", json={"hvd-vm:memory": 512 + (i % 2) * 256},
                             headers={"Content-Type": JSON}).raise_for_status()

            flt = f'<vms xmlns="urn:hvd:vm"><vm><name>{name}</name></vm></vms>'

            def nc_get(_i: int) -> None:
                m.get(filter=("subtree", flt))

            def nc_edit(i: int) -> None:
                m.edit_config(target="running", config=(
                    f'<config><vms xmlns="urn:hvd:vm"><vm><name>{name}</name>'
                    f'<memory>{512 + (i % 2) * 256}</memory></vm></vms></config>'))

            print(f"hvd as `make run` starts it (devrun: full wiring, sim host), "
                  f"{args.vms} VMs, {args.runs} requests each; ms")
            print(f"{'':34}{'p50':>8}{'p99':>8}")
            for label, fn in (("RESTCONF GET one VM (HTTPS)", rc_get),
                              ("NETCONF get one VM (Unix)", nc_get),
                              ("RESTCONF PATCH one leaf (HTTPS)", rc_patch),
                              ("NETCONF edit-config one leaf", nc_edit)):
                p50, p99 = timed(fn, args.runs)
                print(f"{label:34}{p50:8.2f}{p99:8.2f}")
            client.close()
            m.close_session()
        finally:
            stop_devrun(proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
