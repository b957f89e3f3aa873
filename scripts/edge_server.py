"""A loopback stand-in for the Edge read-aloud service, speaking its WebSocket protocol.

Every "word" of the text (two Han characters, or one Latin word) becomes a tone burst in real
MP3 audio (24 kHz, 48 kbit/s, mono, libmp3lame), and the WordBoundary events say where each
burst starts and how long it lasts, in the timeline of the PCM that was encoded.

Modes make it fail the way the real service does; a mode can apply to the next N connections
only. Faults can also strike at random: ``set_faults(0.3, ("http429", "drop"))`` answers about
30 % of synthesis connections in one of those modes (a seeded, repeatable draw). Run it by hand
with ``python scripts/edge_server.py --port 8765 --mode normal``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import re
import socket
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from xml.sax.saxutils import escape, unescape

import numpy as np
from aiohttp import WSMsgType, web

SERVICE_PATH = "/consumer/speech/synthesise/readaloud/edge/v1"
VOICES_PATH = "/consumer/speech/synthesise/readaloud/voices/list"
SAMPLE_RATE = 24000
TICKS_PER_SECOND = 10_000_000
MP3_BYTES_PER_SECOND = 6000  # 48 kbit/s
CHUNK_BYTES = 144 * 8  # eight MP3 frames (192 ms) per binary message

HAN_SECONDS = 0.18  # per Han character
LATIN_SECONDS = 0.06  # per letter or digit
SHORTEST_WORD = 0.12
GAP_SECONDS = 0.08  # silence between words
LEAD_IN_SECONDS = 0.1
TAIL_SECONDS = 0.15
AMPLITUDE = 0.5
FADE_SECONDS = 0.003

NOT_MP3 = b"RIFF\x00\x00\x00\x00WAVE" * (CHUNK_BYTES // 12)  # ffmpeg refuses this as MP3
HTTP_MODES = {"http403": 403, "http429": 429, "http503": 503}
MODES = (
    "normal",
    *HTTP_MODES,
    "no_audio",  # turn.start, then close: edge-tts raises NoAudioReceived
    "stall",  # accept the WebSocket, read the request, never answer
    "stall_handshake",  # accept TCP, never answer the HTTP upgrade
    "deaf",  # accept the WebSocket, then read nothing more (not even a close frame)
    "bad_content_type",  # an audio frame with Content-Type audio/x-wav
    "not_mp3",  # a complete answer whose audio/mpeg frames hold bytes that are not MP3
    "unknown_path",  # a text frame with an unknown Path
    "truncate",  # half of the audio, then a clean close without turn.end
    "drop",  # half of the audio, then the TCP connection is cut
)

_HAN = "\u3400-\u4dbf\u4e00-\u9fff"
_WORDS = re.compile(f"[{_HAN}]+|[^\\W{_HAN}_]+")
_SSML = re.compile(
    r"<voice name='(?P<voice>[^']*)'>"
    r"<prosody pitch='(?P<pitch>[^']*)' rate='(?P<rate>[^']*)' volume='(?P<volume>[^']*)'>"
    r"(?P<text>.*)</prosody></voice>",
    re.DOTALL,
)
_LONG_VOICE = re.compile(r"Microsoft Server Speech Text to Speech Voice \((.+), (.+)\)")
SERVED_VOICES = (
    ("zh-CN-XiaoxiaoNeural", "zh-CN", "Female"),
    ("zh-CN-YunxiNeural", "zh-CN", "Male"),
    ("en-US-AriaNeural", "en-US", "Female"),
    ("en-NZ-MollyNeural", "en-NZ", "Female"),  # a real voice that voicer does not bundle
)


# --- fake speech ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Word:
    """One tone burst: its text and where it lies in the encoded PCM, in samples."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Speech:
    """The MP3 answer for one text and the bursts in it."""

    mp3: bytes
    words: tuple[Word, ...]


def words_of(text: str) -> list[str]:
    """The spoken units: pairs of Han characters and Latin words, without punctuation.

    >>> words_of("今年GDP增长了5.2%，好。")
    ['今年', 'GDP', '增长', '了', '5', '2', '好']
    """
    found = []
    for run in _WORDS.findall(text):
        if re.match(f"[{_HAN}]", run):
            found += [run[i : i + 2] for i in range(0, len(run), 2)]
        else:
            found.append(run)
    return found


def word_seconds(word: str) -> float:
    """How long a word's burst lasts at normal speed."""
    if re.match(f"[{_HAN}]", word):
        return HAN_SECONDS * len(word)
    return max(SHORTEST_WORD, LATIN_SECONDS * len(word))


@lru_cache(maxsize=256)
def speak(text: str, speed: float = 1.0) -> Speech:
    """Tone bursts for the words of ``text`` (``speed`` 1.5 for rate +50%), encoded as MP3."""
    pieces = [np.zeros(_samples(LEAD_IN_SECONDS / speed), dtype=np.float32)]
    words = []
    at = len(pieces[0])
    for n, word in enumerate(words_of(text)):
        if n:
            pieces.append(np.zeros(_samples(GAP_SECONDS / speed), dtype=np.float32))
            at += len(pieces[-1])
        burst = _tone(_samples(word_seconds(word) / speed), 330.0 + 110.0 * (n % 3))
        words.append(Word(word, at, at + len(burst)))
        pieces.append(burst)
        at += len(burst)
    pieces.append(np.zeros(_samples(TAIL_SECONDS / speed), dtype=np.float32))
    return Speech(encode_mp3(np.concatenate(pieces)), tuple(words))


def _samples(seconds: float) -> int:
    return round(seconds * SAMPLE_RATE)


def _tone(length: int, frequency: float) -> np.ndarray:
    t = np.arange(length) / SAMPLE_RATE
    envelope = np.minimum(1.0, np.minimum(t, t[::-1]) / FADE_SECONDS)
    return (AMPLITUDE * envelope * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def burst_spans(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> list[tuple[int, int]]:
    """(start, end) in samples of every tone burst heard in decoded audio, in order.

    A burst is where the 5 ms mean of |x| exceeds a fifth of the loudest such mean, so gain
    changes (such as loudness normalisation) do not matter.
    """
    window = max(1, round(0.005 * sample_rate))
    level = np.convolve(np.abs(samples), np.ones(window) / window, mode="same")
    if not len(level) or level.max() <= 0:
        return []
    loud = np.concatenate([[False], level > level.max() / 5, [False]])
    edges = np.flatnonzero(loud[1:] != loud[:-1])
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def encode_mp3(samples: np.ndarray) -> bytes:
    """A raw MP3 stream like the service's: no ID3 tag, no Xing/LAME (gapless) header."""
    from voicer.ffmpeg import executable

    command = [executable(), "-nostdin", "-hide_banner", "-loglevel", "error"]
    command += ["-f", "f32le", "-ar", str(SAMPLE_RATE), "-ac", "1", "-i", "pipe:0"]
    command += ["-c:a", "libmp3lame", "-b:a", "48k", "-id3v2_version", "0", "-write_xing", "0"]
    command += ["-f", "mp3", "pipe:1"]
    pcm = np.ascontiguousarray(samples, dtype="<f4").tobytes()
    return subprocess.run(command, input=pcm, capture_output=True, check=True).stdout


def speed_of(rate: str) -> float:
    """Speaking speed for an SSML rate such as "+50%" (1.5); unparsable rates count as +0%."""
    match = re.fullmatch(r"([+-]\d+)%", rate)
    return max(0.1, 1.0 + int(match.group(1)) / 100) if match else 1.0


# --- the protocol -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """What one client asked for (the SSML's text and settings) and how it was answered."""

    text: str
    voice: str
    rate: str
    pitch: str
    volume: str
    word_boundary: bool
    mode: str


def parse_frame(frame: str) -> tuple[dict[str, str], str]:
    """Headers and body of a text message: ``Name:Value`` lines, a blank line, the body."""
    head, _, body = frame.partition("\r\n\r\n")
    headers = {}
    for line in head.split("\r\n"):
        name, _, value = line.partition(":")
        headers[name.strip()] = value.strip()
    return headers, body


def text_frame(request_id: str, path: str, body: object) -> str:
    head = f"X-RequestId:{request_id}\r\nContent-Type:application/json; charset=utf-8\r\n"
    return f"{head}Path:{path}\r\n\r\n{json.dumps(body, ensure_ascii=False)}"


def audio_frame(request_id: str, mp3: bytes, content_type: str = "audio/mpeg") -> bytes:
    """2-byte big-endian header length, header lines (ending in CRLF), then the MP3 bytes.

    edge-tts reads the length bytes as part of the first header line, so that line must be one
    it does not need (X-RequestId).
    """
    head = f"X-RequestId:{request_id}\r\nContent-Type:{content_type}\r\nPath:audio\r\n".encode()
    return len(head).to_bytes(2, "big") + head + mp3


def boundary_body(kind: str, text: str, start: int, end: int) -> dict[str, object]:
    """An audio.metadata body for one word or sentence (offsets in 100-ns ticks)."""
    offset = start * TICKS_PER_SECOND // SAMPLE_RATE
    duration = (end - start) * TICKS_PER_SECOND // SAMPLE_RATE
    data = {"Text": escape(text), "Length": len(text), "BoundaryType": kind}
    return {
        "Metadata": [{"Type": kind, "Data": {"Offset": offset, "Duration": duration, "text": data}}]
    }


def short_voice_name(long_name: str) -> str:
    """The short name of a voice as the SSML names it.

    >>> short_voice_name("Microsoft Server Speech Text to Speech Voice (zh-CN, XiaoxiaoNeural)")
    'zh-CN-XiaoxiaoNeural'
    """
    match = _LONG_VOICE.fullmatch(long_name)
    return f"{match.group(1)}-{match.group(2)}" if match else long_name


# --- the server -------------------------------------------------------------------------------


class EdgeServer:
    """The fake service on 127.0.0.1, run in a background thread with its own event loop."""

    def __init__(
        self,
        mode: str = "normal",
        latency: float = 0.0,
        realtime: float | None = None,
        port: int = 0,
    ) -> None:
        self._lock = threading.Lock()
        self._requests: list[Request] = []
        self.connections = 0
        self.open_now = self.most_at_once = 0  # synthesis connections open at once
        self.faults_injected = 0
        self.set_mode(mode)
        self.set_faults(0.0, ())
        self.set_pacing(latency, realtime)
        self._answers_left: int | None = None  # None: every request is answered
        self._socket = socket.create_server(("127.0.0.1", port))
        self.port = self._socket.getsockname()[1]
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}{SERVICE_PATH}?TrustedClientToken=test"

    @property
    def requests(self) -> list[Request]:
        """The requests received so far (those whose SSML arrived), oldest first."""
        with self._lock:
            return list(self._requests)

    def set_mode(self, mode: str, times: int | None = None) -> None:
        """Answer in ``mode`` from now on, or only for the next ``times`` connections."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; known: {', '.join(MODES)}")
        with self._lock:
            self._mode, self._mode_left = mode, times

    def set_faults(self, fraction: float, modes: Sequence[str], seed: int = 0) -> None:
        """Answer each new synthesis connection, with probability ``fraction``, in one of ``modes``.

        The draws come from ``random.Random(seed)``, so a run that opens its connections in the
        same order meets the same faults. A mode set with ``set_mode`` (other than "normal")
        takes precedence while it lasts. ``set_faults(0, ())`` turns random faults off.
        """
        unknown = [mode for mode in modes if mode not in MODES]
        if unknown or not 0.0 <= fraction <= 1.0 or (fraction > 0 and not modes):
            raise ValueError(f"bad faults: fraction {fraction!r}, modes {modes!r}")
        with self._lock:
            self._fault_fraction, self._fault_modes = fraction, tuple(modes)
            self._fault_random = random.Random(seed)

    def set_pacing(self, latency: float = 0.0, realtime: float | None = None) -> None:
        """Wait ``latency`` s before answering; send audio at ``realtime`` times real time."""
        with self._lock:
            self._latency, self._realtime = latency, realtime

    def hold(self) -> None:
        """Answer no synthesis request from now on (each waits) until :meth:`release`."""
        with self._lock:
            self._answers_left = 0

    def release(self, answers: int | None = None) -> None:
        """Answer ``answers`` more synthesis requests (in the order they arrived, as far as
        the event loop goes), then hold again; None: answer every one from now on."""
        with self._lock:
            self._answers_left = None if answers is None else (self._answers_left or 0) + answers

    def _may_answer(self) -> bool:
        with self._lock:
            if self._answers_left is None:
                return True
            if self._answers_left > 0:
                self._answers_left -= 1
                return True
            return False

    def reset(self) -> None:
        """Back to a normal, prompt server that has seen no request."""
        self.release()
        self.set_mode("normal")
        self.set_faults(0.0, ())
        self.set_pacing()
        with self._lock:
            self._requests.clear()
            self.connections = 0
            self.most_at_once = 0
            self.faults_injected = 0

    def start(self) -> EdgeServer:
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(),), daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the edge test server did not start")
        return self

    def stop(self) -> None:
        if self._loop and self._stopping:
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread:
            self._thread.join(10)

    def __enter__(self) -> EdgeServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        app = web.Application()
        app.router.add_get(SERVICE_PATH, self._synthesis)
        app.router.add_get(VOICES_PATH, self._voices)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        await web.SockSite(runner, self._socket).start()
        self._ready.set()
        await self._stopping.wait()
        await runner.cleanup()

    def _next_mode(self, faults: bool = False) -> str:
        """How to answer a new connection; ``faults``: random faults may strike it."""
        with self._lock:
            self.connections += 1
            mode = self._mode
            if self._mode_left is not None:
                self._mode_left -= 1
                if self._mode_left <= 0:
                    self._mode, self._mode_left = "normal", None
            if mode == "normal" and faults:
                mode = self._draw_fault()
            return mode

    def _draw_fault(self) -> str:
        """A mode from the random faults ("normal" when none strikes); the lock is held."""
        if self._fault_fraction <= 0 or self._fault_random.random() >= self._fault_fraction:
            return "normal"
        self.faults_injected += 1
        return self._fault_random.choice(self._fault_modes)

    async def _voices(self, request: web.Request) -> web.StreamResponse:
        mode = self._next_mode()
        if mode in HTTP_MODES:
            return web.Response(status=HTTP_MODES[mode], text=mode)
        if mode.startswith("stall"):
            await self._stall()
        return web.json_response([_voice_entry(*voice) for voice in SERVED_VOICES])

    async def _synthesis(self, request: web.Request) -> web.StreamResponse:
        mode = self._next_mode(faults=True)
        if mode in HTTP_MODES:
            return web.Response(status=HTTP_MODES[mode], text=f"{mode} (test server)")
        if mode == "stall_handshake":
            await self._stall()
            return web.Response(status=503, text="the test server is stopping")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        with self._lock:
            self.open_now += 1
            self.most_at_once = max(self.most_at_once, self.open_now)
        try:
            asked = await self._read_request(ws, mode)
            if asked is not None:
                request_id, speech_request = asked
                await self._answer(ws, request, mode, request_id, speech_request)
            if not ws.closed:
                await ws.close()
        finally:
            with self._lock:
                self.open_now -= 1
        return ws

    async def _read_request(
        self, ws: web.WebSocketResponse, mode: str
    ) -> tuple[str, Request] | None:
        """The request id and what was asked, from the speech.config and ssml messages."""
        word_boundary = False
        while True:
            message = await ws.receive(timeout=10)
            if message.type != WSMsgType.TEXT:
                return None
            headers, body = parse_frame(message.data)
            if headers.get("Path") == "speech.config":
                word_boundary = '"wordBoundaryEnabled":"true"' in body
            elif headers.get("Path") == "ssml":
                break
        match = _SSML.search(body)
        if match is None:
            return None
        asked = Request(
            text=unescape(match["text"]),
            voice=short_voice_name(match["voice"]),
            rate=match["rate"],
            pitch=match["pitch"],
            volume=match["volume"],
            word_boundary=word_boundary,
            mode=mode,
        )
        with self._lock:
            self._requests.append(asked)
        return headers.get("X-RequestId", "0"), asked

    async def _answer(
        self,
        ws: web.WebSocketResponse,
        http_request: web.Request,
        mode: str,
        rid: str,
        asked: Request,
    ) -> None:
        if mode == "stall":
            return await self._stall(ws)
        if mode == "deaf":
            return await self._stall()
        while not self._may_answer():  # held by the test
            await asyncio.sleep(0.01)
        await asyncio.sleep(self._latency)
        await ws.send_str(text_frame(rid, "turn.start", {"context": {"serviceTag": "test"}}))
        if mode == "no_audio":
            return None
        if mode == "unknown_path":
            return await ws.send_str(text_frame(rid, "turn.mystery", {}))
        if mode == "bad_content_type":
            return await ws.send_bytes(audio_frame(rid, b"RIFF....WAVE", "audio/x-wav"))
        response = {"context": {"serviceTag": "test"}, "audio": {"type": "inline", "streamId": rid}}
        await ws.send_str(text_frame(rid, "response", response))
        complete = await self._stream(ws, rid, asked, mode)
        if complete:
            await ws.send_str(text_frame(rid, "turn.end", {}))
        elif mode == "drop" and http_request.transport is not None:
            http_request.transport.abort()
        return None

    async def _stream(self, ws: web.WebSocketResponse, rid: str, asked: Request, mode: str) -> bool:
        """Send metadata and audio in several messages; False when the mode cut it short."""
        speech = speak(asked.text, speed_of(asked.rate))
        chunks = [speech.mp3[i : i + CHUNK_BYTES] for i in range(0, len(speech.mp3), CHUNK_BYTES)]
        metadata = _metadata_by_chunk(speech, asked, len(chunks))
        started = time.monotonic()
        for n, chunk in enumerate(chunks):
            if mode in ("truncate", "drop") and n >= max(1, len(chunks) // 2):
                return False
            for body in metadata.get(n, []):
                await ws.send_str(text_frame(rid, "audio.metadata", body))
            await self._pace(started, (n + 1) * CHUNK_BYTES)
            await ws.send_bytes(audio_frame(rid, NOT_MP3 if mode == "not_mp3" else chunk))
        return True

    async def _pace(self, started: float, sent_bytes: int) -> None:
        if self._realtime:
            due = started + sent_bytes / MP3_BYTES_PER_SECOND / self._realtime
            await asyncio.sleep(max(0.0, due - time.monotonic()))

    async def _stall(self, ws: web.WebSocketResponse | None = None) -> None:
        """Say nothing until the server stops (or, reading ``ws``, until the client leaves)."""
        assert self._stopping is not None
        stopping = asyncio.ensure_future(self._stopping.wait())
        waits: set[asyncio.Future[Any]] = {stopping}
        if ws is not None:
            waits.add(asyncio.ensure_future(_drain(ws)))
        _, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()


async def _drain(ws: web.WebSocketResponse) -> None:
    async for _ in ws:
        pass


def _metadata_by_chunk(speech: Speech, asked: Request, chunks: int) -> dict[int, list[dict]]:
    """The audio.metadata bodies to send before each audio chunk (words before their audio)."""
    if asked.word_boundary:
        bodies = [
            (w.start, boundary_body("WordBoundary", w.text, w.start, w.end)) for w in speech.words
        ]
    elif speech.words:
        first, last = speech.words[0], speech.words[-1]
        bodies = [
            (first.start, boundary_body("SentenceBoundary", asked.text, first.start, last.end))
        ]
    else:
        bodies = []
    by_chunk: dict[int, list[dict]] = {}
    for start, body in bodies:
        n = min(chunks - 1, start * MP3_BYTES_PER_SECOND // SAMPLE_RATE // CHUNK_BYTES)
        by_chunk.setdefault(n, []).append(body)
    return by_chunk


def _voice_entry(name: str, locale: str, gender: str) -> dict[str, object]:
    return {
        "Name": f"Microsoft Server Speech Text to Speech Voice ({locale}, {name.split('-')[-1]})",
        "ShortName": name,
        "Gender": gender,
        "Locale": locale,
        "FriendlyName": f"{name} (test server)",
        "Status": "GA",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--mode", choices=MODES, default="normal")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before answering")
    parser.add_argument("--realtime", type=float, default=None, help="audio pace, x real time")
    args = parser.parse_args()
    with EdgeServer(args.mode, args.latency, args.realtime, args.port) as server:
        print(f"VOICER_EDGE_URL={server.url}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
