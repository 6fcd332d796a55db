"""The sim's zfs send/receive, clone, bookmark and hold: the bytes arrive, and what ZFS refuses
is refused in zfs's words (docs/freebsd-facts.md §2.6). These check the simulation itself."""

from pathlib import Path

import pytest

from hvd_netconf.host import zfs
from hvd_netconf.host import zfs_replication as zr
from hvd_netconf.host.backend import CommandFailed
from hvd_netconf.host.sim.host import SimHost
from hvd_netconf.host.stream import Streamer

MIB = 1 << 20


@pytest.fixture
def sim(tmp_path: Path) -> SimHost:
    host = SimHost(tmp_path, pools=("zroot", "tank"))
    host.run(zfs.create_zvol("zroot/d", "64M"))
    return host


def write(sim: SimHost, ds: str, offset: int, data: bytes) -> None:
    with open(sim.zvol_file(ds), "r+b") as f:
        f.seek(offset)
        f.write(data)


def same(sim: SimHost, a: str, b: str) -> bool:
    return sim.zvol_file(a).read_bytes() == sim.zvol_file(b).read_bytes()


def snap(sim: SimHost, name: str) -> None:
    sim.run(zfs.snapshot("zroot/d", name, description=None, commit=0))


def test_full_then_incrementals_from_a_snapshot_and_a_bookmark(sim: SimHost, tmp_path: Path):
    assert isinstance(sim, Streamer)
    write(sim, "zroot/d", 0, b"A" * MIB)
    write(sim, "zroot/d", 40 * MIB, b"tail")
    snap(sim, "a")
    full = sim.pipe(zr.send("zroot/d@a"), zr.receive("tank/d", role="backup"))
    assert same(sim, "zroot/d", "tank/d") and same(sim, "zroot/d@a", "tank/d@a")
    write(sim, "zroot/d", 5 * MIB, b"B" * 4096)
    snap(sim, "b")
    inc = sim.pipe(zr.send("zroot/d@b", base="@a"), zr.receive("tank/d"))
    assert same(sim, "zroot/d", "tank/d") and inc < full / 4  # only the changed block
    # the sender prunes @b after bookmarking it; the bookmark is still a base
    sim.run(zr.bookmark("zroot/d@b", "b"))
    write(sim, "zroot/d", 40 * MIB, b"\0" * 4)  # the tail is zeroed
    write(sim, "zroot/d", 9 * MIB, b"C" * 10)
    snap(sim, "c")
    sim.run(zfs.destroy_snapshot("zroot/d", "b"))
    sim.run(zfs.destroy_snapshot("zroot/d", "a"))
    sim.pipe(zr.send("zroot/d@c", base="zroot/d#b"), zr.receive("tank/d"))
    assert same(sim, "zroot/d", "tank/d") and same(sim, "zroot/d@c", "tank/d@c")
    state = sim.state()["datasets"]["tank/d"]
    assert list(state["snaps"]) == ["a", "b", "c"]
    assert state["props"]["hvd:owner"] == "hvd" and state["props"]["hvd:role"] == "backup"
    # a second process reads the same host: the receives were logged and replay
    assert list(SimHost(tmp_path).state()["datasets"]["tank/d"]["snaps"]) == ["a", "b", "c"]


def test_receive_refusals_in_zfs_words(sim: SimHost):
    snap(sim, "a")
    snap(sim, "b")
    sim.pipe(zr.send("zroot/d@a"), zr.receive("tank/d"))
    with pytest.raises(CommandFailed) as e:
        sim.pipe(zr.send("zroot/d@b"), zr.receive("tank/d"))
    assert e.value.stderr == ("cannot receive new filesystem stream: destination 'tank/d' "
                              "exists\nmust specify -F to overwrite it\n")
    assert e.value.argv == zr.receive("tank/d")
    with pytest.raises(CommandFailed) as e:
        sim.pipe(zr.send("zroot/d@b", base="@a"), zr.receive("tank/other"))
    assert "destination 'tank/other' does not exist" in e.value.stderr
    sim.pipe(zr.send("zroot/d@b", base="@a"), zr.receive("tank/d"))
    with pytest.raises(CommandFailed) as e:  # applied already: @b is the newest now
        sim.pipe(zr.send("zroot/d@b", base="@a"), zr.receive("tank/d"))
    assert "most recent snapshot of tank/d does not\nmatch incremental source" in e.value.stderr
    with pytest.raises(CommandFailed) as e:
        sim.pipe(zr.send("zroot/d@b", base="zroot/d#nope"), zr.receive("tank/d"))
    assert e.value.stderr == "cannot open 'zroot/d#nope': dataset does not exist\n"
    assert e.value.argv[:2] == ("zfs", "send")


def test_a_stream_file_is_checked_and_a_dry_run_writes_nothing(sim: SimHost, tmp_path: Path):
    write(sim, "zroot/d", 0, b"x" * 300000)
    snap(sim, "a")
    stream = tmp_path / "d@a.zstream"
    sim.pipe(zr.send("zroot/d@a"), stream)
    before = sim.state()
    sim.pipe(stream, zr.receive("tank/d", dry_run=True))
    assert sim.state() == before and not sim.zvol_file("tank/d").exists()
    data = bytearray(stream.read_bytes())
    data[len(data) // 2] ^= 1
    stream.write_bytes(bytes(data))
    with pytest.raises(CommandFailed) as e:
        sim.pipe(stream, zr.receive("tank/d", dry_run=True))
    assert e.value.stderr == ("cannot receive new filesystem stream: checksum mismatch or "
                              "incomplete stream\n")
    stream.write_bytes(bytes(data[: len(data) // 3]))  # cut short
    with pytest.raises(CommandFailed, match="incomplete stream"):
        sim.pipe(stream, zr.receive("tank/d", resumable=False))
    assert "tank/d" not in sim.state()["datasets"]
    assert not list(sim.zvol_file("tank/d").parent.glob("d*"))


def test_clone_pins_its_origin_and_hold_blocks_destroy(sim: SimHost):
    write(sim, "zroot/d", 0, b"origin")
    snap(sim, "a")
    sim.run(zr.clone("zroot/d@a", "zroot/c", role="disk"))
    assert same(sim, "zroot/d@a", "zroot/c")
    with pytest.raises(CommandFailed) as e:
        sim.run(zfs.destroy_snapshot("zroot/d", "a"))
    assert e.value.stderr == ("cannot destroy 'zroot/d@a': snapshot has dependent clones\n"
                              "use '-R' to destroy the following datasets:\nzroot/c\n")
    with pytest.raises(CommandFailed, match="filesystem has dependent clones"):
        sim.run(zfs.destroy("zroot/d", recursive=True))
    sim.run(zfs.destroy("zroot/c"))
    sim.run(zr.hold("hvd-backup", "zroot/d@a"))
    with pytest.raises(CommandFailed) as e:
        sim.run(zfs.destroy_snapshot("zroot/d", "a"))
    assert e.value.stderr == "cannot destroy snapshot zroot/d@a: dataset is busy\n"
    sim.run(zr.release("hvd-backup", "zroot/d@a"))
    sim.run(zfs.destroy_snapshot("zroot/d", "a"))


def test_estimate_and_a_send_outside_the_pipe(sim: SimHost):
    write(sim, "zroot/d", 0, b"y" * MIB)
    snap(sim, "a")
    size = zr.parse_estimate(sim.run(zr.send("zroot/d@a", estimate=True)))
    assert size is not None and MIB < size < MIB + 4096
    assert sim.pipe(zr.send("zroot/d@a"), zr.receive("tank/d")) == size
    with pytest.raises(CommandFailed) as e:
        sim.run(zr.send("zroot/d@a"))
    assert e.value.returncode == 127 and "sim" in e.value.stderr


def test_a_cut_receive_resumes_from_its_token(sim: SimHost, tmp_path: Path):
    for i in range(6):
        write(sim, "zroot/d", i * 8 * MIB, bytes([65 + i]) * MIB)
    snap(sim, "a")
    sim.cut_stream(("zfs", "send"), after=2 * MIB + 1000)
    with pytest.raises(CommandFailed) as e:
        sim.pipe(zr.send("zroot/d@a"), zr.receive("tank/d", role="backup"))
    assert "checksum mismatch or incomplete stream" in e.value.stderr
    token = sim.run(zr.resume_token("tank/d")).strip()
    assert token.startswith("1-")
    with pytest.raises(CommandFailed) as e:  # the partial state blocks a new full receive
        sim.pipe(zr.send("zroot/d@a"), zr.receive("tank/d", force=True))
    assert "contains partially-complete state" in e.value.stderr
    rest = sim.pipe(zr.send_resume(token), zr.receive("tank/d"))
    assert 4 * MIB < rest < 4 * MIB + 4096  # the two MiB received whole are not sent again
    assert same(sim, "zroot/d@a", "tank/d@a") and same(sim, "zroot/d", "tank/d")
    assert sim.run(zr.resume_token("tank/d")).strip() == "-"
    state = SimHost(tmp_path).state()["datasets"]["tank/d"]  # replayed by another process
    assert list(state["snaps"]) == ["a"] and state["props"]["hvd:role"] == "backup"
    assert "receive_resume_token" not in state["props"]


def test_receive_abort_drops_a_partial_state(sim: SimHost):
    write(sim, "zroot/d", 0, b"z" * 3 * MIB)
    snap(sim, "a")
    sim.cut_stream(("zfs", "send"), after=MIB + 1000)
    with pytest.raises(CommandFailed):
        sim.pipe(zr.send("zroot/d@a"), zr.receive("tank/d"))
    assert "tank/d" in sim.state()["datasets"]
    sim.run(zr.receive_abort("tank/d"))
    assert "tank/d" not in sim.state()["datasets"]
    with pytest.raises(CommandFailed) as e:
        sim.run(zr.receive_abort("tank/d"))
    assert e.value.stderr == "'tank/d' does not have any resumable receive state to abort\n"
    sim.pipe(zr.send("zroot/d@a"), zr.receive("tank/d"))
    assert same(sim, "zroot/d", "tank/d")
