"""A clean stop folds the write-ahead log into the files: they alone then hold the
configuration, as an admin reading or editing them while hvd is stopped finds it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from e2e.helpers import config, vm_xml

from hvd_netconf.store.wal import read_records, wal_path


def test_stop_leaves_an_empty_log_and_every_file(hvd_factory: Callable[..., Any]) -> None:
    hvd = hvd_factory(ssh=False)
    many = "".join(vm_xml(f"v{i}") for i in range(66))  # past 64: files in the background
    with hvd.connect_uds() as m:
        m.edit_config(config(vms=many), target="candidate")
        m.commit()
        m.edit_config(config(vms=vm_xml("v1", extra="<cpu>3</cpu>")),
                      target="candidate")  # left uncommitted
    assert read_records(wal_path(str(hvd.root)))[1] > 0
    hvd.stop()
    assert read_records(wal_path(str(hvd.root))) == ([], 0)
    assert sorted(p.parent.name for p in (hvd.root / "vm").glob("*/config.xml")) == \
        sorted(f"v{i}" for i in range(66))
    snapshot = (hvd.root / ".hvd" / "candidate.log").read_bytes()
    assert b'name="v1"' in snapshot and b"<cpu>3</cpu>" in snapshot
    again = hvd_factory(ssh=False, root=hvd.root)
    with again.connect_uds() as m:
        assert "<cpu>3</cpu>" in m.get_config("candidate").xml
