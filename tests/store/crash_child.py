"""Child of test_crash: commits forever, reporting each step on stdout until it is killed.

Protocol, one line each: `START <digest>` (the state it opened), `TRY <digest>` before a
commit (the state it will produce), `ACK <id> <digest>` once the commit returned.
"""

from __future__ import annotations

import copy
import hashlib
import random
import sys

from lxml import etree

from hvd_netconf.namespaces import NETWORK, VM
from hvd_netconf.store import CommitMeta, Datastores

SIZES = [1, 1, 1, 1, 2, 3, 5, 10, 30, 100]


def digest(state: dict[tuple[str, str], bytes]) -> str:
    h = hashlib.sha256()
    for key in sorted(state):
        h.update(repr(key).encode() + b"\0" + state[key] + b"\0")
    return h.hexdigest()[:20]


def canonical(el: etree._Element) -> bytes:
    return etree.tostring(copy.deepcopy(el), method="c14n")


def entry(key: tuple[str, str], rng: random.Random) -> etree._Element:
    ns, tag = (VM, "vm") if key[0] == "vm" else (NETWORK, "network")
    el = etree.Element(f"{{{ns}}}{tag}", nsmap={None: ns})
    etree.SubElement(el, f"{{{ns}}}name").text = key[1]
    etree.SubElement(el, f"{{{ns}}}description").text = "x" * rng.randrange(0, 200)
    if tag == "vm":
        etree.SubElement(el, f"{{{ns}}}memory").text = str(rng.randrange(64, 65536))
    else:
        etree.SubElement(el, f"{{{ns}}}fib").text = str(rng.randrange(0, 16))
    return el


def main(root: str, seed: int) -> None:
    rng = random.Random(seed)
    ds = Datastores(root, fsync=True, history_limit=10)
    # A candidate saved by a killed predecessor is not part of this child's plan.
    ds.discard_candidate()
    state = {key: canonical(el) for key, el in ds.running.items()}
    out = sys.stdout
    out.write(f"START {digest(state)}\n")
    out.flush()
    pool = [("vm", f"vm{i}") for i in range(250)] + [("network", f"n{i}") for i in range(50)]
    while True:
        changes: dict[tuple[str, str], etree._Element | None] = {}
        for key in rng.sample(pool, rng.choice(SIZES)):
            changes[key] = None if key in state and rng.random() < 0.3 else entry(key, rng)
        new = dict(state)
        for key, el in changes.items():
            if el is None:
                new.pop(key, None)
            else:
                new[key] = canonical(el)
        out.write(f"TRY {digest(new)}\n")
        out.flush()
        how = rng.random()
        if how < 0.4:
            cid = ds.commit(changes, CommitMeta(user="crash"))
        elif how < 0.7:
            cid = ds.write_running(changes, CommitMeta(source="edit-running"))
        else:
            for key, el in changes.items():
                ds.candidate.set_entry(key, el)
            ds.mark_dirty(changes)
            ds.save_candidate()
            cid = ds.commit(meta=CommitMeta(comment="via candidate"))
        out.write(f"ACK {cid} {digest(new)}\n")
        out.flush()
        state = new


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
