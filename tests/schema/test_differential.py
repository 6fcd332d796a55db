"""Differential test: hvd's <validate> verdict on generated documents equals yanglint's.

tests/schema/docgen.py makes seeded documents from the loaded schema (plausible instances, then
one mutation each: values out of range or pattern, a node dropped or given twice, unknown
elements and attributes, text in a container, state data, dangling leafrefs, two cases of a
choice...). Each goes to a running hvd as `<validate><source><config>` over the Unix socket,
and to one yanglint process (its interactive mode validates file after file). `make test` runs
300 documents; `make test-diff` runs 3,000 (HVD_DIFF_DOCS; HVD_DIFF_SEED picks the seed).

When it was written, hvd disagreed on 40 of the 300 documents and 523 of the 3,000: duplicates
merged, text and unknown attributes ignored, two cases of a choice accepted, NACM paths not
checked, and the namespace declarations of a NACM path dropped on the way into the tree.

One difference is deliberate and kept out of the documents: hvd resolves a NACM path prefix
the document does not declare when it is a module's prefix or name (`/hvd-vm:vms` typed
without xmlns:hvd-vm, see hvd_netconf/schema/nodepath.py); yanglint requires the declaration.
The generator declares every prefix its paths use (docgen.PATH_PREFIXES).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from schema.docgen import Generator, body
from support.rawclient import RawClient, errors, is_ok

from hvd_netconf.host import constraints, quotas
from hvd_netconf.schema import load_schema

YANG = Path(__file__).resolve().parents[2] / "yang"
MODULES = ("hvd-vm", "hvd-network", "ietf-netconf-acm")
DOCS = int(os.environ.get("HVD_DIFF_DOCS", "300"))
SEED = int(os.environ.get("HVD_DIFF_SEED", "1"))
_FAILED = re.compile(r'Failed to (?:parse|validate) input data file "([^"]+)"')


def yanglint_verdicts(files: list[Path], home: Path) -> dict[Path, str | None]:
    """None for a valid file, else yanglint's message; one process for all files."""
    yanglint = shutil.which("yanglint")
    assert yanglint, "yanglint is not installed (make test-deps)"
    script = [f"searchpath {YANG}", f"searchpath {YANG / 'ietf'}", f"load {' '.join(MODULES)}"]
    script += [f"data -t config {f}" for f in files]
    proc = subprocess.run([yanglint], input="\n".join(script) + "\n", capture_output=True,
                          text=True, timeout=600, check=False, env={**os.environ,
                                                                   "HOME": str(home)})
    verdicts: dict[Path, str | None] = dict.fromkeys(files)
    last = ""
    for line in (proc.stdout + proc.stderr).splitlines():
        m = _FAILED.search(line)
        if m:
            verdicts[Path(m.group(1))] = last
        elif line.startswith("libyang"):
            last = line
    return verdicts


def test_validate_agrees_with_yanglint(hvd, tmp_path: Path) -> None:
    gen = Generator(load_schema(YANG), MODULES, SEED)
    docs = []
    for i in range(DOCS):
        mutation, doc = gen.mutated()
        path = tmp_path / f"d{i:05}.xml"
        path.write_bytes(body(doc))
        docs.append((path, mutation))
    lint = yanglint_verdicts([p for p, _ in docs], tmp_path)
    disagree = []
    with RawClient.unix(str(hvd.socket_path)) as c:
        c.hello("1.1")
        for path, mutation in docs:
            reply = c.rpc("<validate><source><config>" + path.read_text()
                          + "</config></source></validate>")
            # yanglint knows the model only, not what this host or its quotas refuse beyond it
            ours = None if is_ok(reply) else [
                e for e in errors(reply)
                if e["app_tag"] not in (constraints.APP_TAG, quotas.APP_TAG)] or None
            if (ours is None) != (lint[path] is None):
                disagree.append((path.name, mutation, ours, lint[path], path.read_text()))
    valid = sum(v is None for v in lint.values())
    # both verdicts must be common, or agreement means little
    assert DOCS // 5 < valid < DOCS - DOCS // 5, valid
    assert not disagree, f"{len(disagree)} of {DOCS} disagree; first: " + "\n\n".join(
        "\n".join(map(str, d)) for d in disagree[:5])
