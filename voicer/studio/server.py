"""The studio's web server: one page and a small JSON API over a :class:`Studio`, on loopback.

Anyone who can reach the port could rewrite the script, so every request is checked before
it reaches a route:

- a random token: ``?token=`` on the page and its static files (the page links them with
  it), the ``X-Voicer-Token`` header on the API (the page's script reads the token from its
  own address; a custom header also means no other site can send an API request without a
  CORS preflight, which this server never grants);
- the Host header must name this server (127.0.0.1, localhost or the --host given, with
  its port): a DNS-rebinding page sends its own host name;
- an Origin header, when sent, must be this server's;
- request bodies of more than 64 KiB are refused (413), by Content-Length and by count.

The audio element and its captions track get their media as blob: URLs: the page fetches
``/api/preview.wav`` and ``/api/captions.vtt`` with the header, so the token never appears in
a media URL (and seeking works in a blob without range requests).

Calls on the studio are serialised by a lock; the session is not thread-safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import secrets
import signal
import socket
import sys
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs

import uvicorn
from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from voicer.errors import InputError, SynthesisError, VoicerError
from voicer.studio.session import Studio

TOKEN_HEADER = "x-voicer-token"
MAX_BODY = 64 * 1024
STATIC = Path(__file__).parent / "static"
CONTENT_SECURITY_POLICY = "default-src 'self'; media-src 'self' blob:; style-src 'self'"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
SECURITY_HEADERS = [
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),  # the page's address holds the token
    (b"x-frame-options", b"DENY"),
]
TOKEN_PLACEHOLDER = "__VOICER_TOKEN__"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
T = TypeVar("T")


def allowed_hosts(host: str, port: int) -> set[str]:
    """The Host headers that name this server."""
    names = {"127.0.0.1", "localhost", host.lower()}
    hosts = set()
    for name in names:
        try:
            literal = ipaddress.ip_address(name)
        except ValueError:
            hosts.add(f"{name}:{port}")
        else:
            hosts.add(f"[{literal}]:{port}" if literal.version == 6 else f"{literal}:{port}")
    return hosts


class Guard:
    """ASGI middleware: token, Host, Origin and body size are checked before any route runs,
    and every response gets the security headers."""

    def __init__(self, app: ASGIApp, token: str, host: str, port: int) -> None:
        self.app = app
        self.token = token
        self.hosts = allowed_hosts(host, port)
        self.origins = {f"http://{name}" for name in self.hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan is off; websockets are not served
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
            return

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() not in {name for name, _ in SECURITY_HEADERS}
                ]
                headers += SECURITY_HEADERS
                headers.append((b"content-security-policy", CONTENT_SECURITY_POLICY.encode()))
                message["headers"] = headers
            await send(message)

        refusal = self.refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, secured)
            return
        body = await self.read_body(scope, receive)
        if body is None:
            too_large = _error(413, f"a request body may hold at most {MAX_BODY} bytes")
            await too_large(scope, receive, secured)
            return
        await self.app(scope, _replay(body, receive), secured)

    def refusal(self, scope: Scope) -> Response | None:
        """The response that refuses this request, or None when it may go on."""
        headers = _headers(scope)
        if headers.get("host", "").lower() not in self.hosts:
            return _error(403, "this server answers only to its own address")
        origin = headers.get("origin")
        if origin is not None and origin.lower() not in self.origins:
            return _error(403, "requests from other sites are refused")
        path: str = scope["path"]
        if path.startswith("/api/"):
            given = headers.get(TOKEN_HEADER, "")
        else:
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            given = (query.get("token") or [""])[0]
        if not secrets.compare_digest(given.encode(), self.token.encode()):
            return _error(403, "a wrong or missing token: open the address voicer printed")
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            return _error(413, f"a request body may hold at most {MAX_BODY} bytes")
        return None

    @staticmethod
    async def read_body(scope: Scope, receive: Receive) -> bytes | None:
        """The whole request body, or None when it is larger than allowed."""
        if scope["method"] in {"GET", "HEAD"}:
            return b""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the body already read, then waits on the real one (disconnect)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


SETTINGS = ("voice", "rate", "pause")
RETAKE_HELP = (
    'send JSON with any of "text" (the new text), "voice" (a name), "rate" (percent, -50 to '
    '100) and "pause" (ms after the sentence); null drops the sentence\'s own setting'
)


async def _json_object(request: Request) -> dict[str, Any] | None:
    try:
        given = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        return None
    return given if isinstance(given, dict) else None


def _retake_fields(given: dict[str, Any]) -> tuple[str | None, dict[str, str | int | None]]:
    """The text and settings of a re-take request; ValueError for a value of the wrong type."""
    text = given.get("text")
    if "text" in given and not isinstance(text, str):
        raise ValueError('"text" must be a string')
    settings: dict[str, str | int | None] = {}
    for key in SETTINGS:
        if key not in given:
            continue
        value = given[key]
        wanted = str if key == "voice" else int
        if value is not None and (isinstance(value, bool) or not isinstance(value, wanted)):
            raise ValueError(
                f'"{key}" must be {"a string" if wanted is str else "a whole number"} or null'
            )
        settings[key] = value
    return text, settings


def _headers(scope: Scope) -> dict[str, str]:
    """The request's headers by lower-case name; a repeated Host or Origin counts as missing
    a valid one (the values are joined, which matches no allowed value)."""
    found: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        found[name] = f"{found[name]},{value}" if name in found else value
    return found


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def create_app(studio: Studio, token: str, port: int, host: str = "127.0.0.1") -> Guard:
    """The studio's web application, every request guarded (see the module's docstring)."""
    lock = threading.Lock()
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    async def call(work: Callable[[], T]) -> T:
        def locked() -> T:
            with lock:
                return work()

        return await run_in_threadpool(locked)

    def index_of(text: str, state: dict[str, Any]) -> int | None:
        if not text.isdigit():
            return None
        index = int(text)
        known = {sentence["index"] for sentence in state["sentences"]}
        return index if index in known else None

    async def edit(index_text: str, change: Callable[[int], dict[str, Any]]) -> Response:
        def work() -> Response:
            state = studio.state()
            index = index_of(index_text, state)
            if index is None:
                return _error(404, f"there is no sentence {index_text}")
            try:
                return JSONResponse(change(index))
            except (InputError, SynthesisError) as exc:
                return _error(422, str(exc), index=index, state=studio.state())

        return await call(work)

    @app.get("/")
    def page() -> Response:
        html = (STATIC / "index.html").read_text(encoding="utf-8")
        return Response(html.replace(TOKEN_PLACEHOLDER, token), media_type=TYPES[".html"])

    @app.get("/static/{name}")
    def static(name: str) -> Response:
        path = (STATIC / name).resolve()
        if path.parent != STATIC.resolve() or not path.is_file() or name == "index.html":
            return _error(404, "no such file")
        return Response(path.read_bytes(), media_type=TYPES.get(path.suffix, "text/plain"))

    @app.get("/api/state")
    async def state() -> Response:
        return JSONResponse(await call(studio.state))

    @app.get("/api/preview.wav")
    async def preview() -> Response:
        return Response(await call(studio.preview_wav), media_type="audio/wav")

    @app.get("/api/captions.vtt")
    async def captions() -> Response:
        return Response(await call(studio.captions_vtt), media_type="text/vtt; charset=utf-8")

    @app.post("/api/sentences/{index}/retake")
    async def retake(index: str, request: Request) -> Response:
        given = await _json_object(request)
        if given is None or not given.keys() & {"text", *SETTINGS}:
            return _error(400, RETAKE_HELP)
        try:
            text, settings = _retake_fields(given)
        except ValueError as exc:
            return _error(400, str(exc))
        return await edit(index, lambda i: studio.retake(i, text, settings))

    @app.post("/api/sentences/{index}/reading")
    async def reading(index: str, request: Request) -> Response:
        given = await _json_object(request)
        written, spoken = (given or {}).get("written"), (given or {}).get("spoken")
        if not isinstance(written, str) or not isinstance(spoken, str):
            return _error(400, 'send JSON like {"written": "重庆", "spoken": "崇庆"}')
        return await edit(index, lambda i: studio.set_reading(i, written, spoken))

    @app.post("/api/sentences/{index}/draft")
    async def draft(index: str, request: Request) -> Response:
        given = await _json_object(request)
        text = (given or {}).get("text")
        if not isinstance(text, str):
            return _error(400, 'send JSON like {"text": "the sentence as typed so far"}')

        def work() -> Response:
            if index_of(index, studio.state()) is None:
                return _error(404, f"there is no sentence {index}")
            studio.draft(int(index), text)
            return JSONResponse({"drafting": True}, status_code=202)

        return await call(work)

    @app.post("/api/sentences/{index}/undo")
    async def undo(index: str) -> Response:
        return await edit(index, studio.undo)

    @app.post("/api/export")
    async def export() -> Response:
        def work() -> Response:
            try:
                done = studio.export()
            except VoicerError as exc:
                return _error(422, str(exc), index=None)
            for line in [*(f"warning: {w}" for w in done["warnings"]), *done["report"]]:
                print(f"voicer: studio: {line}", file=sys.stderr, flush=True)
            return JSONResponse(done)

        return await call(work)

    @app.get("/api/export/progress")
    def export_progress() -> Response:  # not behind the lock: it reports while export holds it
        running = studio.export_progress
        share, words = running or (None, "")
        return JSONResponse({"running": running is not None, "share": share, "step": words})

    @app.exception_handler(Exception)
    async def failed(request: Request, exc: Exception) -> Response:
        print(f"voicer: studio: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return _error(500, f"internal error: {type(exc).__name__}: {exc}")

    return Guard(app, token, host, port)


def page_url(host: str, port: int, token: str) -> str:
    """The address to open: loopback unless the server listens on one other address."""
    shown = host
    if host in {"", "0.0.0.0", "::", "localhost"} or host.startswith("127."):
        shown = "127.0.0.1"
    elif ":" in host:
        shown = f"[{host}]"
    return f"http://{shown}:{port}/?token={token}"


class _Server(uvicorn.Server):
    """A uvicorn server that says when it is listening."""

    def __init__(self, config: uvicorn.Config, ready: Callable[[], None]) -> None:
        super().__init__(config)
        self.ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self.ready()


def bind(host: str, port: int | None) -> socket.socket:
    """A listening socket on ``host``:``port`` (0 or None: a free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # a studio stopped a moment ago leaves its connections in TIME_WAIT on this port
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port or 0))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def serve(studio: Studio, host: str, port: int | None, on_ready: Callable[[str], None]) -> None:
    """Serve the studio on ``host``:``port`` (0 or None: a free port) until Ctrl-C (SIGINT)
    or SIGTERM; ``on_ready(url)`` once it is listening. Returns normally when stopped."""
    try:
        sock = bind(host, port)
    except OSError as exc:
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    with contextlib.closing(sock):
        real_port = sock.getsockname()[1]
        token = secrets.token_urlsafe(24)
        app = create_app(studio, token, real_port, host)
        config = uvicorn.Config(
            app,
            lifespan="off",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=5,
            server_header=False,
        )
        server = _Server(config, lambda: on_ready(page_url(host, real_port, token)))
        # uvicorn shuts down gracefully on SIGINT and SIGTERM, then raises the signal again;
        # both then arrive as KeyboardInterrupt, which means: stopped as asked.
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
        try:
            asyncio.run(server.serve(sockets=[sock]))
        except KeyboardInterrupt:
            pass
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
