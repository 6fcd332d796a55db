"""`hv`: one-shot commands (`hv list vm`) or, with no command, the interactive shell.

The one-shot path imports only the grammar, the small socket client and the renderers;
prompt_toolkit (shell) and paramiko (--host) load only when those are used.
"""

from __future__ import annotations

import os
import shlex
import sys

from hv_cli import commands, grammar
from hv_cli.facts import UsageError

from hvd_netconf import __version__

VALUE_OPTIONS = ("--socket", "--host", "--port", "--user", "--timeout")
# The --words that belong to a command (stop --force, snapshot rollback --stop), not to hv.
COMMAND_OPTIONS = ({f.word for c in grammar.COMMANDS for f in c.flags if f.word.startswith("--")}
                   | {o.label for c in grammar.COMMANDS for o in c.options
                      if o.label.startswith("--")})
FLAG_OPTIONS = {"--json": "json", "--xml": "xml", "--show-rpc": "show_rpc", "--dry-run": "dry_run",
                "--yes": "yes", "-y": "yes"}
USAGE = "usage: hv [options] [command ...]   (no command: interactive shell)"


def parse_options(argv: list[str]) -> tuple[commands.Options, list[str], bool]:
    """Pull the global options out of argv wherever they are; the rest is the command."""
    opts = commands.Options(socket=os.environ.get("HV_SOCKET", commands.Options.socket))
    words: list[str] = []
    want_help = False
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, eq, inline = arg.partition("=")
        if arg == "--":
            words += argv[i + 1:]
            break
        if name in VALUE_OPTIONS:
            if not eq:
                if i + 1 >= len(argv):
                    raise UsageError(f"{name} needs a value")
                i += 1
                inline = argv[i]
            _set_value(opts, name, inline)
        elif arg in FLAG_OPTIONS:
            setattr(opts, FLAG_OPTIONS[arg], True)
        elif arg in ("-h", "--help"):
            want_help = True
        elif arg == "--version":
            opts.version = True
        elif arg.startswith("--") and arg not in COMMAND_OPTIONS:
            raise UsageError(f"unknown option {arg}")
        else:
            words.append(arg)
        i += 1
    if opts.json and opts.xml:
        raise UsageError("--json and --xml exclude each other")
    if opts.port_given > 1:
        raise UsageError("give the port once: --host HOST:PORT or --port PORT")
    return opts, words, want_help


def _set_value(opts: commands.Options, name: str, value: str) -> None:
    if name == "--socket":
        opts.socket = value
    elif name == "--user":
        opts.user = value
    elif name == "--timeout":
        try:
            opts.timeout = float(value)
        except ValueError:
            opts.timeout = -1.0
        if not 0 < opts.timeout < 1e6:
            raise UsageError(f"--timeout needs a number of seconds, not '{value}'")
    elif name == "--port":
        opts.port = _port(value)
        opts.port_given += 1
    else:
        host, colon, port = value.rpartition(":")
        if colon and port.isdigit() and not host.endswith(":"):
            opts.host, opts.port = host.strip("[]"), _port(port)
            opts.port_given += 1
        else:
            opts.host = value.strip("[]")


def _port(value: str) -> int:
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise UsageError(f"the port must be a number in 1..65535, not '{value}'")
    return int(value)


def one_shot(opts: commands.Options, words: list[str]) -> int:
    session = commands.Session(opts)
    try:
        parsed = grammar.parse(words, "exec")
        if parsed.command.action == "help":
            from hv_cli import helptext  # textwrap and the help tables only for help

            print(helptext.help_for(shlex.split(parsed.values.get("words", "")), "exec"))
            return commands.EXIT_OK
        if parsed.command.action in ("configure", "exit"):
            raise UsageError(f"'{words[0]}' only makes sense in the interactive shell (run hv)")
        return commands.run(session, parsed)
    except UsageError as exc:
        line, status = commands.error_line(exc)
        sys.stderr.write(line + "\n")
        return status
    finally:
        session.close()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        opts, words, want_help = parse_options(argv)
    except UsageError as exc:
        sys.stderr.write(f"hv: {exc}\n{USAGE}\n")
        return commands.EXIT_USAGE
    if opts.version:
        print(f"hv {__version__}")
        return commands.EXIT_OK
    if want_help:
        from hv_cli import helptext

        print(f"{USAGE}\n\ncommands:\n{helptext.overview('exec')}\n\n{helptext.GLOBAL_OPTIONS}")
        return commands.EXIT_OK
    if words:
        return one_shot(opts, words)
    from hv_cli.shell import run_shell  # prompt_toolkit only for the shell

    return run_shell(opts)


if __name__ == "__main__":
    sys.exit(main())
