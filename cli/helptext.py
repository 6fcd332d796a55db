"""`help`, `?` and `hv --help`: the command table, and for one command its parameters."""

from __future__ import annotations

import textwrap

from hv_cli.grammar import COMMANDS, Command

WIDTH = 100  # every help line fits a 100-column terminal
COLUMN = 44  # where the command's description starts in the overview

GLOBAL_OPTIONS = """\
options (anywhere on the line):
  --socket PATH       hvd's Unix socket (default $HV_SOCKET or /var/run/hvd.sock)
  --host HOST[:PORT]  talk to a remote hvd over SSH (port 830, or --port PORT), with --user USER;
                      host keys checked against ~/.ssh/known_hosts as ssh(1) does
  --json, --xml       machine-readable output of read commands
  --show-rpc          print each NETCONF request before sending it
  --dry-run           print the requests instead of sending them
  --yes, -y           destroy without asking (destructive commands show what they destroy
                      and ask on a terminal; without one they refuse unless --yes)
  --timeout SECONDS   wait this long for each reply (default 120), then give up
exit status: 0 done, 1 refused by the server or not found, 2 bad input, 3 cannot connect"""


def _commands(mode: str) -> list[Command]:
    return [c for c in COMMANDS if mode in c.modes]


def _wrap(text: str, first: str, rest: str) -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=first, subsequent_indent=rest,
                         break_on_hyphens=False)


def overview(mode: str) -> str:
    """`usage  description`, the description in a column; a long usage gets a line of its own."""
    lines: list[str] = []
    pad = " " * (COLUMN + 2)
    for c in _commands(mode):
        usage = f"  {c.usage()}"
        if len(usage) > COLUMN:
            lines += _wrap(c.usage(), "  ", "      ")
            usage = ""
        lines += _wrap(c.help, usage.ljust(COLUMN) + "  ", pad)
    return "\n".join(lines)


def detail(cmd: Command) -> str:
    lines = [*_wrap(cmd.usage(), "", "    "), *_wrap(cmd.help, "  ", "  ")]
    for p in (*cmd.params, *cmd.options):
        lines += _wrap(f"{p.label}: {p.describe()}", "  ", "      ")
    return "\n".join(lines)


def help_for(words: list[str], mode: str) -> str:
    """Help on the commands that start with these words (all of them for none)."""
    if not words:
        return overview(mode)
    cmds = [c for c in _commands(mode) if c.words[: len(words)] == tuple(words[: len(c.words)])]
    if not cmds:
        return f"no command starts with '{' '.join(words)}'; type 'help' for the list"
    exact = [c for c in cmds if len(words) >= len(c.words)]
    return "\n".join(detail(c) for c in (exact or cmds))
