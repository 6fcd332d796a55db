"""Corpus agreement: our verdict equals yanglint's on every document, with the expected
error-tag, error-app-tag and error-path (tests/schema/corpus/manifest.json)."""

from __future__ import annotations

import json
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from hvd_netconf.schema import load_schema
from hvd_netconf.schema.validate import validate
from hvd_netconf.xmlparse import parse

REPO = Path(__file__).resolve().parents[2]
YANG = REPO / "yang"
CORPUS = Path(__file__).resolve().parent / "corpus"
MANIFEST: dict[str, dict] = json.loads((CORPUS / "manifest.json").read_text())
YANGLINT = "/usr/bin/yanglint"


def load_doc(name: str):  # type: ignore[no-untyped-def]
    """Corpus files hold the top-level containers side by side, as yanglint reads them."""
    data = (CORPUS / f"{name}.xml").read_bytes()
    return parse(b'<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">' + data + b"</config>")


def _yanglint(name: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [YANGLINT, "-t", "config", "-p", str(YANG), str(YANG / "hvd-vm.yang"),
         str(YANG / "hvd-network.yang"), str(CORPUS / f"{name}.xml")],
        capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture(scope="module")
def yanglint_verdicts() -> dict[str, subprocess.CompletedProcess[str]]:
    # a missing yanglint fails here: `make test` installs it (tools/install-test-deps.sh)
    assert Path(YANGLINT).exists() or shutil.which("yanglint"), "yanglint is not installed"
    with ThreadPoolExecutor(4) as pool:
        return dict(zip(MANIFEST, pool.map(_yanglint, MANIFEST), strict=True))


def test_manifest_matches_files() -> None:
    files = {p.stem for p in CORPUS.glob("*.xml")}
    assert files == set(MANIFEST)
    invalid = [e for e in MANIFEST.values() if not e.get("valid")]
    assert len(invalid) >= 40
    classes = {(e["tag"], e.get("app_tag")) for e in invalid}
    assert classes >= {
        ("invalid-value", None), ("unknown-element", None), ("unknown-namespace", None),
        ("missing-element", None), ("operation-failed", "data-not-unique"),
        ("data-missing", "instance-required"), ("operation-failed", "must-violation"),
        ("operation-failed", "too-many-elements"), ("bad-element", None),
    }


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_document(name: str, yanglint_verdicts: dict) -> None:
    expected = MANIFEST[name]
    errors = validate(load_schema(YANG), load_doc(name))
    lint = yanglint_verdicts[name]
    assert (lint.returncode == 0) == (not errors), (lint.stderr, errors)
    if expected.get("valid"):
        assert errors == []
        return
    first = errors[0]
    assert (first.tag, first.app_tag, first.path) == (
        expected["tag"], expected.get("app_tag"), expected["path"]), errors
    assert first.message
