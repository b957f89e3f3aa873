"""The edge engine against a loopback server that speaks the Edge read-aloud protocol."""

from __future__ import annotations

import asyncio
import json
import time
from importlib import resources

import numpy as np
import pytest
from conftest import closed_port_url
from edge_server import (
    GAP_SECONDS,
    LEAD_IN_SECONDS,
    SERVED_VOICES,
    TAIL_SECONDS,
    burst_spans,
    word_seconds,
    words_of,
)

from voicer.errors import EngineUnavailable, InputError, SynthesisError
from voicer.model import Clip, Prosody
from voicer.synthesis.engines.edge import MAX_REQUEST_BYTES, EdgeEngine, is_edge_voice_name, probe

VOICE = "zh-CN-XiaoxiaoNeural"
ZH = "大家好，今天我们讨论经济。"
EN = "Good evening, and welcome to the news."
TOLERANCE = round(0.030 * 24000)  # 30 ms in samples


def expected_seconds(text: str, speed: float = 1.0) -> float:
    words = words_of(text)
    spoken = sum(map(word_seconds, words)) + GAP_SECONDS * (len(words) - 1)
    return (LEAD_IN_SECONDS + spoken + TAIL_SECONDS) / speed


def assert_marks_on_bursts(clip: Clip) -> None:
    """Each mark starts and ends within 30 ms of the tone burst heard in the decoded audio."""
    spans = burst_spans(clip.samples, clip.sample_rate)
    assert len(spans) == len(clip.marks)
    for (start, end), mark in zip(spans, clip.marks, strict=True):
        assert abs(start - mark.start) <= TOLERANCE, (mark, start)
        assert abs(end - mark.end) <= TOLERANCE, (mark, end)


def synthesise(text: str = ZH, prosody: Prosody | None = None, timeout: float = 5.0) -> Clip:
    return EdgeEngine(timeout=timeout).synthesise(text, VOICE, prosody or Prosody())


# --- speech and marks ------------------------------------------------------------------------


def test_speech_is_decoded_to_audible_pcm_of_plausible_length(edge_server):
    clip = synthesise(ZH)
    assert clip.sample_rate == 24000
    assert clip.samples.dtype == np.float32
    assert np.sqrt(np.mean(clip.samples**2)) > 0.1
    assert clip.duration == pytest.approx(expected_seconds(ZH), abs=0.1)


@pytest.mark.parametrize(
    ("text", "rate"),
    [(ZH, 0), (EN, 0), ("今年GDP增长了5.2%，比去年高。", 0), (ZH, 50), (EN, -30)],
)
def test_marks_line_up_with_the_words_in_the_audio(edge_server, text, rate):
    clip = synthesise(text, Prosody(rate=rate))
    assert [mark.text for mark in clip.marks] == words_of(text)
    assert_marks_on_bursts(clip)
    assert clip.duration == pytest.approx(expected_seconds(text, 1 + rate / 100), abs=0.1)


def test_voice_text_and_prosody_reach_the_service(edge_server):
    text = "AT&T <rocks> \"quoted\" 'single'"
    EdgeEngine().synthesise(text, "en-GB-SoniaNeural", Prosody(rate=5, volume=-10, pitch=3))
    [request] = edge_server.requests
    assert (request.text, request.voice) == (text, "en-GB-SoniaNeural")
    assert (request.rate, request.volume, request.pitch) == ("+5%", "-10%", "+3Hz")
    assert request.word_boundary


@pytest.mark.slow
def test_long_chinese_text_is_split_into_requests_and_marks_are_shifted(edge_server):
    text = "我们要坚持以人民为中心的发展思想，不断增进民生福祉，" * 22  # 572 characters, no spaces
    assert len(text.encode()) > MAX_REQUEST_BYTES
    clip = synthesise(text)
    texts = [request.text for request in edge_server.requests]
    assert len(texts) >= 2
    assert "".join(texts) == text
    assert all(len(piece.encode()) <= MAX_REQUEST_BYTES for piece in texts)
    assert [mark.text for mark in clip.marks] == [w for piece in texts for w in words_of(piece)]
    assert_marks_on_bursts(clip)


def test_text_with_nothing_to_say_makes_no_request(edge_server):
    clip = synthesise("——……")
    assert (len(clip.samples), clip.marks, edge_server.requests) == (0, (), [])


def test_works_when_called_inside_a_running_event_loop(edge_server):
    async def inside() -> Clip:
        return synthesise(ZH)

    assert len(asyncio.run(inside()).marks) == len(words_of(ZH))


def test_a_proxy_in_the_environment_does_not_intercept_loopback(edge_server, monkeypatch):
    proxy = closed_port_url().replace("ws://", "http://").split("/consumer")[0]
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "WS_PROXY", "ALL_PROXY", "http_proxy", "ws_proxy"):
        monkeypatch.setenv(name, proxy)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "example.org")
    assert len(synthesise(ZH).marks) == len(words_of(ZH))


# --- failures ----------------------------------------------------------------------------------


FAILURES = [
    ("http403", "HTTP 403 (forbidden)"),
    ("http429", "HTTP 429 (too many requests)"),
    ("http503", "HTTP 503 (service unavailable)"),
    ("no_audio", "no audio received for “大家好"),
    ("bad_content_type", "unexpected answer from the service"),
    ("unknown_path", "unexpected answer from the service"),
    ("truncate", "the connection ended before the audio was complete"),
    ("drop", "the connection ended before the audio was complete"),
    ("stall", "no answer within 1 s"),
    ("stall_handshake", "no answer within 1 s"),
    ("deaf", "no answer within 1 s"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("mode", "reason"), FAILURES)
def test_each_failure_is_one_line_synthesis_error_and_never_hangs(edge_server, mode, reason):
    edge_server.set_mode(mode)
    started = time.monotonic()
    with pytest.raises(SynthesisError) as caught:
        synthesise(ZH, timeout=1.0)
    assert time.monotonic() - started < 2.5
    assert type(caught.value) is SynthesisError
    message = str(caught.value)
    assert message.startswith("edge: ") and reason in message
    assert "\n" not in message and "Traceback" not in message


def test_a_forbidden_handshake_is_tried_twice_by_edge_tts(edge_server):
    edge_server.set_mode("http403")
    with pytest.raises(SynthesisError):
        synthesise(ZH)
    assert edge_server.connections == 2


def test_a_mode_can_fail_only_the_first_requests(edge_server):
    edge_server.set_mode("http429", times=2)
    for _ in range(2):
        with pytest.raises(SynthesisError, match="429"):
            synthesise(ZH)
    assert len(synthesise(ZH).marks) == len(words_of(ZH))


def test_nothing_listening_means_engine_unavailable():
    with pytest.raises(EngineUnavailable) as caught:
        synthesise(ZH)
    assert "edge: cannot reach the service at 127.0.0.1:" in str(caught.value)
    assert str(caught.value).endswith("(Connection refused)")


@pytest.mark.slow
def test_timeout_comes_from_the_environment(edge_server, monkeypatch):
    monkeypatch.setenv("VOICER_EDGE_TIMEOUT", "0.5")
    edge_server.set_mode("stall")
    with pytest.raises(SynthesisError, match=r"^edge: no answer within 0\.5 s$"):
        EdgeEngine().synthesise(ZH, VOICE, Prosody())


def test_default_timeout_grows_with_the_text(monkeypatch):
    engine = EdgeEngine()
    assert engine.request_timeout("短") < engine.request_timeout("长" * 500)
    assert EdgeEngine(timeout=3).request_timeout("长" * 500) == 3


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("VOICER_EDGE_URL", "ws://127.0.0.1:1/no/query"),
        ("VOICER_EDGE_URL", "http://127.0.0.1:1/x?y=1"),
        ("VOICER_EDGE_TIMEOUT", "soon"),
        ("VOICER_EDGE_TIMEOUT", "-1"),
    ],
)
def test_bad_settings_are_input_errors(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(InputError, match=f"^edge: {name if 'TIME' in name else 'the service URL'}"):
        EdgeEngine()


def test_an_invalid_voice_is_a_synthesis_error(edge_server):
    with pytest.raises(SynthesisError, match="^edge: Invalid voice 'Bob'"):
        EdgeEngine().synthesise(ZH, "Bob", Prosody())
    assert edge_server.requests == []


# --- probe -------------------------------------------------------------------------------------


def test_probe_passes_on_a_working_service(edge_server):
    assert probe(timeout=3) is None
    assert edge_server.requests[0].voice == VOICE


def test_probe_explains_a_closed_port():
    reason = probe(timeout=3, url=closed_port_url())
    assert reason is not None and reason.startswith("edge: cannot reach the service")


@pytest.mark.slow
def test_probe_gives_up_on_a_stalling_service_within_its_timeout(edge_server):
    edge_server.set_mode("stall")
    started = time.monotonic()
    assert probe(timeout=1.0) == "edge: no answer within 1 s"
    assert time.monotonic() - started < 2.0


# --- voices ------------------------------------------------------------------------------------


def test_voices_come_from_the_service_when_it_answers(edge_server):
    voices = EdgeEngine().voices()
    assert [(v.name, v.language, v.gender) for v in voices] == list(SERVED_VOICES)
    assert {v.engine for v in voices} == {"edge"}


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["http503", "stall"])
def test_voices_fall_back_to_the_bundled_list(edge_server, monkeypatch, mode):
    monkeypatch.setattr("voicer.synthesis.engines.edge.VOICE_LIST_TIMEOUT", 0.5)
    edge_server.set_mode(mode)
    names = {v.name: v.gender for v in EdgeEngine().voices()}
    assert len(names) > 40
    assert names["zh-CN-YunxiNeural"] == "Male"


def test_bundled_voices_include_every_mainland_chinese_voice():
    path = resources.files("voicer.synthesis.engines").joinpath("voices/edge_voices.json")
    entries = json.loads(path.read_text(encoding="utf-8"))
    genders = {e["name"]: e["gender"] for e in entries}
    assert len(genders) == len(entries)
    assert all(is_edge_voice_name(name) for name in genders)
    assert set(genders.values()) == {"Female", "Male"}
    zh_cn = {name: gender[0] for name, gender in genders.items() if name.startswith("zh-CN-")}
    assert zh_cn == {
        "zh-CN-XiaoxiaoNeural": "F",
        "zh-CN-XiaoyiNeural": "F",
        "zh-CN-YunjianNeural": "M",
        "zh-CN-YunxiNeural": "M",
        "zh-CN-YunxiaNeural": "M",
        "zh-CN-YunyangNeural": "M",
        "zh-CN-liaoning-XiaobeiNeural": "F",
        "zh-CN-shaanxi-XiaoniNeural": "F",
    }
    assert {"zh-HK", "zh-TW", "en-US", "en-GB"} <= {e["locale"] for e in entries}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("zh-CN-XiaoxiaoNeural", True),
        ("zh-CN-shaanxi-XiaoniNeural", True),
        ("en-US-AndrewMultilingualNeural", True),
        ("fil-PH-AngeloNeural", True),
        ("zf_xiaobei", False),
        ("XiaoxiaoNeural", False),
        ("zh-CN-Xiaoxiao", False),
    ],
)
def test_edge_voice_names_are_recognised(name, expected):
    assert is_edge_voice_name(name) is expected


def test_engine_speaks_everything_and_honours_all_settings():
    engine = EdgeEngine()
    assert engine.name == "edge"
    assert engine.speaks("zh") and engine.speaks("other")
    assert engine.ignored_settings(Prosody(rate=10, volume=-5, pitch=2)) == []
