"""The web interface in a real headless chromium against a live hvd on the sim: what the
operator sees on the page after each thing they do."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from hv_cli.console import ConsoleBusy, line_lock
from lxml import etree
from restconf.conftest import Restconf
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select
from support.server import PASSWORD, USER
from webui.browser import Browser
from webui.conftest import READER, READER_PASSWORD

from hvd_netconf.keys import KINDS
from hvd_netconf.schema.nodes import SchemaNode
from hvd_netconf.webui.schema import LISTS

J = {"Content-Type": "application/yang-data+json"}
VMS = "/restconf/data/hvd-vm:vms"

# A request made from inside the logged-in page, as a script of the page could: the status.
FETCH = """const [url, body, csrf, done] = arguments;
const headers = {"Content-Type": "application/yang-data+json"};
if (csrf) headers["X-Hvd-Csrf"] = csrf;
fetch(url, {method: "POST", headers, body}).then((r) => done(r.status));"""
LOGOUT = "const [csrf, done] = arguments; fetch('/ui/logout', {method: 'POST', " \
         "headers: {'X-Hvd-Csrf': csrf}}).then((r) => done(r.status));"
CSRF = "const done = arguments[0]; fetch('/ui/session').then((r) => r.json())" \
       ".then((s) => done(s.csrf));"


def make_vms(c: httpx.Client, *names: str) -> None:
    for name in names:
        r = c.post(VMS, json={"hvd-vm:vm": [{"name": name, "memory": 128}]}, headers=J)
        assert r.status_code == 201, r.text


def state_of(c: httpx.Client, vm: str) -> str:
    return str(c.get(f"{VMS}/vm={vm}/state").json()["hvd-vm:state"]["status"])


def at(ui: Restconf, browser: Browser, *vms: str, user: str | None = USER,
       password: str = PASSWORD) -> httpx.Client:
    """The browser pointed at hvd, `vms` made (by RESTCONF), `user` logged in on the page;
    returns the test user's RESTCONF client."""
    browser.base = ui.base
    c = ui.client()
    make_vms(c, *vms)
    if user is not None:
        browser.login(user, password)
    return c


def test_login_and_vm_list(ui: Restconf, browser: Browser) -> None:
    at(ui, browser, "alpha", "beta", user=None)
    browser.open("/")
    assert browser.find("label[for=user]").text == "User"  # every input has its label
    browser.login(USER, PASSWORD)
    browser.text_of("#vm-counts", "2 VMs, 2 stopped")
    browser.text_of("#host-backend", "sim (simulated: nothing real runs)")
    browser.screenshot("dashboard")
    browser.open("/#/vms")
    row = browser.find("tr[data-vm=alpha]")
    assert "stopped" in row.find_element(By.CSS_SELECTOR, ".state").text
    assert "128 MB" in row.text
    browser.screenshot("vms")
    assert browser.console_errors() == []
    assert browser.hosts_asked() == {ui.base.split("//")[1]}  # no other host, ever


def test_start_with_confirmation_and_state_changes_live(ui: Restconf, browser: Browser) -> None:
    c = at(ui, browser, "alpha")
    browser.open("/#/vms")
    browser.text_of("#live", "live")  # the event stream is open
    browser.find("tr[data-vm=alpha] button.start").click()
    assert browser.find("#confirm-text").text == "Start vm alpha?"
    browser.driver.switch_to.active_element.send_keys(Keys.ESCAPE)  # the keyboard cancels
    browser.until(lambda: browser.all("#confirm-text") == [], "the question to go")
    assert state_of(c, "alpha") == "stopped"
    browser.find("tr[data-vm=alpha] button.start").click()
    # the question takes the focus as it opens (an effect after its first paint)
    browser.until(lambda: browser.driver.switch_to.active_element.get_attribute("id")
                  == "confirm-yes", "Yes to have the focus")
    browser.driver.switch_to.active_element.send_keys(Keys.ENTER)  # Yes has the focus
    browser.text_of("tr[data-vm=alpha] .state", "running")
    assert state_of(c, "alpha") == "running"
    # stopped by someone else: the page learns it from the event stream, not a reload
    marker = browser.driver.execute_script("return window.performance.timeOrigin")
    r = c.post("/restconf/operations/hvd-vm:stop-vm",
               json={"hvd-vm:input": {"name": "alpha", "force": True}}, headers=J)
    assert r.status_code in (200, 204), r.text
    browser.text_of("tr[data-vm=alpha] .state", "stopped")
    assert browser.driver.execute_script("return window.performance.timeOrigin") == marker


def test_the_vm_table_shows_live_cpu_and_memory_use(ui: Restconf, browser: Browser) -> None:
    c = at(ui, browser, "alpha", "beta")
    r = c.post("/restconf/operations/hvd-vm:start-vm", json={"hvd-vm:input": {"name": "alpha"}},
               headers=J)
    assert r.status_code in (200, 204), r.text
    browser.open("/#/vms")
    # the stand-in guest's own figures, as ps(1) reports them on this host
    rss = browser.text_of("tr[data-vm=alpha] .rss", "iB").text
    assert rss.split()[-1] in ("KiB", "MiB") and float(rss.split()[0]) > 0
    assert browser.find("tr[data-vm=alpha] .cpu-use").text.endswith(" %")
    assert browser.find("tr[data-vm=beta] .rss").text == ""  # a stopped VM uses nothing
    r = c.post("/restconf/operations/hvd-vm:stop-vm",
               json={"hvd-vm:input": {"name": "alpha", "force": True}}, headers=J)
    assert r.status_code in (200, 204), r.text
    browser.until(lambda: browser.find("tr[data-vm=alpha] .rss").text == "",
                  "the stopped VM's use to go")


def test_edit_shows_the_diff_then_commits(ui: Restconf, browser: Browser) -> None:
    c = at(ui, browser, "alpha")
    browser.open("/#/vm/alpha")
    memory = browser.find("#f-memory")
    assert browser.find("label[for=f-memory]").text == "memory (megabytes)"
    memory.clear()
    memory.send_keys("256")
    browser.find("#stage").click()
    diff = browser.text_of("#diff", "256")
    assert "-" in diff.text and "128" in diff.text
    assert c.get(f"{VMS}/vm=alpha/memory").json()["hvd-vm:memory"] == 128  # not yet
    browser.text_of("#editors", "vm alpha: tester")  # who made each pending change
    browser.screenshot("changes")
    browser.find("#commit").click()
    browser.text_of("#message", "Committed.")
    assert c.get(f"{VMS}/vm=alpha/memory").json()["hvd-vm:memory"] == 256
    browser.open("/#/history")
    browser.text_of("#history", "from the web interface")
    browser.screenshot("history")


def test_server_error_is_shown_beside_its_field(ui: Restconf, browser: Browser) -> None:
    at(ui, browser)
    browser.open("/#/new/vm")
    browser.find("#f-name").send_keys("Bad Name!")
    browser.find("#stage").click()
    error = browser.find("#f-name-error")
    assert "name" in error.text.lower() or "pattern" in error.text.lower(), error.text
    assert browser.find("#f-name").get_attribute("aria-invalid") == "true"


def test_reader_sees_no_write_buttons_and_a_forged_request_is_refused(
        ui: Restconf, browser: Browser) -> None:
    c = at(ui, browser, "alpha", user=READER, password=READER_PASSWORD)
    browser.open("/#/vms")
    browser.find("tr[data-vm=alpha]")
    assert browser.all("button.start") == [] and browser.all("#new-vm") == []
    browser.open("/#/vm/alpha")
    browser.text_of(".note", "You may not change vms")
    assert browser.all("#stage") == []
    assert browser.find("#f-memory").get_attribute("disabled") == "true"
    csrf = browser.driver.execute_async_script(CSRF)
    status = browser.driver.execute_async_script(
        FETCH, "/restconf/operations/hvd-vm:start-vm", '{"hvd-vm:input": {"name": "alpha"}}',
        csrf)
    assert status == 403 and state_of(c, "alpha") == "stopped"


def test_a_change_without_the_csrf_header_is_refused(ui: Restconf, browser: Browser) -> None:
    c = at(ui, browser, "alpha")
    start = "/restconf/operations/hvd-vm:start-vm"
    body = '{"hvd-vm:input": {"name": "alpha"}}'
    assert browser.driver.execute_async_script(FETCH, start, body, None) == 403
    assert state_of(c, "alpha") == "stopped"
    csrf = browser.driver.execute_async_script(CSRF)
    assert browser.driver.execute_async_script(FETCH, start, body, csrf) in (200, 204)
    assert state_of(c, "alpha") == "running"


def test_console_echoes_and_closes_at_logout(ui: Restconf, browser: Browser) -> None:
    c = at(ui, browser, "alpha", user=None)
    r = c.post("/restconf/operations/hvd-vm:start-vm", json={"hvd-vm:input": {"name": "alpha"}},
               headers=J)
    assert r.status_code in (200, 204), r.text
    browser.login(USER, PASSWORD)
    browser.open("/#/console/alpha")
    browser.text_of("#console-status", "connected")
    browser.find(".xterm-helper-textarea").send_keys("\nhello\n")
    browser.text_of("#terminal", "you typed 'hello'")
    device = Path(c.get(f"{VMS}/vm=alpha/state").json()["hvd-vm:state"]["console"])
    lock = device.parent / f"LCK..{device.name}"
    assert lock.exists()  # one writer: hv console is refused while the page holds it
    with pytest.raises(ConsoleBusy, match="console in use by pid"), line_lock(str(device)):
        pass
    browser.screenshot("console")
    assert [e for e in browser.console_errors() if "Content Security Policy" in e] == []
    # the session ends behind the page's back (as at expiry): the server closes the socket
    csrf = browser.driver.execute_async_script(CSRF)
    assert browser.driver.execute_async_script(LOGOUT, csrf) == 200
    browser.text_of("#console-status", "closed: logged out")
    browser.until(lambda: not lock.exists(), "the console's lock to go")


def test_console_is_refused_to_a_reader(ui: Restconf, browser: Browser) -> None:
    c = at(ui, browser, "alpha", user=None)
    c.post("/restconf/operations/hvd-vm:start-vm", json={"hvd-vm:input": {"name": "alpha"}},
           headers=J)
    browser.login(READER, READER_PASSWORD)
    browser.open("/#/console/alpha")
    browser.text_of("#console-status", "closed: no console you may use")


def commit_on_page(browser: Browser) -> None:
    browser.open("/#/changes")
    browser.find("#diff")
    browser.find("#commit").click()
    browser.text_of("#message", "Committed.")


def test_create_a_network_and_a_vm_with_a_nic_through_the_forms(
        ui: Restconf, browser: Browser) -> None:
    c = at(ui, browser)
    browser.open("/#/networks")
    browser.find("#new-network").click()
    browser.find("#f-name").send_keys("lan")
    browser.find("#stage").click()
    browser.text_of("h2", "Network lan")
    commit_on_page(browser)
    browser.open("/#/networks")
    row = browser.text_of("#net-table tbody tr", "lan")
    bridge = c.get("/restconf/data/hvd-network:networks/network=lan/state").json()[
        "hvd-network:state"]["bridge"]
    assert row.find_elements(By.CSS_SELECTOR, "td")[1].text == bridge  # what the host made
    browser.open("/#/vms")
    browser.find("#new-vm").click()
    browser.find("#f-name").send_keys("web")
    browser.find("#f-memory").send_keys("256")
    browser.find("#stage").click()
    browser.text_of("h2", "VM web")
    browser.text_of(".note", "Not committed yet")
    browser.find("#f-nic-name").send_keys("nic0")
    Select(browser.find("#f-nic-network")).select_by_visible_text("lan")  # a leafref pick list
    browser.find("#add-nic").click()
    browser.text_of("#staged", "Staged in the candidate")
    browser.text_of("#list-nic", "lan")
    browser.open("/#/changes")
    diff = browser.text_of("#diff", "nic0")
    assert "+" in diff.text and "lan" in diff.text
    browser.text_of("#plan", "web")  # what the host will do, before committing
    browser.find("#commit").click()
    browser.text_of("#message", "Committed.")
    vm = c.get(f"{VMS}/vm=web").json()["hvd-vm:vm"][0]
    assert vm["memory"] == 256 and vm["nic"][0]["network"] == "lan"


def test_commit_with_confirmation_rolls_back_when_not_confirmed(
        ui: Restconf, browser: Browser) -> None:
    c = at(ui, browser, "alpha")
    browser.open("/#/vm/alpha")
    memory = browser.find("#f-memory")
    memory.clear()
    memory.send_keys("512")
    browser.find("#stage").click()
    browser.find("#diff")
    wait = browser.find("#confirm-timeout")
    wait.clear()
    wait.send_keys("3")
    browser.find("#commit-confirmed").click()
    browser.text_of("#countdown", "Rolls back in")
    assert c.get(f"{VMS}/vm=alpha/memory").json()["hvd-vm:memory"] == 512
    browser.text_of("#message", "Not confirmed in time")
    browser.until(lambda: c.get(f"{VMS}/vm=alpha/memory").json()["hvd-vm:memory"] == 128,
                  "hvd to roll the commit back")


def test_roll_back_from_history(ui: Restconf, browser: Browser) -> None:
    c = at(ui, browser, "alpha", user=None)  # commit 1: memory 128
    assert c.patch(f"{VMS}/vm=alpha/memory", json={"hvd-vm:memory": 1024},
                   headers=J).status_code == 204
    browser.login(USER, PASSWORD)
    browser.open("/#/history")
    row = browser.text_of("#history tbody tr", "tester")
    first = browser.all("#history tbody tr")[-1]  # newest first: the oldest is last
    assert first.find_elements(By.CSS_SELECTOR, "td")[1].text == "1", row.text
    first.find_element(By.CSS_SELECTOR, "button.rollback").click()
    diff = browser.text_of("#diff", "128")
    assert "1024" in diff.text
    browser.find("#commit").click()
    browser.text_of("#message", "Committed.")
    assert c.get(f"{VMS}/vm=alpha/memory").json()["hvd-vm:memory"] == 128


# What an entry of a kind needs beyond its name to be valid (the coverage walk makes one).
MINIMAL: dict[str, dict[str, object]] = {"backup-target": {"directory": "/var/backups/hvd"}}

# Inputs that are no form field: xterm's hidden keyboard sink, labelled by the terminal.
UNLABELLED_OK = ".xterm-helper-textarea"
LABELS = """return [...document.querySelectorAll('input, select, textarea')]
  .filter((e) => !e.matches(arguments[0]))
  .filter((e) => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
  .map((e) => e.outerHTML);"""


def field_ids(node: SchemaNode, prefix: str, lists: bool = True) -> set[str]:
    """The form field ids the interface must draw for the config nodes under `node` (with
    `lists` False, not those of the lists inside it: a new entry's form has none)."""
    out: set[str] = set()
    for child in node.children:
        if not child.config or (child.kind == "list" and not lists):
            continue
        path = prefix + child.name
        if child.kind in ("leaf", "leaf-list"):
            out.add("f-" + path.replace("/", "-"))
        else:
            out |= field_ids(child, path + "/")
    return out


def drawn_ids(browser: Browser) -> set[str]:
    return {e.get_attribute("id") for e in browser.all("[id^=f-]")
            if not e.get_attribute("id").endswith(("-help", "-error"))}


def test_every_configurable_node_and_operation_is_reachable(ui: Restconf,
                                                            browser: Browser) -> None:
    c = at(ui, browser, "alpha", user=None)
    assert c.post("/restconf/data/hvd-network:networks", json={"hvd-network:network": [
        {"name": "lan"}]}, headers=J).status_code == 201
    schema = ui.hvd.server.schema
    assert schema is not None
    browser.login(USER, PASSWORD)
    browser.open("/#/settings")
    browser.find("#kinds")
    others = [k for k in LISTS if k not in ("vm", "network")]
    assert [a.text for a in browser.all("#kinds a")] == others
    assert set(LISTS) == set(KINDS)
    # a rule list, so that its rules (a list inside a list) have a row to be opened from; it
    # keeps the test user's rights, which a configured /nacm no longer gives by default
    r = c.post("/restconf/data/ietf-netconf-acm:nacm", headers=J, json={
        "ietf-netconf-acm:rule-list": [{"name": "admin", "group": ["admin"], "rule": [
            {"name": "all", "module-name": "*", "access-operations": "*",
             "action": "permit"}]}]})
    assert r.status_code == 201, r.text
    for kind in LISTS:
        k = KINDS[kind]
        top = schema.top(k.ns, k.container)
        assert top is not None
        if k.singleton:
            browser.open(f"/#/one/{kind}")
            browser.find("#stage")
            for button in browser.all("button.open-sub")[:1]:  # one row's inner lists at a time
                button.click()
                browser.find(".inner")
            assert field_ids(top, "") - drawn_ids(browser) == set(), kind
            assert browser.driver.execute_script(LABELS, UNLABELLED_OK) == []
            continue
        node = top.child(k.ns, k.entry)  # type: ignore[arg-type]
        assert node is not None
        if kind not in ("vm", "network"):
            r = c.post(f"/restconf/data/{top.module}:{k.container}", headers=J,
                       json={f"{top.module}:{k.entry}": [{"name": "e1", **MINIMAL.get(kind, {})}]})
            assert r.status_code == 201, r.text
        browser.open({"vm": "/#/vm/alpha", "network": "/#/network/lan"}.get(
            kind, f"/#/entry/{kind}/e1"))
        browser.find("#stage")
        want = field_ids(node, "") - {f"f-{key}" for key in node.keys}  # a key is not edited
        assert want - drawn_ids(browser) == set(), kind
        assert browser.driver.execute_script(LABELS, UNLABELLED_OK) == []
        browser.open(f"/#/new/{kind}")
        browser.find("#stage")
        assert field_ids(node, "", lists=False) - drawn_ids(browser) == set(), f"new {kind}"
    browser.open("/#/operations")
    names = [a.text for a in browser.all("#operations a")]
    expected = sorted(f"{n.module}:{etree.QName(tag).localname}" for tag, n in schema.rpcs.items()
                      if n.module not in ("ietf-netconf", "notifications", "nc-notifications"))
    assert names == expected
    for name in names:
        browser.open(f"/#/rpc/{name}")
        browser.text_of("h2", name)
        browser.find("#run")
        rpc = schema.rpcs[next(t for t, n in schema.rpcs.items()
                               if f"{n.module}:{etree.QName(t).localname}" == name)]
        assert field_ids(rpc, "") - drawn_ids(browser) == set(), name
        assert browser.driver.execute_script(LABELS, UNLABELLED_OK) == [], name
    for page in ("/#/dashboard", "/#/vms", "/#/networks", "/#/changes", "/#/history"):
        browser.open(page)
        browser.find("main h2")
        assert browser.driver.execute_script(LABELS, UNLABELLED_OK) == [], page


def test_the_host_wide_snapshot_schedule_and_a_template_through_the_forms(
        ui: Restconf, browser: Browser) -> None:
    c = at(ui, browser)
    browser.open("/#/settings")
    browser.find("#kinds a[href='#/one/snapshot-schedule']").click()
    browser.text_of("h2", "snapshot-schedule")
    browser.find("#f-hourly").send_keys("24")
    browser.find("#stage").click()
    browser.text_of("#diff", "24")
    browser.find("#commit").click()
    browser.text_of("#message", "Committed.")
    r = c.get("/restconf/data/hvd-vm:snapshot-schedule/hourly")
    assert r.json() == {"hvd-vm:hourly": 24}
    browser.open("/#/list/template")
    browser.find("#new-entry").click()
    browser.find("#f-name").send_keys("small")
    browser.find("#f-memory").send_keys("512")
    browser.find("#stage").click()
    browser.text_of("h2", "template small")  # its page, staged in the candidate
    browser.open("/#/changes")
    browser.text_of("#diff", "small")
    browser.find("#commit").click()
    browser.text_of("#message", "Committed.")
    r = c.get("/restconf/data/hvd-template:templates/template=small/memory")
    assert r.status_code == 200 and r.json() == {"hvd-template:memory": 512}
    browser.open("/#/list/template")
    browser.text_of("#entries", "small")


def test_nacm_groups_and_rules_through_the_forms(ui: Restconf, browser: Browser) -> None:
    c = at(ui, browser)
    r = c.post("/restconf/data/ietf-netconf-acm:nacm", headers=J, json={
        "ietf-netconf-acm:rule-list": [{"name": "admin", "group": ["admin"], "rule": [
            {"name": "all", "module-name": "*", "access-operations": "*",
             "action": "permit"}]}]})
    assert r.status_code == 201, r.text
    browser.open("/#/settings")
    browser.find("#kinds a[href='#/one/nacm']").click()
    browser.find("#f-groups-group-name").send_keys("ops")
    browser.find("#f-groups-group-user-name").send_keys("alice, bob")
    browser.find("#add-groups-group").click()
    browser.text_of("#list-groups-group", "alice, bob")
    browser.find("#list-rule-list button.open-sub").click()  # the admin rule list's rules
    browser.text_of("#list-rule-list-rule", "all")
    browser.find("#f-rule-list-rule-name").send_keys("no-logs")
    browser.find("#f-rule-list-rule-module-name").send_keys("hvd-vm")
    browser.find("#f-rule-list-rule-rpc-name").send_keys("get-vm-log")
    Select(browser.find("#f-rule-list-rule-action")).select_by_visible_text("deny")
    browser.find("#add-rule-list-rule").click()
    browser.text_of("#list-rule-list-rule", "no-logs")
    browser.open("/#/changes")
    browser.text_of("#diff", "no-logs")
    browser.find("#commit").click()
    browser.text_of("#message", "Committed.")
    nacm = c.get("/restconf/data/ietf-netconf-acm:nacm?content=config").json()
    nacm = nacm["ietf-netconf-acm:nacm"]
    assert nacm["groups"]["group"] == [{"name": "ops", "user-name": ["alice", "bob"]}]
    rules = nacm["rule-list"][0]["rule"]
    assert [x["name"] for x in rules] == ["all", "no-logs"]
    assert rules[1]["rpc-name"] == "get-vm-log" and rules[1]["action"] == "deny"


def test_a_phone_screen_scrolls_tables_not_the_page(ui: Restconf, browser: Browser) -> None:
    at(ui, browser, "alpha", "beta")
    browser.driver.set_window_size(390, 844)
    for page in ("/#/vms", "/#/vm/alpha", "/#/changes"):
        browser.open(page)
        browser.find("main h2")
        wide = browser.driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert wide <= 0, page
    browser.open("/#/vms")
    browser.find("tr[data-vm=alpha]")
    browser.screenshot("phone-vms")


def test_snapshot_taken_and_deleted_from_the_vm_page(ui: Restconf, browser: Browser) -> None:
    c = at(ui, browser, "alpha")
    browser.open("/#/vm/alpha")
    browser.find("#no-snapshots")
    browser.find("#snap-name").send_keys("before-upgrade")
    browser.find("#snap-description").send_keys("a known good state")
    browser.find("#take-snapshot").click()
    row = browser.text_of("#snapshots tbody tr", "before-upgrade")
    assert "a known good state" in row.text
    got = c.get("/restconf/data/hvd-vm:snapshots").json()["hvd-vm:snapshots"]["snapshot"]
    assert [(s["vm"], s["name"]) for s in got] == [("alpha", "before-upgrade")]
    row.find_element(By.CSS_SELECTOR, "button.snap-delete").click()
    browser.text_of("#confirm-text", "Delete snapshot before-upgrade of vm alpha?")
    browser.find("#confirm-yes").click()
    browser.find("#no-snapshots")
    assert "snapshot" not in c.get("/restconf/data/hvd-vm:snapshots").json().get(
        "hvd-vm:snapshots", {})


def start_gfx(c: httpx.Client) -> None:
    """A running VM `gfx` with graphics (made and started over RESTCONF)."""
    r = c.post(VMS, json={"hvd-vm:vm": [{"name": "gfx", "memory": 128, "graphics": {}}]},
               headers=J)
    assert r.status_code == 201, r.text
    r = c.post("/restconf/operations/hvd-vm:start-vm", json={"hvd-vm:input": {"name": "gfx"}},
               headers=J)
    assert r.status_code in (200, 204), r.text


def test_the_screen_of_a_vm_with_graphics_in_novnc(ui: Restconf, browser: Browser) -> None:
    """noVNC in the page, through hvd's WebSocket relay, to the VNC server of the VM's
    framebuffer (on the sim, the stand-in's RFB server draws a flat colour with a band): the
    picture arrives, and a key typed in the page reaches the guest."""
    start_gfx(at(ui, browser, user=None))
    browser.login(USER, PASSWORD)
    browser.open("/#/vm/gfx")
    browser.find("#screen-link").click()
    browser.text_of("#screen-status", "connected")
    pixel = """const c = document.querySelector('#screen canvas');
      const d = c.getContext('2d').getImageData(5, 5, 1, 1).data; return [d[0], d[1], d[2]];"""
    browser.until(lambda: browser.driver.execute_script(pixel) == [0x2C, 0x5E, 0x8F],
                  "the guest's screen to be drawn")
    browser.screenshot("screen")
    browser.find("#screen canvas").send_keys("a")
    log = ui.hvd.root / "vm" / "gfx" / "state" / "bhyve.log"
    browser.until(lambda: "vnc key 0x61" in log.read_text(), "the key to reach the guest")
    assert browser.hosts_asked() == {ui.base.split("//")[1]}  # noVNC is served by hvd


def test_the_screen_is_refused_to_a_reader(ui: Restconf, browser: Browser) -> None:
    start_gfx(at(ui, browser, user=None))
    browser.login(READER, READER_PASSWORD)
    browser.open("/#/screen/gfx")
    browser.text_of("#screen-status", "closed")
