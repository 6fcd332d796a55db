"""The interactive shell: `hv>` for immediate commands, `hv(config)#` for candidate edits.

Completion and `?` help come from the same grammar as the one-shot path; object names are
fetched from the server as they are needed.
"""

from __future__ import annotations

import contextlib
import shlex
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TextIO

from hv_cli import commands, facts, grammar, helptext, render, rpcs
from hv_cli.client import ConnectError, NetconfError, NoAnswer
from hv_cli.facts import UsageError
from hv_cli.grammar import Command, Param
from hv_cli.rpcs import el
from prompt_toolkit import PromptSession
from prompt_toolkit.application import run_in_terminal
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent

from hvd_netconf.namespaces import VM

HISTORY = "~/.hv_history"
FLAGS = {"--json": "json", "--xml": "xml", "--show-rpc": "show_rpc", "--dry-run": "dry_run",
         "--yes": "yes"}
PROMPTS = {"exec": "hv> ", "config": "hv(config)# "}


class Names:
    """Object names from the server for completion, fetched once per prompt."""

    def __init__(self, session: commands.Session) -> None:
        self.session = session
        self._cache: dict[tuple[str, str], list[str]] = {}

    def clear(self) -> None:
        self._cache.clear()

    def get(self, obj: str, vm: str = "") -> list[str]:
        key = (obj, vm)
        if key not in self._cache:
            self._cache[key] = self._fetch(obj, vm)
        return self._cache[key]

    def _fetch(self, obj: str, vm: str) -> list[str]:
        if self.session.opts.dry_run:
            return []
        if obj == "template":  # shipped and configured: the server's list-templates
            request = rpcs.list_templates()
        elif obj == "iso":  # the host's ISO directory
            request = rpcs.guest_rpc("list-isos")
        elif obj in ("disk", "nic"):
            request = rpcs.get(el("vms", el("vm", el("name", text=vm), el(obj, el("name"))),
                                  xmlns=VM))
        elif obj == "snapshot":  # the VM's snapshots (state) that hvd made
            request = rpcs.get(rpcs.snapshots(vm))
        else:
            container, ns = rpcs.TOP[obj]
            request = rpcs.get(el(container, el(obj, el("name")), xmlns=ns))
        try:
            reply = self.session.client.call(request)
        except (ConnectError, NetconfError, OSError):
            return []
        return sorted({(entry.findtext(f"{{{ns_of(entry)}}}name") or "").strip()
                       for entry in reply.iter() if render.local(entry.tag) == obj
                       and entry.findtext(f"{{{ns_of(entry)}}}hvd-made") != "false"})


def ns_of(node: ET.Element) -> str:
    return node.tag[1:].partition("}")[0]


def position(tokens: list[str], mode: str) -> tuple[list[Command], Command | None, dict[str, str],
                                                    list[str]]:
    """Where the cursor is: candidate commands, the matched one, bound values, positionals."""
    cmds = [c for c in grammar.COMMANDS if mode in c.modes]
    full = [c for c in cmds if tuple(tokens[: len(c.words)]) == c.words]
    if not full:
        return cmds, None, {}, []
    cmd = max(full, key=lambda c: len(c.words))
    values: dict[str, str] = {}
    positional: list[str] = []
    args = tokens[len(cmd.words):]
    opts = {o.label for o in cmd.options}
    flags = {f.word for f in cmd.flags}
    i = 0
    while i < len(args):
        if args[i] in flags:
            pass
        elif args[i] in opts and i + 1 < len(args):
            i += 1
        elif args[i] in opts:
            values["__option__"] = args[i]
        else:
            positional.append(args[i])
        i += 1
    for p, word in zip(cmd.params, positional, strict=False):
        values[p.label] = word
    return cmds, cmd, values, positional


class HvCompleter(Completer):
    def __init__(self, names: Names, session: commands.Session) -> None:
        self.names = names
        self.session = session  # its mode decides which commands complete

    def get_completions(self, document: Document, complete_event: CompleteEvent
                        ) -> Iterable[Completion]:
        text = document.text_before_cursor
        tokens = text.split()
        partial = "" if not text or text[-1].isspace() else tokens.pop()
        for word, meta in self.candidates(tokens):
            if word.startswith(partial):
                yield Completion(word, -len(partial), display_meta=meta)

    def candidates(self, tokens: list[str]) -> list[tuple[str, str]]:
        mode = self.session.mode
        cmds, cmd, values, positional = position(tokens, mode)
        depth = len(tokens)
        keywords = {c.words[depth]: c.help for c in cmds
                    if len(c.words) > depth and tuple(tokens) == c.words[:depth]}
        if cmd is None:
            return sorted(keywords.items())
        out = sorted(keywords.items())
        if "__option__" in values:
            option = next(o for o in cmd.options if o.label == values["__option__"])
            return out + self._values(option, values)
        if len(positional) < len(cmd.params):
            out += self._values(cmd.params[len(positional)], values)
        if len(positional) >= sum(1 for p in cmd.params if not p.optional):
            out += [(o.label, o.describe()) for o in cmd.options]
            out += [(f.word, f"{f.dest} {f.value}") for f in cmd.flags]
        return out

    def _values(self, param: Param, values: dict[str, str]) -> list[tuple[str, str]]:
        if param.kind in ("ref", "vmsnap"):
            return [(n, param.obj) for n in self.names.get(param.obj)]
        if param.kind == "listed":
            return [(n, param.obj) for n in self.names.get(param.obj)]
        if param.kind == "sub":
            return [(n, param.obj) for n in self.names.get(param.obj, values.get("vm", ""))]
        if param.kind == "snap":
            return [(n, "snapshot") for n in self.names.get("snapshot", values.get("vm", ""))]
        if param.kind == "prop":
            return [(name, facts.hint(f)) for name, f in facts.props(param.obj).items()]
        try:
            fact = param.fact(values)
        except UsageError:
            return []
        if fact is None:
            return []
        if fact["kind"] == "enum":
            return [(e, param.label) for e in fact["enums"]]
        if fact["kind"] == "bool":
            return [("true", param.label), ("false", param.label)]
        if fact["kind"] == "ref":
            return [(n, fact["ref"]) for n in self.names.get(fact["ref"])]
        return []


def hint_for(text: str, mode: str) -> str:
    """The bottom-line hint: what the next word may be (ranges, types)."""
    tokens = text.split()
    if text and not text.endswith(" "):
        tokens.pop()
    _, cmd, values, positional = position(tokens, mode)
    if cmd is None:
        return "? for help, Tab to complete"
    if len(positional) < len(cmd.params):
        param = cmd.params[len(positional)]
        try:
            if param.kind == "pval":
                fact = param.fact(values)
                assert fact is not None
                return f"<{values.get('prop')}> {fact.get('help', '')} ({facts.hint(fact)})"
            return f"<{param.label}> {param.describe()}"
        except UsageError as exc:
            return str(exc)
    return cmd.usage()


class ConfirmWatch(threading.Thread):
    """A second session, subscribed before the thread starts (so no event is missed), that
    hands each netconf-confirmed-commit (RFC 6470) confirm-event to `on_event`."""

    def __init__(self, opts: commands.Options, on_event: Callable[[str], None]) -> None:
        super().__init__(daemon=True, name="hv-confirm-watch")
        self.on_event = on_event
        self.stopping = False
        self.client = commands.Session(opts.copy(show_rpc=False)).client
        self.client.call(rpcs.subscribe_confirmed_commits())

    def run(self) -> None:
        client = self.client
        try:
            while not self.stopping:
                try:
                    message = client.receive(3600.0)
                except NoAnswer:
                    continue
                for e in message.iter():
                    if render.local(e.tag) == "confirm-event":
                        self.on_event((e.text or "").strip())
        except (ConnectError, OSError):
            pass  # the shell is leaving, or the server went: the commit is on the server

    def stop(self) -> None:
        self.stopping = True
        with contextlib.suppress(OSError):
            self.client.stream.close()


class Shell:
    def __init__(self, opts: commands.Options, out: TextIO = sys.stdout,
                 err: TextIO = sys.stderr, **prompt_args: Any) -> None:
        self.session = commands.Session(opts, out=out, err=err, interactive=True)
        self.session.ask = self.ask
        self.names = Names(self.session)
        self.watcher: ConfirmWatch | None = None
        bindings = KeyBindings()

        @bindings.add("?")
        def _help(event: KeyPressEvent) -> None:
            words = event.current_buffer.document.text_before_cursor.split()
            text = helptext.help_for(words, self.session.mode)
            run_in_terminal(lambda: self.print(text))

        self.prompt: PromptSession[str] = PromptSession(
            completer=HvCompleter(self.names, self.session),
            key_bindings=bindings,
            bottom_toolbar=lambda: hint_for(self.prompt.default_buffer.text, self.session.mode),
            **prompt_args,
        )

    def print(self, text: str) -> None:
        self.session.print(text)

    def ask(self, question: str) -> bool | None:
        """y/N; None when the input has ended."""
        try:
            answer = self.prompt.prompt(question + " [y/N] ", completer=None,
                                        bottom_toolbar=None)
        except EOFError:
            return None
        return answer.strip().lower() in ("y", "yes")

    def handle(self, line: str) -> bool:
        """Run one line; False when the shell should end."""
        try:
            tokens = shlex.split(line)
        except ValueError as exc:
            self.session.err.write(f"hv: {exc}\n")
            return True
        if not tokens:
            return True
        compare = tokens[-2:] == ["|", "compare"]
        if compare:
            tokens = tokens[:-2]
        flags = {FLAGS[t] for t in tokens if t in FLAGS}
        tokens = [t for t in tokens if t not in FLAGS]
        saved = self.session.opts.copy()
        for flag in flags:
            setattr(self.session.opts, flag, True)
        try:
            return self._handle(tokens, compare)
        finally:
            for flag in flags:
                setattr(self.session.opts, flag, getattr(saved, flag))

    def _handle(self, tokens: list[str], compare: bool) -> bool:
        try:
            parsed = grammar.parse(tokens, self.session.mode) if tokens else None
        except UsageError as exc:
            self.session.err.write(f"hv: {exc}\n")
            return True
        self.names.clear()
        if parsed is not None:
            action = parsed.command.action
            if action == "help":
                self.print(helptext.help_for(shlex.split(parsed.values.get("words", "")),
                                             self.session.mode))
            elif action == "exit":
                return self.leave()
            else:
                commands.run(self.session, parsed)
                if action == "commit-confirmed" and self.session.unconfirmed:
                    self.watch()
        if compare and self.session.mode == "config":
            try:
                commands.show_compare(self.session)
            except (ConnectError, NetconfError, OSError) as exc:
                self.session.err.write(commands.error_line(exc)[0] + "\n")
        return True

    def leave(self) -> bool:
        if self.session.mode == "exec":
            return not self.leave_shell()
        if self.session.dirty:  # at the end of input (None), they go
            if self.ask("There are uncommitted changes. Leave and discard them?") is False:
                return True
            commands.run(self.session, grammar.parse(["discard"], "config"))
        commands.leave_configure(self.session)
        return True

    def leave_shell(self) -> bool:
        """Leave the shell, asked first when a confirmed commit made here is unconfirmed (it
        stays pending: its token confirms it from any shell)."""
        token = self.session.unconfirmed
        if token is None:
            return True
        self.session.err.write(f"a confirmed commit made here is not confirmed yet; it reverts "
                               f"unless 'hv confirm' (token {token}) runs in time\n")
        return self.ask("Leave the shell anyway?") is not False

    def watch(self) -> None:
        """Say so at once when the confirmed commit this shell made is reverted (timeout or
        cancel): a second session subscribes to netconf-confirmed-commit."""
        if self.watcher is None:
            try:
                self.watcher = ConfirmWatch(self.session.opts, self.notice)
            except (ConnectError, NetconfError, OSError) as exc:
                self.session.err.write(f"{commands.error_line(exc)[0]} (no notice of a "
                                       "revert will show here)\n")
                return
            self.watcher.start()

    def notice(self, event: str) -> None:
        """A confirmed-commit event: the shell's pending commit is done with."""
        if self.session.unconfirmed is None or event in ("start", "extend"):
            return
        self.session.unconfirmed = None
        if event == "complete":
            text = "the confirmed commit was confirmed"
        else:
            text = ("the confirmed commit timed out and was reverted" if event == "timeout"
                    else "the confirmed commit was cancelled and reverted")
            commands.keep_token(self.session.server, None)
        self.say_from_thread(f"hv: {text}")

    def say_from_thread(self, text: str) -> None:
        """A line from another thread: above the prompt when one is shown."""

        def write() -> None:
            self.session.err.write(text + "\n")
            self.session.err.flush()

        app = self.prompt.app
        loop = app.loop if app.is_running else None
        if loop is None:
            write()
        else:
            loop.call_soon_threadsafe(lambda: run_in_terminal(write))

    def loop(self) -> int:
        try:
            while True:
                try:
                    line = self.prompt.prompt(PROMPTS[self.session.mode])
                except KeyboardInterrupt:
                    continue
                except EOFError:
                    if self.leave():
                        continue
                    return commands.EXIT_OK
                if not self.handle(line):
                    return commands.EXIT_OK
        finally:
            if self.watcher is not None:
                self.watcher.stop()
            self.session.close()


def history(path: str | None = HISTORY) -> History:
    if path is None:
        return InMemoryHistory()
    return FileHistory(str(Path(path).expanduser()))


def run_shell(opts: commands.Options) -> int:
    return Shell(opts, history=history()).loop()
