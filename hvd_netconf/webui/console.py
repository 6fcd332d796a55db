"""The VM's serial console and its screen in the browser: a WebSocket on the listener
relaying the bytes of the console's user side, the device `hv console` opens (nmdm B side on
FreeBSD, docs/freebsd-facts.md §5.6; the sim's pty), or of bhyve's VNC server for noVNC.

The device comes from the VM's state, read as the user through RESTCONF (so NACM's read
rules decide whether the user may know it); typing into a guest is changing it, so the user
must also be allowed to update the VM entry. One writer at a time: the relay holds the
line's UUCP lock as `hv console` does (a second attach, from hv or a browser, is refused with
the holder's pid). The socket closes when the session logs out or expires, or the VM stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from typing import Any

from aiohttp import WSMsgType, web
from hv_cli.console import ConsoleBusy, line_lock
from lxml import etree

from hvd_netconf.keys import KINDS
from hvd_netconf.nacm.access import subject_of
from hvd_netconf.restconf.app import RestconfApp, same_origin
from hvd_netconf.restconf.resources import Request
from hvd_netconf.webui.sessions import COOKIE as COOKIE_NAME
from hvd_netconf.webui.sessions import Sessions, WebSession

log = logging.getLogger(__name__)

CLOSE_DENIED, CLOSE_BUSY, CLOSE_GONE = 4403, 4409, 4410  # WebSocket close codes, app range


class ConsoleRelay:
    def __init__(self, sessions: Sessions) -> None:
        self.sessions = sessions
        self.app: RestconfApp | None = None

    def routes(self, app: RestconfApp) -> list[web.RouteDef]:
        self.app = app
        return [web.get("/ui/console/{vm}", self.handle),
                web.get("/ui/vnc/{vm}", self.handle_vnc)]

    def _device(self, app: RestconfApp, request: web.Request, vm: str,
                leaf: str = "console") -> str | None:
        """A state leaf (the console device, the VNC address) of a VM the session's user may
        read and change: typing into a guest changes it (blocking)."""
        s = self.sessions.get(request.cookies.get(COOKIE_NAME))
        if s is None:
            return None
        info = app.info(request, s.who)
        path = f"/data/hvd-vm:vms/vm={vm}/state"
        resp = app.resources.handle(Request("GET", path, {}, {}, b"", None, True, info))
        if resp.status != 200:
            return None
        device = json.loads(resp.body).get("hvd-vm:state", {}).get(leaf)
        kind = KINDS["vm"]
        container = etree.Element(kind.container_tag)
        entry = etree.SubElement(container, kind.entry_tag)
        etree.SubElement(entry, kind.name_tag).text = vm
        nacm = app.server.nacm
        if nacm.applies(info) and not nacm.evaluator.data_allowed(
                subject_of(info), (container, entry), "update"):
            return None
        return str(device) if device else None

    async def _open(self, request: web.Request, leaf: str, ws: web.WebSocketResponse
                    ) -> tuple[WebSession, str | None] | web.Response:
        """The session and the VM's state leaf (console, vnc) for a WebSocket of this page's
        user, the socket prepared; a plain 403 before any WebSocket for anyone else."""
        assert self.app is not None
        vm = request.match_info["vm"]
        s = self.sessions.get(request.cookies.get(COOKIE_NAME))
        if s is None or not same_origin(request):
            return web.Response(status=403, text="log in to hvd's page first")
        loop = asyncio.get_running_loop()
        value = await loop.run_in_executor(self.app.pool, self._device, self.app, request, vm,
                                           leaf)
        await ws.prepare(request)
        return s, value

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=64 * 1024)
        opened = await self._open(request, "console", ws)
        if isinstance(opened, web.Response):
            return opened
        s, device = opened
        loop = asyncio.get_running_loop()
        if device is None:
            await ws.close(code=CLOSE_DENIED, message=b"no console you may use (NACM, or the "
                           b"VM is not running)")
            return ws
        closing: list[asyncio.Task[bool]] = []

        def ended() -> None:  # logout or expiry, from any thread
            loop.call_soon_threadsafe(lambda: closing.append(asyncio.ensure_future(
                ws.close(code=CLOSE_GONE, message=b"logged out"))))

        s.on_end.append(ended)
        try:
            with line_lock(device):
                await self._relay(ws, device)
        except ConsoleBusy as exc:
            await ws.close(code=CLOSE_BUSY, message=str(exc).encode())
        return ws

    async def handle_vnc(self, request: web.Request) -> web.StreamResponse:
        """The VM's screen: noVNC's RFB bytes relayed to bhyve's VNC server (graphics), which
        the browser could not reach itself (it listens on the host's loopback)."""
        ws = web.WebSocketResponse(max_msg_size=1 << 20, protocols=("binary",))
        opened = await self._open(request, "vnc", ws)
        if isinstance(opened, web.Response):
            return opened
        s, address = opened
        loop = asyncio.get_running_loop()
        if address is None:
            await ws.close(code=CLOSE_DENIED, message=b"no screen you may use (NACM, or the "
                           b"VM has no graphics or is not running)")
            return ws
        host, _, port = address.rpartition(":")
        try:
            reader, writer = await asyncio.open_connection(host.strip("[]"), int(port))
        except OSError as exc:
            await ws.close(code=CLOSE_GONE, message=f"VNC: {exc.strerror}".encode())
            return ws
        def ended() -> None:  # logout or expiry, from any thread: the relay ends
            loop.call_soon_threadsafe(writer.close)

        s.on_end.append(ended)
        await self._pump(ws, reader, writer)
        return ws

    async def _pump(self, ws: web.WebSocketResponse, reader: asyncio.StreamReader,
                    writer: asyncio.StreamWriter) -> None:
        """Bytes both ways until either side goes."""

        async def down() -> None:
            while data := await reader.read(1 << 16):
                await ws.send_bytes(data)
            await ws.close(code=CLOSE_GONE, message=b"the VM's screen closed")

        task = asyncio.ensure_future(down())
        try:
            async for msg in ws:
                if msg.type != WSMsgType.BINARY:
                    break
                writer.write(msg.data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            task.cancel()
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()
            if not ws.closed:
                await ws.close(code=CLOSE_GONE, message=b"logged out or the screen closed")

    async def _relay(self, ws: web.WebSocketResponse, device: str) -> None:
        """Bytes both ways until the browser goes or the line closes (the VM stopped)."""
        loop = asyncio.get_running_loop()
        fd = os.open(device, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        line: asyncio.Queue[bytes] = asyncio.Queue()

        def readable() -> None:
            try:
                data = os.read(fd, 4096)
            except BlockingIOError:
                return
            except OSError:  # EIO: the guest's side closed
                data = b""
            if not data:
                loop.remove_reader(fd)
            line.put_nowait(data)

        loop.add_reader(fd, readable)
        receive: asyncio.Future[Any] = asyncio.ensure_future(ws.receive())
        read: asyncio.Future[bytes] = asyncio.ensure_future(line.get())
        try:
            while not ws.closed:
                await asyncio.wait({receive, read}, return_when=asyncio.FIRST_COMPLETED)
                if read.done():
                    data = read.result()
                    if not data:
                        await ws.close(code=CLOSE_GONE, message=b"the VM stopped")
                        break
                    await ws.send_bytes(data)
                    read = asyncio.ensure_future(line.get())
                if receive.done():
                    msg = receive.result()
                    if msg.type not in (WSMsgType.BINARY, WSMsgType.TEXT):
                        break  # closed or failed
                    typed = msg.data if isinstance(msg.data, bytes) else msg.data.encode()
                    with contextlib.suppress(BlockingIOError):
                        os.write(fd, typed)
                    receive = asyncio.ensure_future(ws.receive())
        finally:
            receive.cancel()
            read.cancel()
            with contextlib.suppress(ValueError, OSError):
                loop.remove_reader(fd)
            os.close(fd)
