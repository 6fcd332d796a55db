"""`make run` serves RESTCONF as it says, and the README's curl examples work against it
(the real curl, the printed certificate and password)."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

from support.devrun import start_devrun, stop_devrun

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_block() -> str:
    text = README.read_text()
    start = text.index("<!-- restconf-examples:")
    body = text[start:].split("```sh\n", 1)[1].split("```", 1)[0]
    return body


def test_make_run_restconf_and_readme_examples(tmp_path: Path) -> None:
    proc, out = start_devrun(tmp_path)
    try:
        printed = re.search(r"RESTCONF:\s+(curl .*?)\\\n\s+(https://\S+)", out)
        assert printed, out
        argv = [*shlex.split(printed.group(1)), printed.group(2)]
        got = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=30)
        assert got.returncode == 0 and '"name": "demo"' in got.stdout, got
        port = re.search(r"https://127\.0\.0\.1:(\d+)/", printed.group(2)).group(1)
        script = "set -e\n" + readme_block().replace("127.0.0.1:8443", f"127.0.0.1:{port}")
        run = subprocess.run(["sh", "-c", script], cwd=tmp_path, capture_output=True,
                             text=True, timeout=60)
        assert run.returncode == 0, run
        assert '"name": "demo"' in run.stdout and '"hvd-system:output"' in run.stdout, run
    finally:
        status, rest = stop_devrun(proc)
    assert status == 0, f"devrun exited {status}:\n{out}{rest}"
