"""`hv load merge|replace FILE` and `hv edit`: a whole configuration into the candidate, kept
only when the candidate validates; otherwise the candidate is as it was (one-shot, in a
pseudo-terminal with $EDITOR a small script, and in the shell's configure mode)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pexpect
import pytest
from lxml import etree
from support.server import HvdInstance

from tests.cli.conftest import NS, Result
from tests.cli.test_shell import drive

HV = Callable[..., Result]
CMD = [sys.executable, "-m", "hv_cli.main"]
GHOST_NIC = ("<hvd-vm:nic><hvd-vm:name>n0</hvd-vm:name>"
             "<hvd-vm:network>ghost</hvd-vm:network></hvd-vm:nic>")


def names(hvd: HvdInstance, datastore: str) -> dict[str, str]:
    """vm name -> cpu in a datastore, read with ncclient."""
    m = hvd.connect_uds()
    root = etree.fromstring(m.get_config(datastore).data_xml.encode())
    return {vm.findtext("vm:name", namespaces=NS): vm.findtext("vm:cpu", namespaces=NS)
            for vm in root.iterfind(".//vm:vm", NS)}


def dirty_candidate(hvd: HvdInstance) -> None:
    """An uncommitted change made by another client: a load must not lose it."""
    m = hvd.connect_uds()
    m.edit_config(target="candidate", config=(
        '<config><vms xmlns="urn:hvd:vm"><vm><name>web</name><cpu>7</cpu></vm></vms></config>'))


# ---- load -------------------------------------------------------------------------------

def test_load_merge_from_show_xml_then_commit(hv: HV, hvd: HvdInstance, tmp_path: Path) -> None:
    assert hv("create vm web 1 256").status == 0
    saved = hv("show vm web --xml")
    assert "<hvd-vm:state>" in saved.out  # what show prints holds state; load leaves it out
    (tmp_path / "web.xml").write_text(saved.out.replace(">web<", ">db<"))
    r = hv(f"load merge {tmp_path / 'web.xml'}")
    assert (r.status, r.err) == (0, "")
    assert r.out == (f"loaded {tmp_path / 'web.xml'} into the candidate (merge); "
                     "'hv show compare' shows the changes, 'hv commit' applies them\n")
    assert names(hvd, "candidate") == {"web": "1", "db": "1"}
    assert names(hvd, "running") == {"web": "1"}
    assert hv("commit --yes").status == 0
    assert names(hvd, "running") == {"web": "1", "db": "1"}


def test_load_replace_replaces_the_whole_candidate(hv: HV, hvd: HvdInstance,
                                                   tmp_path: Path) -> None:
    for line in ("create vm a 1 256", "create vm b 1 256"):
        assert hv(line).status == 0
    (tmp_path / "c.xml").write_text(
        '<vms xmlns="urn:hvd:vm"><vm><name>c</name><cpu>2</cpu><memory>64</memory></vm></vms>')
    r = hv(f"load replace {tmp_path / 'c.xml'}")
    assert r.status == 0, r.err
    assert names(hvd, "candidate") == {"c": "2"}
    compare = hv("show compare").out
    assert "c" in compare and "-" in compare
    assert names(hvd, "running") == {"a": "1", "b": "1"}


@pytest.mark.parametrize("how", ["merge", "replace"])
def test_an_invalid_load_leaves_the_candidate_as_it_was(hv: HV, hvd: HvdInstance,
                                                        tmp_path: Path, how: str) -> None:
    assert hv("create vm web 1 256").status == 0
    dirty_candidate(hvd)
    bad = tmp_path / "bad.xml"
    bad.write_text('<data xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">'
                   '<vms xmlns="urn:hvd:vm"><vm><name>db</name><memory>64</memory>'
                   "<nic><name>n0</name><network>ghost</network></nic></vm></vms></data>")
    r = hv(f"load {how} {bad}")
    assert (r.status, r.out) == (1, "")
    first, second = r.err.splitlines()
    assert first.startswith("hv: ") and "ghost" in first, r.err  # the validation error
    assert second == f"hv: {bad} not loaded; the candidate is as it was"
    assert names(hvd, "candidate") == {"web": "7"}  # the other client's change is still there


def test_a_file_that_is_not_configuration_is_refused(hv: HV, hvd: HvdInstance,
                                                     tmp_path: Path) -> None:
    dirty_candidate(hvd)
    cases = {
        "broken.xml": ("<vms xmlns='urn:hvd:vm'><vm>", 2, "not well-formed XML"),
        "dtd.xml": ('<!DOCTYPE x [<!ENTITY a "b">]><vms xmlns="urn:hvd:vm"/>', 2,
                    "a DOCTYPE is not accepted"),
        "alien.xml": ('<vms xmlns="urn:hvd:vm"><vm><name>x</name><colour>red</colour></vm>'
                      "</vms>", 1, "colour"),
    }
    for name, (text, status, said) in cases.items():
        (tmp_path / name).write_text(text)
        r = hv(f"load merge {tmp_path / name}")
        assert (r.status, r.out) == (status, ""), (name, r)
        assert said in r.err, (name, r.err)
    r = hv(f"load merge {tmp_path / 'missing.xml'}")
    assert (r.status, r.err) == (2, f"hv: cannot read {tmp_path / 'missing.xml'}: "
                                    "No such file or directory\n")
    assert names(hvd, "candidate") == {"web": "7"}


def test_load_from_standard_input(hvd: HvdInstance) -> None:
    xml = '<vms xmlns="urn:hvd:vm"><vm><name>s</name><memory>64</memory></vm></vms>'
    r = subprocess.run([*CMD, "--socket", str(hvd.socket_path), "load", "merge", "-"],
                       input=xml, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert names(hvd, "candidate") == {"s": None}


# ---- edit -------------------------------------------------------------------------------

EDITOR = """\
import json, os, pathlib, sys
path = pathlib.Path(sys.argv[1])
count = pathlib.Path(os.environ["EDIT_COUNT"])
n = int(count.read_text()) if count.exists() else 0
count.write_text(str(n + 1))
old, new = json.loads(os.environ["EDIT_STEPS"])[n]
text = path.read_text()
assert old in text, text
path.write_text(text.replace(old, new, 1))
"""


def editor_env(tmp_path: Path, *steps: tuple[str, str]) -> dict[str, str]:
    """$EDITOR a script that makes the n-th replacement on its n-th run."""
    script = tmp_path / "editor.py"
    script.write_text(EDITOR)
    return dict(os.environ, TERM="dumb", EDITOR=f"{sys.executable} {script}", VISUAL="",
                EDIT_COUNT=str(tmp_path / "count"), EDIT_STEPS=json.dumps(steps))


def edit_on_terminal(hvd: HvdInstance, env: dict[str, str]) -> pexpect.spawn:
    return pexpect.spawn(CMD[0], [*CMD[1:], "--socket", str(hvd.socket_path), "edit"],
                         encoding="utf-8", timeout=30, env=env)


def finish(child: pexpect.spawn) -> int:
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus


CPU1 = ("<hvd-vm:cpu>1</hvd-vm:cpu>", "<hvd-vm:cpu>3</hvd-vm:cpu>")
BAD = ("</hvd-vm:cpu>", "</hvd-vm:cpu>" + GHOST_NIC)
FIX = ("<hvd-vm:cpu>1</hvd-vm:cpu>" + GHOST_NIC, "<hvd-vm:cpu>3</hvd-vm:cpu>")


def test_edit_keeps_a_valid_result(hv: HV, hvd: HvdInstance, tmp_path: Path) -> None:
    assert hv("create vm web 1 256").status == 0
    child = edit_on_terminal(hvd, editor_env(tmp_path, CPU1))
    child.expect_exact("the candidate holds your edits; 'hv show compare' shows the changes")
    assert finish(child) == 0
    assert names(hvd, "candidate") == {"web": "3"}
    assert names(hvd, "running") == {"web": "1"}


def test_edit_shows_the_error_and_edits_again(hv: HV, hvd: HvdInstance,
                                              tmp_path: Path) -> None:
    assert hv("create vm web 1 256").status == 0
    # the second run sees the first run's text, ghost nic and all, and takes the nic out
    child = edit_on_terminal(hvd, editor_env(tmp_path, BAD, FIX))
    child.expect("ghost")
    child.expect_exact(r"Edit again? (no: throw the edits away) [y/N] ")
    assert names(hvd, "candidate") == {"web": "1"}  # nothing half-loaded while it asks
    child.sendline("y")
    child.expect_exact("the candidate holds your edits")
    assert finish(child) == 0
    assert (tmp_path / "count").read_text() == "2"
    assert names(hvd, "candidate") == {"web": "3"}
    m = hvd.connect_uds()
    assert "ghost" not in m.get_config("candidate").data_xml


def test_edit_error_declined_throws_the_edits_away(hv: HV, hvd: HvdInstance,
                                                   tmp_path: Path) -> None:
    assert hv("create vm web 1 256").status == 0
    dirty_candidate(hvd)
    child = edit_on_terminal(hvd, editor_env(tmp_path, (
        "<hvd-vm:cpu>7</hvd-vm:cpu>", "<hvd-vm:cpu>2</hvd-vm:cpu>" + GHOST_NIC)))
    child.expect(r"\[y/N\] ")
    child.sendline("n")
    child.expect_exact("hv: edits thrown away; the candidate is as it was")
    assert finish(child) == 1
    assert names(hvd, "candidate") == {"web": "7"}


def test_edit_without_a_terminal_does_not_ask(hv: HV, hvd: HvdInstance, tmp_path: Path) -> None:
    assert hv("create vm web 1 256").status == 0
    r = subprocess.run([*CMD, "--socket", str(hvd.socket_path), "edit"],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
                       env=editor_env(tmp_path, BAD))
    assert r.returncode == 1
    assert r.stderr.splitlines()[-1] == "hv: edits thrown away; the candidate is as it was"
    assert names(hvd, "candidate") == {"web": "1"}


def test_edit_unchanged_and_a_failing_editor(hv: HV, hvd: HvdInstance, tmp_path: Path) -> None:
    assert hv("create vm web 1 256").status == 0
    env = editor_env(tmp_path)
    for editor, status, said in (("true", 0, "no changes\n"),
                                 ("false", 1, "hv: edit abandoned (the editor exited with "
                                              "status 1); the candidate is as it was\n"),
                                 ("/nonexistent/ed", 2, "hv: cannot run the editor "
                                                        "'/nonexistent/ed'")):
        r = subprocess.run([*CMD, "--socket", str(hvd.socket_path), "edit"],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=60, env=dict(env, EDITOR=editor))
        assert r.returncode == status, (editor, r)
        assert said in (r.stdout if status == 0 else r.stderr), (editor, r)


def test_edit_and_load_in_the_shells_configure_mode(hv: HV, hvd: HvdInstance,
                                                    tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    assert hv("create vm web 1 256").status == 0
    for key, value in editor_env(tmp_path, BAD, FIX).items():
        monkeypatch.setenv(key, value)
    extra = tmp_path / "extra.xml"
    extra.write_text('<vms xmlns="urn:hvd:vm"><vm><name>db</name><memory>64</memory></vm></vms>')
    keys = f"configure\nedit\ny\nload merge {extra}\ncommit\nexit\nexit\n"
    status, out, err = drive(hvd, keys)
    assert status == 0
    assert "ghost" in err
    assert out.count("the candidate holds your edits; 'show compare' shows the changes") == 1
    assert f"loaded {extra} into the candidate (merge)" in out
    assert names(hvd, "running") == {"web": "3", "db": None}
