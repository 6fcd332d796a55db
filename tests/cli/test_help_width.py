"""Every help text fits a 100-column terminal: `hv --help`, `hv help WORDS` for each command
in both modes, and the `?` key of the shell (the same text, shown for each prefix typed)."""

from __future__ import annotations

import subprocess
import sys

from hv_cli import grammar, helptext
from support.server import HvdInstance

from tests.cli.test_shell import shell

WIDTH = 100


def too_wide(text: str) -> list[str]:
    return [line for line in text.splitlines() if len(line) > WIDTH]


def test_hv_help_fits() -> None:
    r = subprocess.run([sys.executable, "-m", "hv_cli.main", "--help"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0 and "commands:" in r.stdout
    assert too_wide(r.stdout) == []
    # every command is still there, its description whole
    flat = " ".join(r.stdout.split())
    for cmd in grammar.COMMANDS:
        if "exec" in cmd.modes:
            assert " ".join(f"{cmd.usage()} {cmd.help}".split()) in flat, cmd.usage()


def test_each_commands_help_fits() -> None:
    for mode in ("exec", "config"):
        for cmd in grammar.COMMANDS:
            for depth in range(len(cmd.words) + 1):
                words = list(cmd.words[:depth])
                text = helptext.help_for(words, mode)
                assert too_wide(text) == [], (mode, words)


def test_one_shot_help_command_fits() -> None:
    r = subprocess.run([sys.executable, "-m", "hv_cli.main", "help", "set", "vm"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and "loader.type" in r.stdout
    assert too_wide(r.stdout) == []


def test_question_mark_in_the_shell_fits(hvd: HvdInstance) -> None:
    for prefix in ("", "set ", "set vm ", "add disk ", "commit "):
        with shell(hvd) as (sh, pipe, out, _err):
            pipe.send_text(prefix + "?\x15exit\n")
            sh.loop()
        shown = out.getvalue()
        assert shown.strip(), prefix
        assert too_wide(shown) == [], prefix
