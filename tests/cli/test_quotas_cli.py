"""`hv set vm VM resource-pool POOL` as an operator types it: over the pool, the refusal in
the operator's words and exit status 1, nothing changed; within it, done."""

from __future__ import annotations

import subprocess
import sys

from support.server import HvdInstance

from hvd_netconf.namespaces import BASE, VM

SETUP = (f"<config xmlns='{BASE}'><resource-pools xmlns='{VM}'><resource-pool>"
         "<name>team-a</name><max-cpus>4</max-cpus></resource-pool></resource-pools>"
         f"<vms xmlns='{VM}'><vm><name>web1</name><cpu>2</cpu>"
         "<resource-pool>team-a</resource-pool></vm>"
         "<vm><name>web2</name><cpu>3</cpu></vm><vm><name>web3</name><cpu>2</cpu></vm>"
         "</vms></config>")


def hv(hvd: HvdInstance, *words: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hv_cli", "--socket", str(hvd.socket_path),
                           *words], capture_output=True, text=True, timeout=60)


def test_set_resource_pool_over_and_within(hvd: HvdInstance) -> None:
    m = hvd.connect_uds()
    m.edit_config(target="running", config=SETUP)
    over = hv(hvd, "set", "vm", "web2", "resource-pool", "team-a")
    assert over.returncode == 1
    assert over.stderr.strip() == ("hv: resource pool team-a would hold 5 vCPUs, above its "
                                   "max-cpus of 4 (vm web2, resource-pool)")
    assert "team-a" not in hv(hvd, "show", "vm", "web2").stdout
    within = hv(hvd, "set", "vm", "web3", "resource-pool", "team-a")
    assert within.returncode == 0, within.stderr
    assert "team-a" in hv(hvd, "show", "vm", "web3").stdout
