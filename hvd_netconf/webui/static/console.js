// The VM's serial console: xterm.js over the listener's WebSocket (hvd_netconf/webui/console.py).
import { html, useEffect, useRef, useState } from "/ui/static/vendor/htm-preact-3.1.1.js";
import { Terminal } from "/ui/static/vendor/xterm-6.0.0.mjs";

export function Console({ name }) {
  const box = useRef();
  const [status, setStatus] = useState("connecting…");
  useEffect(() => {
    const term = new Terminal({ convertEol: false, cursorBlink: true, fontSize: 14 });
    term.open(box.current);
    const ws = new WebSocket(`wss://${location.host}/ui/console/${encodeURIComponent(name)}`);
    ws.binaryType = "arraybuffer";
    const enc = new TextEncoder();
    ws.onopen = () => { setStatus("connected"); term.focus(); };
    ws.onmessage = (m) => term.write(new Uint8Array(m.data));
    ws.onclose = (e) => setStatus(`closed${e.reason ? ": " + e.reason : ""}`);
    const typed = term.onData((d) => ws.readyState === 1 && ws.send(enc.encode(d)));
    return () => { typed.dispose(); ws.close(); term.dispose(); };
  }, [name]);
  return html`<section><h2>Console of ${name}</h2>
    <p id="console-status" role="status">${status}</p>
    <div id="terminal" ref=${box} aria-label=${`serial console of ${name}`}></div></section>`;
}
