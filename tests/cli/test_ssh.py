"""`hv --host` end to end: the real hv in a subprocess, over SSH to hvd's listener, as a user
made by the real `hvd user add`, with its own HOME (keys and known_hosts as ssh(1) has them)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
from support.server import HvdInstance, make_key

HV = [sys.executable, "-m", "hv_cli.main"]
HVD = [sys.executable, "-m", "hvd_netconf.daemon"]


def hvd_user_add(hvd: HvdInstance, name: str, *args: str, stdin: str | None = None) -> None:
    r = subprocess.run([*HVD, "user", "--root", str(hvd.root), "add", name, "--group", "admin",
                        *args], input=stdin, capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stdout) == (0, f"user {name} saved\n"), r.stderr


def host_key_file(hvd: HvdInstance) -> Path:
    return hvd.root / ".hvd" / "ssh_host_ed25519_key"


def ssh_keygen(*args: str) -> str:
    return subprocess.run(["ssh-keygen", *args], capture_output=True, text=True, check=True,
                          timeout=30).stdout


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A HOME with ~/.ssh holding the user's key (id_ed25519), and no agent."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    return home


def env(home: Path) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
    return dict(out, HOME=str(home), TERM="dumb")


def know_host(hvd: HvdInstance, home: Path) -> None:
    """known_hosts as `ssh-keyscan` would write it: [host]:port type base64."""
    kind, blob = ssh_keygen("-y", "-f", str(host_key_file(hvd))).split()[:2]
    (home / ".ssh" / "known_hosts").write_text(f"[{hvd.ssh_host}]:{hvd.ssh_port} {kind} {blob}\n")


def hv(hvd: HvdInstance, home: Path, user: str, line: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HV, "--host", hvd.ssh_host, "--port", str(hvd.ssh_port), "--user",
                           user, *line.split()], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=60, env=env(home))


def with_key(hvd: HvdInstance, home: Path, name: str = "alice") -> None:
    pub = make_key(home / ".ssh" / "id_ed25519")
    (home / "id_ed25519.pub").write_text(pub + "\n")
    hvd_user_add(hvd, name, "--authorized-key", str(home / "id_ed25519.pub"))


def test_read_and_write_with_a_key(hvd: HvdInstance, home: Path) -> None:
    with_key(hvd, home)
    know_host(hvd, home)
    r = hv(hvd, home, "alice", "create vm web 2 512")
    assert (r.returncode, r.stdout, r.stderr) == (0, "created vm web\n", "")
    r = hv(hvd, home, "alice", "list vm")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[1].split()[:4] == ["web", "stopped", "2", "512M"]
    with hvd.connect_uds() as m:  # the write reached the server
        assert "<name>web</name>" in m.get_config("running").data_xml


def test_a_failed_login_says_so(hvd: HvdInstance, home: Path) -> None:
    with_key(hvd, home)
    know_host(hvd, home)
    r = hv(hvd, home, "mallory", "list vm")
    where = f"{hvd.ssh_host}:{hvd.ssh_port}"
    assert (r.returncode, r.stdout) == (3, "")
    assert r.stderr == (f"hv: login as mallory to {where} failed (no key or password "
                        "accepted); check --user and the user's keys in 'hvd user list'\n")


def test_an_unknown_host_key_is_refused_without_a_terminal(hvd: HvdInstance,
                                                           home: Path) -> None:
    with_key(hvd, home)
    r = hv(hvd, home, "alice", "create vm web 1 256")
    assert (r.returncode, r.stdout) == (3, ""), r.stderr
    shown = ssh_keygen("-lf", str(host_key_file(hvd))).split()[1]
    assert shown.startswith("SHA256:")
    assert r.stderr.startswith(f"hv: the authenticity of host '[{hvd.ssh_host}]:{hvd.ssh_port}' "
                               f"can't be established; its ssh-ed25519 key fingerprint is "
                               f"{shown}; refusing without a terminal"), r.stderr
    assert not (home / ".ssh" / "known_hosts").exists()
    with hvd.connect_uds() as m:
        assert "<name>web</name>" not in m.get_config("running").data_xml


def test_a_changed_host_key_is_refused(hvd: HvdInstance, home: Path) -> None:
    with_key(hvd, home)
    other = make_key(home / "other").split()
    entry = f"[{hvd.ssh_host}]:{hvd.ssh_port}"
    (home / ".ssh" / "known_hosts").write_text(f"{entry} {other[0]} {other[1]}\n")
    r = hv(hvd, home, "alice", "list vm")
    assert (r.returncode, r.stdout) == (3, "")
    assert r.stderr.startswith(f"hv: the host key of {entry} does not match the one in "
                               "~/.ssh/known_hosts: someone may be intercepting"), r.stderr


def test_first_contact_asks_then_remembers_and_a_password_is_asked(hvd: HvdInstance,
                                                                   home: Path) -> None:
    hvd_user_add(hvd, "bob", "--password-stdin", stdin="bobs-secret\n")
    shown = ssh_keygen("-lf", str(host_key_file(hvd))).split()[1]
    entry = f"[{hvd.ssh_host}]:{hvd.ssh_port}"
    child = pexpect.spawn(HV[0], [*HV[1:], "--host", f"{hvd.ssh_host}:{hvd.ssh_port}", "--user",
                                  "bob", "create", "vm", "db", "1", "256"],
                          encoding="utf-8", timeout=30, env=env(home))
    child.expect_exact(f"key fingerprint is {shown}")
    child.expect(r"and connect\? \[y/N\] ")
    child.sendline("y")
    child.expect_exact(f"added {entry} to ")
    child.expect_exact(f"bob@{hvd.ssh_host}:{hvd.ssh_port}'s password: ")
    child.sendline("bobs-secret")
    child.expect("created vm db")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    known = (home / ".ssh" / "known_hosts").read_text().split()
    assert known[:2] == [entry, "ssh-ed25519"]
    # Known now: no question; ssh-keygen agrees with the line hv wrote.
    found = ssh_keygen("-F", entry, "-f", str(home / ".ssh" / "known_hosts"))
    assert entry in found
    r = hv(hvd, home, "bob", "show vm db")  # no terminal, no password: refused as a login
    assert r.returncode == 3 and "login as bob" in r.stderr, r.stderr


def test_the_port_is_given_once() -> None:
    r = subprocess.run([*HV, "--host", "h:830", "--port", "2222", "list", "vm"],
                       capture_output=True, text=True, timeout=30)
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr.startswith("hv: give the port once: --host HOST:PORT or --port PORT\n")
