// hvd's web interface: pages drawn with Preact + htm (no build step), every action a RESTCONF
// request (api.js). Routes live in the URL's fragment so every page can be bookmarked.
import { html, render, useState, useEffect, useRef } from "/ui/static/vendor/htm-preact-3.1.1.js";
import * as api from "/ui/static/api.js";
import { EntryForm, Fields, members, fid, entryPath } from "/ui/static/forms.js";
import { Console } from "/ui/static/console.js";
import { Screen } from "/ui/static/screen.js";

const route = () => (location.hash.replace(/^#\/?/, "") || "dashboard").split("/").map(decodeURIComponent);

function useRoute() {
  const [r, setR] = useState(route());
  useEffect(() => { const f = () => setR(route()); addEventListener("hashchange", f);
                    return () => removeEventListener("hashchange", f); }, []);
  return r;
}

function Login({ onIn }) {
  const [err, setErr] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    try { onIn(await api.ui("POST", "login", { user: f.get("user"), password: f.get("password") })); }
    catch (x) { setErr(x.message); }
  };
  return html`<main class="login"><h1>hvd</h1>
    <form onSubmit=${submit} aria-label="Log in">
      <label for="user">User</label><input id="user" name="user" autocomplete="username" required/>
      <label for="password">Password</label>
      <input id="password" name="password" type="password" autocomplete="current-password" required/>
      <button type="submit">Log in</button>
      ${err && html`<p class="error" role="alert">${err}</p>`}
    </form></main>`;
}

// A button NACM may refuse: shown disabled with the reason on hover, or hidden.
function Act({ may, onClick, children, id, cls }) {
  if (!may) return null;
  return html`<button id=${id} class=${cls} onClick=${onClick}>${children}</button>`;
}

function Confirm({ ask, onYes, onNo }) {
  const yes = useRef();
  useEffect(() => {
    if (yes.current) yes.current.focus();
    const esc = (e) => { if (e.key === "Escape") onNo(); };
    addEventListener("keydown", esc);
    return () => removeEventListener("keydown", esc);
  }, []);
  return html`<div class="modal" role="dialog" aria-modal="true" aria-labelledby="confirm-text">
    <div><p id="confirm-text">${ask}</p>
    <button ref=${yes} id="confirm-yes" onClick=${onYes}>Yes</button>
    <button onClick=${onNo}>Cancel</button></div></div>`;
}

const vmsOf = (data) => data?.["hvd-vm:vms"]?.vm || [];
const netsOf = (data) => data?.["hvd-network:networks"]?.network || [];
const bytes = (n) => n == null ? "" : n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(1)} GiB`
  : n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : `${Math.round(n / 1024)} KiB`;
// What each running VM uses now: name -> its statistics (cpu-use, resident-memory), read
// every STATS_EVERY ms while the page is shown, and after each event.
const STATS = "hvd-vm:vms?content=nonconfig&fields=vm(name;statistics(cpu-use;resident-memory))";
const STATS_EVERY = 5000;
const useOf = (data) => Object.fromEntries(vmsOf(data).filter((v) => v.statistics)
  .map((v) => [v.name, v.statistics]));
const uptime = (s) => s == null ? "" : s >= 86400 ? `${Math.floor(s / 86400)}d ${Math.floor(s % 86400 / 3600)}h`
  : s >= 3600 ? `${Math.floor(s / 3600)}h ${Math.floor(s % 3600 / 60)}m` : `${Math.floor(s / 60)}m ${s % 60}s`;

function Dashboard({ vms }) {
  const [host, setHost] = useState(null);
  useEffect(() => { api.get("hvd-system:host").then((d) => setHost(d["hvd-system:host"]), () => {}); }, []);
  const count = {};
  for (const v of vms || []) count[v.state?.status || "?"] = (count[v.state?.status || "?"] || 0) + 1;
  return html`<section><h2>Host</h2>
    ${host && html`<dl class="host">
      <dt>Backend</dt><dd id="host-backend">${host.backend}${host.simulated ? " (simulated: nothing real runs)" : ""}</dd>
      <dt>Network backend</dt><dd>${host["network-backend"]}</dd>
      <dt>hvd</dt><dd>${host["hvd-version"]}</dd><dt>OS</dt><dd>${host.os}</dd></dl>
      ${(host["interrupted-commit"] || []).length > 0 && html`<p class="error" role="alert">A commit was cut short by a crash;
        its changes are kept in ${host["interrupted-commit"].join(", ")}.</p>`}`}
    <h2>VMs</h2><p id="vm-counts">${(vms || []).length} VMs${Object.entries(count).map(([k, n]) => `, ${n} ${k}`).join("")}</p>
    <p><a href="#/vms">All VMs</a></p></section>`;
}

function VmTable({ vms, use, schema, act }) {
  if (vms === null) return html`<p>Loading…</p>`;
  const rpcs = schema.rpcs;
  return html`<section><h2>VMs</h2>
    ${schema.lists.vm.may.create && html`<p><a class="button" id="new-vm" href="#/new/vm">Create VM</a></p>`}
    <table id="vm-table"><thead><tr><th scope="col">Name</th><th scope="col">State</th><th scope="col">CPU</th>
      <th scope="col">Memory</th><th scope="col">Disks</th><th scope="col">Networks</th><th scope="col">Uptime</th><th scope="col">CPU use</th><th scope="col">Memory use</th><th scope="col">Actions</th></tr></thead>
    <tbody>${vms.map((v) => html`<tr key=${v.name} data-vm=${v.name}>
      <td><a href="#/vm/${encodeURIComponent(v.name)}">${v.name}</a></td>
      <td class="state">${v.state?.status}</td><td>${v.cpu}</td><td>${v.memory} MB</td>
      <td>${(v.disk || []).map((d) => `${d.name} ${d.size}`).join(", ")}</td>
      <td>${(v.nic || []).map((n) => n.network).join(", ")}</td>
      <td>${uptime(v.state?.uptime)}</td>
      <td class="cpu-use">${use[v.name]?.["cpu-use"] != null ? `${use[v.name]["cpu-use"]} %` : ""}</td>
      <td class="rss">${bytes(use[v.name]?.["resident-memory"] && Number(use[v.name]["resident-memory"]))}</td>
      <td><${VmActions} vm=${v} rpcs=${rpcs} act=${act}/></td></tr>`)}</tbody></table></section>`;
}

function VmActions({ vm, rpcs, act }) {
  const running = vm.state?.status === "running";
  const s = (op, words, input) => act(`${words} vm ${vm.name}?`, () => api.rpc(op, { name: vm.name, ...input }));
  return html`<span class="actions">
    ${!running && html`<${Act} cls="start" may=${rpcs["hvd-vm:start-vm"]?.may} onClick=${() => s("hvd-vm:start-vm", "Start")}>Start</${Act}>`}
    ${running && html`<${Act} cls="stop" may=${rpcs["hvd-vm:stop-vm"]?.may} onClick=${() => s("hvd-vm:stop-vm", "Stop")}>Stop</${Act}>`}
    ${running && html`<${Act} cls="restart" may=${rpcs["hvd-vm:restart-vm"]?.may} onClick=${() => s("hvd-vm:restart-vm", "Restart")}>Restart</${Act}>`}
    ${running && html`<${Act} cls="poweroff" may=${rpcs["hvd-vm:stop-vm"]?.may} onClick=${() => s("hvd-vm:stop-vm", "Force power-off of", { force: true })}>Power off</${Act}>`}
  </span>`;
}

// An entry as the candidate holds it (what the forms edit), reloaded after each staged edit;
// a singleton not set yet is an empty one (its form makes it).
function useStaged(kind, name, schema) {
  const [entry, setEntry] = useState(undefined);
  const [note, setNote] = useState(null);
  const list = schema.lists[kind];
  const load = () => api.candidate("GET", entryPath(list, name))
    .then((d) => setEntry(list.singleton ? d[`${list.module}:${list.container}`] : d[`${list.module}:${list.entry}`][0]),
          () => setEntry(list.singleton ? {} : null));
  useEffect(() => { load(); }, [kind, name]);
  const staged = () => { load(); setNote(true); };
  const banner = note && html`<p class="note" id="staged" role="status">Staged in the candidate.
    <a href="#/changes">Review and commit the pending changes</a>.</p>`;
  return [entry, staged, banner];
}

function DeleteEntry({ kind, name, schema, act }) {
  const list = schema.lists[kind];
  if (!list.may.delete) return null;
  const go = () => act(`Delete ${kind} ${name} (staged until you commit)?`, async () => {
    await api.candidate("DELETE", entryPath(list, name));
    location.hash = "#/changes";
  });
  return html`<button id="delete-entry" class="remove" onClick=${go}>Delete ${kind}</button>`;
}

function VmPage({ name, vms, schema, act }) {
  const vm = (vms || []).find((v) => v.name === name);
  const [staged, onStaged, banner] = useStaged("vm", name, schema);
  const [log, setLog] = useState(null);
  const [snaps, setSnaps] = useState([]);
  const loadSnaps = () => api.get("hvd-vm:snapshots").then(
    (d) => setSnaps((d["hvd-vm:snapshots"]?.snapshot || []).filter((s) => s.vm === name)), () => {});
  useEffect(() => {
    if (!vm) return;
    api.rpc("hvd-vm:get-vm-log", { name, lines: 50 }).then((d) => setLog(d["hvd-vm:output"]?.text || ""), (x) => setLog(x.message));
    loadSnaps();
  }, [name, !!vm]);
  if (!vm && staged === null) return html`<p>No VM ${name}.</p>`;
  const st = vm?.state || {};
  return html`<section><h2>VM ${name}</h2>
    ${vm ? html`<p>State <strong class="state" id="vm-state">${st.status}</strong> ${st.uptime != null && `up ${uptime(st.uptime)}`}
      <${VmActions} vm=${vm} rpcs=${schema.rpcs} act=${act}/>
      ${st.status === "running" && st.console && html` <a href="#/console/${encodeURIComponent(name)}">Console</a>`}
      ${st.status === "running" && st.vnc && html` <a id="screen-link" href="#/screen/${encodeURIComponent(name)}">Screen</a>`}</p>`
      : html`<p class="note">Not committed yet: it exists in the candidate only.</p>`}
    ${st["last-exit-code"] != null && html`<p id="last-exit">Last exit: ${st["last-exit-code"]} ${st["last-exit-reason"] || ""}</p>`}
    ${st["pending-restart"] && html`<p class="note">Some changes take effect at the next start.</p>`}
    ${banner}
    ${staged && html`<h3>Settings</h3><${EntryForm} kind="vm" entry=${staged} schema=${schema}
      onStaged=${(n, sub) => sub ? onStaged() : (location.hash = "#/changes")}/>
      <p><${DeleteEntry} kind="vm" name=${name} schema=${schema} act=${act}/></p>`}
    ${vm && html`<${Snapshots} vm=${name} snaps=${snaps} schema=${schema} act=${act} reload=${loadSnaps}/>`}
    ${vm && html`<h3>Log</h3><pre id="vm-log">${log}</pre>`}</section>`;
}

// A VM's snapshots (ZFS, tagged by hvd): take one, delete one, roll the VM back to one.
function Snapshots({ vm, snaps, schema, act, reload }) {
  const [err, setErr] = useState(null);
  const may = (op) => schema.rpcs[`hvd-vm:${op}`]?.may;
  const take = async (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    const input = { vm };
    for (const k of ["name", "description"]) if (f.get(k)) input[k] = f.get(k);
    try { setErr(null); await api.rpc("hvd-vm:snapshot-vm", input); e.target.reset(); reload(); } catch (x) { setErr(x.message); }
  };
  const ask = (q, op, input) => act(q, async () => { await api.rpc(`hvd-vm:${op}`, { vm, ...input }); reload(); });
  return html`<h3>Snapshots</h3>
    ${snaps.length ? html`<table id="snapshots"><thead><tr><th scope="col">Name</th><th scope="col">Made</th><th scope="col">Used</th><th scope="col">Description</th><th scope="col"></th></tr></thead>
      <tbody>${snaps.map((s) => html`<tr key=${s.name}><td>${s.name}</td><td>${s.creation}</td><td>${s.used}</td><td>${s.description || ""}</td>
        <td>${may("rollback-vm") && s["hvd-made"] !== false && html`<button class="snap-rollback" onClick=${() => ask(`Roll vm ${vm} back to snapshot ${s.name}? Its disks lose what was written since.`, "rollback-vm", { name: s.name })}>Roll back</button>`}
        ${may("delete-snapshot") && s["hvd-made"] !== false && html`<button class="snap-delete" onClick=${() => ask(`Delete snapshot ${s.name} of vm ${vm}?`, "delete-snapshot", { name: s.name })}>Delete</button>`}</td></tr>`)}</tbody></table>`
      : html`<p id="no-snapshots">None.</p>`}
    ${may("snapshot-vm") && html`<form class="inline" onSubmit=${take} aria-label="Take a snapshot">
      <label for="snap-name">Name</label><input id="snap-name" name="name" placeholder="(made from the time)"/>
      <label for="snap-description">Description</label><input id="snap-description" name="description"/>
      <button type="submit" id="take-snapshot">Take snapshot</button></form>`}
    ${err && html`<p class="error" role="alert">${err}</p>`}`;
}

// The page of one entry of any kind but vm (networks, templates, backup targets, ...), or of
// a singleton (name null): its form, and a delete button for a list's entry.
function EntryPage({ kind, name, schema, act }) {
  const [staged, onStaged, banner] = useStaged(kind, name, schema);
  const single = schema.lists[kind].singleton;
  if (staged === undefined) return html`<p>Loading…</p>`;
  if (staged === null) return html`<p>No ${kind} ${name}.</p>`;
  const title = kind === "network" ? "Network" : kind;
  return html`<section><h2>${single ? title : `${title} ${name}`}</h2>${banner}
    <${EntryForm} kind=${kind} entry=${staged} schema=${schema}
      onStaged=${(n, sub) => sub ? onStaged() : (location.hash = "#/changes")}/>
    ${!single && html`<p><${DeleteEntry} kind=${kind} name=${name} schema=${schema} act=${act}/></p>`}</section>`;
}

// Where an entry's page is: VMs and networks have their own routes, the other kinds share one.
const pageOf = (kind, name) => kind === "vm" || kind === "network"
  ? `#/${kind}/${encodeURIComponent(name)}` : `#/entry/${kind}/${encodeURIComponent(name)}`;
const others = (schema) => Object.keys(schema.lists).filter((k) => k !== "vm" && k !== "network");

// Every other kind of the configuration schema.json lists: templates, backup targets, the
// host-wide snapshot schedule, and whatever the YANG gains.
function Settings({ schema }) {
  return html`<section><h2>Settings</h2><ul id="kinds">${others(schema).map((k) => {
    const list = schema.lists[k];
    return html`<li key=${k}><a href=${list.singleton ? `#/one/${k}` : `#/list/${k}`}>${k}</a>
      ${list.description && html` <span class="note">${list.description.split(/[.;]/)[0]}</span>`}</li>`; })}</ul></section>`;
}

function KindList({ kind, schema }) {
  const list = schema.lists[kind];
  const [rows, setRows] = useState(null);
  useEffect(() => { setRows(null); api.candidate("GET", `${list.module}:${list.container}`)
    .then((d) => setRows(d[`${list.module}:${list.container}`]?.[list.entry] || []), () => setRows([])); }, [kind]);
  return html`<section><h2>${kind}</h2>
    ${list.may.create && html`<p><a class="button" id="new-entry" href=${`#/new/${kind}`}>Create ${kind}</a></p>`}
    ${rows === null ? html`<p>Loading…</p>` : rows.length === 0 ? html`<p id="no-entries">None.</p>`
      : html`<ul id="entries">${rows.map((e) => html`<li key=${e[list.keys[0]]}><a href=${pageOf(kind, e[list.keys[0]])}>${e[list.keys[0]]}</a></li>`)}</ul>`}</section>`;
}

function Networks({ nets, schema }) {
  return html`<section><h2>Networks</h2>
    ${schema.lists.network.may.create && html`<p><a class="button" id="new-network" href="#/new/network">Create network</a></p>`}
    <table id="net-table"><thead><tr><th scope="col">Name</th><th scope="col">Bridge</th><th scope="col">Uplink</th>
      <th scope="col">VLAN</th><th scope="col">FIB</th><th scope="col">MTU</th><th scope="col">Members</th></tr></thead>
    <tbody>${(nets || []).map((n) => html`<tr key=${n.name}><td><a href="#/network/${encodeURIComponent(n.name)}">${n.name}</a></td>
      <td>${n.state?.bridge}</td><td>${n["physical-interface"]}</td><td>${n.vlan}</td><td>${n.fib}</td><td>${n.mtu}</td>
      <td>${(n.state?.member || []).join(", ")}</td></tr>`)}</tbody></table></section>`;
}

// The pending changes: the diff of candidate against running, then commit what was seen.
function Changes({ schema }) {
  const [diff, setDiff] = useState(null);
  const [msg, setMsg] = useState(null);
  const [countdown, setCountdown] = useState(null);
  const [plan, setPlan] = useState(null);
  const [editors, setEditors] = useState([]);
  const load = () => api.rpc("hvd-system:compare", { source: "running", target: "candidate" })
    .then((d) => {
      api.get("hvd-system:candidate").then((c) => setEditors(c["hvd-system:candidate"]?.change || []), () => setEditors([]));
      const text = d["hvd-system:output"]?.text || "";
      setDiff(text);
      setPlan(null);
      if (text) api.rpc("hvd-system:preview-commit").then((p) => setPlan(p["hvd-system:output"]?.text || "nothing"),
                                                       (x) => setPlan(`commit would fail: ${x.message}`));
    }, (x) => setMsg(x.message));
  useEffect(() => { load(); }, []);
  useEffect(() => {
    if (countdown === null || countdown <= 0) return;
    const t = setTimeout(() => setCountdown(countdown - 1), 1000);
    return () => clearTimeout(t);
  }, [countdown]);
  const may = schema.rpcs["ietf-netconf:commit"]?.may !== false;
  const [token, setToken] = useState(null);
  const [wait, setWait] = useState("60");
  const commit = async (confirmed) => {
    setMsg(null);
    try {
      const now = (await api.rpc("hvd-system:compare", { source: "running", target: "candidate" }))["hvd-system:output"]?.text || "";
      if (now !== diff) { setDiff(now); setMsg("The pending changes changed since you looked: review them again."); return; }
      const input = { "hvd-system:comment": "from the web interface" };
      // RESTCONF has no session to outlive, so a confirmed commit carries a persist token
      const tok = confirmed ? crypto.randomUUID() : null;
      if (confirmed) Object.assign(input, { confirmed: [null], "confirm-timeout": Number(wait), persist: tok });
      await api.rpc("ietf-netconf:commit", input);
      setToken(tok);
      setMsg(confirmed ? "Committed; confirm before the countdown ends or hvd rolls it back." : "Committed.");
      setCountdown(confirmed ? Number(wait) : null);
      load();
    } catch (x) { setMsg(x.message); }
  };
  useEffect(() => { if (countdown === 0) { setToken(null); setCountdown(null); load();
    setMsg("Not confirmed in time: hvd rolled the commit back."); } }, [countdown]);
  const confirm = async () => { try { await api.rpc("ietf-netconf:commit", { "persist-id": token }); setCountdown(null); setToken(null); setMsg("Confirmed."); } catch (x) { setMsg(x.message); } };
  const cancel = async () => { try { await api.rpc("ietf-netconf:cancel-commit", { "persist-id": token }); setCountdown(null); setToken(null); setMsg("Rolled back."); load(); } catch (x) { setMsg(x.message); } };
  const discard = async () => { try { await api.rpc("ietf-netconf:discard-changes"); setMsg("Discarded."); load(); } catch (x) { setMsg(x.message); } };
  return html`<section><h2>Pending changes</h2>
    ${diff === null ? html`<p>Loading…</p>` : diff ? html`<pre id="diff" class="diff">${diff.split("\n").map((l) => html`<span class=${l[0] === "+" ? "add" : l[0] === "-" ? "del" : ""}>${l + "\n"}</span>`)}</pre>`
      : html`<p id="no-changes">No pending changes.</p>`}
    ${diff && editors.length > 0 && html`<h3>Who changed what</h3><ul id="editors">${editors.map((c) =>
      html`<li key=${c.kind + c.name}>${c.kind} ${c.name}: ${(c.editor || []).map((e) =>
        e["session-id"] ? `${e.user || "?"} (session ${e["session-id"]})` : `${e.user || "before the last restart"}${e.user ? " (RESTCONF, web)" : ""}`).join(", ")}</li>`)}</ul>`}
    ${diff && plan && html`<h3>What the host will do</h3><pre id="plan">${plan}</pre>`}
    ${diff && may && html`<p><button id="commit" onClick=${() => commit(false)}>Commit</button>
      <button id="commit-confirmed" onClick=${() => commit(true)}>Commit with confirmation</button>
      <label for="confirm-timeout">within (s)</label>
      <input id="confirm-timeout" type="number" min="1" max="86400" value=${wait} onInput=${(e) => setWait(e.target.value)}/>
      <button id="discard" onClick=${discard}>Discard</button></p>`}
    ${countdown !== null && countdown > 0 && html`<p id="countdown" role="timer">Rolls back in ${countdown} s
      <button id="confirm" onClick=${confirm}>Confirm</button> <button id="cancel-commit" onClick=${cancel}>Roll back now</button></p>`}
    ${msg && html`<p id="message" role="status">${msg}</p>`}</section>`;
}

function History({ schema }) {
  const [rows, setRows] = useState(null);
  const [pick, setPick] = useState([]);
  const [diff, setDiff] = useState(null);
  const [msg, setMsg] = useState(null);
  useEffect(() => { api.rpc("hvd-system:get-commit-history", { limit: 50 })
    .then((d) => setRows(d["hvd-system:output"]?.commit || []), (x) => setMsg(x.message)); }, []);
  const compare = async (a, b) => {
    try { setDiff((await api.rpc("hvd-system:compare", { source: a, target: b }))["hvd-system:output"]?.text || "(no difference)"); }
    catch (x) { setMsg(x.message); }
  };
  const toggle = (id) => setPick(pick.includes(id) ? pick.filter((p) => p !== id) : [...pick.slice(-1), id]);
  const rollback = async (id) => {
    try { await api.rpc("hvd-system:rollback", { id }); location.hash = "#/changes"; } catch (x) { setMsg(x.message); }
  };
  return html`<section><h2>Commit history</h2>
    ${pick.length === 2 && html`<button id="compare" onClick=${() => compare(Math.min(...pick), Math.max(...pick))}>Compare ${Math.min(...pick)} with ${Math.max(...pick)}</button>`}
    <table id="history"><thead><tr><th scope="col">Pick</th><th scope="col">Id</th><th scope="col">Time</th><th scope="col">User</th><th scope="col">Comment</th><th scope="col"></th></tr></thead>
    <tbody>${(rows || []).map((c) => html`<tr key=${c.id}><td><input type="checkbox" aria-label=${`pick commit ${c.id}`} checked=${pick.includes(c.id)} onChange=${() => toggle(c.id)}/></td>
      <td>${c.id}</td><td>${c.time}</td><td>${c.user}</td><td>${c.comment}</td>
      <td><button onClick=${() => compare(c.id, "running")}>Diff with running</button>
      ${schema.rpcs["hvd-system:rollback"]?.may && html`<button class="rollback" onClick=${() => rollback(c.id)}>Roll back to this</button>`}</td></tr>`)}</tbody></table>
    ${diff && html`<pre id="history-diff" class="diff">${diff}</pre>`}
    ${msg && html`<p class="error" role="alert">${msg}</p>`}</section>`;
}

// Every operation of the YANG the user may run, with a form drawn from its input.
function Operations({ schema }) {
  const names = Object.keys(schema.rpcs).filter((n) => schema.rpcs[n].may).sort();
  return html`<section><h2>Operations</h2><ul id="operations">${names.map((n) => html`<li key=${n}>
    <a href="#/rpc/${encodeURIComponent(n)}">${n}</a> <span class="note">${schema.rpcs[n].description || ""}</span></li>`)}</ul></section>`;
}

function RpcPage({ name, schema }) {
  const op = schema.rpcs[name];
  const [values, setValues] = useState({});
  const [out, setOut] = useState(null);
  const [err, setErr] = useState(null);
  useEffect(() => { setValues({}); setOut(null); setErr(null); }, [name]);
  if (!op) return html`<p>No operation ${name}.</p>`;
  const run = async (e) => {
    e.preventDefault();
    setErr(null);
    try {
      const input = members(op.input, values, "");
      const reply = await api.rpc(name, Object.keys(input).length ? input : undefined);
      setOut(reply ? JSON.stringify(reply, null, 2) : "Done.");
    } catch (x) { setErr(x); }
  };
  return html`<section><h2>${name}</h2>${op.description && html`<p class="note">${op.description}</p>`}
    <form class="entry" onSubmit=${run} aria-label=${name}>
      <${Fields} nodes=${op.input} prefix="" entry=${{}} values=${values} set=${setValues} disabled=${false}
        picks=${schema.picks} err=${err}/>
      ${err && !(err.field && document.getElementById(fid(err.field))) && html`<p class="error" role="alert">${err.message}</p>`}
      <button type="submit" id="run">Run</button></form>
    ${out && html`<pre id="rpc-output">${out}</pre>`}</section>`;
}

function App() {
  const [me, setMe] = useState(undefined);
  const [schema, setSchema] = useState(null);
  const [vms, setVms] = useState(null);
  const [nets, setNets] = useState(null);
  const [use, setUse] = useState({});
  const [live, setLive] = useState(false);
  const [ask, setAsk] = useState(null);
  const [error, setError] = useState(null);
  const r = useRoute();
  useEffect(() => { api.ui("GET", "session").then((s) => setMe(s.user ? s : null), () => setMe(null)); }, []);
  const stats = () => { if (!document.hidden) api.get(STATS).then((d) => setUse(useOf(d)), () => {}); };
  const refresh = () => {
    api.get("hvd-vm:vms?with-defaults=report-all").then((d) => setVms(vmsOf(d)), (x) => setError(x.message));
    stats();
    api.get("hvd-network:networks?with-defaults=report-all").then((d) => setNets(netsOf(d)), () => setNets([]));
  };
  useEffect(() => {
    if (!me) return;
    api.setCsrf(me.csrf);
    api.ui("GET", "schema.json").then((s) => { s.picks = {}; setSchema(s); });
    refresh();
    // a burst of events (a bulk commit starts many VMs) is one reload, not one each
    let pending = null;
    const soon = () => { if (!pending) pending = setTimeout(() => { pending = null; refresh(); }, 200); };
    const es = api.events(soon, setLive);
    const timer = setInterval(stats, STATS_EVERY);
    return () => { es.close(); clearTimeout(pending); clearInterval(timer); };
  }, [me]);
  if (me === undefined) return html`<p>Loading…</p>`;
  if (me === null) return html`<${Login} onIn=${setMe}/>`;
  if (!schema) return html`<p>Loading…</p>`;
  schema.picks = { network: (nets || []).map((n) => n.name), vm: (vms || []).map((v) => v.name) };
  const act = (question, run) => setAsk({ question, run });
  const logout = async () => { await api.ui("POST", "logout"); setMe(null); };
  const [page, arg] = r;
  let body;
  if (page === "vms") body = html`<${VmTable} vms=${vms} use=${use} schema=${schema} act=${act}/>`;
  else if (page === "vm") body = html`<${VmPage} name=${arg} vms=${vms} schema=${schema} act=${act}/>`;
  else if (page === "new") body = html`<section><h2>New ${arg}</h2><${EntryForm} kind=${arg} schema=${schema} isNew=${true}
    onStaged=${(n) => { location.hash = pageOf(arg, n); }}/></section>`;
  else if (page === "networks") body = html`<${Networks} nets=${nets} schema=${schema}/>`;
  else if (page === "network") body = html`<${EntryPage} kind="network" name=${arg} schema=${schema} act=${act}/>`;
  else if (page === "entry" && schema.lists[arg]) body = html`<${EntryPage} kind=${arg} name=${r[2]} schema=${schema} act=${act}/>`;
  else if (page === "one" && schema.lists[arg]) body = html`<${EntryPage} kind=${arg} name=${null} schema=${schema} act=${act}/>`;
  else if (page === "list" && schema.lists[arg]) body = html`<${KindList} kind=${arg} schema=${schema}/>`;
  else if (page === "settings") body = html`<${Settings} schema=${schema}/>`;
  else if (page === "console") body = html`<${Console} name=${arg}/>`;
  else if (page === "screen") body = html`<${Screen} name=${arg}/>`;
  else if (page === "operations") body = html`<${Operations} schema=${schema}/>`;
  else if (page === "rpc") body = html`<${RpcPage} name=${arg} schema=${schema}/>`;
  else if (page === "changes") body = html`<${Changes} schema=${schema}/>`;
  else if (page === "history") body = html`<${History} schema=${schema}/>`;
  else body = html`<${Dashboard} vms=${vms}/>`;
  return html`<header><nav aria-label="Main"><strong>hvd</strong>
      <a href="#/dashboard">Dashboard</a><a href="#/vms">VMs</a><a href="#/networks">Networks</a><a href="#/settings">Settings</a>
      <a href="#/changes">Pending changes</a><a href="#/history">History</a><a href="#/operations">Operations</a></nav>
    <span class="who"><span id="live" title="live updates">${live ? "● live" : "○ offline"}</span> ${me.user}
      <button id="logout" onClick=${logout}>Log out</button></span></header>
    <main>${error && html`<p class="error" role="alert">${error}</p>`}${body}</main>
    ${ask && html`<${Confirm} ask=${ask.question} onNo=${() => setAsk(null)}
      onYes=${async () => { const a = ask; setAsk(null); try { await a.run(); refresh(); } catch (x) { setError(x.message); } }}/>`}`;
}

render(html`<${App}/>`, document.getElementById("app"));
