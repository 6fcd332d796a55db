"""The HTTP side of RESTCONF on aiohttp: authentication, content negotiation, body limits.

aiohttp parses HTTP (llhttp) and enforces the size of a request line, of headers and of the
body; this module decides who is asking and in which encoding, then hands a Request to the
resources in a worker thread (they block on the server lock and the host).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from aiohttp import web

from hvd_netconf.calls import RESTCONF_TRANSPORT, SessionInfo
from hvd_netconf.errors import RpcError, RpcErrors
from hvd_netconf.restconf import errors, streams
from hvd_netconf.restconf.auth import BasicAuth, Identity
from hvd_netconf.restconf.errors import RestError, RestErrors
from hvd_netconf.restconf.resources import JSON_TYPE, ROOT, XML_TYPE, Request, Resources, Response
from hvd_netconf.restconf.yangpatch import PATCH_JSON, PATCH_XML
from hvd_netconf.server import Server, now_rfc3339

log = logging.getLogger(__name__)

TRANSPORT = RESTCONF_TRANSPORT
HOST_META = (b"<?xml version='1.0' encoding='UTF-8'?>\n"
             b"<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>\n"
             b"  <Link rel='restconf' href='/restconf'/>\n</XRD>\n")
_JSON_TYPES = (JSON_TYPE, "application/json")
_XML_TYPES = (XML_TYPE, "application/xml", "text/xml")
_BODY_JSON = (*_JSON_TYPES, PATCH_JSON)
_BODY_XML = (*_XML_TYPES, PATCH_XML)
WORKERS = 8
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
KEEPALIVE = 15.0  # seconds between SSE comments while a stream is quiet
GONE_CHECK = 1.0  # seconds between looks at whether a quiet stream's reader has gone


def reply_json(accept: str | None) -> bool:
    """True for JSON, False for XML (RFC 8040 §5.2); JSON when the client does not care."""
    if not accept:
        return True
    ranked: list[tuple[float, bool]] = []
    for item in accept.split(","):
        kind, *params = (p.strip() for p in item.split(";"))
        q = 1.0
        for p in params:
            name, _, value = p.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        kind = kind.lower()
        if kind in _JSON_TYPES or kind in ("*/*", "application/*"):
            ranked.append((q, True))
        elif kind in _XML_TYPES:
            ranked.append((q, False))
    ranked = [r for r in ranked if r[0] > 0]
    if not ranked:
        raise RestError("invalid-value", f"cannot answer in {accept!r}; use {JSON_TYPE} or "
                        f"{XML_TYPE}", status=406)
    return max(ranked, key=lambda r: r[0])[1]


def same_origin(request: web.Request) -> bool:
    """False when a browser says the request comes from another site: its Sec-Fetch-Site,
    or an Origin that is not this listener. A client that is no browser sends neither."""
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("Origin")
    return origin is None or origin == f"https://{request.host}"


def forged(request: web.Request) -> bool:
    """A change a browser could be made to send from another site with credentials it holds
    (HTTP Basic it remembers, a cookie)."""
    return request.method in UNSAFE and not same_origin(request)


class CookieLogin(Protocol):
    """The web interface's side of authentication (hvd_netconf.webui.site.WebUI)."""

    def routes(self, app: RestconfApp) -> Sequence[web.RouteDef]: ...

    def identify(self, request: web.Request) -> Identity | None: ...


def body_json(content_type: str | None) -> bool:
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind in _BODY_JSON:
        return True
    if kind in _BODY_XML:
        return False
    raise RestError("invalid-value", f"a body must be {JSON_TYPE} or {XML_TYPE}, not "
                    f"{kind or 'unlabelled'}", status=415)


class RestconfApp:
    """The aiohttp application: every path goes to one handler, which routes by RFC 8040."""

    def __init__(self, server: Server, resources: Resources, auth: BasicAuth,
                 max_body: int, ui: CookieLogin | None = None) -> None:
        self.server = server
        self.resources = resources
        self.auth = auth
        self.max_body = max_body
        self.ui = ui
        self.streams: set[streams.EventSession] = set()  # open SSE readers, ended at stop
        self.pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="hvd-restconf")
        self.app = web.Application(client_max_size=max_body)
        if ui is not None:  # its pages first: everything else is RESTCONF's
            self.app.router.add_routes(ui.routes(self))
        self.app.router.add_route("*", "/{tail:.*}", self.handle)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        as_json = True
        try:
            path = request.rel_url.raw_path
            if path == "/.well-known/host-meta":
                if request.method not in ("GET", "HEAD"):
                    raise RestError("operation-not-supported", "GET only", status=405)
                return web.Response(body=HOST_META, content_type="application/xrd+xml")
            if path != ROOT and not path.startswith(ROOT + "/"):
                raise RestError("invalid-value", f"no resource {path}", status=404)
            streaming = path.startswith(ROOT + "/streams/")
            accept = request.headers.get("Accept")
            if not (streaming and accept and "text/event-stream" in accept):
                as_json = reply_json(accept)  # an EventSource asks for text/event-stream
            if request.method in UNSAFE and "Content-Type" in request.headers:
                # a form's type (what another site may send unasked) is refused, body or not
                body_json(request.headers["Content-Type"])
            if forged(request):
                raise RestError("access-denied", "a change must come from hvd's own page or "
                                "a client that is no browser, with a RESTCONF body type",
                                status=403)
            who = await self._authenticate(request)
            if streaming:
                return await self._stream(request, path[len(ROOT) + 9:], who)
            req = await self._request(request, path[len(ROOT):], as_json, who)
            loop = asyncio.get_running_loop()
            resp = await loop.run_in_executor(self.pool, self.resources.handle, req)
        except web.HTTPRequestEntityTooLarge:
            resp = self._error(RestError("too-big", f"the body exceeds the limit of "
                                         f"{self.max_body} bytes", error_type="transport"),
                               as_json)
        except (RestError, RestErrors, RpcError, RpcErrors) as exc:
            resp = self._error(exc, as_json)
        except Exception as exc:  # a fault of hvd's own: logged, answered, server goes on
            log.exception("restconf %s %s failed", request.method, request.rel_url)
            resp = self._error(RestError("operation-failed", f"internal error: "
                                         f"{type(exc).__name__}: {exc}",
                                         error_type="application"), as_json)
        return self._http(resp)

    async def _stream(self, request: web.Request, rest: str,
                      who: Identity) -> web.StreamResponse:
        """An event stream as Server-Sent Events until the reader goes, the stream's
        stop-time passes, or the session is killed."""
        name, _, encoding = rest.partition("/")
        if encoding not in ("xml", "json") or not name:
            raise RestError("invalid-value", "a stream is streams/NAME/xml or streams/NAME/json",
                            status=404)
        if request.method != "GET":
            raise RestError("operation-not-supported", "a stream is read with GET", status=405)
        as_json = encoding == "json"
        query = dict(request.query)
        if len(query) != len(request.query):
            raise RestError("invalid-value", "a query parameter is given twice")
        schema = self.resources.codec.schema
        op = streams.subscription(name, query, {m.name: m.namespace for m in schema.modules})
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        session = streams.EventSession(self.server, self.info(request, who), loop, queue)
        if not self.server.session_started(session):
            raise RestError("resource-denied", "the server has no room for another session")
        try:
            await loop.run_in_executor(self.pool, self.resources.call, session.info, op)
        except BaseException:
            session.finish("other")
            raise
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                           "Cache-Control": "no-cache"})
        reason = "closed"
        self.streams.add(session)
        try:
            await resp.prepare(request)
            quiet = 0.0
            while True:
                try:
                    data = await asyncio.wait_for(queue.get(), GONE_CHECK)
                except TimeoutError:
                    if request.transport is None or request.transport.is_closing():
                        reason = "dropped"  # the reader went: its session ends now
                        break
                    quiet += GONE_CHECK
                    if quiet >= KEEPALIVE:
                        quiet = 0.0
                        await resp.write(b": keep-alive\n\n")
                    continue
                quiet = 0.0
                if data is None:
                    break
                session.taken()
                await resp.write(streams.event_text(data, as_json, self.resources.codec))
        except (ConnectionError, asyncio.CancelledError):
            reason = "dropped"
            raise
        finally:
            self.streams.discard(session)
            session.finish(reason)
        return resp

    def end_streams(self) -> None:
        """End every open event stream (the listener stops): each handler returns, rather
        than waiting for its reader's next keep-alive after the loop is gone."""
        for session in list(self.streams):
            session.terminate("other")

    def _error(self, exc: RestError | RestErrors | RpcError | RpcErrors,
               as_json: bool) -> Response:
        errs = errors.from_exception(exc)
        body = errors.render(errs, as_json, self.resources.modules)
        resp = Response(errs.status, body, as_json)
        if errs.status == 401:
            resp.headers["WWW-Authenticate"] = 'Basic realm="hvd", charset="UTF-8"'
        return resp

    @staticmethod
    def _http(resp: Response) -> web.Response:
        out = web.Response(status=resp.status, headers=resp.headers)
        if resp.body:
            out.body = resp.body
            if "Content-Type" not in resp.headers:
                out.content_type = JSON_TYPE if resp.as_json else XML_TYPE
        return out

    async def _authenticate(self, request: web.Request) -> Identity:
        header = request.headers.get("Authorization")
        tls = request.transport.get_extra_info("ssl_object") \
            if header is None and request.transport is not None else None
        if tls is not None:
            der = tls.getpeercert(binary_form=True)
            if der:  # verified against restconf-client-ca by the TLS layer
                who = self.auth.from_certificate(der)
                if who is None:
                    raise RestError("access-denied", "the client certificate names no "
                                    "hvd user", status=401)
                return who
        if header is None and self.ui is not None:
            cookie_who = self.ui.identify(request)
            if cookie_who is not None:
                return cookie_who
        loop = asyncio.get_running_loop()
        who = self.auth.remembered(header) if header else None  # kept-alive: no thread hop
        if who is None and header:
            who = await loop.run_in_executor(self.pool, self.auth.check, header)
        address = request.remote or "?"
        if who is None:
            if header:
                await asyncio.sleep(self.auth.failed(address))
            raise RestError("access-denied", "authentication required (HTTP Basic)",
                            status=401)
        self.auth.succeeded(address)
        return who

    def info(self, request: web.Request, who: Identity) -> SessionInfo:
        return SessionInfo(id=self.server.sessions.next_id(), username=who.username,
                           transport=TRANSPORT, source_host=request.remote,
                           login_time=now_rfc3339(), groups=who.groups)

    async def _request(self, request: web.Request, path: str, as_json: bool,
                       who: Identity) -> Request:
        query: dict[str, str] = {}
        for name, value in request.query.items():
            if name in query:
                raise RestError("invalid-value", f"query parameter {name!r} given twice")
            query[name] = value
        kind: bool | None = None
        body = b""
        if request.body_exists:
            length = request.content_length
            if length is not None and length > self.max_body:
                raise web.HTTPRequestEntityTooLarge(max_size=self.max_body, actual_size=length)
            body = await request.read()
            if body:
                kind = body_json(request.headers.get("Content-Type"))
        info = self.info(request, who)
        headers: dict[str, str] = {}
        for name, value in request.headers.items():  # case-blind names, repeats joined
            key = name.title()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        return Request(request.method, path, query, headers, body, kind, as_json, info)

