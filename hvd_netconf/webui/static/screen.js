// The VM's screen: noVNC (vendored, docs/webui.md) over the listener's WebSocket, which relays
// to bhyve's VNC server (hvd_netconf/webui/console.py).
import { html, useEffect, useRef, useState } from "/ui/static/vendor/htm-preact-3.1.1.js";
import RFB from "/ui/static/vendor/novnc-1.7.0/core/rfb.js";

export function Screen({ name }) {
  const box = useRef();
  const [status, setStatus] = useState("connecting…");
  useEffect(() => {
    const rfb = new RFB(box.current, `wss://${location.host}/ui/vnc/${encodeURIComponent(name)}`,
                        { wsProtocols: ["binary"] });
    rfb.scaleViewport = true;
    rfb.addEventListener("connect", () => { setStatus("connected"); rfb.focus(); });
    rfb.addEventListener("disconnect", (e) => setStatus(e.detail.clean ? "closed" : "closed: the connection failed"));
    return () => rfb.disconnect();
  }, [name]);
  return html`<section><h2>Screen of ${name}</h2>
    <p id="screen-status" role="status">${status}</p>
    <div id="screen" ref=${box} aria-label=${`screen of ${name}`}></div></section>`;
}
