"""The web interface's HTTP side, on the RESTCONF listener: the static single-page app at
`/`, login and logout, the session's CSRF token, and /ui/schema.json.

Everything the page does afterwards is a RESTCONF request (or the console's WebSocket), made
with the session cookie in place of HTTP Basic: RestconfApp asks `identify` who a cookie
belongs to, so NACM, validation and the one commit path are RESTCONF's own.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import mimetypes
from importlib import resources
from typing import Any

from aiohttp import web

from hvd_netconf.restconf.app import RestconfApp, same_origin
from hvd_netconf.restconf.auth import Identity
from hvd_netconf.restconf.errors import RestError
from hvd_netconf.webui import schema
from hvd_netconf.webui.console import ConsoleRelay
from hvd_netconf.webui.sessions import COOKIE, CSRF_HEADER, MAX_AGE, Sessions, WebSession

SAFE = ("GET", "HEAD", "OPTIONS")
# No inline script, no other host; frames and plugins refused. Inline style is allowed:
# xterm.js writes its cell geometry and theme into <style> elements and style attributes.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; form-action 'none'; base-uri 'none'; "
       "frame-ancestors 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
           "Cross-Origin-Opener-Policy": "same-origin"}
mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("text/javascript", ".mjs")


class StaticFile:
    def __init__(self, body: bytes, name: str) -> None:
        self.body = body
        self.etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        self.type = mimetypes.guess_type(name)[0] or "application/octet-stream"


def load_static() -> dict[str, StaticFile]:
    """Every file shipped under webui/static (package data), read once at start-up."""
    out: dict[str, StaticFile] = {}
    root = resources.files("hvd_netconf.webui") / "static"

    def walk(node: Any, prefix: str) -> None:
        for child in node.iterdir():
            name = prefix + child.name
            if child.is_dir():
                walk(child, name + "/")
            else:
                out[name] = StaticFile(child.read_bytes(), name)

    walk(root, "")
    return out


class WebUI:
    def __init__(self, sessions: Sessions | None = None) -> None:
        self.sessions = sessions or Sessions()
        self.files = load_static()
        self.app: RestconfApp | None = None
        self.console = ConsoleRelay(self.sessions)

    def routes(self, app: RestconfApp) -> list[web.RouteDef]:
        self.app = app
        out = [web.get("/", self.index), web.get("/favicon.ico", self.icon),
               web.get("/ui/static/{name:.+}", self.static),
               web.post("/ui/login", self.login), web.post("/ui/logout", self.logout),
               web.get("/ui/session", self.session), web.get("/ui/schema.json", self.schema)]
        return out + self.console.routes(app)

    # -- who is asking ----------------------------------------------------------------------

    def current(self, request: web.Request) -> WebSession | None:
        return self.sessions.get(request.cookies.get(COOKIE))

    def identify(self, request: web.Request) -> Identity | None:
        """The user of a request's session cookie (None: no live session); a state-changing
        request without the session's CSRF header is refused."""
        s = self.current(request)
        if s is None:
            return None
        if request.method not in SAFE and not self.sessions.csrf_ok(
                s, request.headers.get(CSRF_HEADER)):
            raise RestError("access-denied", f"a change from the web interface needs the "
                            f"{CSRF_HEADER} header of its session", status=403)
        return s.who

    # -- pages ------------------------------------------------------------------------------

    async def index(self, request: web.Request) -> web.StreamResponse:
        return self._file(request, "index.html")

    async def icon(self, request: web.Request) -> web.StreamResponse:
        return self._file(request, "icon.svg")

    async def static(self, request: web.Request) -> web.StreamResponse:
        return self._file(request, request.match_info["name"])

    def _file(self, request: web.Request, name: str) -> web.StreamResponse:
        f = self.files.get(name)
        if f is None:
            return _json(404, {"error": f"no file {name}"})
        headers = {**HEADERS, "ETag": f.etag, "Cache-Control": "no-cache"}
        if request.headers.get("If-None-Match") == f.etag:
            return web.Response(status=304, headers=headers)
        return web.Response(body=f.body, content_type=f.type, headers=headers)

    async def login(self, request: web.Request) -> web.StreamResponse:
        """JSON {user, password}: only a page of this origin can send that (a form cannot),
        checked by the same user database and slowed retries as HTTP Basic."""
        assert self.app is not None
        if not same_origin(request) or request.content_type != "application/json":
            return _json(403, {"error": "log in from hvd's own page"})
        try:
            body = await request.json()
            user, password = str(body["user"]), str(body["password"])
        except (ValueError, KeyError, TypeError):
            return _json(400, {"error": "send user and password"})
        header = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        loop = asyncio.get_running_loop()
        who = await loop.run_in_executor(self.app.pool, self.app.auth.check, header)
        address = request.remote or "?"
        if who is None:
            await asyncio.sleep(self.app.auth.failed(address))
            return _json(401, {"error": "wrong user name or password"})
        self.app.auth.succeeded(address)
        s = self.sessions.create(who)
        resp = _json(200, {"user": who.username, "csrf": s.csrf})
        resp.set_cookie(COOKIE, s.token, path="/", secure=True, httponly=True,
                        samesite="Strict", max_age=int(MAX_AGE))
        return resp

    async def logout(self, request: web.Request) -> web.StreamResponse:
        s = self.current(request)
        if s is not None:
            if not self.sessions.csrf_ok(s, request.headers.get(CSRF_HEADER)):
                return _json(403, {"error": f"log out needs the {CSRF_HEADER} header"})
            self.sessions.end(s.token)
        resp = _json(200, {})
        resp.del_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="Strict")
        return resp

    async def session(self, request: web.Request) -> web.StreamResponse:
        s = self.current(request)  # asked at every page load: no session is no error
        if s is None:
            return _json(200, {"user": None})
        return _json(200, {"user": s.who.username, "csrf": s.csrf})

    async def schema(self, request: web.Request) -> web.StreamResponse:
        assert self.app is not None
        s = self.current(request)
        if s is None:
            return _json(401, {"error": "not logged in"})
        info = self.app.info(request, s.who)
        return _json(200, schema.describe(self.app.server, info))


def _json(status: int, body: dict[str, Any]) -> web.Response:
    return web.Response(status=status, text=json.dumps(body), content_type="application/json",
                        headers={**HEADERS, "Cache-Control": "no-store"})
