"""The collector is off during a bulk write only, and back on (with the survivors frozen) once
the last overlapping one ends."""

import gc
import weakref

from hvd_netconf.store import gcpause


def test_a_small_write_leaves_the_collector_alone():
    with gcpause.paused(gcpause.BULK - 1):
        assert gc.isenabled()


def test_a_bulk_write_runs_without_the_collector_and_freezes_what_survives():
    frozen = gc.get_freeze_count()
    kept = [[i] for i in range(100)]
    with gcpause.paused(gcpause.BULK):
        assert not gc.isenabled()
        with gcpause.paused(gcpause.BULK * 10):  # another session's bulk edit meanwhile
            assert not gc.isenabled()
        assert not gc.isenabled()  # the first one still runs
    assert gc.isenabled()
    assert gc.get_freeze_count() >= frozen + len(kept)
    gc.unfreeze()


def test_a_collector_turned_off_elsewhere_stays_off():
    gc.disable()
    try:
        with gcpause.paused(gcpause.BULK):
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_cycles_left_by_a_bulk_write_are_collected_not_frozen():
    class Node:
        pass

    refs = []
    with gcpause.paused(gcpause.BULK):
        for _ in range(500):
            a, b = Node(), Node()
            a.other, b.other = b, a  # garbage once the loop moves on: a cycle
            refs.append(weakref.ref(a))
        del a, b
        assert all(r() is not None for r in refs)  # no collector inside the write
    assert all(r() is None for r in refs)  # collected at its end, not frozen
    gc.unfreeze()
