"""The edge engine: Microsoft Edge's online read-aloud voices, reached through edge-tts.

One request per piece of text (well under the service's 4096-byte limit), each bounded by a
timeout; the MP3 answer is decoded to PCM and the WordBoundary events become word marks.
Every failure becomes a one-line SynthesisError (EngineUnavailable when the service cannot be
reached at all), marked transient when trying again may help (timeouts, dropped connections,
HTTP 403/429/5xx, no audio) and throttled for HTTP 429; see voicer.synthesis.retry.
"""

from __future__ import annotations

import asyncio
import contextvars
import http
import json
import os
import re
import socket
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit
from xml.sax.saxutils import escape

import aiohttp
import edge_tts
import edge_tts.communicate
import edge_tts.voices
import numpy as np
from edge_tts.exceptions import EdgeTTSException, NoAudioReceived, WebSocketError

from voicer import ffmpeg
from voicer.errors import EngineUnavailable, InputError, SynthesisError, VoicerError
from voicer.model import Clip, Mark, Prosody, Voice
from voicer.script.sentences import is_speakable, split_to_fit
from voicer.synthesis import cancel
from voicer.synthesis.engines.registry import EDGE_JOBS

SAMPLE_RATE = 24000  # the service only sends audio-24khz-48kbitrate-mono-mp3
TICKS_PER_SECOND = 10_000_000  # WordBoundary offsets and durations are in 100-ns ticks
MAX_REQUEST_BYTES = 1500  # XML-escaped UTF-8 bytes per request; the service's limit is 4096

# WordBoundary offsets count from the start of the synthesised speech, but a decoded MP3 stream
# without a gapless (LAME/Xing) header starts later than that by the encoder's look-ahead plus
# the decoder's filterbank delay. Measured with libmp3lame at 24 kHz / 48 kbit/s decoded by
# ffmpeg: 576 + 529 = 1105 samples (46 ms). Marks are shifted by this much so that they fall on
# the speech in the decoded PCM. (Not verified against the real service's own encoder.)
MP3_CODEC_DELAY = 1105

URL_ENV = "VOICER_EDGE_URL"
TIMEOUT_ENV = "VOICER_EDGE_TIMEOUT"
PROBE_TEXT = "你好"
PROBE_VOICE = "zh-CN-XiaoxiaoNeural"
VOICE_LIST_TIMEOUT = 5.0

_LIBRARY_WSS_URL = edge_tts.communicate.WSS_URL
_LIBRARY_VOICE_LIST = edge_tts.voices.VOICE_LIST
_VOICE_NAME = re.compile(r"[a-z]{2,3}(-[A-Z][a-z]{3})?-[A-Z]{2}(-[a-z]+)?-[A-Z][A-Za-z0-9]*Neural")
_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}
# HTTP answers worth another try. edge-tts already retries a 403 once, after correcting its
# clock; a 403 that outlives that usually comes from a burst of requests and passes. 429 asks
# us to slow down (throttled).
_TRANSIENT_STATUS = frozenset({403, 429, 500, 502, 503, 504})
# connection errors that trying again cannot mend
_LASTING_CLIENT_ERRORS = (aiohttp.InvalidURL, aiohttp.ServerFingerprintMismatch)
T = TypeVar("T")


def is_edge_voice_name(name: str) -> bool:
    """Whether ``name`` looks like an edge voice.

    >>> is_edge_voice_name("zh-CN-XiaoxiaoNeural"), is_edge_voice_name("zh-CN-shaanxi-XiaoniNeural")
    (True, True)
    >>> is_edge_voice_name("zf_xiaobei")
    False
    """
    return _VOICE_NAME.fullmatch(name) is not None


@dataclass(frozen=True)
class _Answer:
    """What the service sent for one request: MP3 bytes and WordBoundary events."""

    audio: bytes
    boundaries: tuple[dict[str, Any], ...]


class EdgeEngine:
    """Microsoft Edge's online neural voices (needs the network)."""

    name = "edge"
    word_marks = True
    takes_pinyin = False  # the service drops SSML of its callers' own: no phonemes
    default_jobs = EDGE_JOBS

    def __init__(self, url: str | None = None, timeout: float | None = None) -> None:
        """``url``: the service's WebSocket URL (default: $VOICER_EDGE_URL, else edge-tts's own).

        ``timeout``: seconds allowed per request (default: $VOICER_EDGE_TIMEOUT, else 20 s plus
        0.1 s per character).
        """
        self.url = _resolve_url(url)
        self.timeout = timeout if timeout is not None else _env_timeout()
        self._live_voices: list[Voice] | None = None

    @property
    def cache_version(self) -> str:
        return f"edge/{self.url or 'service'}/edge-tts {edge_tts.__version__}/{MP3_CODEC_DELAY}"

    def voices(self) -> list[Voice]:
        """The service's voice list when it answers within a few seconds, else the bundled one."""
        live = self.live_voices()
        return bundled_voices() if live is None else live

    def live_voices(self) -> list[Voice] | None:
        """The service's own voice list, or None when it does not answer within a few seconds
        (asked once per engine, until it answers)."""
        if self._live_voices is None:
            try:
                self._live_voices = _run(self._fetch_voices())
            except Exception:  # any failure at all means: no live list
                return None
        return list(self._live_voices)

    def speaks(self, language: str) -> bool:
        """Edge has voices for every language voicer knows."""
        return True

    def ignored_settings(self, prosody: Prosody) -> list[str]:
        """Edge honours rate, volume and pitch."""
        return []

    def synthesise(self, text: str, voice: str, prosody: Prosody) -> Clip:
        """Speak ``text``: one request per piece of at most MAX_REQUEST_BYTES, joined."""
        pieces = [piece for piece in split_to_fit(text, _fits_one_request) if is_speakable(piece)]
        parts = [self._synthesise_piece(piece, voice, prosody) for piece in pieces]
        return join_clips(parts)

    def request_timeout(self, text: str) -> float:
        """Seconds one request for ``text`` may take."""
        if self.timeout is not None:
            return self.timeout
        return 20.0 + 0.1 * len(text)

    def _synthesise_piece(self, text: str, voice: str, prosody: Prosody) -> Clip:
        request = self._request(text, voice, prosody, self.request_timeout(text))
        answer = _run(_stoppable(request))
        try:
            samples = ffmpeg.decode(answer.audio, SAMPLE_RATE)
        except SynthesisError as exc:
            raise exc.within("edge") from exc
        marks = tuple(_mark(event) for event in answer.boundaries)
        return Clip(samples=samples, sample_rate=SAMPLE_RATE, marks=marks)

    async def _request(self, text: str, voice: str, prosody: Prosody, timeout: float) -> _Answer:
        try:
            # A server that accepts and then stays silent hangs edge-tts forever: bound it here.
            return await asyncio.wait_for(self._stream(text, voice, prosody, timeout), timeout)
        except Exception as exc:  # every failure becomes a one-line SynthesisError
            raise _explain(exc, text, voice, timeout) from exc

    async def _stream(self, text: str, voice: str, prosody: Prosody, timeout: float) -> _Answer:
        _point_library_at(self.url)
        seconds = max(1, round(timeout))
        settings = prosody.edge_args()
        communicate = edge_tts.Communicate(
            text,
            voice,
            rate=settings["rate"],
            volume=settings["volume"],
            pitch=settings["pitch"],
            boundary="WordBoundary",
            connect_timeout=min(seconds, 10),
            receive_timeout=seconds,
        )
        audio = bytearray()
        boundaries = []
        async for chunk in communicate.stream():
            if chunk["type"] == "audio":
                audio += chunk["data"]
            elif chunk["type"] == "WordBoundary":
                boundaries.append(dict(chunk))
        if not _turn_ended(communicate):
            raise SynthesisError(
                f"edge: the connection ended before the audio was complete for {_preview(text)}",
                transient=True,
            )
        return _Answer(bytes(audio), tuple(boundaries))

    async def _fetch_voices(self) -> list[Voice]:
        _point_library_at(self.url)
        if self.url is not None and _voice_list_url(self.url) is None:
            raise LookupError("no voice list URL for this service URL")
        found = await asyncio.wait_for(edge_tts.list_voices(), VOICE_LIST_TIMEOUT)
        return [
            Voice(name=v["ShortName"], engine="edge", language=v["Locale"], gender=v["Gender"])
            for v in found
        ]


def probe(timeout: float = 3.0, url: str | None = None) -> str | None:
    """None when the service synthesises a short word within ``timeout`` s, else why not."""
    engine = EdgeEngine(url, timeout)
    try:
        _run(engine._request(PROBE_TEXT, PROBE_VOICE, Prosody(), timeout))
    except SynthesisError as exc:
        return str(exc)
    return None


def bundled_voices() -> list[Voice]:
    """The well-known edge voices shipped with voicer (used when the service is unreachable)."""
    return list(_bundled_voices())


@cache
def _bundled_voices() -> tuple[Voice, ...]:
    path = resources.files("voicer.synthesis.engines").joinpath("voices/edge_voices.json")
    entries = json.loads(path.read_text(encoding="utf-8"))
    return tuple(
        Voice(name=e["name"], engine="edge", language=e["locale"], gender=e["gender"])
        for e in entries
    )


def is_bundled(name: str) -> bool:
    """Whether ``name`` is in the list of edge voices bundled with voicer.

    >>> is_bundled("zh-CN-YunyangNeural"), is_bundled("zh-CN-YunyanNeural")
    (True, False)
    """
    return any(voice.name == name for voice in _bundled_voices())


def gender_of(voice: str) -> str | None:
    """The gender ("Female" or "Male") of a voice in the bundled list, else None.

    >>> gender_of("zh-CN-YunyangNeural"), gender_of("xx-XX-NobodyNeural")
    ('Male', None)
    """
    return next((v.gender for v in _bundled_voices() if v.name == voice), None)


def join_clips(clips: list[Clip]) -> Clip:
    """One clip of ``clips`` played in turn, each one's marks shifted by the samples before it."""
    marks: list[Mark] = []
    before = 0
    for clip in clips:
        marks += [Mark(m.start + before, m.end + before, m.text) for m in clip.marks]
        before += len(clip.samples)
    if clips:
        samples = np.concatenate([clip.samples for clip in clips]).astype(np.float32, copy=False)
    else:
        samples = np.zeros(0, dtype=np.float32)
    return Clip(samples=samples, sample_rate=SAMPLE_RATE, marks=tuple(marks))


def _fits_one_request(text: str) -> bool:
    return len(escape(text).encode("utf-8")) <= MAX_REQUEST_BYTES


def _mark(event: dict[str, Any]) -> Mark:
    offset, duration = event["offset"], event["duration"]
    start = round(offset * SAMPLE_RATE / TICKS_PER_SECOND) + MP3_CODEC_DELAY
    end = round((offset + duration) * SAMPLE_RATE / TICKS_PER_SECOND) + MP3_CODEC_DELAY
    return Mark(start=start, end=end, text=event["text"])


def _turn_ended(communicate: edge_tts.Communicate) -> bool:
    """Whether the service finished its turn (edge-tts ends quietly when the socket just closes).

    edge-tts adds a request's audio bytes to ``cumulative_audio_bytes`` only on turn.end.
    """
    state: dict[str, Any] = dict(communicate.state)
    return state.get("cumulative_audio_bytes", 1) > 0


# --- where the service is ---------------------------------------------------------------------


def _resolve_url(url: str | None) -> str | None:
    """The URL to use, or None for edge-tts's own."""
    url = url if url is not None else os.environ.get(URL_ENV) or None
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname or "?" not in url:
        raise InputError(
            f"edge: the service URL must be ws:// or wss:// with a query string "
            f"(such as ...?TrustedClientToken=x), not {url!r}"
        )
    return url


def _point_library_at(url: str | None) -> None:
    """Make edge-tts talk to ``url`` (None: its own service).

    edge-tts builds its request URLs from module globals that it imported by name, so they are
    set in the modules that use them (setting edge_tts.constants would have no effect). They
    are process-wide: every EdgeEngine in one process should use the same URL.
    """
    edge_tts.communicate.WSS_URL = url or _LIBRARY_WSS_URL
    edge_tts.voices.VOICE_LIST = (_voice_list_url(url) if url else None) or _LIBRARY_VOICE_LIST
    if url:
        _bypass_proxies_for(url)


def _voice_list_url(url: str) -> str | None:
    """The voice list beside a service URL, or None when the URL is not shaped like edge's.

    >>> _voice_list_url("ws://h:1/readaloud/edge/v1?TrustedClientToken=x")
    'http://h:1/readaloud/voices/list?trustedclienttoken=x'
    """
    parts = urlsplit(url)
    if not parts.path.endswith("/edge/v1"):
        return None
    scheme = {"ws": "http", "wss": "https"}[parts.scheme]
    path = parts.path.removesuffix("/edge/v1") + "/voices/list"
    query = parts.query.replace("TrustedClientToken=", "trustedclienttoken=")
    return urlunsplit((scheme, parts.netloc, path, query, ""))


def _bypass_proxies_for(url: str) -> None:
    """Keep a proxy from the environment (edge-tts trusts it) away from a loopback server."""
    host = urlsplit(url).hostname
    if host is None or host not in _LOOPBACK_HOSTS and not host.startswith("127."):
        return
    for name in ("NO_PROXY", "no_proxy"):
        entries = [e.strip() for e in os.environ.get(name, "").split(",") if e.strip()]
        if host not in entries:
            os.environ[name] = ",".join([*entries, host])


def _env_timeout() -> float | None:
    value = os.environ.get(TIMEOUT_ENV)
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise InputError(f"edge: {TIMEOUT_ENV} must be a number of seconds above 0, not {value!r}")
    return seconds


# --- running and explaining -------------------------------------------------------------------


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion, also when called from inside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as pool:
        # in this thread's context, so that the caller's Stop (voicer.synthesis.cancel) holds
        return pool.submit(contextvars.copy_context().run, asyncio.run, coroutine).result()


async def _stoppable(coroutine: Coroutine[Any, Any, T]) -> T:
    """``coroutine``, cancelled when the caller's Stop is stopped."""
    task, loop = asyncio.current_task(), asyncio.get_running_loop()
    assert task is not None
    with cancel.on_stop(lambda: loop.call_soon_threadsafe(task.cancel)):
        return await coroutine


def _explain(exc: BaseException, text: str, voice: str, timeout: float) -> SynthesisError:
    """The one-line SynthesisError that tells a user what went wrong, and whether to retry."""
    exc = _unwrap(exc)
    if isinstance(exc, VoicerError):
        return exc if isinstance(exc, SynthesisError) else SynthesisError(str(exc))
    if isinstance(exc, TimeoutError):
        return SynthesisError(f"edge: no answer within {timeout:g} s", transient=True)
    if isinstance(exc, aiohttp.ClientResponseError):
        return _explain_status(exc.status)
    if isinstance(exc, aiohttp.ClientConnectorError):
        where = f"{exc.host}:{exc.port}"
        return EngineUnavailable(
            f"edge: cannot reach the service at {where} ({_os_reason(exc.os_error)})"
        )
    if isinstance(exc, NoAudioReceived):
        message = f"edge: no audio received for {_preview(text)} with voice {voice}"
        return SynthesisError(message, transient=True)
    if isinstance(exc, EdgeTTSException):
        return SynthesisError(f"edge: unexpected answer from the service ({_one_line(exc)})")
    if isinstance(exc, aiohttp.ClientError):
        message = f"edge: the connection failed ({_one_line(exc)})"
        return SynthesisError(message, transient=not isinstance(exc, _LASTING_CLIENT_ERRORS))
    if isinstance(exc, OSError):
        message = f"edge: the connection failed ({_os_reason(exc)})"
        return SynthesisError(message, transient=isinstance(exc, ConnectionError))
    return SynthesisError(f"edge: {_one_line(exc)}")


def _explain_status(status: int) -> SynthesisError:
    """An HTTP error answer to the WebSocket handshake.

    >>> error = _explain_status(429)
    >>> str(error), error.transient, error.throttled
    ('edge: the service answered HTTP 429 (too many requests)', True, True)
    >>> _explain_status(503).transient, _explain_status(404).transient
    (True, False)
    """
    return SynthesisError(
        f"edge: the service answered HTTP {status} ({_phrase(status)})",
        transient=status in _TRANSIENT_STATUS,
        throttled=status == http.HTTPStatus.TOO_MANY_REQUESTS,
    )


def _unwrap(exc: BaseException) -> BaseException:
    """The connection error inside a WebSocketError, else ``exc``.

    aiohttp hands a failed read (a reset connection, say) to edge-tts as an error message
    carrying the exception, and edge-tts raises WebSocketError with it.
    """
    cause = exc.args[0] if isinstance(exc, WebSocketError) and exc.args else None
    return cause if isinstance(cause, aiohttp.ClientError | OSError) else exc


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase.lower()
    except ValueError:
        return "unexpected status"


def _os_reason(error: OSError) -> str:
    if isinstance(error, socket.gaierror) or not error.errno:
        return _one_line(error.strerror or error)
    return os.strerror(error.errno)


def _one_line(thing: object) -> str:
    text = " ".join(str(thing).split()) or type(thing).__name__
    return text if len(text) <= 160 else text[:159] + "…"


def _preview(text: str) -> str:
    flat = " ".join(text.split())
    return f"“{flat}”" if len(flat) <= 24 else f"“{flat[:23]}…”"
