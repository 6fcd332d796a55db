"""The README's tour, run as printed against a `make run` (devrun) hvd: each command's output
has the shape the README shows (numbers, times and column padding may differ)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pexpect
from devrun.test_devrun import DevRun

README = Path(__file__).resolve().parents[2] / "README.md"
PROMPT = re.compile(r"^(hv> |hv\(config\)# )")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


README_DIR = "/home/you/hvd"  # the folder the README's tour runs in


def tour_blocks() -> tuple[str, str]:
    tour = README.read_text().split("## A tour", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```\n(.*?)^```", tour, re.M | re.S)
    return blocks[0], blocks[1]


def shape(lines: list[str]) -> list[str]:
    """Digits and runs of blanks made equal, so a pid, a time or a wider column still match."""
    return [re.sub(r"\s+", " ", re.sub(r"\d+", "N", ANSI.sub("", ln))).strip()
            for ln in lines if ln.strip()]


def steps(block: str, is_input: re.Pattern[str]) -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        m = is_input.match(line)
        if m:
            out.append((line[m.end():], []))
        else:
            out[-1][1].append(line)
    return out


def echo_dropped(lines: list[str], typed: str) -> list[str]:
    """The output after the typed line's echo; a loaded machine may make the line editor draw
    the echo more than once, so every leading line that is only the echo goes."""
    while lines and (not ANSI.sub("", lines[0]).strip()
                     or ANSI.sub("", lines[0]).strip().endswith(typed)):
        lines = lines[1:]
    return lines


def test_the_readme_tour_runs_as_printed(tmp_path: Path) -> None:
    one_shot, shell = tour_blocks()
    dev = DevRun(tmp_path / "run")
    try:
        dev.banner()
        env = dict(os.environ, HV_SOCKET=str(tmp_path / "run" / "hvd.sock"), TERM="dumb",
                   PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
        for command, expected in steps(one_shot, re.compile(r"^\$ ")):
            r = subprocess.run(command.split(), env=env, capture_output=True, text=True,
                               timeout=60)
            # The sim's console path lies under the run folder: the README's is ~/hvd/run.
            got = (r.stdout + r.stderr).replace(str(tmp_path), README_DIR).splitlines()
            status = next((int(m.group(1)) for ln in expected
                           if (m := re.match(r"\[exit status (\d+)", ln))), 0)
            expected = [ln for ln in expected if not ln.startswith("[exit status")]
            assert r.returncode == status, (command, r)
            assert shape(got) == shape(expected), command
        child = pexpect.spawn("hv", env=env, encoding="utf-8", timeout=30,
                              dimensions=(50, 200))
        for line, expected in steps(shell, PROMPT):
            child.expect([r"hv> ", r"hv\(config\)# "])
            child.sendline(line)
            child.expect([r"hv> ", r"hv\(config\)# "])
            got = echo_dropped(child.before.replace("\r", "").split("\n"), line)
            assert shape(got) == shape(expected), line
            child.sendline("")  # the prompt again, for the next expect
        child.sendline("exit")
        child.expect(pexpect.EOF)
    finally:
        assert dev.stop() == 0, dev.rest
