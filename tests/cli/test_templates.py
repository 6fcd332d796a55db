"""`hv create vm NAME --template T`, `hv template list`, and the completion of template names
(issue 20, item 2)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from e2e.helpers import standin
from host.test_cloudinit import KEY, read_back
from hv_cli import grammar
from hv_cli.facts import UsageError
from hv_cli.shell import HvCompleter
from prompt_toolkit.document import Document
from support.server import HvdInstance
from support.waiting import wait_for

from hvd_netconf.host.sim.host import SimHost
from tests.cli.conftest import Result
from tests.cli.test_shell import shell

SHIPPED = ["freebsd", "linux-grub", "linux-uefi", "netbsd", "openbsd", "ubuntu", "windows-uefi"]


def test_create_from_a_template_and_list(hvd: HvdInstance, hv: Callable[..., Result]) -> None:
    assert hv("create network lan 0").status == 0
    r = hv("create vm web --template freebsd --network lan")
    assert (r.status, r.out) == (0, "created vm web from template freebsd (commit 2)\n"), r.err
    shown = json.loads(hv("show vm web --json").out)
    assert shown["loader"]["type"] == "bhyveload" and shown["memory"] == 1024
    assert [(n["name"], n["network"]) for n in shown["nic"]] == [("nic0", "lan")]
    rows = hv("template list").out.splitlines()
    assert rows[0].split() == ["NAME", "ORIGIN", "DESCRIPTION"]
    assert [r.split()[0] for r in rows[1:]] == SHIPPED
    listed = json.loads(hv("template list --json").out)
    assert listed[0] == {"name": "freebsd", "description": "FreeBSD, booted by bhyveload",
                         "origin": "shipped"}
    r = hv("create vm db --template freebsd")
    assert (r.status, r.err) == (1, "hv: template freebsd gives VM db NIC nic0 without a "
                                    "network: name the network it joins\n")


@pytest.mark.parametrize(("line", "message"), [
    ("create vm web 2 --template ubuntu", "cpu comes from the template (--template ubuntu)"),
    ("create vm web", "usage: create vm <name> <cpu> <memory> [--template TEMPLATE]"),
    ("create vm web --template no/pe", "template 'no/pe' is not valid"),
])
def test_template_usage(line: str, message: str) -> None:
    with pytest.raises(UsageError) as err:
        grammar.parse(line.split())
    assert message in str(err.value)


def test_template_names_complete(hvd: HvdInstance) -> None:
    with shell(hvd) as (sh, _, _, _):
        completer: HvCompleter = sh.prompt.completer  # type: ignore[assignment]

        def words(text: str) -> list[str]:
            return [c.text for c in completer.get_completions(Document(text), None)]  # type: ignore[arg-type]

        assert "--template" in words("create vm web ")
        assert words("create vm web --template ") == SHIPPED
        assert words("create vm web --template li") == ["linux-grub", "linux-uefi"]
        sh.session.close()


def test_ubuntu_from_a_cloud_image_with_a_key(hvd: HvdInstance, hv: Callable[..., Result],
                                              tmp_path: Path) -> None:
    """The issue's `hv create vm NAME --template ubuntu --image IMG --ssh-key FILE`: one
    commit, the image on the first disk, the key in the seed the first start attaches."""
    image = tmp_path / "jammy.img"
    image.write_bytes(b"QFI\xfb" + b"\1" * 508)
    keyfile = tmp_path / "id.pub"
    keyfile.write_text(f"# mine\n{KEY}\n")
    assert hv("create network lan 0").status == 0
    r = hv(f"create vm web --template ubuntu --network lan --image {image} --ssh-key {keyfile}")
    assert (r.status, r.out) == (0, f"created vm web from template ubuntu (commit 2); {image} "
                                    "(qcow2) written onto its first disk\n"), r.err
    shown = json.loads(hv("show vm web --json").out)
    assert shown["cloud-init"]["ssh-authorized-key"] == [KEY]
    zvol = SimHost(hvd.root).zvol_file("zroot/hv/vm/web/disks/disk0")
    with open(zvol, "rb") as f:  # a sparse 20G stand-in: read only the start
        assert f.read(512) == image.read_bytes()
    standin(hvd.root, "web")
    assert hv("start web").status == 0
    seed = hvd.root / "vm" / "web" / "cidata.iso"
    wait_for(seed.exists, what="the seed")
    _label, files, _ = read_back(seed.read_bytes())
    assert KEY.encode() in files["meta-data"]
    assert hv("stop web --force").status == 0
    r = hv(f"create vm db --template ubuntu --network lan --image {tmp_path / 'no.img'}")
    assert (r.status, r.err) == (1, f"hv: {tmp_path / 'no.img'}: No such file or directory\n")
    assert "db" not in hv("list vm").out
