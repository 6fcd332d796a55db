"""`hv install`, `hv iso list`, `hv iso add` one-shot, with --json (issue 20, item 1)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from hv_cli.shell import HvCompleter
from prompt_toolkit.document import Document
from support.server import HvdInstance

from tests.cli.conftest import Result
from tests.cli.test_shell import shell


def test_iso_add_list_and_install(hvd: HvdInstance, hv: Callable[..., Result],
                                  tmp_path: Path) -> None:
    isos = hvd.running.server.settings.iso_path
    assert hv("iso list").out == "no ISOs on the host (hv iso add FILE|URL)\n"
    src = tmp_path / "disc1.iso"
    src.write_bytes(b"\0" * 2048)
    r = hv(f"iso add {src}")
    assert (r.status, r.out) == (0, f"ISO {isos / 'disc1.iso'} added (2048 bytes)\n"), r.err
    assert hv(f"iso add {src} other.iso --json").out == \
        json.dumps({"path": str(isos / "other.iso"), "size": "2048"}, indent=2) + "\n"
    rows = hv("iso list").out.splitlines()
    assert rows[0].split() == ["NAME", "SIZE", "PATH"]
    assert [r.split()[0] for r in rows[1:]] == ["disc1.iso", "other.iso"]
    assert [x["name"] for x in json.loads(hv("iso list --json").out)] == ["disc1.iso",
                                                                          "other.iso"]
    for line in ("create vm web 1 256", "add disk web d0 1G"):
        assert hv(line).status == 0, line
    r = hv("install web disc1.iso --no-start")
    assert r.status == 0, r.err
    assert r.out == (f"vm web installs from {isos / 'disc1.iso'} (commit 3): start it to boot "
                     "the ISO (hv start web)\n")
    r = hv("install web nothere.iso")
    assert (r.status, r.err) == (1, f"hv: {isos / 'nothere.iso'}: No such file or directory\n")


def test_iso_names_complete(hvd: HvdInstance, tmp_path: Path) -> None:
    isos = hvd.running.server.settings.iso_path
    isos.mkdir(parents=True)
    for name in ("debian-12.iso", "FreeBSD-14.1.iso"):
        (isos / name).write_bytes(b"\0")
    with shell(hvd) as (sh, _, _, _):
        completer: HvCompleter = sh.prompt.completer  # type: ignore[assignment]

        def words(text: str) -> list[str]:
            return [c.text for c in completer.get_completions(Document(text), None)]  # type: ignore[arg-type]

        assert words("install web ") == ["FreeBSD-14.1.iso", "debian-12.iso"]
        assert words("install web deb") == ["debian-12.iso"]
        sh.session.close()


def test_image_write(hvd: HvdInstance, hv: Callable[..., Result], tmp_path: Path) -> None:
    for line in ("create vm web 1 256", "add disk web d0 1M"):
        assert hv(line).status == 0, line
    image = tmp_path / "disk.raw"
    image.write_bytes(b"\xeb" * 1024)
    r = hv(f"image write web d0 {image}")
    assert (r.status, r.out) == (0, f"{image} (raw, 1024 bytes) written onto disk d0 of vm "
                                    "web\n"), r.err
    assert json.loads(hv(f"image write web d0 {image} --json").out) == {
        "format": "raw", "bytes": "1024"}
    r = hv(f"image write web d9 {image}")
    assert (r.status, r.err) == (1, "hv: VM web has no disk 'd9'\n")
