"""The web interface's VM table: how long until it is painted and filled, in headless
chromium, on the whole daemon as `make run` starts it.

Runs `python -m hvd_netconf.devrun` (the daemon's full wiring on the sim host) in a child
process under a temporary folder, creates --vms VMs with one NETCONF edit-config over the
Unix socket, starts Debian's chromium through chromedriver (Selenium), logs in once with the
user and password `make run` prints, then loads `/#/vms` --runs times as a new navigation
each time (the static files revalidated by their ETag, as a reload does) and reads from the
page's own clock (performance.now(), 0 at the navigation's start):

- first contentful paint (the browser's paint timing entry);
- table populated: the first animation frame at which the VM table has one row per VM
  (every VM of the RESTCONF GET drawn).

Figures are milliseconds, p50 and max over the runs, and each run's in order.

    .venv/bin/python tools/bench/webpage.py [--vms 1000] [--runs 10]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
from pathlib import Path

from ncclient import manager

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1] / "tests"), str(HERE)]
from restconf import create_vms, start_make_run  # noqa: E402  (tools/bench/restconf.py)
from support.devrun import stop_devrun  # noqa: E402
from webui.browser import Browser  # noqa: E402

FILLED = """const [rows, done] = arguments;
const look = () => document.querySelectorAll('#vm-table tbody tr').length >= rows
  ? done([performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1,
          performance.now()])
  : requestAnimationFrame(look);
look();"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vms", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc, sock, base, _cert, password = start_make_run(Path(tmp))
        browser = None
        try:
            m = manager.connect_uds(path=sock)
            create_vms(m, args.vms)
            total = len(re.findall(r"<vm>", m.get_config("running", filter=(
                "subtree", '<vms xmlns="urn:hvd:vm"><vm><name/></vm></vms>')).xml))
            m.close_session()
            browser = Browser.start(Path(tmp))
            browser.base = base
            browser.driver.set_script_timeout(120)
            browser.login("admin", password)
            paints, filled = [], []
            for _ in range(args.runs):
                browser.driver.get("about:blank")
                browser.open("/#/vms")
                fcp, done = browser.driver.execute_async_script(FILLED, total)
                paints.append(fcp)
                filled.append(done)
            print(f"hvd as `make run` starts it (devrun: full wiring, sim host), {total} VMs, "
                  f"headless chromium, {args.runs} page loads of /#/vms; ms from navigation")
            print(f"{'':28}{'p50':>8}{'max':>8}")
            for label, xs in (("first contentful paint", paints),
                              ("VM table populated", filled)):
                print(f"{label:28}{statistics.median(xs):8.0f}{max(xs):8.0f}"
                      f"   each: {' '.join(f'{x:.0f}' for x in xs)}")
        finally:
            if browser is not None:
                browser.quit()
            stop_devrun(proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
