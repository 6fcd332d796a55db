"""What a commit's host apply writes to the log at the default level: a small plan in full,
a bulk one as one line (its full text is for the debug level and preview-commit)."""

from __future__ import annotations

import logging

from hvd_netconf.apply.hook import LOG_STEPS
from hvd_netconf.namespaces import BASE, VM


def _create(names: list[str]) -> str:
    vms = "".join(f"<vm><name>{n}</name></vm>" for n in names)
    return f'<config xmlns="{BASE}"><vms xmlns="{VM}">{vms}</vms></config>'


def test_a_bulk_plan_is_logged_as_one_line_and_a_small_one_in_full(hvd, caplog):
    caplog.set_level(logging.INFO, logger="hvd.apply")
    with hvd.connect_uds() as m:
        m.edit_config(_create(["one"]), target="candidate")
        m.commit()
        small = [r.getMessage() for r in caplog.records if r.name == "hvd.apply"]
        assert any("1. create dataset zroot/hv/vm/one for VM one" in t for t in small)
        caplog.clear()
        many = [f"v{i}" for i in range(LOG_STEPS // 2 + 1)]  # two steps each
        m.edit_config(_create(many), target="candidate")
        m.commit()
    logged = [r.getMessage() for r in caplog.records if r.name == "hvd.apply"]
    assert f"applying {len(many) * 2} host step(s) on the SIMULATED host; the plan in full " \
           "at log level debug (and from preview-commit before a commit)" in logged
    assert not any("1. create dataset" in t for t in logged)  # no step listed one by one
    assert sum("steps at once" in t for t in logged) == 2  # one line a chunk
