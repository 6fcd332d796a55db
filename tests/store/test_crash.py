"""The real thing: a child commits with fsync on and is SIGKILLed at random instants.

After every kill the store is reopened: running must be exactly the last acknowledged
commit or the one in flight, and every file must parse (opening the store checks them all).
"""

from __future__ import annotations

import copy
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from lxml import etree

from hvd_netconf.store import Datastores

CHILD = Path(__file__).with_name("crash_child.py")
REPO = Path(__file__).resolve().parents[2]


def _digest(ds: Datastores) -> str:
    import importlib.util

    spec = importlib.util.spec_from_file_location("crash_child", CHILD)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    state = {key: etree.tostring(copy.deepcopy(el), method="c14n")
             for key, el in ds.running.items()}
    return mod.digest(state)  # type: ignore[no-any-return]


def test_sigkill_at_random_instants(tmp_path: Path) -> None:
    root = str(tmp_path / "hv")
    rng = random.Random(os.getpid())
    acked_total = kills = 0
    inflight_seen = 0
    deadline = time.monotonic() + 15
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    while (acked_total < 200 or kills < 10) and time.monotonic() < deadline:
        child = subprocess.Popen([sys.executable, str(CHILD), root, str(rng.randrange(1 << 30))],
                                 stdout=subprocess.PIPE, cwd=str(REPO), env=env)
        assert child.stdout is not None
        first = child.stdout.readline().decode()
        assert first.startswith("START "), first
        time.sleep(rng.uniform(0.02, 0.4))
        child.send_signal(signal.SIGKILL)
        rest = child.stdout.read().decode()
        child.wait()
        kills += 1
        last = first.split()[1]
        inflight = None
        for line in rest.splitlines():
            word, *args = line.split()
            if word == "TRY":
                inflight = args[0]
            elif word == "ACK":
                assert args[1] == inflight
                last, inflight = args[1], None
                acked_total += 1
        if inflight is not None:
            inflight_seen += 1
        ds = Datastores(root, fsync=False, history_limit=10)
        got = _digest(ds)
        assert got in (last, inflight), f"kill {kills}: state is neither acked nor in flight"
        for rec in ds.history.list(0, 10):
            assert ds.history.get(rec.id).images is not None
    print(f"\ncrash test: {kills} kills, {acked_total} acknowledged commits, "
          f"{inflight_seen} kills with a commit in flight")
    assert acked_total >= 60, f"only {acked_total} commits in the time budget"
    assert kills >= 8 and inflight_seen >= 1
