"""``voicer render`` as a user runs it, when things go wrong: random faults of the edge service,
a retry budget that runs out, a damaged cache entry; and what it prints while it copes.

The renders that must fail, and those on a terminal, are real ``python -m voicer``
subprocesses; the others run the same command in this process (what it prints and writes is
the subject, not the interpreter). Audio is WAV, whose bytes are the
same from one render of the same clips to the next (no time stamp without ``--bwf``), so "the
same output" means byte for byte, and the decoded samples are checked to hold one stretch of
sound per sentence, so that two equally broken files cannot pass as equal.
"""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import tty
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import srt
from speech_audio import decode, invoke_voicer, speech_runs
from test_edge_cli import voicer

pytestmark = pytest.mark.slow  # renders against a faulty service, retried with real back-off

REPO = Path(__file__).resolve().parent.parent
PARAGRAPHS = [
    ["各位来宾，大家好。", "今天我们在这里相聚。", "首先感谢各位的支持。", "过去一年成绩显著。"],
    ["经济保持稳定增长。", "科技创新取得突破。", "生态环境持续改善。", "人民生活水平提高。"],
    ["对外开放不断扩大。", "展望未来，任务依然艰巨。", "我们要坚定信心。", "谢谢大家！"],
]
SENTENCES = [sentence for paragraph in PARAGRAPHS for sentence in paragraph]  # 12, all different
SPEECH = "".join("".join(paragraph) + "\n" for paragraph in PARAGRAPHS)
LINE_OF = {sentence: n for n, paragraph in enumerate(PARAGRAPHS, 1) for sentence in paragraph}
FAULTS = ("http429", "http503", "drop", "no_audio", "stall", "truncate")
SUMMARY = re.compile(
    r"(?P<clock>\d+:\d\d\.\d) of audio in (?P<seconds>[\d.]+) s \(real-time factor [\d.]+\); "
    r"(?P<sentences>\d+) sentences?, (?P<jobs>\d+) at a time: (?P<synthesised>\d+) clips? "
    r"synthesised, (?P<cached>\d+) from the cache, (?P<retries>\d+) retr(y|ies)"
)
RETRY_LINE = re.compile(r"voicer: attempt (\d+) for “(.+)” failed: (.+); retry in \d+\.\d s")
BAR = re.compile(r"\r\[[#.]{24}\] \d+/\d+ sentences, ")  # cli.ProgressBar
MASTERING_BAR = re.compile(r"\r\[[#.]{24}\] mastering \d+:\d\d\.\d of audio, \d+%")


def voicer_on_a_terminal(*args: str, cwd: Path) -> tuple[int, str, str]:
    """Run ``python -m voicer`` with stderr on a pseudo-terminal (raw: no CR added to each
    newline); return the exit code, stdout and everything written to the terminal."""
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    main, terminal = pty.openpty()
    tty.setraw(terminal)
    with subprocess.Popen(
        [sys.executable, "-m", "voicer", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=terminal,
        env={**os.environ, "PYTHONPATH": path},
    ) as process:
        os.close(terminal)
        written = bytearray()
        while True:
            try:
                chunk = os.read(main, 4096)
            except OSError:  # EIO: the child closed its end
                break
            if not chunk:
                break
            written += chunk
        os.close(main)
        stdout = process.stdout.read().decode() if process.stdout else ""
        code = process.wait(timeout=120)
    return code, stdout, written.decode(errors="replace")


@dataclass(frozen=True)
class Summary:
    sentences: int
    jobs: int
    synthesised: int
    cached: int
    retries: int


def summary_of(result: subprocess.CompletedProcess) -> Summary:
    """The closing line of a render on stdout, which must be the summary."""
    assert result.returncode == 0, result.stderr
    last = result.stdout.splitlines()[-1]
    match = SUMMARY.fullmatch(last)
    assert match, last
    return Summary(*(int(match[name]) for name in Summary.__dataclass_fields__))


def render(*args: str, cwd: Path, env: dict[str, str] | None = None):
    """``voicer render ARGS`` in this process, its output as text."""
    return invoke_voicer("render", *args, cwd=cwd, env=env, text=True)


def write_speech(folder: Path, speech: str = SPEECH) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "talk.txt").write_text(speech, encoding="utf-8")
    return folder


def assert_same_render(wav: Path, expected_wav: Path, sentences: int = len(SENTENCES)) -> None:
    """The same audio, byte for byte, and the same SRT text; and the audio is real: one
    stretch of sound per sentence, one cue per sentence."""
    subtitles = wav.with_suffix(".srt").read_text(encoding="utf-8")
    assert subtitles == expected_wav.with_suffix(".srt").read_text(encoding="utf-8")
    assert len(list(srt.parse(subtitles))) == sentences
    assert wav.read_bytes() == expected_wav.read_bytes()
    assert len(speech_runs(decode(wav))) == sentences


def clips_in(cache_dir: Path) -> list[Path]:
    return sorted(cache_dir.rglob("*.clip"))


# --- 1. random faults, retried: the same output as a render that met none ----------------------


def test_random_faults_are_retried_into_the_output_of_a_clean_render(edge_server, tmp_path):
    clean = write_speech(tmp_path / "clean")
    args = ["--engine", "edge", "-o", "out.wav", "--jobs", "4"]
    result = render("talk.txt", *args, "--no-cache", cwd=clean)
    assert (summary_of(result).retries, edge_server.faults_injected) == (0, 0)

    edge_server.reset()
    # seed 162 strikes 6 of the 18 connections a 12-sentence render opens, each mode once
    edge_server.set_faults(0.3, FAULTS, seed=162)
    faulty = write_speech(tmp_path / "faulty")
    args += ["--retries", "8", "--cache-dir", "cache"]
    result = render("talk.txt", *args, cwd=faulty, env={"VOICER_EDGE_TIMEOUT": "1.5"})
    summary = summary_of(result)
    assert edge_server.faults_injected > 0
    assert summary.retries >= edge_server.faults_injected > 0  # every fault was tried again
    assert edge_server.connections == len(SENTENCES) + summary.retries  # one per attempt
    assert (summary.synthesised, summary.cached) == (len(SENTENCES), 0)
    # the faults that get past the handshake (an HTTP error does not) were of several kinds
    assert len({request.mode for request in edge_server.requests} - {"normal"}) >= 3
    assert "attempt" not in result.stderr  # retries are silent without -v
    assert "\r" not in result.stderr
    assert_same_render(faulty / "out.wav", clean / "out.wav")


# --- 2. the number of jobs changes nothing in the output ---------------------------------------


@pytest.mark.parametrize("engine", ["edge", "tone"])
def test_any_number_of_jobs_renders_the_same_output(engine, edge_server, tmp_path):
    # edge answers at 20x real time, so with 5 jobs short sentences finish before long ones
    edge_server.set_pacing(realtime=20.0)
    renders = {}
    for jobs in ("1", "5"):
        work = write_speech(tmp_path / f"jobs{jobs}")
        args = ["--engine", engine, "-o", "out.wav", "--jobs", jobs, "--no-cache"]
        summary = summary_of(render("talk.txt", *args, cwd=work))
        assert summary == Summary(len(SENTENCES), int(jobs), len(SENTENCES), 0, 0)
        renders[jobs] = work / "out.wav"
    assert_same_render(renders["5"], renders["1"])
    if engine == "edge":  # each sentence asked for once per render
        assert sorted(r.text for r in edge_server.requests) == sorted(SENTENCES * 2)


# --- 3. beyond the retry budget: one line, no output, and the cache keeps what was done ---------


def test_a_spent_retry_budget_fails_cleanly_and_the_next_run_resumes(edge_server, tmp_path):
    work = write_speech(tmp_path / "work")
    cache_dir = tmp_path / "cache"
    args = ["--engine", "edge", "-o", "audio/talk.wav", "--jobs", "1", "--retries", "1"]
    args += ["--cache-dir", str(cache_dir)]
    # one job: connections go in script order. With seed 19 the 7th sentence meets HTTP 503 on
    # both of its attempts, after six sentences made it through (two of them on a retry).
    edge_server.set_faults(0.5, ["http503"], seed=19)
    failed = voicer("render", "talk.txt", *args, cwd=work)
    assert failed.returncode == 1, failed.stderr
    answered = {request.text for request in edge_server.requests}  # 503s never get this far
    failing = next(sentence for sentence in SENTENCES if sentence not in answered)
    done = SENTENCES.index(failing)
    assert 0 < done < len(SENTENCES) - 1
    lines = failed.stderr.splitlines()
    assert lines[-1] == (
        f"voicer: error: line {LINE_OF[failing]} (“{failing}”): edge: the service answered "
        "HTTP 503 (service unavailable) (gave up after 2 attempts)"
    )
    assert [line for line in lines if "error" in line or "Traceback" in line] == lines[-1:]
    assert failed.stdout == ""
    assert [p.name for p in work.rglob("*")] == ["talk.txt"]  # no audio/, no .part files
    cached = len(clips_in(cache_dir))
    # every sentence before the failing one was finished and kept (a later one may have been
    # finished too, by the worker that went on while the error was being reported)
    assert done <= cached <= len(answered)

    edge_server.reset()
    resumed = render("talk.txt", *args, cwd=work)
    summary = summary_of(resumed)
    assert f"{cached} from the cache" in resumed.stdout.splitlines()[-1]
    assert (summary.cached, summary.synthesised) == (cached, len(SENTENCES) - cached)
    asked = [request.text for request in edge_server.requests]
    assert len(asked) == len(SENTENCES) - cached < len(SENTENCES)
    assert not set(asked) & set(SENTENCES[:done])
    assert len(speech_runs(decode(work / "audio" / "talk.wav"))) == len(SENTENCES)
    assert len(clips_in(cache_dir)) == len(SENTENCES)


# --- 4. a damaged cache entry is made again, never used ---------------------------------------


def test_a_corrupt_cache_entry_is_synthesised_again(tmp_path):
    work = write_speech(tmp_path / "work")
    cache_dir = tmp_path / "cache"
    args = ["--engine", "tone", "--cache-dir", str(cache_dir)]
    first = summary_of(render("talk.txt", *args, "-o", "first.wav", cwd=work))
    assert (first.synthesised, first.cached) == (len(SENTENCES), 0)
    clips = clips_in(cache_dir)
    assert len(clips) == len(SENTENCES)
    damaged = clips[len(clips) // 2]
    good = damaged.read_bytes()
    corrupt = bytearray(good)
    for offset in range(len(corrupt) - 400, len(corrupt) - 392):  # samples, not the header
        corrupt[offset] ^= 0x5A
    damaged.write_bytes(bytes(corrupt))

    second = summary_of(render("talk.txt", *args, "-o", "second.wav", cwd=work))
    assert (second.synthesised, second.cached) == (1, len(SENTENCES) - 1)
    assert_same_render(work / "second.wav", work / "first.wav")
    assert damaged.read_bytes() == good  # replaced by the clip made again
    assert clips_in(cache_dir) == clips
    assert not list(cache_dir.rglob("*.part"))


# --- 5. what the user sees: -v, -q, and a progress bar only on a terminal -----------------------

SHORT_SPEECH = "".join("".join(paragraph) + "\n" for paragraph in PARAGRAPHS[:2])
SHORT_SENTENCES = [sentence for paragraph in PARAGRAPHS[:2] for sentence in paragraph]
PACED = 0.3  # seconds before each answer: eight sentences one at a time take over 2 s


@pytest.mark.slow
def test_verbose_reports_each_retry_once_and_no_bar_off_a_terminal(edge_server, tmp_path):
    work = write_speech(tmp_path, SHORT_SPEECH)
    edge_server.set_pacing(latency=PACED)
    # one job, so in script order: the 3rd sentence meets 429 then succeeds, the 4th a dropped
    # connection then 503, then succeeds, the 6th no audio, then succeeds
    edge_server.set_faults(0.3, ["http429", "http503", "drop", "no_audio", "truncate"], seed=2)
    args = ["--engine", "edge", "-o", "out.wav", "--jobs", "1", "--no-cache", "-v"]
    result = render("talk.txt", *args, cwd=work)
    assert "\r" not in result.stderr and "\x1b" not in result.stderr
    summary = summary_of(result)
    assert summary.retries == edge_server.faults_injected == 4
    retried = [RETRY_LINE.fullmatch(line) for line in result.stderr.splitlines()]
    retried = [(int(m[1]), m[2], m[3]) for m in retried if m]
    assert len(retried) == summary.retries
    assert [(attempt, text) for attempt, text, _ in retried] == [
        (1, SHORT_SENTENCES[2]),
        (1, SHORT_SENTENCES[3]),
        (2, SHORT_SENTENCES[3]),
        (1, SHORT_SENTENCES[5]),
    ]
    reasons = [reason for _, _, reason in retried]
    assert reasons[0] == "edge: the service answered HTTP 429 (too many requests)"
    assert reasons[1].startswith("edge: the connection ended before the audio was complete")
    assert reasons[2] == "edge: the service answered HTTP 503 (service unavailable)"
    assert reasons[3].startswith("edge: no audio received")


@pytest.mark.slow
def test_a_terminal_gets_a_progress_bar_and_quiet_prints_nothing(edge_server, tmp_path):
    """The control for the check above: the same slow render draws a bar on a terminal; with
    -q it prints nothing at all, not even there."""
    work = write_speech(tmp_path, SHORT_SPEECH)
    edge_server.set_pacing(latency=PACED)
    args = ["render", "talk.txt", "--engine", "edge", "--jobs", "1", "--no-cache"]
    # both at once: each waits on the paced service most of the time
    with ThreadPoolExecutor(2) as threads:
        loud = threads.submit(voicer_on_a_terminal, *args, "-o", "loud.wav", cwd=work)
        quiet = threads.submit(voicer_on_a_terminal, *args, "-o", "quiet.wav", "-q", cwd=work)
        (code, stdout, terminal), quiet_run = loud.result(), quiet.result()
    assert code == 0, terminal
    assert BAR.search(terminal), terminal
    # the paced service holds synthesis past the bar's delay, so mastering shows too
    assert MASTERING_BAR.search(terminal), terminal
    assert SUMMARY.fullmatch(stdout.splitlines()[-1])

    code, stdout, terminal = quiet_run
    assert code == 0, terminal
    assert (stdout, terminal) == ("", "")
    assert_same_render(work / "quiet.wav", work / "loud.wav", len(SHORT_SENTENCES))


def test_a_sentence_said_twice_is_synthesised_once_and_counted_the_same_every_time(
    edge_server, tmp_path
):
    """Repeated words run at the same moment on several jobs: one request, the rest cache
    hits, and the same counts on every render into a fresh cache."""
    repeated = "谢谢大家！"
    speech = f"{repeated}各位来宾。{repeated}今天开会。{repeated}\n{repeated}{repeated}再见。\n"
    edge_server.set_pacing(latency=PACED)
    counts = []
    for run in range(2):
        work = write_speech(tmp_path / f"run{run}", speech)
        args = ["--engine", "edge", "-o", "out.wav", "--jobs", "4", "--cache-dir", "cache"]
        before = len(edge_server.requests)
        summary = summary_of(render("talk.txt", *args, cwd=work))
        counts.append((summary.synthesised, summary.cached, len(edge_server.requests) - before))
    assert counts == [(4, 4, 4), (4, 4, 4)]
