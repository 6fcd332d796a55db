"""The bar a backup or restore shows on a terminal while its RPC runs: the job's disk, its bytes
against `zfs send -nP`'s estimate, and the time so far, read from /hvd-vm:backup-jobs over a
second session (the first one waits for the reply), at most once a second."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from hv_cli.client import Client
from hv_cli.render import size
from hv_cli.rpcs import el, get

VM_NS = "urn:hvd:vm"
WIDTH = 20  # the bar's cells
EVERY = 1.0  # seconds between two reads of the job


def bar(label: str, disk: str | None, moved: int, estimate: int | None, elapsed: float) -> str:
    """`backing web up to files… d0 [#####...............] 25% 1.0 GiB of 4.0 GiB 3s`."""
    where = f" {disk}" if disk else ""
    if estimate:
        done = min(moved / estimate, 1.0)
        cells = int(done * WIDTH)
        return (f"{label}{where} [{'#' * cells}{'.' * (WIDTH - cells)}] {done:4.0%} "
                f"{size(moved)} of {size(estimate)} {elapsed:.0f}s")
    return f"{label}{where} {size(moved)} {elapsed:.0f}s"


class JobBar:
    """A progress callable for Client.call: `bar()` for the VM's job, refreshed each EVERY."""

    def __init__(self, label: str, vm: str, open_client: Callable[[], Client]) -> None:
        self.label, self.vm = label, vm
        self._open = open_client
        self._client: Client | None = None
        self._last = 0.0
        self._seen: tuple[str | None, int, int | None] = (None, 0, None)

    def __call__(self, elapsed: float) -> str:
        now = time.monotonic()
        if now - self._last >= EVERY:
            self._last = now
            with contextlib.suppress(Exception):  # a courtesy: the job goes on without it
                self._seen = self._read()
        return bar(self.label, *self._seen, elapsed)

    def _read(self) -> tuple[str | None, int, int | None]:
        if self._client is None:
            self._client = self._open()
        reply = self._client.call(get(el("backup-jobs", xmlns=VM_NS)))
        for job in reply.iter(f"{{{VM_NS}}}job"):
            if job.findtext(f"{{{VM_NS}}}vm") == self.vm:
                estimate = job.findtext(f"{{{VM_NS}}}estimate")
                return (job.findtext(f"{{{VM_NS}}}disk"),
                        int(job.findtext(f"{{{VM_NS}}}bytes") or 0),
                        int(estimate) if estimate else None)
        return self._seen

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

