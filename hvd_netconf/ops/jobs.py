"""Backups, restores and clones under way: their progress in operational state
(/hvd-vm:backup-jobs) and cancel-backup, which stops one between two chunks of its stream.

A job is registered for the time its RPC runs. The stream's progress callback updates it and,
once the job is cancelled, raises: the copy stops (host/stream.py kills both processes), and
the operation undoes what it made, as after any failure. One job per VM at a time.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from lxml import etree

from hvd_netconf.errors import DataMissing, InUse, OperationFailed
from hvd_netconf.namespaces import VM, qn
from hvd_netconf.state import child, leaf


@dataclass
class Job:
    id: int
    vm: str
    operation: str  # backup | restore | clone
    target: str
    session: int
    started: float = field(default_factory=time.time)
    disk: str | None = None
    moved: int = 0
    estimate: int | None = None
    cancelled_by: int | None = None  # the session that cancelled it


class Cancelled(OperationFailed):
    """The job was cancelled: what it made is undone like after any failure."""


class Jobs:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}  # vm -> its job
        self._ids = itertools.count(1)

    @contextmanager
    def running(self, vm: str, operation: str, target: str, session: int) -> Iterator[Job]:
        """The job for the time of the block; a second job of the VM meanwhile is refused."""
        with self._lock:
            other = self._jobs.get(vm)
            if other is not None:
                raise InUse(f"VM {vm} has a {other.operation} to {other.target} under way "
                            f"(job {other.id}); wait for it or cancel it (cancel-backup)",
                            error_type="application")
            job = self._jobs[vm] = Job(next(self._ids), vm, operation, target, session)
        try:
            yield job
        finally:
            with self._lock:
                self._jobs.pop(vm, None)

    def progress(self, job: Job, disk: str, estimate: int | None,
                 then: Callable[[int], None]) -> Callable[[int], None]:
        """A stream's progress callback: records where the job is, stops it once cancelled."""
        with self._lock:
            job.disk, job.moved, job.estimate = disk, 0, estimate

        def report(moved: int) -> None:
            with self._lock:
                job.moved = moved
                by = job.cancelled_by
            if by is not None:
                raise Cancelled(f"the {job.operation} of VM {job.vm} was cancelled by session "
                                f"{by} after {moved} bytes of disk {disk}; what it made is "
                                "removed")
            then(moved)

        return report

    def cancel(self, vm: str, session: int) -> Job:
        with self._lock:
            job = self._jobs.get(vm)
            if job is None:
                raise DataMissing(f"VM {vm} has no backup or restore under way")
            job.cancelled_by = session
            return job

    def write_state(self, data: etree._Element) -> None:
        with self._lock:
            jobs = [Job(**vars(j)) for j in self._jobs.values()]
        if not jobs:
            return
        container = child(data, VM, "backup-jobs")
        for j in sorted(jobs, key=lambda j: j.id):
            entry = etree.SubElement(container, qn(VM, "job"))
            for key, value in (("id", j.id), ("vm", j.vm), ("operation", j.operation),
                               ("target", j.target), ("session-id", j.session),
                               ("started", time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                         time.gmtime(j.started))),
                               ("disk", j.disk), ("bytes", j.moved),
                               ("estimate", j.estimate),
                               ("cancelled", "true" if j.cancelled_by is not None else None)):
                if value is not None:
                    leaf(entry, key, value)
