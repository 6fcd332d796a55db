"""Issue 17.9: the sim's bhyve fails where FreeBSD's would, in bhyve's words: a guest with more
memory than the host has (vm_setup_memory fails with ENOMEM), an install ISO that is not there
(blockif_open cannot open the backing file). The VM does not run; its state says why."""

from __future__ import annotations

import pytest
from e2e.helpers import config, sim_state, standin, start_vm, vm_state, vm_xml
from support.server import HvdInstance
from support.waiting import wait_for


def _ends_with(m, name: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    wait_for(lambda: vm_state(m, name).get("last-exit-code") is not None,
             what=f"bhyve of {name} to exit")
    return vm_state(m, name)


@pytest.mark.parametrize(("extra", "words"), [
    ("<memory>32768</memory>", "Unable to setup memory (12)"),
    ("<install-iso>/nonexistent/install.iso</install-iso>",
     "bhyve: Could not open backing file: /nonexistent/install.iso: No such file or directory"),
])
def test_bhyve_refuses_and_the_vm_does_not_run(vmhvd: HvdInstance, extra: str,
                                               words: str) -> None:
    root = vmhvd.root
    m = vmhvd.connect_uds()
    m.edit_config(config(vms=vm_xml("big", extra=extra)), target="running")
    standin(root, "big")
    start_vm(m, "big")
    st = _ends_with(m, "big")
    # exit 4 is an error exit, which the supervisor files under on-crash (default stop)
    assert st["status"] == "crashed" and "pid" not in st
    assert st["last-exit-code"] == "4"
    assert st["last-exit-reason"] == f"bhyve exited on an error (exit 4): {words}"
    assert sim_state(root)["vmm"] == {}


def test_a_guest_within_the_host_memory_runs(vmhvd: HvdInstance, tmp_path) -> None:  # type: ignore[no-untyped-def]
    iso = tmp_path / "install.iso"
    iso.write_bytes(b"\0" * 2048)
    m = vmhvd.connect_uds()
    m.edit_config(config(vms=vm_xml("ok", extra="<memory>16384</memory>"
                                               f"<install-iso>{iso}</install-iso>")),
                  target="running")
    standin(vmhvd.root, "ok")
    start_vm(m, "ok")
    wait_for(lambda: vm_state(m, "ok")["status"] == "running", what="ok to run")
    assert "ok" in sim_state(vmhvd.root)["vmm"]
