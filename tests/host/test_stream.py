"""host/stream.py: a producer into a consumer without a shell, bytes counted, failures named."""

from pathlib import Path

import pytest

from hvd_netconf.host.backend import CommandFailed
from hvd_netconf.host.stream import run_pipe

ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C"}


def test_argv_into_argv_counts_every_byte(tmp_path: Path):
    out = tmp_path / "out"
    seen: list[int] = []
    chunks: list[bytes] = []
    moved = run_pipe(("head", "-c", "3000000", "/dev/zero"), ("dd", f"of={out}", "status=none"),
                     env=ENV, progress=seen.append, tap=chunks.append)
    assert moved == 3000000 and out.stat().st_size == 3000000
    assert b"".join(chunks) == bytes(3000000)
    assert seen[-1] == 3000000 and seen == sorted(seen)


def test_into_a_file_and_back(tmp_path: Path):
    stream = tmp_path / "s.zstream"
    assert run_pipe(("printf", "abc"), stream, env=ENV) == 3
    assert stream.read_bytes() == b"abc" and not list(tmp_path.glob("*.part"))
    copy = tmp_path / "copy"
    assert run_pipe(stream, ("dd", f"of={copy}", "status=none"), env=ENV) == 3
    assert copy.read_bytes() == b"abc"


def test_a_failed_producer_leaves_no_stream_file(tmp_path: Path):
    stream = tmp_path / "s.zstream"
    with pytest.raises(CommandFailed) as e:
        run_pipe(("ls", str(tmp_path / "missing")), stream, env=ENV)
    assert e.value.argv == ("ls", str(tmp_path / "missing"))
    assert "No such file" in e.value.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_failed_consumer_is_named(tmp_path: Path):
    with pytest.raises(CommandFailed) as e:
        run_pipe(("head", "-c", "5000000", "/dev/zero"), ("ls", str(tmp_path / "nope")),
                 env=ENV)
    assert e.value.argv[0] == "ls" and "No such file" in e.value.stderr


def test_progress_that_raises_cancels(tmp_path: Path):
    out = tmp_path / "out"

    def cancel(n: int) -> None:
        raise KeyboardInterrupt("cancelled")

    with pytest.raises(KeyboardInterrupt):
        run_pipe(("head", "-c", "50000000", "/dev/zero"), ("dd", f"of={out}", "status=none"),
                 env=ENV, progress=cancel)
    assert out.stat().st_size < 50000000
