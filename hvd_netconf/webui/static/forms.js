// Forms drawn from /ui/schema.json: the YANG type decides the control, its ranges and
// lengths the browser's own checks, the description the help. Every node of an entry is
// here: leaves, leaf-lists, containers and the lists inside it at any depth (disks, NICs,
// NACM's groups, rule lists and their rules). Edits go
// to the candidate; the server validates always and its error is shown at the field it names.
import { html, useState } from "/ui/static/vendor/htm-preact-3.1.1.js";
import * as api from "/ui/static/api.js";

const INTS = { int8: 1, int16: 1, int32: 1, uint8: 1, uint16: 1, uint32: 1 };
export const fid = (path) => "f-" + path.replace(/\//g, "-");

function bounds(type) {
  const r = (type.ranges || [])[0];
  if (!r || r.includes("|")) return {};
  const [lo, hi] = r.split("..").map((s) => s.trim());
  return { min: lo === "min" ? undefined : lo, max: hi === undefined ? lo : hi === "max" ? undefined : hi };
}

// A mandatory leaf of a choice's case is required only once its case is chosen: the browser
// cannot tell, so it is not `required` here and the server says so when it is missing.
export function Field({ node, path, value, current, disabled, picks, error, onInput }) {
  const id = fid(path);
  const t = node.type || { base: "string" };
  const cur = Array.isArray(current) ? current.join(", ") : current === undefined || current === null ? "" : String(current);
  const shown = value !== undefined ? value : cur;
  const help = [node.description, node.units && `in ${node.units}`, node.default !== undefined && `default ${node.default}`,
                node.kind === "leaf-list" && "several values separated by commas"].filter(Boolean).join("; ");
  const common = { id, name: path, disabled, title: help, "aria-describedby": `${id}-help`,
                   "aria-invalid": error ? "true" : undefined,
                   onInput: (e) => onInput(e.target.value), onChange: (e) => onInput(e.target.value) };
  let control;
  const choices = t.enums || (t.base === "boolean" ? ["true", "false"] : t.picks ? picks[t.picks] || [] : null);
  if (choices && node.kind === "leaf") {
    control = html`<select ...${common} value=${shown}><option value="">${node.default !== undefined ? `(default ${node.default})` : "(none)"}</option>
      ${choices.map((c) => html`<option value=${c}>${c}</option>`)}</select>`;
  } else if (t.base === "empty") {
    control = html`<select ...${common} value=${shown}><option value="">(absent)</option><option value="set">set</option></select>`;
  } else if (t.base in INTS && node.kind === "leaf") {
    control = html`<input ...${common} type="number" value=${shown} placeholder=${node.default} ...${bounds(t)} required=${!!node.mandatory && !node.case}/>`;
  } else {
    const len = (t.lengths || [])[0];
    const maxlength = len && len.includes("..") && node.kind === "leaf" ? len.split("..")[1] : undefined;
    control = html`<input ...${common} type="text" value=${shown} placeholder=${node.default || ""}
      maxlength=${maxlength} required=${!!node.mandatory && !node.case}/>`;
  }
  return html`<div class=${"field" + (error ? " invalid" : "")}>
    <label for=${id}>${node.name}${node.units ? ` (${node.units})` : ""}</label>${control}
    <small id=${`${id}-help`}>${node.description || ""}</small>
    ${error && html`<p class="error field-error" id=${`${id}-error`} role="alert">${error}</p>`}</div>`;
}

function typed(node, v) {
  const base = node.type?.base;
  if (node.kind === "leaf-list") return v.split(",").map((x) => x.trim()).filter(Boolean);
  if (base === "empty") return [null];
  if (base in INTS) return /^-?\d+$/.test(v) ? Number(v) : v;
  if (base === "boolean") return v === "true" ? true : v === "false" ? false : v;
  return v;
}

// The RFC 7951 members of the nodes under `prefix` that the form's values (strings) set.
export function members(nodes, values, prefix) {
  const out = {};
  for (const node of nodes) {
    const path = prefix + node.name;
    if (node.kind === "container") {
      const inner = members(node.children, values, path + "/");
      if (Object.keys(inner).length) out[node.name] = inner;
    } else if (node.kind === "leaf" || node.kind === "leaf-list") {
      const v = values[path];
      if (v !== undefined && v !== "") out[node.name] = typed(node, v);
    }
  }
  return out;
}

// A list's entry, or a singleton container (list.singleton: the container is the entry).
export const entryBody = (list, values) => list.singleton
  ? { [`${list.module}:${list.container}`]: members(list.nodes, values, "") }
  : { [`${list.module}:${list.entry}`]: [members(list.nodes, values, "")] };

export const entryPath = (list, name) => list.singleton ? `${list.module}:${list.container}`
  : `${list.module}:${list.container}/${list.entry}=${encodeURIComponent(name)}`;

export function Fields({ nodes, prefix, entry, values, set, disabled, picks, err, skip }) {
  return nodes.filter((n) => !(skip || []).includes(n.name)).map((n) => {
    const path = prefix + n.name;
    if (n.kind === "container") {
      return html`<fieldset key=${path}><legend>${n.name}${n.presence ? " (optional)" : ""}</legend>
        ${n.description && html`<p class="note">${n.description}</p>`}
        <${Fields} nodes=${n.children} prefix=${path + "/"} entry=${entry?.[n.name]} values=${values} set=${set}
          disabled=${disabled} picks=${picks} err=${err}/></fieldset>`;
    }
    if (n.kind === "list") return null;  // SubList, below the form
    return html`<${Field} key=${path} node=${n} path=${path} value=${values[path]} current=${entry?.[n.name]}
      disabled=${disabled} picks=${picks} error=${err && err.field === path ? err.message : null}
      onInput=${(v) => set({ ...values, [path]: v })}/>`;
  });
}

// A list entry's settings (or a singleton's): the form stages the changed values in the
// candidate; the lists inside it, at any depth, are edited below the form.
export function EntryForm({ kind, entry, schema, isNew, onStaged }) {
  const list = schema.lists[kind];
  const [values, setValues] = useState({});
  const [err, setErr] = useState(null);
  const may = isNew ? list.may.create : list.may.update;
  const submit = async (e) => {
    e.preventDefault();
    setErr(null);
    const vals = isNew ? values : { ...values, [list.keys[0]]: entry[list.keys[0]] };
    try {
      if (isNew) await api.candidate("POST", `${list.module}:${list.container}`, entryBody(list, vals));
      // a singleton is merged into the datastore: that makes it when it is not there yet
      else if (list.singleton) await api.candidate("PATCH", "", { "ietf-restconf:data": entryBody(list, vals) });
      else await api.candidate("PATCH", entryPath(list, entry.name), entryBody(list, vals));
      setValues({});
      onStaged(isNew ? vals[list.keys[0]] : entry.name);
    } catch (x) { setErr(x); }
  };
  const known = (f) => f && document.getElementById(fid(f));
  const present = list.nodes.filter((n) => n.kind === "container" && n.presence && entry?.[n.name]);
  const base = isNew ? null : entryPath(list, entry[list.keys[0]]);
  return html`<form class="entry" onSubmit=${submit} aria-label=${isNew ? `New ${kind}` : `Settings of ${list.singleton ? kind : entry.name}`}>
      <${Fields} nodes=${list.nodes} prefix="" entry=${entry} values=${values} set=${setValues} disabled=${!may}
        picks=${schema.picks} err=${err} skip=${isNew ? [] : list.keys}/>
      ${err && !known(err.field) && html`<p class="error" role="alert">${err.message}</p>`}
      ${may && html`<button type="submit" id="stage">${isNew ? "Create" : "Stage changes"}</button>`}
      ${!may && html`<p class="note">You may not change ${kind}s (NACM).</p>`}
    </form>
    ${!isNew && present.map((c) => html`<${RemoveButton} key=${c.name} what=${c.name} may=${list.may.update}
      path=${`${base}/${c.name}`} onStaged=${() => onStaged(entry.name, true)}/>`)}
    ${!isNew && html`<${Lists} nodes=${list.nodes} data=${entry} base=${base} prefix="" module=${list.module}
      may=${list.may.update} schema=${schema} onStaged=${() => onStaged(entry.name, true)}/>`}`;
}

function RemoveButton({ what, may, path, onStaged, id }) {
  const [err, setErr] = useState(null);
  if (!may) return null;
  const go = async () => { try { await api.candidate("DELETE", path); onStaged(); } catch (x) { setErr(x.message); } };
  return html`<button type="button" id=${id} class="remove" onClick=${go}>Remove ${what}</button>
    ${err && html`<span class="error" role="alert">${err}</span>`}`;
}

// The lists among `nodes`, and those inside their containers, each as a SubList of the
// resource at `base` (a RESTCONF path in the candidate) whose data is `data`.
function Lists({ nodes, data, base, prefix, module, may, schema, onStaged }) {
  return nodes.map((n) => n.kind === "list"
    ? html`<${SubList} key=${prefix + n.name} node=${n} rows=${data?.[n.name] || []} base=${base} prefix=${prefix}
        module=${module} may=${may} schema=${schema} onStaged=${onStaged}/>`
    : n.kind === "container" ? html`<${Lists} key=${prefix + n.name} nodes=${n.children} data=${data?.[n.name]}
        base=${`${base}/${n.name}`} prefix=${`${prefix}${n.name}/`} module=${module} may=${may} schema=${schema}
        onStaged=${onStaged}/>` : null);
}

// A list inside an entry (disks, NICs, CPU pins, NACM's groups and rule lists): its rows, a
// remove button each, an add form (a RESTCONF POST of the new entry into its parent). A row
// whose entries hold lists of their own (a rule list's rules) opens them below, one row at a
// time, so that every field's id stays unique on the page.
function SubList({ node, rows, base, prefix, module, may, schema, onStaged }) {
  const [values, setValues] = useState({});
  const [err, setErr] = useState(null);
  const [open, setOpen] = useState(null);
  const path = prefix + node.name;
  const leaves = node.children.filter((c) => c.kind === "leaf" || c.kind === "leaf-list");
  const inner = node.children.some((c) => c.kind === "list" || c.kind === "container");
  const add = async (e) => {
    e.preventDefault();
    setErr(null);
    const item = members(node.children, values, path + "/");
    try {
      await api.candidate("POST", base, { [`${module}:${node.name}`]: [item] });
      setValues({});
      onStaged();
    } catch (x) { setErr(x); }
  };
  const keyOf = (r) => node.keys.map((k) => encodeURIComponent(r[k])).join(",");
  const shown = open !== null && rows.find((r) => keyOf(r) === open);
  return html`<section class="sublist"><h3>${path}</h3>
    ${node.description && html`<p class="note">${node.description}</p>`}
    <table id=${`list-${path.replace(/\//g, "-")}`}><thead><tr>${leaves.map((c) => html`<th scope="col">${c.name}</th>`)}<th scope="col"></th></tr></thead>
    <tbody>${rows.map((r) => { const key = keyOf(r);
      return html`<tr key=${key}>${leaves.map((c) => html`<td>${Array.isArray(r[c.name]) ? r[c.name].join(", ") : String(r[c.name] ?? "")}</td>`)}
        <td>${inner && html`<button type="button" class="open-sub" aria-expanded=${open === key}
              onClick=${() => setOpen(open === key ? null : key)}>${open === key ? "Close" : "Open"}</button>`}
          <${RemoveButton} what=${`${node.name} ${node.keys.map((k) => r[k]).join(" ")}`} may=${may}
          path=${`${base}/${node.name}=${key}`} onStaged=${onStaged}/></td></tr>`; })}</tbody></table>
    ${shown && html`<div class="inner"><${Lists} nodes=${node.children} data=${shown} base=${`${base}/${node.name}=${open}`}
      prefix=${path + "/"} module=${module} may=${may} schema=${schema} onStaged=${onStaged}/></div>`}
    ${may && html`<form class="entry" onSubmit=${add} aria-label=${`Add ${path}`}>
      <${Fields} nodes=${node.children} prefix=${path + "/"} entry=${{}} values=${values} set=${setValues}
        disabled=${false} picks=${schema.picks} err=${err}/>
      ${err && !document.getElementById(fid(err.field || "")) && html`<p class="error" role="alert">${err.message}</p>`}
      <button type="submit" id=${`add-${path.replace(/\//g, "-")}`}>Add ${node.name}</button></form>`}</section>`;
}
