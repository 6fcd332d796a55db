"""Issue 17, item 2: after a kill -9 in the middle of a big commit, running and the host are
restored, and the commit's changes are set aside in a file that the log, `hv show host` and a
notification point to; the candidate is reset, so the next, unrelated commit applies only its
own changes."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
from pathlib import Path

from e2e.conftest import ChildHvd
from e2e.helpers import config, network_xml, wait_for
from lxml import etree
from ncclient.xml_ import to_ele

from hvd_netconf.namespaces import NETWORK

BIG = 600  # networks, a bridge each: the commit has as many host steps
N = {"net": NETWORK}


def networks(m, source: str) -> set[str]:
    data = etree.fromstring(m.get_config(source).xml.encode())
    return {n.findtext("net:name", namespaces=N) or ""
            for n in data.iterfind(".//net:networks/net:network", N)}


def started_steps(journal: Path) -> int:
    try:
        return journal.read_bytes().count(b'{"start"')
    except FileNotFoundError:
        return 0


def commit_until_killed(m) -> None:
    with contextlib.suppress(Exception):  # the session ends with the kill
        m.commit()


def test_a_cut_short_commit_is_set_aside(child_hvd: ChildHvd) -> None:
    root = child_hvd.root
    journal = root / ".hvd" / "host-undo.jsonl"
    m = child_hvd.start().connect()
    m.edit_config(config(networks="".join(network_xml(f"big{i}") for i in range(BIG))),
                  target="candidate")
    threading.Thread(target=commit_until_killed, args=(m,), daemon=True).start()
    wait_for(lambda: started_steps(journal) >= 5, 60, "the big commit's host steps to start")
    child_hvd.kill()

    m = child_hvd.start().connect()
    assert networks(m, "running") == set()  # restored exactly
    assert networks(m, "candidate") == set()  # not waiting for the next commit
    aside = sorted((root / ".hvd").glob("interrupted-commit-*.xml"))
    assert len(aside) == 1
    kept = etree.parse(str(aside[0])).getroot()
    assert {n.findtext("net:name", namespaces=N) for n in kept.iter(f"{{{NETWORK}}}network")
            } == {f"big{i}" for i in range(BIG)}
    assert str(aside[0]) in child_hvd.log.read_text()

    # A subscriber that asks for the replay sees the notification of this start.
    m.dispatch(to_ele('<create-subscription xmlns="urn:ietf:params:xml:ns:netconf:'
                      'notification:1.0"><startTime>2000-01-01T00:00:00Z</startTime>'
                      "</create-subscription>"))
    note = wait_for(lambda: m.take_notification(timeout=1), 10, "the replayed notification")
    seen = [note.notification_xml]
    while "interrupted-commit" not in seen[-1]:
        got = m.take_notification(timeout=5)
        assert got is not None, seen
        seen.append(got.notification_xml)
    assert str(aside[0]) in seen[-1]

    shown = subprocess.run([sys.executable, "-m", "hv_cli.main", "--socket",
                            str(child_hvd.sock), "show", "host"],
                           capture_output=True, text=True, timeout=60)
    assert str(aside[0]) in shown.stdout, shown

    # The next, unrelated commit applies its own changes only.
    m2 = child_hvd.connect()
    m2.edit_config(config(networks="".join(network_xml(f"small{i}") for i in range(5))),
                   target="candidate")
    m2.commit()
    assert networks(m2, "running") == {f"small{i}" for i in range(5)}
    assert child_hvd.stop() == 0


def test_a_clean_restart_sets_nothing_aside(child_hvd: ChildHvd) -> None:
    """An uncommitted edit is not an interrupted commit: it stays in the candidate."""
    m = child_hvd.start().connect()
    m.edit_config(config(networks=network_xml("kept")), target="candidate")
    child_hvd.kill()
    m = child_hvd.start().connect()
    assert networks(m, "candidate") == {"kept"}
    assert not list((child_hvd.root / ".hvd").glob("interrupted-commit-*.xml"))
    assert child_hvd.stop() == 0



