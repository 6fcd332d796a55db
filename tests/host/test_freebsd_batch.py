"""The freebsd backend's batch: at most BATCH_WORKERS commands at once, one outcome each, and
nothing new started after a failure (run here with stand-in commands, not FreeBSD's)."""

import threading

from hvd_netconf.host import freebsd
from hvd_netconf.host.backend import CommandFailed
from hvd_netconf.host.freebsd import FreeBSDHost


class _Watched(FreeBSDHost):
    """Counts the commands under way; each waits until BATCH_WORKERS are, or none are left."""

    def __init__(self, total):
        super().__init__()
        self.now = self.most = self.started = 0
        self.total = total
        self.cond = threading.Condition()

    def run(self, argv):
        with self.cond:
            self.now += 1
            self.started += 1
            self.most = max(self.most, self.now)
            self.cond.notify_all()
            self.cond.wait_for(lambda: self.now >= freebsd.BATCH_WORKERS
                               or self.started == self.total, timeout=10)
        try:
            return super().run(argv)
        finally:
            with self.cond:
                self.now -= 1


def test_a_batch_runs_its_commands_at_once_within_the_bound():
    host = _Watched(30)
    out = host.run_batch([("echo", str(i)) for i in range(30)])
    assert out == [f"{i}\n" for i in range(30)]
    assert host.most == freebsd.BATCH_WORKERS


def test_a_failure_stops_new_commands_and_names_its_argv(monkeypatch):
    monkeypatch.setattr(freebsd, "BATCH_WORKERS", 1)  # one at a time: which start is certain
    argvs = [("true",), ("false",)] + [("true",)] * 5
    out = FreeBSDHost().run_batch(argvs)
    assert out[0] == "" and out[2:] == [None] * 5  # none started after the failure
    assert isinstance(out[1], CommandFailed) and out[1].argv == ("false",)
    assert out[1].returncode == 1
    kept = FreeBSDHost().run_batch(argvs, keep_going=True)
    assert isinstance(kept[1], CommandFailed) and kept[2:] == [""] * 5
