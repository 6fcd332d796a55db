"""rctl(8) argv and rules for a VM's limits (docs/freebsd-facts.md §18), and the sim's rule
table answering them as rctl does."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from hvd_netconf.host import rctl, specs
from hvd_netconf.host.backend import CommandFailed
from hvd_netconf.host.sim.host import SimHost

VM = specs.vm_defaults("web")


def test_rules_and_argv_as_the_manual_writes_them() -> None:
    vm = replace(VM, limit_cpu=50, limit_memory=1024)
    assert rctl.rules(vm, 4242) == {"pcpu": "process:4242:pcpu:deny=50",
                                    "memoryuse": "process:4242:memoryuse:deny=1073741824"}
    assert rctl.rules(VM, 4242) == {}
    assert rctl.add("process:4242:pcpu:deny=50") == ("rctl", "-a", "process:4242:pcpu:deny=50")
    assert rctl.remove(4242, "pcpu") == ("rctl", "-r", "process:4242:pcpu")
    assert rctl.list_rules() == ("rctl",)
    listed = "process:4242:pcpu:deny=50\nuser:www:maxproc:deny=100\nprocess:7:pcpu:deny=9\n"
    assert rctl.parse_rules(listed, 4242) == {"pcpu": "process:4242:pcpu:deny=50"}


def test_changes_remove_the_old_rule_add_the_new_and_undo_both_ways() -> None:
    old, new = replace(VM, limit_cpu=50), replace(VM, limit_cpu=25, limit_memory=512)
    assert rctl.changes(old, new, 7) == [
        ("memoryuse limit of VM web (pid 7): none -> 536870912",
         [("rctl", "-a", "process:7:memoryuse:deny=536870912")],
         [("rctl", "-r", "process:7:memoryuse")]),
        ("pcpu limit of VM web (pid 7): 50 -> 25",
         [("rctl", "-a", "process:7:pcpu:deny=25")],
         [("rctl", "-a", "process:7:pcpu:deny=50")]),
    ]
    assert rctl.changes(new, new, 7) == []
    assert rctl.changes(old, VM, 7) == [
        ("pcpu limit of VM web (pid 7): 50 -> none", [("rctl", "-r", "process:7:pcpu")],
         [("rctl", "-a", "process:7:pcpu:deny=50")])]


def test_the_sim_refuses_as_rctl_does(tmp_path: Path) -> None:
    host = SimHost(tmp_path)
    with pytest.raises(CommandFailed, match="failed to add rule 'process:999999:pcpu:deny=5': "
                                            "No such process"):
        host.run(rctl.add("process:999999:pcpu:deny=5"))
    with pytest.raises(CommandFailed, match="failed to add rule 'process:1:cputime:sigkill=5'"
                                            ": Invalid argument"):
        host.run(("rctl", "-a", "process:1:cputime:sigkill=5"))
    with pytest.raises(CommandFailed, match="failed to remove rules for 'process:1:pcpu': "
                                            "No such process"):
        host.run(rctl.remove(1, "pcpu"))
    assert host.run(rctl.list_rules()) == ""
    off = SimHost(tmp_path / "off", sysctls={"kern.racct.enable": "0"})
    with pytest.raises(CommandFailed, match="RACCT/RCTL present, but disabled"):
        off.run(rctl.add("process:1:pcpu:deny=5"))
