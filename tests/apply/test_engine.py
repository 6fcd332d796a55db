"""The engine on the simulated host: all or nothing, proven by failing every step in turn.

The sim's state file stands for the host here; this shows the engine undoes what it did, not
that a real FreeBSD host accepts every command.
"""

import copy
import json

import pytest

from hvd_netconf import errors
from hvd_netconf.apply.engine import Engine, ensure_layout
from hvd_netconf.apply.plan import Run, build_plan
from hvd_netconf.edit.diff import diff
from hvd_netconf.host import zfs
from hvd_netconf.host.sim.host import SimHost

P = "zroot/hv"


@pytest.fixture
def host(tmp_path):
    h = SimHost(tmp_path)
    assert ensure_layout(h, P, str(tmp_path)) == [P, f"{P}/vm"]
    assert ensure_layout(h, P, str(tmp_path)) == []
    return h


def snapshot(h):
    files = sorted((p.relative_to(h.zvol_dir).as_posix(), p.stat().st_size)
                   for p in h.zvol_dir.rglob("*") if p.is_file()) if h.zvol_dir.exists() else []
    return json.dumps(h.state(), sort_keys=True), files


def _last_command(step):
    """The argv prefix of the last host command a step runs (a Restore sets the MTU last)."""
    last = step.do[-1]
    return last.argv if isinstance(last, Run) else ("ifconfig", last.ifname, "mtu")


def big_config(cfg):
    lan = cfg.network("lan", physical_interface="em0", fib=1, mtu=9000,
                      spanning_tree="true", nat="em1", ip_forwarding="true").replace(
        "</network>", "<address>10.0.0.1/24</address><address>fd00:1::1/64</address>"
        "<forward><protocol>tcp</protocol><host-port>2222</host-port>"
        "<guest-address>10.0.0.5</guest-address><guest-port>22</guest-port></forward>"
        "</network>")
    return cfg.config(
        [lan,
         cfg.network("dmz", physical_interface="em1", vlan=100, fib=2),
         cfg.network("lab", physical_interface="em1", vlan=200, mtu=1400)],
        [cfg.vm("web", cfg.disk("disk0", "1G"),
                cfg.disk("data", "2G", sparse="false", volblocksize="8K", compression="lz4"),
                cfg.nic("n0", "lan"), cfg.nic("n1", "dmz"))])


def test_apply_then_every_step_failing_in_turn_leaves_the_host_as_it_was(host, cfg):
    plan = build_plan(diff(None, big_config(cfg)), zfs_parent=P)
    assert len(plan) >= 10
    before = snapshot(host)
    for i, step in enumerate(plan.steps):
        failing = step.do[-1].argv
        host.inject_fault(failing, f"injected failure {i}", code=1)
        with pytest.raises(errors.OperationFailed) as e:
            Engine(host).execute(plan)
        assert type(e.value) is errors.OperationFailed
        assert step.what in e.value.message and f"injected failure {i}" in e.value.message
        assert " ".join(failing[:3]) in e.value.message
        assert snapshot(host) == before, f"state differs after step {i + 1} ({step.what}) failed"
    Engine(host).execute(plan)
    st = host.state()
    assert st["interfaces"]["hv-lan"]["members"] == ["em0"]
    assert st["interfaces"]["hv-lan"]["fib"] == 1 and st["interfaces"]["hv-lan"]["mtu"] == 9000
    assert st["interfaces"]["hv-lan"]["addresses"] == ["10.0.0.1/24", "fd00:1::1/64"]
    assert st["interfaces"]["hv-lan"]["ports"] == {"em0": ["stp"]}
    assert st["pf-anchors"]["hvd/lan"] == [
        "nat on em1 inet from 10.0.0.0/24 to any -> (em1)",
        "rdr pass on em1 inet proto tcp from any to (em1) port 2222 -> 10.0.0.5 port 22"]
    assert st["sysctl"]["net.inet.ip.forwarding"] == "1"
    assert st["interfaces"]["hv-dmz"]["members"] == ["em1.100"]
    assert st["datasets"][f"{P}/vm/web/disks/data"]["props"]["volblocksize"] == "8192"


def test_teardown_failures_roll_back_the_reversible_steps(host, cfg, tmp_path):
    ledger = str(tmp_path / "uplinks.json")  # how hvd found the uplinks, across engines
    full = big_config(cfg)
    Engine(host, ledger=ledger).execute(build_plan(diff(None, full), zfs_parent=P))
    only_vm = cfg.config(vms=[cfg.vm("web", cfg.disk("disk0", "1G"))])
    # the VM stays (no irreversible step), networks go: every failure is undone cleanly
    keep_vm = cfg.config(
        [], [cfg.vm("web", cfg.disk("disk0", "1G"),
                    cfg.disk("data", "2G", sparse="false", volblocksize="8K",
                             compression="lz4"))])
    plan = build_plan(diff(full, keep_vm), zfs_parent=P)
    assert all(s.undo is not None for s in plan.steps) and len(plan) >= 6
    before = snapshot(host)
    for i, step in enumerate(plan.steps):
        host.inject_fault(_last_command(step), "busy", code=1)
        with pytest.raises(errors.OperationFailed):
            Engine(host, ledger=ledger).execute(plan)
        assert snapshot(host) == before, f"after step {i + 1} ({step.what})"
    Engine(host, ledger=ledger).execute(plan)
    assert "hv-lan" not in host.state()["interfaces"]
    assert "em1.100" not in host.state()["interfaces"]
    # removing a disk is irreversible: a failure after it is a RollbackFailed naming both
    Engine(host, ledger=ledger).execute(build_plan(diff(keep_vm, only_vm), zfs_parent=P))
    assert f"{P}/vm/web/disks/data" not in host.state()["datasets"]


def test_failed_undo_is_rollback_failed(host, cfg):
    plan = build_plan(diff(None, cfg.config([cfg.network("lan", fib=1)])), zfs_parent=P)
    host.inject_fault(("ifconfig", "hv-lan", "fib"), "ifconfig: ioctl (SIOCSIFFIB): boom")
    host.inject_fault(("ifconfig", "hv-lan", "destroy"), "ifconfig: destroy refused")
    with pytest.raises(errors.RollbackFailed) as e:
        Engine(host).execute(plan)
    msg = e.value.message
    assert "set fib 1 on bridge hv-lan failed: `ifconfig hv-lan fib 1`" in msg
    assert "ifconfig: ioctl (SIOCSIFFIB): boom" in msg
    assert "undo of 'create bridge hv-lan for network lan' failed" in msg
    assert "ifconfig: destroy refused" in msg and "simulated host" in msg


def test_irreversible_step_then_failure_is_rollback_failed(host, cfg):
    two = cfg.config(vms=[cfg.vm("a"), cfg.vm("b")])
    Engine(host).execute(build_plan(diff(None, two), zfs_parent=P))
    plan = build_plan(diff(two, cfg.config()), zfs_parent=P)
    host.inject_fault(("zfs", "destroy", "-r", f"{P}/vm/b"), "cannot destroy: dataset is busy")
    with pytest.raises(errors.RollbackFailed) as e:
        Engine(host).execute(plan)
    assert "cannot undo 'destroy dataset zroot/hv/vm/a of VM a'" in e.value.message
    assert "dataset is busy" in e.value.message


def test_destroy_refuses_datasets_hvd_does_not_own(host, cfg):
    host.run(("zfs", "create", f"{P}/vm/foreign"))  # not tagged: inherited tags do not count
    plan = build_plan(diff(cfg.config(vms=[cfg.vm("foreign")]), cfg.config()), zfs_parent=P)
    with pytest.raises(errors.OperationFailed) as e:
        Engine(host).execute(plan)
    assert (f"refusing to destroy {P}/vm/foreign: hvd did not create {P}/vm/foreign "
            "(hvd:owner=hvd is not set on it)") in e.value.message
    assert f"{P}/vm/foreign" in host.state()["datasets"]


def test_running_vm_is_stopped_before_its_datasets_go(host, cfg):
    one = cfg.config(vms=[cfg.vm("web", cfg.disk("d", "1G"))])
    Engine(host).execute(build_plan(diff(None, one), zfs_parent=P))
    vms = cfg.Vms(running={"web"})
    order = []
    real_run = host.run

    def run(argv):
        order.append(("run", argv[1]))
        return real_run(argv)

    host.run = run
    orig_stop = vms.stop
    vms.stop = lambda n: (order.append(("stop", n)), orig_stop(n))
    Engine(host, vms).execute(build_plan(diff(one, cfg.config()), zfs_parent=P, vms=vms))
    # the ownership check runs before anything changes, the VM stop included
    assert order == [("run", "get"), ("stop", "web"), ("run", "destroy")]
    assert f"{P}/vm/web" not in host.state()["datasets"]


def test_host_refusal_surfaces_with_stderr(host, cfg):
    plan = build_plan(diff(None, cfg.config([cfg.network("lan", fib=9)])), zfs_parent=P)
    with pytest.raises(errors.OperationFailed) as e:
        Engine(host).execute(plan)
    assert "exit status 1: ifconfig: ioctl (SIOCSIFFIB): Invalid argument" in e.value.message
    assert "hv-lan" not in host.state()["interfaces"]


def test_disk_growth_applies(host, cfg):
    a = cfg.config(vms=[cfg.vm("web", cfg.disk("d", "1G"))])
    b = cfg.config(vms=[cfg.vm("web", cfg.disk("d", "3G"))])
    Engine(host).execute(build_plan(diff(None, a), zfs_parent=P))
    Engine(host).execute(build_plan(diff(a, b), zfs_parent=P))
    listed = zfs.parse_list(host.run(zfs.list_tree(P)))
    assert listed[f"{P}/vm/web/disks/d"].volsize == 3 << 30


class _Crash(BaseException):
    """hvd dying between two commands (SIGKILL, power cut)."""


class _CrashingHost:
    """The sim host, but the process 'dies' right before the command numbered `at` runs,
    or right after it when `after` is set."""

    def __init__(self, host, at, after=False):
        self.host, self.at, self.after, self.count = host, at, after, 0
        self.simulated = True

    def run(self, argv, stdin=None):
        self.count += 1
        if self.count == self.at and not self.after:
            raise _Crash
        try:
            return self.host.run(argv, stdin)
        finally:
            if self.count == self.at:
                raise _Crash  # right after the command ran, whether it failed or not


def test_recover_undoes_a_plan_cut_short_by_a_crash(host, cfg, tmp_path):
    from hvd_netconf.apply.engine import recover

    journal = str(tmp_path / "host-undo.jsonl")
    plan = build_plan(diff(None, big_config(cfg)), zfs_parent=P)
    before = snapshot(host)
    for at in range(1, len(plan.steps) + 1, 3):
        for after in (False, True):
            with pytest.raises(_Crash):
                Engine(_CrashingHost(host, at, after), journal=journal,
                       mark=lambda: 7).execute(plan)
            recover(host, journal, 7)
            assert snapshot(host) == before, f"crash at command {at} (after: {after})"
    assert not (tmp_path / "host-undo.jsonl").exists()
    # The commit became durable (running's last id moved on): the journal is stale, kept out.
    with pytest.raises(_Crash):
        Engine(_CrashingHost(host, 5), journal=journal, mark=lambda: 7).execute(plan)
    assert recover(host, journal, 8) == []
    assert snapshot(host) != before and not (tmp_path / "host-undo.jsonl").exists()


def test_recover_reloads_pf_rules_from_the_journal(host, cfg, tmp_path):
    """An undo that feeds pfctl its rules on stdin is journaled with them: a crash right
    after a network's anchor was flushed is undone at the next start by loading them back."""
    from hvd_netconf.apply.engine import recover

    journal = str(tmp_path / "host-undo.jsonl")
    full = big_config(cfg)
    Engine(host).execute(build_plan(diff(None, full), zfs_parent=P))
    before = snapshot(host)
    without_lan = copy.deepcopy(full)
    lan = without_lan.find(".//{urn:hvd:network}network")
    lan.getparent().remove(lan)
    gone = build_plan(diff(full, without_lan), zfs_parent=P)
    assert gone.steps[0].what == "flush pf anchor hvd/lan of network lan"
    with pytest.raises(_Crash):  # right after the flush, its first command
        Engine(_CrashingHost(host, 1, after=True), journal=journal,
               mark=lambda: 7).execute(gone)
    assert "pf-anchors" not in host.state()
    recover(host, journal, 7)
    assert snapshot(host) == before


def test_recover_does_not_redo_a_bridge_destroy_that_never_ran(host, cfg, tmp_path):
    from hvd_netconf.apply.engine import recover

    journal = str(tmp_path / "host-undo.jsonl")
    lan = cfg.config([cfg.network("lan")])
    Engine(host).execute(build_plan(diff(None, lan), zfs_parent=P))
    before = snapshot(host)
    plan = build_plan(diff(lan, cfg.config()), zfs_parent=P)
    with pytest.raises(_Crash):
        Engine(_CrashingHost(host, 1), journal=journal, mark=lambda: 3).execute(plan)
    assert "'destroy bridge hv-lan of network lan' had not run" in recover(host, journal, 3)
    assert snapshot(host) == before  # no stray bridge0 cloned by a needless undo
    with pytest.raises(_Crash):
        Engine(_CrashingHost(host, 1, after=True), journal=journal, mark=lambda: 3).execute(plan)
    recover(host, journal, 3)
    assert snapshot(host) == before


def test_settled_commit_leaves_no_journal(host, cfg, tmp_path):
    journal = tmp_path / "host-undo.jsonl"
    engine = Engine(host, journal=str(journal), mark=lambda: 1)
    engine.execute(build_plan(diff(None, cfg.config([cfg.network("lan")])), zfs_parent=P))
    assert journal.exists()
    engine.settled()
    assert not journal.exists()


def _journal_lines(path):
    return path.read_bytes().split(b"\n")


def test_journal_is_the_plan_once_then_one_line_per_started_step(host, cfg, tmp_path):
    journal = tmp_path / "host-undo.jsonl"
    plan = build_plan(diff(None, big_config(cfg)), zfs_parent=P)
    with pytest.raises(_Crash):
        Engine(_CrashingHost(host, 6), journal=str(journal), mark=lambda: 4).execute(plan)
    head, *starts, last = _journal_lines(journal)
    data = json.loads(head)
    assert data["mark"] == 4 and [s["what"] for s in data["steps"]] == [
        s.what for s in plan.steps]
    assert data["steps"][0]["undo"] == [list(a.argv) for a in plan.steps[0].undo]
    started = [json.loads(s)["start"] for s in starts]
    assert started == [[i] for i in range(len(started))] and len(started) < len(plan.steps)
    assert last == b""  # every line is whole
    assert all(len(s) < 20 for s in starts)  # a step costs a short line, not a rewrite


@pytest.mark.parametrize("tail", [b'{"start', b'{"start": 9', b"garbage\n"])
def test_recover_ignores_a_torn_or_bad_last_line(host, cfg, tmp_path, tail):
    from hvd_netconf.apply.engine import recover

    journal = tmp_path / "host-undo.jsonl"
    plan = build_plan(diff(None, big_config(cfg)), zfs_parent=P)
    before = snapshot(host)
    with pytest.raises(_Crash):  # hvd died right after a step, as it appended the next line
        Engine(_CrashingHost(host, 5, after=True), journal=str(journal),
               mark=lambda: 2).execute(plan)
    with open(journal, "ab") as f:
        f.write(tail)
    report = recover(host, str(journal), 2)
    assert snapshot(host) == before and not journal.exists()
    assert report and all(r.startswith("undid") for r in report)


def test_recover_after_the_plan_was_written_but_no_step_started(host, cfg, tmp_path):
    from hvd_netconf.apply.engine import recover

    journal = tmp_path / "host-undo.jsonl"
    plan = build_plan(diff(None, big_config(cfg)), zfs_parent=P)
    before = snapshot(host)
    with pytest.raises(_Crash):
        Engine(_CrashingHost(host, 1), journal=str(journal), mark=lambda: 2).execute(plan)
    journal.write_bytes(_journal_lines(journal)[0] + b"\n")  # cut before the first start line
    assert recover(host, str(journal), 2) == []
    assert snapshot(host) == before and not journal.exists()


def test_an_unreadable_journal_is_dropped(host, tmp_path):
    from hvd_netconf.apply.engine import recover

    journal = tmp_path / "host-undo.jsonl"
    journal.write_bytes(b'{"mark": 2, "ste')
    before = snapshot(host)
    assert recover(host, str(journal), 2) == []
    assert snapshot(host) == before and not journal.exists()


def test_a_taken_bridge_name_is_refused_without_a_stray_bridge(host, cfg):
    """`ifconfig bridge create name X` with X taken would leave bridgeN behind (§3.3): the
    name is checked first, and the foreign X is left exactly as it was."""
    host.run(("ifconfig", "bridge", "create"))
    host.run(("ifconfig", "bridge0", "name", "hv-lan"))  # someone else's, by hvd's name
    before = snapshot(host)
    with pytest.raises(errors.OperationFailed) as e:
        Engine(host).execute(build_plan(diff(None, cfg.config([cfg.network("lan")])),
                                        zfs_parent=P))
    assert "interface hv-lan already exists" in e.value.message
    assert snapshot(host) == before


def test_foreign_dataset_inside_a_vm_is_refused_before_anything_runs(host, cfg):
    """zfs destroy -r would take an operator's dataset made under hvd's: hvd refuses (before
    any step, the VM stop and the other removals included) and names it."""
    two = cfg.config([cfg.network("lan")], [cfg.vm("web", cfg.disk("d", "1G")), cfg.vm("db")])
    Engine(host).execute(build_plan(diff(None, two), zfs_parent=P))
    host.run(("zfs", "create", f"{P}/vm/web/backup"))
    before = snapshot(host)
    vms = cfg.Vms(running={"web"})
    with pytest.raises(errors.OperationFailed) as e:
        Engine(host, vms).execute(build_plan(diff(two, cfg.config()), zfs_parent=P, vms=vms))
    assert f"hvd did not create {P}/vm/web/backup" in e.value.message
    assert snapshot(host) == before and vms.stopped == []


def test_uplinks_are_left_as_hvd_found_them(host, cfg, tmp_path):
    """em0 was down at MTU 9000 before hvd: after a rollback, a removal, and a failed
    removal, it is exactly that again (the record survives a new engine: a restart)."""
    host.run(("ifconfig", "em0", "down"))
    host.run(("ifconfig", "em0", "mtu", "9000"))
    em0 = host.state()["interfaces"]["em0"]
    journal = str(tmp_path / "host-undo.jsonl")

    def engine():
        return Engine(host, journal=journal, mark=lambda: 1)

    lan = cfg.config([cfg.network("lan", physical_interface="em0", mtu=1400)])
    plan = build_plan(diff(None, lan), zfs_parent=P)
    host.inject_fault(("ifconfig", "hv-lan", "addm"), "busy")
    with pytest.raises(errors.OperationFailed):
        engine().execute(plan)
    assert host.state()["interfaces"]["em0"] == em0 and "hv-lan" not in host.state()["interfaces"]
    ledger = tmp_path / "uplinks.json"
    assert not ledger.exists()  # the rollback left no record behind
    e = engine()
    e.execute(plan)
    e.settled()
    assert json.loads(ledger.read_text()) == {"em0": {"mtu": 9000, "up": False}}
    assert host.state()["interfaces"]["em0"]["up"] and host.state()["interfaces"]["em0"][
        "mtu"] == 1400
    gone = build_plan(diff(lan, cfg.config()), zfs_parent=P)
    host.inject_fault(("ifconfig", "hv-lan", "destroy"), "busy")
    with pytest.raises(errors.OperationFailed):
        engine().execute(gone)
    assert host.state()["interfaces"]["em0"]["mtu"] == 1400  # the removal was undone
    e = engine()
    e.execute(gone)
    e.settled()
    assert host.state()["interfaces"]["em0"] == em0 and not ledger.exists()


class _Broken:
    """The sim host, but the command numbered `at` raises a non-command error."""

    def __init__(self, host, at, exc):
        self.host, self.at, self.exc, self.count = host, at, exc, 0
        self.simulated = True

    def run(self, argv, stdin=None):
        self.count += 1
        if self.count == self.at:
            raise self.exc
        return self.host.run(argv, stdin)


@pytest.mark.parametrize("exc", [OSError(7, "Argument list too long"),
                                 UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
                                 KeyError("a bug")])
def test_any_error_in_a_step_rolls_back(host, cfg, tmp_path, exc):
    """A non-command error at every command of a 10-step plan: the host is as before, no
    journal is left to replay, and a restart's recovery changes nothing."""
    from hvd_netconf.apply.engine import recover

    journal = tmp_path / "host-undo.jsonl"
    plan = build_plan(diff(None, big_config(cfg)), zfs_parent=P)
    assert len(plan) >= 10
    before = snapshot(host)
    at = 0
    while True:  # an error at command 1, 2, ... until the plan runs past the last command
        at += 1
        try:
            Engine(_Broken(host, at, exc), journal=str(journal), mark=lambda: 3).execute(plan)
        except errors.OperationFailed as e:
            assert type(exc).__name__ in e.message
        else:
            assert at > len(plan)
            break
        assert snapshot(host) == before, f"error at command {at}"
        assert not journal.exists()
        assert recover(host, str(journal), 3) == [] and snapshot(host) == before


def test_a_journal_is_replayed_before_a_new_plan_replaces_it(host, cfg, tmp_path):
    """A plan cut short left its journal (its commit never became durable): the next plan
    undoes those steps first instead of overwriting the only record of them."""
    journal = tmp_path / "host-undo.jsonl"
    before = snapshot(host)
    with pytest.raises(_Crash):
        Engine(_CrashingHost(host, 6, after=True), journal=str(journal),
               mark=lambda: 5).execute(build_plan(diff(None, big_config(cfg)), zfs_parent=P))
    assert snapshot(host) != before
    e = Engine(host, journal=str(journal), mark=lambda: 5)
    e.execute(build_plan(diff(None, cfg.config([cfg.network("x")])), zfs_parent=P))
    e.settled()
    st = host.state()["interfaces"]
    assert "hv-x" in st and "hv-lan" not in st and "hv-dmz" not in st


def test_a_crash_amid_an_uplink_removal_keeps_how_hvd_found_it(host, cfg, tmp_path):
    """hvd dies right after it put em0 back (MTU 9000, down) while removing the network:
    recovery re-adds the network to em0 and keeps the record, so the next removal still puts
    em0 back as hvd first found it."""
    from hvd_netconf.apply.engine import recover

    host.run(("ifconfig", "em0", "down"))
    host.run(("ifconfig", "em0", "mtu", "9000"))
    em0 = host.state()["interfaces"]["em0"]
    journal = str(tmp_path / "host-undo.jsonl")
    lan = cfg.config([cfg.network("lan", physical_interface="em0", mtu=1400)])
    e = Engine(host, journal=journal, mark=lambda: 1)
    e.execute(build_plan(diff(None, lan), zfs_parent=P))
    e.settled()
    with_lan = snapshot(host)
    gone = build_plan(diff(lan, cfg.config()), zfs_parent=P)
    with pytest.raises(_Crash):  # deletem, mtu 9000, down, record dropped; dies at the destroy
        Engine(_CrashingHost(host, 4), journal=journal, mark=lambda: 2).execute(gone)
    assert host.state()["interfaces"]["em0"] == em0
    recover(host, journal, 2)
    assert snapshot(host) == with_lan
    e = Engine(host, journal=journal, mark=lambda: 2)
    e.execute(gone)
    e.settled()
    assert host.state()["interfaces"]["em0"] == em0


class _Batches(SimHost):
    """The sim host, counting the batches it is given."""

    def __init__(self, root):
        super().__init__(root)
        self.batches = []

    def run_batch(self, argvs, *, keep_going=False):
        self.batches.append(len(argvs))
        return super().run_batch(argvs, keep_going=keep_going)


def _bulk(cfg, n=5):
    """n VMs of two disks each: four dataset steps per VM, none depending on another VM's."""
    return cfg.config(vms=[cfg.vm(f"v{i}", cfg.disk("a", "1G"), cfg.disk("b", "2G"))
                           for i in range(n)])


def test_a_bulk_plan_runs_in_a_few_batches_and_a_fault_at_any_step_undoes_it(tmp_path, cfg):
    host = _Batches(tmp_path)
    ensure_layout(host, P, str(tmp_path))
    plan = build_plan(diff(None, _bulk(cfg)), zfs_parent=P)
    assert len(plan.steps) == 20
    before = snapshot(host)
    for i, step in enumerate(plan.steps):
        host.inject_fault(step.do[0].argv, f"cannot create: injected failure {i}", code=1)
        host.batches.clear()
        with pytest.raises(errors.OperationFailed) as e:
            Engine(host, journal=str(tmp_path / "j.jsonl")).execute(plan)
        assert type(e.value) is errors.OperationFailed
        assert step.what in e.value.message and f"injected failure {i}" in e.value.message
        assert snapshot(host) == before, f"state differs after step {i + 1} ({step.what})"
        assert not (tmp_path / "j.jsonl").exists()
    host.batches.clear()
    Engine(host).execute(plan)
    assert host.batches == [5, 5, 10]  # VM datasets, their disks datasets, the zvols
    assert f"{P}/vm/v4/disks/b" in host.state()["datasets"]


class _DiesInBatch:
    """The sim host, but hvd 'dies' after `at` commands of all its batches have run."""

    def __init__(self, host, at):
        self.host, self.left = host, at
        self.simulated = True

    def run(self, argv):
        return self.run_batch([argv])[0]

    def run_batch(self, argvs, *, keep_going=False):
        ran = self.host.run_batch(argvs[:self.left], keep_going=keep_going)
        self.left -= len(ran)
        if len(ran) < len(argvs):
            raise _Crash
        return ran


def test_a_crash_mid_chunk_is_undone_by_recover(tmp_path, cfg):
    from hvd_netconf.apply.engine import recover

    host = SimHost(tmp_path)
    ensure_layout(host, P, str(tmp_path))
    journal = str(tmp_path / "host-undo.jsonl")
    plan = build_plan(diff(None, _bulk(cfg)), zfs_parent=P)
    before = snapshot(host)
    for at in range(len(plan.steps)):
        with pytest.raises(_Crash):
            Engine(_DiesInBatch(host, at), journal=journal, mark=lambda: 3).execute(plan)
        recover(host, journal, 3)
        assert snapshot(host) == before, f"after a crash past {at} command(s)"
