// The page's one way to the server: RESTCONF with the session cookie, the CSRF header on
// every change, errors turned into {message, field} in the operator's words.
const JSON_TYPE = "application/yang-data+json";
let csrf = null;

export function setCsrf(token) { csrf = token; }

export class ServerError extends Error {
  constructor(status, errors) {
    const first = errors[0] || {};
    super(first["error-message"] || first["error-tag"] || `HTTP ${status}`);
    this.status = status;
    this.errors = errors;
    // the field an error names: its error-path below the list entry, without prefixes or
    // keys ("memory", "loader/type", "nic/network")
    const steps = (first["error-path"] || "").split("/").filter(Boolean)
      .map((s) => s.replace(/\[.*$/, "").replace(/^.*:/, ""));
    this.field = steps.length > 2 ? steps.slice(2).join("/") : steps.pop() || null;
  }
}

async function decode(r) {
  const text = await r.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = { error: text }; }
  if (!r.ok) {
    const errs = body?.["ietf-restconf:errors"]?.error
      || [{ "error-message": body?.error || `HTTP ${r.status}` }];
    throw new ServerError(r.status, errs);
  }
  return body;
}

export async function call(method, path, body) {
  const headers = { Accept: JSON_TYPE };
  if (method !== "GET") headers["X-Hvd-Csrf"] = csrf;
  if (body !== undefined) headers["Content-Type"] = JSON_TYPE;
  const r = await fetch(path, { method, headers, credentials: "same-origin",
                                body: body === undefined ? undefined : JSON.stringify(body) });
  return decode(r);
}

export const get = (path) => call("GET", "/restconf/data/" + path);
export const candidate = (method, path, body) =>
  call(method, "/restconf/ds/ietf-datastores:candidate" + (path ? "/" + path : ""), body);
export const rpc = (name, input) =>
  call("POST", "/restconf/operations/" + name,
       input === undefined ? undefined : { [`${name.split(":")[0]}:input`]: input });

export async function ui(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-Hvd-Csrf"] = csrf;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch("/ui/" + path, { method, headers, credentials: "same-origin",
                                          body: body === undefined ? undefined : JSON.stringify(body) });
  return decode(r);
}

// Events from the NETCONF stream (Server-Sent Events); `onEvent` gets each notification.
export function events(onEvent, onState) {
  const es = new EventSource("/restconf/streams/NETCONF/json");
  es.onmessage = (m) => {
    try { onEvent(JSON.parse(m.data)["ietf-restconf:notification"]); } catch { /* keep-alive */ }
  };
  // a page left (or kept in the back/forward cache) gives its connection back at once:
  // browsers allow six per host, and a stream holds one for as long as it is open
  addEventListener("pagehide", () => es.close());
  addEventListener("pageshow", (e) => { if (e.persisted) location.reload(); });
  es.onopen = () => onState && onState(true);
  es.onerror = () => onState && onState(false);
  return es;
}
