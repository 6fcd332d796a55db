"""Which steps of a plan run at once: the plan's order cut into chunks of independent steps.

A step may share a chunk when it is one `zfs create`, `zfs set` or `zfs inherit` of one
dataset with a one-command undo (a VM's datasets, its zvols, a disk's properties); any other
step (a guard, an interface, a destroy that cannot be undone, a VM stop) is a chunk of its
own, in its place. Within a run of consecutive sharing steps, a step goes one level after
the last step on its dataset, an ancestor or a descendant of it (a VM's `disks` dataset
after the VM's dataset, its zvols after that); each level, in plan order, is cut into
chunks of at most MAX_CHUNK steps. So the steps of N VMs take a few chunks, not N times as
many round-trips, every step still runs after the steps it depends on, and undoing the chunks
in reverse undoes children before their parents. Pure: nothing runs here.
"""

from __future__ import annotations

from hvd_netconf.apply.plan import Run, Step
from hvd_netconf.host import zfs

MAX_CHUNK = 512  # steps in one chunk: one host batch, one journal line
_SHARING = ("create", "set", "inherit")


def dataset_of(step: Step) -> str | None:
    """The one dataset a step changes, when it may share a chunk (see the module docstring)."""
    if len(step.do) != 1 or step.undo is None or len(step.undo) != 1:
        return None
    do, undo = step.do[0], step.undo[0]
    if not (isinstance(do, Run) and isinstance(undo, Run)):
        return None
    argv = do.argv
    if len(argv) < 3 or argv[0] != zfs.ZFS or argv[1] not in _SHARING:
        return None
    return argv[-1]


def _ancestors(name: str) -> list[str]:
    out = []
    while (cut := name.rfind("/")) > 0:
        name = name[:cut]
        out.append(name)
    return out


def _levels(run: list[tuple[int, str]]) -> list[list[int]]:
    """The steps of a run of sharing steps by level, each level in plan order."""
    own: dict[str, int] = {}  # dataset -> the highest level of a step on it
    below: dict[str, int] = {}  # dataset -> the highest level on it or under it
    levels: list[list[int]] = []
    for index, ds in run:
        ups = _ancestors(ds)
        level = below.get(ds, -1)
        for up in ups:
            level = max(level, own.get(up, -1))
        level += 1
        own[ds] = max(own.get(ds, -1), level)
        for name in (ds, *ups):
            if below.get(name, -1) < level:
                below[name] = level
        if level == len(levels):
            levels.append([])
        levels[level].append(index)
    return levels


def schedule(steps: list[Step], max_chunk: int = MAX_CHUNK) -> list[list[int]]:
    """The indices of steps, chunk by chunk, in the order the chunks run."""
    chunks: list[list[int]] = []
    run: list[tuple[int, str]] = []

    def close_run() -> None:
        for level in _levels(run):
            chunks.extend(level[k:k + max_chunk] for k in range(0, len(level), max_chunk))
        run.clear()

    for index, step in enumerate(steps):
        ds = dataset_of(step)
        if ds is None:
            close_run()
            chunks.append([index])
        else:
            run.append((index, ds))
    close_run()
    return chunks
