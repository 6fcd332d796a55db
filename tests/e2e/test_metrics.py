"""Prometheus /metrics with a real HTTP client, parsed by prometheus_client's own text parser:
open on loopback, HTTPS and hvd's users elsewhere, and NACM's read rules deciding what each
user's scrape holds. The example Grafana dashboard queries only metrics that exist."""

from __future__ import annotations

import json
import re
import ssl
from pathlib import Path
from typing import Any

import httpx
import pytest
from e2e.helpers import config, guest_ready, kill_standins, network_xml, start_vm, vm_xml
from ncclient.xml_ import to_ele
from prometheus_client.parser import text_string_to_metric_families
from support.configs import hide_vm
from support.server import PASSWORD, USER

from hvd_netconf.config import from_mapping
from hvd_netconf.host.sim.host import SimHost
from hvd_netconf.restconf.listener import self_signed
from hvd_netconf.stats.exposition import ALL_NAMES
from hvd_netconf.users import UserDB

REPO = Path(__file__).resolve().parents[2]


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def _two_vms(inst: Any) -> None:
    m = inst.connect_uds()
    m.edit_config(target="running", config=config(
        networks=network_xml("lan"),
        vms=vm_xml("web", disks={"disk0": "1G"}, nics={"nic0": "lan"}) + vm_xml("db")))
    start_vm(m, "web")
    guest_ready(inst.root, "web")


def test_loopback_scrape_without_login(hvd_factory: Any) -> None:
    inst = hvd_factory(ssh=False, metrics_listen=(("127.0.0.1", 0),))
    try:
        _two_vms(inst)
        tap = inst.server.supervisor.status("web")["tap"][0]
        SimHost(inst.root).count_traffic(tap, rx_bytes=1234, rx_packets=3)
        host, port = inst.running.metrics.addresses[0]
        r = httpx.get(f"http://{host}:{port}/metrics", timeout=30)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        got = samples(r.text)
        assert got[("hvd_vm_running", (("vm", "web"),))] == 1.0
        assert got[("hvd_vm_running", (("vm", "db"),))] == 0.0
        assert got[("hvd_vm_resident_memory_bytes", (("vm", "web"),))] > 1 << 20
        assert ("hvd_vm_cpu_seconds_total", (("vm", "web"),)) in got
        assert got[("hvd_vm_nic_in_bytes_total",
                    (("nic", "nic0"), ("tap", tap), ("vm", "web")))] == 1234.0
        assert ("hvd_vm_disk_written_bytes_total", (("disk", "disk0"), ("vm", "web"))) in got
        assert got[("hvd_host_physical_memory_bytes", ())] == float(16 << 30)
        assert got[("hvd_pool_size_bytes", (("pool", "zroot"),))] == float(64 << 40)
        assert ("hvd_network_in_bytes_total", (("network", "lan"),)) in got
        assert httpx.get(f"http://{host}:{port}/other", timeout=30).status_code == 404
    finally:
        inst.stop()
        kill_standins(inst.root)


def test_elsewhere_https_login_and_nacm(hvd_factory: Any, tmp_path: Path) -> None:
    cert, key = tmp_path / "m.crt", tmp_path / "m.key"
    self_signed(cert, key)
    inst = hvd_factory(ssh=False, metrics_listen=(("0.0.0.0", 0),), metrics_cert=cert,
                       metrics_key=key, restconf_auth_delay=0.0)
    try:
        UserDB.for_root(inst.root).add("viewer", password="view-pass", groups=["ops"])
        _two_vms(inst)
        inst.connect_uds().edit_config(target="running", config=to_ele(hide_vm("web", "viewer")))
        port = inst.running.metrics.addresses[0][1]
        url = f"https://127.0.0.1:{port}/metrics"
        trust = ssl.create_default_context(cafile=str(cert))
        with httpx.Client(verify=trust, timeout=30) as client:
            anonymous = client.get(url)
            assert anonymous.status_code == 401
            assert anonymous.headers["www-authenticate"] == 'Basic realm="hvd"'
            assert client.get(url, auth=("viewer", "wrong")).status_code == 401
            admin = samples(client.get(url, auth=(USER, PASSWORD)).text)
            assert ("hvd_vm_running", (("vm", "web"),)) in admin
            viewer = client.get(url, auth=("viewer", "view-pass"))
            assert viewer.status_code == 200
            seen = samples(viewer.text)
            assert ("hvd_vm_running", (("vm", "db"),)) in seen
            assert not [k for k in seen if ("vm", "web") in k[1]]  # nothing of web at all
            assert ("hvd_host_physical_memory_bytes", ()) in seen
        with pytest.raises(httpx.HTTPError):  # no plain HTTP there
            httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    finally:
        inst.stop()
        kill_standins(inst.root)


def test_metrics_elsewhere_need_a_certificate() -> None:
    with pytest.raises(ValueError, match="needs metrics-cert and metrics-key"):
        from_mapping({"metrics-listen": ["192.0.2.1:9100"]})
    assert from_mapping({"metrics-listen": ["127.0.0.1:9100"]}).metrics_listen == (
        ("127.0.0.1", 9100),)


def test_the_dashboard_queries_only_metrics_that_exist() -> None:
    dashboard = json.loads((REPO / "docs" / "grafana" / "hvd.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert exprs
    used = {n for e in exprs for n in re.findall(r"\bhvd_[a-z0-9_]+", e)}
    assert used and used <= set(ALL_NAMES), used - set(ALL_NAMES)
