"""``voicer render`` end to end with the edge engine, against the loopback Edge server.

Renders whose subject is what they write, ask the service for or say about the engine run the
command in this process; failures and the usage error are real ``python -m voicer`` runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import srt
from edge_server import burst_spans, words_of
from speech_audio import invoke_voicer

from voicer import ffmpeg

REPO = Path(__file__).resolve().parent.parent
SENTENCES = ["大家好。", "今天我们讨论经济问题！", "GDP增长了百分之五。"]
SPEECH = f"{SENTENCES[0]}{SENTENCES[1]}\n{SENTENCES[2]}\n"


def voicer(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m voicer`` as a user would (the environment carries VOICER_EDGE_URL)."""
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "voicer", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": path, **(env or {})},
        timeout=120,
        check=False,
    )


@pytest.fixture
def talk(tmp_path: Path) -> Path:
    (tmp_path / "talk.txt").write_text(SPEECH, encoding="utf-8")
    return tmp_path


def render(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``voicer render ARGS`` in this process, its output as text."""
    return invoke_voicer("render", *args, cwd=cwd, text=True)


def error_line(result: subprocess.CompletedProcess) -> str:
    """The whole of stderr, which must be one line."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_render_writes_audio_and_an_srt_cue_on_each_sentence(edge_server, talk):
    result = render("talk.txt", "--engine", "edge", "-o", "out.mp3", cwd=talk)
    assert result.returncode == 0, result.stderr
    cues = list(srt.parse((talk / "out.srt").read_text(encoding="utf-8")))
    assert [cue.content for cue in cues] == [s.rstrip("。") for s in SENTENCES]  # zh-netflix style
    bursts = burst_spans(ffmpeg.decode((talk / "out.mp3").read_bytes(), 48000), 48000)
    words = [len(words_of(sentence)) for sentence in SENTENCES]
    assert len(bursts) == sum(words)
    firsts = [bursts[sum(words[:n])][0] / 48000 for n in range(len(SENTENCES))]
    for cue, onset in zip(cues, firsts, strict=True):
        assert abs(cue.start.total_seconds() - onset) < 0.040, (cue.content, onset)


def test_voice_and_rate_reach_the_service(edge_server, talk):
    args = ["--voice", "zh-CN-XiaoxiaoNeural", "--rate", "+5%"]
    result = render("talk.txt", "--engine", "edge", *args, cwd=talk)
    assert result.returncode == 0, result.stderr
    asked = {(r.voice, r.rate) for r in edge_server.requests}
    assert asked == {("zh-CN-XiaoxiaoNeural", "+5%")}
    assert sorted(r.text for r in edge_server.requests) == sorted(SENTENCES)
    assert (talk / "audio" / "talk.mp3").exists() and (talk / "audio" / "talk.srt").exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("mode", "env", "reason"),
    [
        ("http429", {}, "edge: the service answered HTTP 429 (too many requests)"),
        ("stall", {"VOICER_EDGE_TIMEOUT": "1"}, "edge: no answer within 1 s"),
    ],
)
def test_a_failing_service_exits_1_with_one_line_and_writes_nothing(
    edge_server, talk, mode, env, reason
):
    edge_server.set_mode(mode)
    args = ["--engine", "edge", "--retries", "1", "-q"]
    result = voicer("render", "talk.txt", *args, cwd=talk, env=env)  # a hang: subprocess timeout
    assert result.returncode == 1
    line = error_line(result)
    assert line.startswith("voicer: error: line ")
    assert line.endswith(f"{reason} (gave up after 2 attempts)")
    # (the cache folder is the test's: it may hold jieba's files voicer keeps, never a clip)
    written = [p.name for p in talk.rglob("*") if not p.is_dir()]
    assert [name for name in written if not name.startswith("jieba")] == ["talk.txt"]


@pytest.mark.slow
def test_a_failure_keeps_the_earlier_good_output(edge_server, talk):
    assert render("talk.txt", "--engine", "edge", cwd=talk).returncode == 0
    outputs = [talk / "audio" / "talk.mp3", talk / "audio" / "talk.srt"]
    before = [path.read_bytes() for path in outputs]
    edge_server.set_mode("http503")
    args = ["--engine", "edge", "--no-cache", "--retries", "0"]
    result = voicer("render", "talk.txt", *args, cwd=talk)
    assert result.returncode == 1
    assert "HTTP 503" in result.stderr.splitlines()[-1]
    assert [path.read_bytes() for path in outputs] == before
    assert sorted(p.name for p in (talk / "audio").iterdir()) == ["talk.mp3", "talk.srt"]


def test_auto_uses_edge_when_the_service_answers(edge_server, talk):
    result = render("talk.txt", "--engine", "auto", cwd=talk)
    assert result.returncode == 0, result.stderr
    assert "with edge zh-CN-YunyangNeural" in result.stdout
    assert sorted(r.text for r in edge_server.requests[-3:]) == sorted(SENTENCES)


@pytest.mark.slow
def test_a_malformed_service_url_is_a_usage_error(talk):
    env = {"VOICER_EDGE_URL": "ws://127.0.0.1:1/no-query-string"}
    result = voicer("render", "talk.txt", "--engine", "edge", cwd=talk, env=env)
    assert result.returncode == 2
    assert "the service URL must be ws:// or wss://" in error_line(result)


@pytest.mark.slow
def test_auto_falls_back_to_kokoro_when_edge_is_unreachable(tmp_path):
    # the autouse fixture points VOICER_EDGE_URL at a closed port on 127.0.0.1
    (tmp_path / "short.txt").write_text("大家好。\n", encoding="utf-8")
    result = render("short.txt", "--engine", "auto", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    notices = [line for line in result.stderr.splitlines() if "unreachable" in line]
    assert len(notices) == 1
    assert "unreachable (cannot reach the service at 127.0.0.1:" in notices[0]
    assert "using the offline kokoro engine" in notices[0]
    assert "with kokoro" in result.stdout
    assert (tmp_path / "audio" / "short.srt").exists()
