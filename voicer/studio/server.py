"""The studio's web server: one page and a small JSON API over a :class:`Studio`, on loopback.

Anyone who can reach the port could rewrite the script, so every request is checked before
it reaches a route:

- a random token: ``?token=`` on the page and its static files (the page links them with
  it), the ``X-Voicer-Token`` header on the API (the page's script reads the token from its
  own address; a custom header also means no other site can send an API request without a
  CORS preflight, which this server never grants);
- the Host header must name this server, with its port: a DNS-rebinding page sends its own
  host name. The names accepted are the local address the request arrived at, the --host
  given (unless a wildcard: 0.0.0.0 or ::), and the loopback names (localhost, 127.0.0.1,
  [::1]) only when the request arrived over loopback. So a server bound to one address
  answers to that address; one bound to a wildcard answers to the address each connection
  was made to, and a request from the network that claims to be for 127.0.0.1 is refused;
- an Origin header, when sent, must be this server's;
- request bodies of more than 64 KiB are refused (413), by Content-Length and by count.

The audio element and its captions track get their media as blob: URLs: the page fetches
``/api/preview.wav`` and ``/api/captions.vtt`` with the header, so the token never appears in
a media URL (and seeking works in a blob without range requests).

Each request's call on the studio runs under the studio's one lock (:attr:`Studio.lock`, whose
docstring says what it guards), so it sees the session as one request left it; a draft waits
for its clip outside it, and an export's progress is read without it. While the first
render runs, what needs every sentence's clip (edits, Export; the preview until a sentence is
ready) is answered 409 with a one-line message.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import re
import secrets
import signal
import socket
import sys
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, TypeVar
from urllib.parse import parse_qs

import uvicorn
from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from voicer.errors import InputError, VoicerError
from voicer.options import BY_NAME
from voicer.studio.session import Draft, Rendering, Studio
from voicer.studio.views import StateView

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


LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
WILDCARDS = ("", "0.0.0.0", "::")


def allowed_hosts(bound: str, arrived: str, port: int) -> set[str]:
    """The Host headers that name this server, for a request that arrived at the local address
    ``arrived`` of a server listening on ``bound`` (the rule is in the module's docstring)."""
    names = {_name_of(arrived)}
    if bound not in WILDCARDS:
        names.add(_name_of(bound))
    if _is_loopback(arrived):
        names.update(LOOPBACK_NAMES)
    return {f"{name}:{port}" for name in names}


def exposure_warning(host: str) -> str | None:
    """What to tell the user who serves the studio on ``host``: None for loopback."""
    if _is_loopback(host):
        return None
    return (
        f"warning: --host {host or '0.0.0.0'} lets other machines reach the studio, and its "
        "token travels over plain HTTP in clear text: anyone who can watch the network can "
        "take it and rewrite the script; keep to 127.0.0.1 unless the network is yours alone"
    )


def _address(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """``name`` as an IP address (an IPv4-mapped IPv6 one as IPv4), None for a host name."""
    try:
        address = ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def _name_of(host: str) -> str:
    """``host`` as a Host header writes it: an IPv6 address in brackets, a name lower-case."""
    address = _address(host)
    if address is None:
        return host.lower()
    return f"[{address}]" if address.version == 6 else str(address)


def _is_loopback(host: str) -> bool:
    address = _address(host)
    return host.lower() == "localhost" if address is None else address.is_loopback


class Guard:
    """ASGI middleware: token, Host, Origin and body size are checked before any route runs,
    and every response gets the security headers."""

    def __init__(self, app: ASGIApp, token: str, host: str, port: int) -> None:
        self.app = app
        self.token = token
        self.host, self.port = host, port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan is off; websockets are not served
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
            return
        secured = _with_security_headers(send)
        refusal = self.refusal(scope)
        if refusal is None:
            body = await self.read_body(scope, receive)
            if body is not None:
                await self.answer(scope, _replay(body, receive), secured)
                return
            refusal = _error(413, f"a request body may hold at most {MAX_BODY} bytes")
        await refusal(scope, receive, secured)

    async def answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The app's answer; a failure inside it is one line on stderr and a plain 500."""
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            print(f"voicer: studio: internal error: {exc!r}", file=sys.stderr, flush=True)
            if not started:
                await _internal_error()(scope, receive, send)

    def refusal(self, scope: Scope) -> Response | None:
        """The response that refuses this request, or None when it may go on."""
        headers = _headers(scope)
        arrived = (scope.get("server") or (self.host, self.port))[0]
        hosts = allowed_hosts(self.host, arrived, self.port)
        if headers.get("host", "").lower() not in hosts:
            return _error(403, "this server answers only to its own address")
        origin = headers.get("origin")
        if origin is not None and origin.lower() not in {f"http://{name}" for name in hosts}:
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
        if length is not None and not re.fullmatch(r"[0-9]{1,9}", length):
            return _error(400, "a bad Content-Length")
        if length is not None and int(length) > MAX_BODY:
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


def _with_security_headers(send: Send) -> Send:
    """A send that adds the security headers to the response."""

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

    return secured


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


class _Body(BaseModel):
    """A request's JSON body: only the fields named, each of its exact type (no true for 1)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    usage: ClassVar[str]  # what to send, said when a body is refused


class BadBody(Exception):
    """A request body refused: its message says what is wrong and what to send."""


_RATE_LIMITS = "{:g} to {:g}".format(*(BY_NAME["rate"].bounds or (0, 0)))


class RetakeBody(_Body):
    usage = (
        'send JSON with any of "text" (the new text), "voice" (a name), "rate" (percent, '
        f'{_RATE_LIMITS}) and "pause" (ms after the sentence); null drops the sentence\'s own '
        "setting"
    )

    text: str | None = None
    voice: str | None = None
    rate: int | None = None
    pause: int | None = None

    @field_validator("text")
    @classmethod
    def _text_given(cls, text: str | None) -> str:
        if text is None:
            raise ValueError("the text is a string (leave it out to keep the text)")
        return text

    @model_validator(mode="after")
    def _something_given(self) -> RetakeBody:
        if not self.model_fields_set:
            raise ValueError("nothing to change")
        return self

    def settings(self) -> dict[str, str | int | None]:
        return {key: getattr(self, key) for key in SETTINGS if key in self.model_fields_set}


class ReadingBody(_Body):
    usage = 'send JSON like {"written": "重庆", "spoken": "崇庆"}'
    written: str
    spoken: str


class PinyinBody(_Body):
    usage = 'send JSON like {"word": "银行", "pinyin": "yin2 hang2"}'
    word: str
    pinyin: str


class DraftBody(_Body):
    usage = (
        'send JSON like {"text": "the sentence as typed so far", "version": 3} (version: the '
        "state's, optional)"
    )

    text: str
    version: int | None = None


SETTINGS = ("voice", "rate", "pause")
B = TypeVar("B", bound=_Body)


def _body(model: type[B]) -> Callable[[Request], Awaitable[B]]:
    """A route's dependency: the request's body as ``model``, or :class:`BadBody`, answered
    400 (not FastAPI's 422). pydantic reads the raw bytes, so JSON that does not parse, nests
    too deep or holds a lone surrogate is refused here too."""

    async def parsed(request: Request) -> B:
        try:
            return model.model_validate_json(await request.body())
        except ValidationError as error:
            first = error.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(part) for part in first["loc"])[:40]  # a key sent, or none
            reason = first["msg"].removeprefix("Value error, ")
            raise BadBody(f"{where + ': ' if where else ''}{reason}; {model.usage}") from None

    return parsed


def _sentence_number(text: str) -> int | None:
    """A sentence index as the API writes it: ASCII digits only, no sign, at most six."""
    return int(text) if re.fullmatch(r"[0-9]{1,6}", text) else None


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


def _internal_error() -> JSONResponse:
    """What a failure of the studio itself answers: nothing of the exception (its text may
    hold paths or the user's text), which goes to stderr."""
    return _error(500, "internal error: the studio's terminal says more")


def _no_sentence(index: str) -> JSONResponse:
    named = index if len(index) <= 12 else index[:12] + "…"
    return _error(404, f"there is no sentence {named!r}: sentences are numbered 0, 1, 2 …")


def create_app(studio: Studio, token: str, port: int, host: str = "127.0.0.1") -> Guard:
    """The studio's web application, every request guarded (see the module's docstring)."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    async def call(work: Callable[[], T]) -> T:
        def locked() -> T:
            with studio.lock:
                return work()

        return await run_in_threadpool(locked)

    def known(text: str) -> int | None:
        index = _sentence_number(text)
        return index if index is not None and index < len(studio.plan.segments) else None

    async def edit(index_text: str, change: Callable[[int], StateView]) -> Response:
        def work() -> Response:
            index = known(index_text)
            if index is None:
                return _no_sentence(index_text)
            try:
                return JSONResponse(change(index))
            except Rendering as exc:
                return _error(409, str(exc), index=index)
            except VoicerError as exc:  # bad input, an engine or a file that failed
                return _error(422, str(exc), index=index, state=studio.state())

        return await call(work)

    @app.get("/")
    def page() -> Response:
        html = (STATIC / "index.html").read_text(encoding="utf-8")
        return Response(html.replace(TOKEN_PLACEHOLDER, token), media_type=TYPES[".html"])

    # only the page's own files, by name: nothing the request says becomes a path
    served = {p.name: p for p in STATIC.iterdir() if p.is_file() and p.name != "index.html"}

    @app.get("/static/{name}")
    def static(name: str) -> Response:
        path = served.get(name)
        if path is None:
            return _error(404, "no such file")
        return Response(path.read_bytes(), media_type=TYPES.get(path.suffix, "text/plain"))

    @app.get("/api/state")
    async def state() -> Response:
        return JSONResponse(await call(studio.state))

    async def media(make: Callable[[], bytes | str], media_type: str) -> Response:
        """The preview's audio or captions, or a 409 while no sentence is ready."""
        try:
            return Response(await call(make), media_type=media_type)
        except Rendering as exc:
            return _error(409, str(exc))

    @app.get("/api/preview.wav")
    async def preview() -> Response:
        return await media(studio.preview_wav, "audio/wav")

    @app.get("/api/captions.vtt")
    async def captions() -> Response:
        return await media(studio.captions_vtt, "text/vtt; charset=utf-8")

    @app.post("/api/sentences/{index}/retake")
    async def retake(
        index: str, given: Annotated[RetakeBody, Depends(_body(RetakeBody))]
    ) -> Response:
        return await edit(index, lambda i: studio.retake(i, given.text, given.settings()))

    @app.post("/api/sentences/{index}/reading")
    async def reading(
        index: str, given: Annotated[ReadingBody, Depends(_body(ReadingBody))]
    ) -> Response:
        return await edit(index, lambda i: studio.set_reading(i, given.written, given.spoken))

    @app.post("/api/sentences/{index}/pinyin")
    async def pinyin(
        index: str, given: Annotated[PinyinBody, Depends(_body(PinyinBody))]
    ) -> Response:
        return await edit(index, lambda i: studio.set_pinyin(i, given.word, given.pinyin))

    @app.post("/api/sentences/{index}/draft")
    async def draft(index: str, given: Annotated[DraftBody, Depends(_body(DraftBody))]) -> Response:
        def work() -> Draft | Response | None:
            number = known(index)
            if number is None:
                return _no_sentence(index)
            return studio.draft(number, given.text, given.version)

        started = await call(work)
        if isinstance(started, Response):
            return started
        if started is not None:  # the answer comes once it is spoken, stopped or failed
            await asyncio.wait([asyncio.wrap_future(started.future)])
        return JSONResponse({"draft": None if started is None else started.describe()})

    @app.post("/api/sentences/{index}/undo")
    async def undo(index: str) -> Response:
        return await edit(index, studio.undo)

    @app.post("/api/export")
    async def export() -> Response:
        def work() -> Response:
            try:
                done = studio.export()
            except Rendering as exc:  # nothing is written before every clip is there
                return _error(409, str(exc), index=None)
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

    @app.exception_handler(BadBody)
    async def refused(request: Request, exc: BadBody) -> Response:
        return _error(400, str(exc))

    @app.exception_handler(Exception)
    async def failed(request: Request, exc: Exception) -> Response:
        return _internal_error()  # the Guard logs it, once, as it comes back up

    return Guard(app, token, host, port)


def page_url(host: str, port: int, token: str) -> str:
    """The address to open: loopback unless the server listens on one other address."""
    shown = host
    if host in {*WILDCARDS, "localhost"}:
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


def listen(host: str, port: int | None) -> socket.socket:
    """A listening socket on ``host``:``port`` (0 or None: a free port), or an InputError
    that says why not (a port in use, say)."""
    try:
        return bind(host, port)
    except OSError as exc:
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


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


def serve(studio: Studio, host: str, sock: socket.socket, on_ready: Callable[[str], None]) -> None:
    """Serve the studio on ``sock`` (from :func:`listen` on ``host``) until Ctrl-C (SIGINT)
    or SIGTERM; ``on_ready(url)`` once it is listening. Returns normally when stopped; the
    socket is closed then."""
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
