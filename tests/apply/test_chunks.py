"""Chunking a plan (apply/chunks.py): independent dataset steps share a chunk, a step always
runs in a later chunk than every step it depends on, and anything else runs alone in place."""

from hvd_netconf.apply.chunks import dataset_of, schedule
from hvd_netconf.apply.plan import build_plan
from hvd_netconf.edit.diff import diff

P = "zroot/hv"


def _vms(cfg, n, disks=2):
    return cfg.config(vms=[cfg.vm(f"v{i}", *(cfg.disk(f"d{k}", "1G") for k in range(disks)))
                           for i in range(n)])


def _whats(plan, chunks):
    return [[plan.steps[i].what for i in c] for c in chunks]


def test_the_datasets_of_many_vms_take_three_chunks(cfg):
    plan = build_plan(diff(None, _vms(cfg, 3)), zfs_parent=P)
    assert len(plan.steps) == 12
    assert _whats(plan, schedule(plan.steps)) == [
        [f"create dataset {P}/vm/v{i} for VM v{i}" for i in range(3)],
        [f"create dataset {P}/vm/v{i}/disks" for i in range(3)],
        [f"create zvol {P}/vm/v{i}/disks/d{k} (1G)" for i in range(3) for k in range(2)],
    ]


def test_chunks_are_cut_at_their_bound_in_plan_order(cfg):
    plan = build_plan(diff(None, _vms(cfg, 5, disks=0)), zfs_parent=P)
    chunks = schedule(plan.steps, max_chunk=2)
    assert [len(c) for c in chunks] == [2, 2, 1, 2, 2, 1]
    assert sorted(i for c in chunks for i in c) == list(range(10))
    assert all(c == sorted(c) for c in chunks)


def test_a_step_runs_after_every_step_on_its_dataset_or_a_parent(cfg):
    """Growing a disk and changing its compression touch one zvol: two chunks, in order; a
    new disk beside it waits only for its own parent."""
    a = cfg.config(vms=[cfg.vm("w", cfg.disk("d", "1G")), cfg.vm("x")])
    b = cfg.config(vms=[cfg.vm("w", cfg.disk("d", "2G", compression="lz4"),
                               cfg.disk("e", "1G")),
                        cfg.vm("x"), cfg.vm("y")])
    plan = build_plan(diff(a, b), zfs_parent=P)
    chunks = schedule(plan.steps)
    where = {i: k for k, c in enumerate(chunks) for i in c}
    for i, si in enumerate(plan.steps):
        for j in range(i + 1, len(plan.steps)):
            di, dj = dataset_of(si), dataset_of(plan.steps[j])
            assert di is not None and dj is not None
            if di == dj or dj.startswith(di + "/") or di.startswith(dj + "/"):
                assert where[i] < where[j], (si.what, plan.steps[j].what)
    grow = next(i for i, s in enumerate(plan.steps) if s.what.startswith("grow"))
    comp = next(i for i, s in enumerate(plan.steps) if s.what.startswith("set compression"))
    assert where[grow] < where[comp]


def test_guards_interfaces_and_destroys_run_alone_in_place(cfg):
    a = cfg.config(vms=[cfg.vm("old", cfg.disk("d", "1G"))])
    b = cfg.config([cfg.network("lan", fib=1)], [cfg.vm("n1"), cfg.vm("n2")])
    plan = build_plan(diff(a, b), zfs_parent=P)
    chunks = schedule(plan.steps)
    alone = [s.what for s in plan.steps if dataset_of(s) is None]
    assert alone and all(
        len(c) == 1 for c in chunks if dataset_of(plan.steps[c[0]]) is None)
    # the order of everything that runs alone is the plan's, and each shared run keeps its
    # place between them
    flat = [i for c in chunks for i in c]
    assert [plan.steps[i].what for i in flat if dataset_of(plan.steps[i]) is None] == alone
    assert sorted(flat) == list(range(len(plan.steps)))
    destroy = next(i for i, s in enumerate(plan.steps) if s.what.startswith("destroy dataset"))
    creates = [i for i, s in enumerate(plan.steps) if s.what.startswith("create dataset")]
    assert max(flat.index(i) for i in creates) < flat.index(destroy)


def test_the_preview_lists_the_steps_in_the_order_they_run_and_says_which_share(cfg):
    from hvd_netconf.apply.engine import render

    text = render(build_plan(diff(None, _vms(cfg, 2, disks=1)), zfs_parent=P))
    heads = [line for line in text.splitlines() if not line.startswith(" ")]
    assert heads == [
        "steps 1-2 run at once:",
        f"1. create dataset {P}/vm/v0 for VM v0", f"2. create dataset {P}/vm/v1 for VM v1",
        "steps 3-4 run at once:",
        f"3. create dataset {P}/vm/v0/disks", f"4. create dataset {P}/vm/v1/disks",
        "steps 5-6 run at once:",
        f"5. create zvol {P}/vm/v0/disks/d0 (1G)", f"6. create zvol {P}/vm/v1/disks/d0 (1G)",
    ]
