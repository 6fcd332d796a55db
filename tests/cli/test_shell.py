"""The interactive shell driven through prompt_toolkit's pipe input, against a live hvd."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from hv_cli.commands import Options
from hv_cli.shell import HvCompleter, Shell, hint_for
from prompt_toolkit.document import Document
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from support.server import HvdInstance
from support.waiting import wait_for

Q = Callable[[str], list[str]]


@contextmanager
def shell(hvd: HvdInstance, **opts: Any) -> Iterator[tuple[Shell, Any, io.StringIO, io.StringIO]]:
    out, err = io.StringIO(), io.StringIO()
    with create_pipe_input() as pipe:
        sh = Shell(Options(socket=str(hvd.socket_path), **opts), out=out, err=err,
                   input=pipe, output=DummyOutput(), history=InMemoryHistory())
        yield sh, pipe, out, err


def drive(hvd: HvdInstance, keys: str, **opts: Any) -> tuple[int, str, str]:
    with shell(hvd, **opts) as (sh, pipe, out, err):
        pipe.send_text(keys)
        status = sh.loop()
    return status, out.getvalue(), err.getvalue()


def test_immediate_commands(hvd: HvdInstance, running: Q) -> None:
    status, out, err = drive(hvd, "create vm test 2 1024\nset vm test cpu 40\nlist vm\nexit\n")
    assert status == 0
    assert "created vm test" in out
    assert err == "hv: cpu must be in 1..32, not 40\n"
    assert "NAME" in out and "1024M" in out
    assert running("//vm:vm/vm:cpu/text()") == ["2"]


def test_configure_compare_commit(hvd: HvdInstance, running: Q) -> None:
    keys = ("create vm test 2 1024\nconfigure\nset vm test cpu 8\nshow compare\n"
            "commit comment more cpus\nexit\nshow commits\nexit\n")
    status, out, err = drive(hvd, keys)
    assert (status, err) == (0, "")
    assert "set cpu of vm test to 8 (uncommitted)" in out
    assert "8" in out.split("(uncommitted)")[1].split("committed")[0]  # the diff shows it
    assert running("//vm:vm/vm:cpu/text()") == ["8"]
    assert "more cpus" in out


def test_leaving_configure_with_changes_asks(hvd: HvdInstance, running: Q) -> None:
    keys = ("create vm test 2 1024\nconfigure\nset vm test cpu 8\nexit\nn\n"
            "exit\ny\nexit\n")
    status, out, _ = drive(hvd, keys)
    assert status == 0
    assert "uncommitted changes discarded" in out
    assert running("//vm:vm/vm:cpu/text()") == ["2"]


def test_rollback_then_commit(hvd: HvdInstance, running: Q) -> None:
    drive(hvd, "create vm test 2 1024\nset vm test cpu 4\nexit\n")
    _, out, _ = drive(hvd, "show commits --json\nexit\n")
    commits = json.loads(out)
    first = min(int(c["id"]) for c in commits)
    assert running("//vm:vm/vm:cpu/text()") == ["4"]
    keys = f"configure\nrollback {first}\nshow compare\ncommit\nexit\nexit\n"
    status, out, err = drive(hvd, keys)
    assert (status, err) == (0, "")
    assert f"loaded commit {first} into the candidate" in out
    assert running("//vm:vm/vm:cpu/text()") == ["2"]


def test_completion_of_vm_names_and_values(hvd: HvdInstance) -> None:
    drive(hvd, "create vm alpha 1 64\ncreate vm beta 1 64\nexit\n")
    with shell(hvd) as (sh, _, _, _):
        completer: HvCompleter = sh.prompt.completer  # type: ignore[assignment]

        def words(text: str) -> list[str]:
            return [c.text for c in completer.get_completions(Document(text), None)]  # type: ignore[arg-type]

        assert words("sta") == ["start", "stats"]
        assert words("star") == ["start"]
        assert words("start ") == ["alpha", "beta"]
        assert words("start al") == ["alpha"]
        assert "cpu" in words("set vm alpha ")
        assert words("set vm alpha loader.type ") == ["uefi", "bhyveload", "grub"]
        assert words("add disk alpha boot 20G em") == ["emulation"]
        assert hint_for("set vm alpha cpu ", "exec").endswith("(1..32)")
        sh.session.close()


def test_tab_completes_in_the_prompt(hvd: HvdInstance) -> None:
    drive(hvd, "create vm alpha 1 64\nexit\n")
    with shell(hvd) as (sh, pipe, out, err):
        pipe.send_text("show vm alp")

        def person() -> None:
            """Keys typed apart, as a person does: Enter only once the completion shows."""
            try:
                wait_for(lambda: sh.prompt.default_buffer.text == "show vm alp", 10, "typing")
                pipe.send_text("\t")
                wait_for(lambda: sh.prompt.default_buffer.text.startswith("show vm alpha"), 10,
                         "the completion of alp")
            finally:  # the shell ends either way; the asserts below say what it showed
                pipe.send_text("\r")
                pipe.send_text("exit\r")

        typist = threading.Thread(target=person, daemon=True)
        typist.start()
        status = sh.loop()
        typist.join(10)
    assert (status, err.getvalue()) == (0, "")
    assert out.getvalue().startswith("vm alpha")


def test_question_mark_shows_help(hvd: HvdInstance) -> None:
    status, out, _ = drive(hvd, "set vm ?\x03exit\n")
    assert status == 0
    assert "set vm <vm> <prop> <value>" in out
    assert "a property: description, cpu, memory" in out


def test_unknown_command_keeps_the_shell(hvd: HvdInstance) -> None:
    status, _, err = drive(hvd, "frobnicate\nhelp start\nexit\n")
    assert status == 0
    assert err == "hv: unknown command 'frobnicate'; type 'help' for the list\n"


def test_commit_check_validates_and_previews_the_host_plan(hvd: HvdInstance, running: Q) -> None:
    keys = ("create network lan 0 em0\nconfigure\ncreate vm web 1 256\n"
            "add disk web disk0 4G\ncommit check\nexit\ny\nexit\n")
    status, out, _ = drive(hvd, keys)
    assert status == 0
    assert "the candidate is valid" in out
    plan = out.split("a commit would run:")[1]
    assert "zfs create" in plan and "zroot/hv/vm/web/disks/disk0" in plan
    assert running("//vm:vm/vm:name/text()") == []  # checked, previewed, not committed


def test_network_address_nat_and_forwards(hvd: HvdInstance) -> None:
    """Issue 24 item 7: addresses, NAT and port forwards from the shell, shown as text and
    --json (typed by the schema), and completed."""
    keys = ("create network lan 0\nadd address lan 10.0.0.1/24\nadd address lan fd00:1::1/64\n"
            "set network lan ip-forwarding true\nset network lan nat em0\n"
            "add forward lan tcp 8080 10.0.0.5 80\nadd forward lan udp 53 10.0.0.6\n"
            "add forward lan tcp 2222 10.1.0.5 22\nremove address lan fd00:1::1/64\n"
            "show network lan\nshow network lan --json\nexit\n")
    status, out, err = drive(hvd, keys)
    assert status == 0
    assert "added forward tcp 8080 -> 10.0.0.5:80 to network lan" in out
    assert "removed address fd00:1::1/64 from network lan" in out
    # outside the network: refused at validation, in the operator's words
    assert "the forward of tcp port 2222 goes to 10.1.0.5, which is outside the network's " \
        "prefixes (10.0.0.0/24)" in err
    assert "  addresses  10.0.0.1/24\n" in out
    assert "  forwards\n    tcp 8080 -> 10.0.0.5:80\n    udp 53 -> 10.0.0.6:53\n" in out
    shown = json.loads(out[out.index("{"):out.rindex("}") + 1])
    assert shown["address"] == ["10.0.0.1/24"] and shown["nat"] == "em0"
    assert shown["ip-forwarding"] is True
    assert shown["forward"] == [
        {"protocol": "tcp", "host-port": 8080, "guest-address": "10.0.0.5", "guest-port": 80},
        {"protocol": "udp", "host-port": 53, "guest-address": "10.0.0.6"}]
    with shell(hvd) as (sh, _, _, _):
        completer: HvCompleter = sh.prompt.completer  # type: ignore[assignment]

        def words(text: str) -> list[str]:
            return [c.text for c in completer.get_completions(Document(text), None)]  # type: ignore[arg-type]

        assert {"address", "forward"} <= set(words("add "))
        assert words("add forward ") == ["lan"]
        assert words("add forward lan ") == ["tcp", "udp"]
        assert {"nat", "ip-forwarding", "isolate-guests"} <= set(words("set network lan "))
        sh.session.close()
