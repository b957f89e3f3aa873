"""The edge engine under random faults, retried by the synthesis pool's worker threads."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import aiohttp
import numpy as np
import pytest
from conftest import closed_port_url
from edge_server import HTTP_MODES
from edge_tts.exceptions import UnexpectedResponse, WebSocketError

from voicer.errors import EngineUnavailable, SynthesisError
from voicer.model import Clip, Prosody
from voicer.synthesis.engines.edge import EdgeEngine, _explain
from voicer.synthesis.retry import Backoff, RetryPolicy, call_with_retries

VOICE = "zh-CN-XiaoxiaoNeural"
SUBJECTS = ("我们", "大家", "政府", "企业", "学校", "城市")
GOALS = ("坚持改革开放。", "重视科技创新。", "保护生态环境。", "提高生活水平。", "加强国际合作。")
SENTENCES = [subject + goal for subject in SUBJECTS for goal in GOALS]  # 30, all different
FAULTS = ("http429", "http503", "drop", "no_audio", "stall", "truncate")
RETRIED = RetryPolicy(retries=10, base_delay=0.05, max_delay=0.4)


def render(
    policy: RetryPolicy, retried: list[SynthesisError] | None = None, texts: list[str] = SENTENCES
) -> dict[str, Clip]:
    """Every text spoken by four worker threads, each request wrapped in call_with_retries."""
    engine = EdgeEngine()
    backoff = Backoff()

    def on_retry(attempt: int, error: SynthesisError, delay: float) -> None:
        if retried is not None:
            retried.append(error)

    def speak(text: str) -> Clip:
        action = partial(engine.synthesise, text, VOICE, Prosody())
        return call_with_retries(action, policy, backoff, on_retry)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(texts, pool.map(speak, texts), strict=True))


@pytest.fixture
def short_timeout(edge_server, monkeypatch):
    """Requests give up after 1.5 s (a stalled connection costs no more than that)."""
    monkeypatch.setenv("VOICER_EDGE_TIMEOUT", "1.5")
    return edge_server


@pytest.mark.slow
def test_with_retries_every_clip_is_exactly_what_a_run_without_faults_makes(short_timeout):
    server = short_timeout
    expected = render(RetryPolicy(retries=0))
    assert (server.connections, server.faults_injected) == (len(SENTENCES), 0)
    server.reset()
    server.set_faults(0.3, FAULTS, seed=5)  # this seed draws every mode, "stall" once
    retried: list[SynthesisError] = []
    clips = render(RETRIED, retried)
    for text, clip in clips.items():
        assert np.array_equal(clip.samples, expected[text].samples), text
        assert clip.marks == expected[text].marks, text
    assert server.faults_injected > 0
    assert len(retried) == server.faults_injected  # every fault was seen once and retried
    assert server.connections == len(SENTENCES) + server.faults_injected
    assert {request.mode for request in server.requests} == {"normal", *FAULTS} - HTTP_MODES.keys()
    reasons = {str(error).split(" for ")[0].split(" within ")[0] for error in retried}
    assert reasons == {
        "edge: the service answered HTTP 429 (too many requests)",
        "edge: the service answered HTTP 503 (service unavailable)",
        "edge: the connection ended before the audio was complete",  # drop and truncate
        "edge: no audio received",
        "edge: no answer",  # stall
    }
    assert all(error.throttled == ("HTTP 429" in str(error)) for error in retried)


def test_with_no_retries_the_first_fault_is_final_and_marked_transient(short_timeout):
    short_timeout.set_faults(1.0, [mode for mode in FAULTS if mode != "stall"])
    with pytest.raises(SynthesisError) as caught:
        render(RetryPolicy(retries=0), texts=SENTENCES[:1])
    assert caught.value.transient
    assert str(caught.value).endswith(" (gave up after 1 attempt)")
    assert short_timeout.connections == 1


def test_a_spent_budget_names_the_attempts_and_keeps_the_throttled_flag(short_timeout):
    short_timeout.set_faults(1.0, ["http429"])
    retried: list[SynthesisError] = []
    policy = RetryPolicy(retries=3, base_delay=0.01)
    with pytest.raises(SynthesisError) as caught:
        render(policy, retried, texts=SENTENCES[:1])
    assert str(caught.value) == (
        "edge: the service answered HTTP 429 (too many requests) (gave up after 4 attempts)"
    )
    assert (caught.value.transient, caught.value.throttled) == (True, True)
    assert (short_timeout.connections, len(retried)) == (4, 3)


# --- which failures are worth another try ------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("mode", "transient", "throttled"),
    [
        ("http429", True, True),
        ("http403", True, False),
        ("http503", True, False),
        ("no_audio", True, False),
        ("stall", True, False),
        ("stall_handshake", True, False),
        ("deaf", True, False),
        ("truncate", True, False),
        ("drop", True, False),
        ("bad_content_type", False, False),
        ("unknown_path", False, False),
        ("not_mp3", False, False),
    ],
)
def test_each_failure_mode_is_classified(edge_server, mode, transient, throttled):
    edge_server.set_mode(mode)
    with pytest.raises(SynthesisError) as caught:
        EdgeEngine(timeout=1.0).synthesise(SENTENCES[0], VOICE, Prosody())
    assert type(caught.value) is SynthesisError
    assert (caught.value.transient, caught.value.throttled) == (transient, throttled)


def test_an_unknown_voice_is_not_worth_another_try(edge_server):
    with pytest.raises(SynthesisError) as caught:
        EdgeEngine().synthesise(SENTENCES[0], "Bob", Prosody())
    assert not caught.value.transient


def test_a_closed_port_fails_fast_as_engine_unavailable_without_retries():
    attempts: list[float] = []

    def attempt() -> Clip:
        attempts.append(time.monotonic())
        return EdgeEngine(closed_port_url(), 5.0).synthesise(SENTENCES[0], VOICE, Prosody())

    started = time.monotonic()
    with pytest.raises(EngineUnavailable) as caught:
        call_with_retries(attempt, RetryPolicy(retries=5, base_delay=5.0), Backoff())
    assert time.monotonic() - started < 1.0
    assert not caught.value.transient and len(attempts) == 1


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (aiohttp.ServerDisconnectedError(), True),
        (aiohttp.ClientPayloadError("truncated"), True),
        (aiohttp.ClientOSError(104, "Connection reset by peer"), True),
        (ConnectionResetError(104, "Connection reset by peer"), True),
        (WebSocketError(aiohttp.ClientConnectionResetError("reset")), True),
        (WebSocketError("Unknown error"), False),
        (UnexpectedResponse("missing the header length"), False),
        (aiohttp.InvalidURL("ws://"), False),
        (PermissionError(13, "Permission denied"), False),
        (ValueError("Invalid voice 'Bob'"), False),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else str(value),
)
def test_errors_the_test_server_cannot_provoke_are_classified(error, transient):
    explained = _explain(error, "你好", VOICE, 1.0)
    assert type(explained) is SynthesisError and "\n" not in str(explained)
    assert (explained.transient, explained.throttled) == (transient, False)


@pytest.mark.parametrize(
    ("status", "transient"), [(500, True), (502, True), (504, True), (400, False), (404, False)]
)
def test_http_answers_are_classified(status, transient):
    response = aiohttp.ClientResponseError(None, (), status=status)
    explained = _explain(response, "你好", VOICE, 1.0)
    assert f"HTTP {status}" in str(explained)
    assert (explained.transient, explained.throttled) == (transient, False)
