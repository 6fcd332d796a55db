// Form fields drawn from /ui/schema.json: the YANG type decides the control, its ranges and
// lengths the browser's own checks, the description the help. The server validates always.
import { html } from "/ui/static/vendor/htm-preact-3.1.1.js";

const INTS = { int8: 1, int16: 1, int32: 1, uint8: 1, uint16: 1, uint32: 1 };

function bounds(type) {
  const r = (type.ranges || [])[0];
  if (!r || r.includes("|")) return {};
  const [lo, hi] = r.split("..").map((s) => s.trim());
  return { min: lo === "min" ? undefined : lo, max: hi === undefined ? lo : hi === "max" ? undefined : hi };
}

export function Field({ node, id, value, current, disabled, picks, error, onInput }) {
  const t = node.type || { base: "string" };
  const shown = value !== undefined ? value : current !== undefined ? String(current) : "";
  const help = [node.description, node.units && `in ${node.units}`, node.default !== undefined && `default ${node.default}`]
    .filter(Boolean).join("; ");
  const common = { id, name: node.name, disabled, title: help, "aria-describedby": `${id}-help`,
                   "aria-invalid": error ? "true" : undefined,
                   onInput: (e) => onInput(e.target.value), onChange: (e) => onInput(e.target.value) };
  let control;
  const choices = t.enums || (t.base === "boolean" ? ["true", "false"] : t.picks ? picks[t.picks] || [] : null);
  if (choices) {
    control = html`<select ...${common} value=${shown}><option value="">${node.default !== undefined ? `(default ${node.default})` : "(none)"}</option>
      ${choices.map((c) => html`<option value=${c}>${c}</option>`)}</select>`;
  } else if (t.base in INTS) {
    control = html`<input ...${common} type="number" value=${shown} placeholder=${node.default} ...${bounds(t)} required=${!!node.mandatory}/>`;
  } else {
    const len = (t.lengths || [])[0];
    const maxlength = len && len.includes("..") ? len.split("..")[1] : undefined;
    control = html`<input ...${common} type="text" value=${shown} placeholder=${node.default || ""}
      maxlength=${maxlength} required=${!!node.mandatory}/>`;
  }
  return html`<div class=${"field" + (error ? " invalid" : "")}>
    <label for=${id}>${node.name}${node.units ? ` (${node.units})` : ""}</label>${control}
    <small id=${`${id}-help`}>${node.description || ""}</small>
    ${error && html`<p class="error field-error" id=${`${id}-error`} role="alert">${error}</p>`}</div>`;
}

// The RFC 7951 body of one list entry from the form's values (strings), typed by the schema.
export function entryBody(list, values) {
  const entry = {};
  for (const node of list.nodes) {
    const v = values[node.name];
    if (v === undefined || v === "") continue;
    const base = node.type?.base;
    entry[node.name] = base in INTS ? (/^-?\d+$/.test(v) ? Number(v) : v) : base === "boolean" ? v === "true" : v;
  }
  return { [`${list.module}:${list.entry}`]: [entry] };
}
