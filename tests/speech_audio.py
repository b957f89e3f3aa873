"""Measuring rendered audio in tests, independently of voicer's own trimming code."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from voicer import ffmpeg

RATE = 48000


def decode(path: Path, rate: int = RATE) -> np.ndarray:
    """An audio file of any format ffmpeg reads, as mono float32 PCM at ``rate``."""
    return np.concatenate([np.empty(0, np.float32), *ffmpeg.decode_blocks(path, rate)])


def speech_runs(
    samples: np.ndarray, rate: int = RATE, min_silence: float = 0.3, floor_db: float = -40.0
) -> list[tuple[float, float]]:
    """(start, end) in seconds of stretches of sound separated by at least ``min_silence``.

    Sound is a 2 ms frame whose RMS is within ``-floor_db`` dB of the loudest frame.
    """
    frame = rate // 500
    usable = samples.size - samples.size % frame
    rms = np.sqrt(np.mean(np.square(samples[:usable].reshape(-1, frame)), axis=1))
    loud = np.flatnonzero(rms > rms.max() * 10 ** (floor_db / 20))
    if loud.size == 0:
        return []
    runs = []
    start = previous = loud[0]
    for index in loud[1:]:
        if (index - previous) * frame / rate >= min_silence:
            runs.append((start * frame / rate, (previous + 1) * frame / rate))
            start = index
        previous = index
    runs.append((start * frame / rate, (previous + 1) * frame / rate))
    return runs


def run_voicer(*args: str, cwd: Path, stdin: bytes | None = None, env: dict | None = None):
    """Run the CLI as a user would, in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "voicer", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        env={**os.environ, **(env or {})},
        timeout=600,
        check=False,
    )


def invoke_voicer(
    *args: str, cwd: Path, stdin: bytes | None = None, env: dict | None = None, text: bool = False
):
    """The CLI's command run in this process (click's test runner), for tests whose subject is
    what a render makes rather than the command line itself: no interpreter start, no import
    of scipy and jieba, and kokoro's worker processes stay up for the next render. The answer
    looks like ``run_voicer``'s (``returncode``, ``stdout`` and ``stderr``: bytes, or str with
    ``text``); an error that would end the process ends only this call, with its exit code, and
    anything else that escapes (an internal error) is raised here, traceback and all. The CLI
    contract itself (exit codes, one line, no traceback, signals) stays with ``run_voicer``."""
    from click.testing import CliRunner

    from voicer import cli

    def leave(code: int) -> None:
        raise SystemExit(code)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cli, "_leave", leave)
        patch.setenv("VOICER_DEBUG", "1")
        patch.chdir(cwd)  # undone with the rest
        result = CliRunner().invoke(cli.cli, list(args), input=stdin, env=env, prog_name="voicer")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    if text:
        return subprocess.CompletedProcess(
            ["voicer", *args], result.exit_code, result.stdout, result.stderr
        )
    return subprocess.CompletedProcess(
        ["voicer", *args], result.exit_code, result.stdout_bytes, result.stderr_bytes
    )


def interruptible() -> None:
    """For ``preexec_fn``: the child takes Ctrl-C (SIGINT) as a user's terminal would send it,
    even when the tests run where SIGINT is ignored (a shell's background job), which the
    child would otherwise inherit and Python would then leave ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def interrupted_batch(*args: str, cwd: Path, env: dict | None = None) -> tuple[int, str]:
    """``voicer batch`` ARGS run in ``cwd`` and sent Ctrl-C as soon as it has delivered a
    script (its stamp is written): its exit code and what it printed on stderr."""
    process = subprocess.Popen(
        [sys.executable, "-m", "voicer", "batch", *args], cwd=cwd,
        env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        preexec_fn=interruptible,
    )  # fmt: skip
    stamps = cwd / "out" / ".voicer-batch"
    while process.poll() is None and not (stamps.is_dir() and any(stamps.iterdir())):
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    return process.returncode, stderr.decode()


# --- kokoro's worker processes, found by a mark in their environment ---------------------------

WORKER = "engines.workers import serve"  # in a worker's command line


def marked(mark: str) -> dict[int, str]:
    """The live processes (not zombies) started with VOICER_TEST_MARK=``mark``: their command
    lines, by process id."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            environment = (entry / "environ").read_bytes().split(b"\0")
            if f"VOICER_TEST_MARK={mark}".encode() not in environment:
                continue
            found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError):
            continue  # ended meanwhile
    return found


def none_left(mark: str) -> dict[int, str]:
    """The processes still marked after a while to end (empty if they all ended)."""
    deadline = time.monotonic() + 30
    while (left := marked(mark)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def start_cli(folder: Path, *args: str, mark: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "VOICER_TEST_MARK": mark, "VOICER_CACHE_DIR": str(folder / "cache")}
    env.pop("VOICER_KOKORO_WORKERS", None)
    return subprocess.Popen(
        [sys.executable, "-m", "voicer", "render", *args, "--engine", "kokoro"],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=interruptible,
        start_new_session=True,  # a process group of its own, for a Ctrl-C at a terminal
    )


def workers_seen(process: subprocess.Popen[bytes], mark: str, until: int) -> set[int]:
    """The worker processes seen while ``process`` runs, watched until there are ``until``."""
    seen: set[int] = set()
    while process.poll() is None and len(seen) < until:
        seen |= {pid for pid, command in marked(mark).items() if WORKER in command}
        time.sleep(0.02)
    return seen


# --- the JSON timeline (voicer render --timeline), read back -----------------------------------


@dataclass(frozen=True)
class TimedWord:
    """A word as the engine spoke it: its text (as in the sentence's spoken text) and times."""

    text: str
    start: float  # seconds in the programme
    end: float
    start_sample: int
    end_sample: int


@dataclass(frozen=True)
class TimedCue:
    """A cue of the timeline: its number in the subtitle file, the author's text it covers."""

    index: int
    text: str
    lines: tuple[str, ...]
    start: float
    end: float
    start_sample: int
    end_sample: int


@dataclass(frozen=True)
class TimedSentence:
    """A sentence of the timeline: its speech span, cues and words (``None``: no ``words`` key)."""

    index: int
    text: str
    spoken: str
    start: float
    end: float
    start_sample: int
    end_sample: int
    cues: tuple[TimedCue, ...]
    words: tuple[TimedWord, ...] | None

    def word_positions(self) -> list[int]:
        """Where each word's text begins in the spoken text, searching forward (-1: not found)."""
        found, position = [], 0
        for word in self.words or ():
            at = self.spoken.find(word.text.strip(), position) if word.text.strip() else -1
            found.append(at)
            if at >= 0:
                position = at + len(word.text.strip())
        return found


@dataclass(frozen=True)
class Timeline:
    sample_rate: int
    engine: str
    voice: str
    sentences: tuple[TimedSentence, ...]

    @property
    def cues(self) -> list[TimedCue]:
        return [cue for sentence in self.sentences for cue in sentence.cues]


def read_timeline(path: Path) -> Timeline:
    """A timeline written by ``voicer render --timeline``."""
    document = json.loads(path.read_text(encoding="utf-8"))

    def times(entry: dict) -> dict:
        return {k: entry[k] for k in ("start", "end", "start_sample", "end_sample")}

    sentences = tuple(
        TimedSentence(
            index=entry["index"],
            text=entry["text"],
            spoken=entry["spoken"],
            **times(entry),
            cues=tuple(
                TimedCue(cue["index"], cue["text"], tuple(cue["lines"]), **times(cue))
                for cue in entry["cues"]
            ),
            words=(
                tuple(TimedWord(word["text"], **times(word)) for word in entry["words"])
                if "words" in entry
                else None
            ),
        )
        for entry in document["sentences"]
    )
    return Timeline(document["sample_rate"], document["engine"], document["voice"], sentences)


# --- pauses inside speech, by energy ------------------------------------------------------------

FRAME_SECONDS = 0.005


def silences(
    samples: np.ndarray,
    start: float,
    end: float,
    rate: int = RATE,
    min_silence: float = 0.07,
    floor_db: float = -40.0,
) -> list[tuple[float, float]]:
    """(start, end) seconds of the silences of at least ``min_silence`` between sounds in the
    stretch ``start``-``end`` of ``samples``.

    Sound is a 5 ms frame whose RMS is within ``-floor_db`` dB of the stretch's 95th-percentile
    frame, so the level the stretch was mastered at does not matter.
    """
    frame = round(rate * FRAME_SECONDS)
    first = max(0, round(start * rate))
    stretch = samples[first : round(end * rate)]
    usable = stretch.size - stretch.size % frame
    if usable == 0:
        return []
    rms = np.sqrt(np.mean(np.square(stretch[:usable].reshape(-1, frame)), axis=1))
    loud = np.flatnonzero(rms > np.percentile(rms, 95) * 10 ** (floor_db / 20))
    at = first / rate
    return [
        (at + (a + 1) * FRAME_SECONDS, at + b * FRAME_SECONDS)
        for a, b in zip(loud[:-1], loud[1:], strict=True)
        if (b - a - 1) * FRAME_SECONDS >= min_silence - 1e-9
    ]


def first_sound(
    samples: np.ndarray, start: float, end: float, rate: int = RATE, floor_db: float = -40.0
) -> float | None:
    """Seconds at the first 5 ms frame of sound in ``start``-``end`` (sound as in ``silences``)."""
    frame = round(rate * FRAME_SECONDS)
    first = max(0, round(start * rate))
    stretch = samples[first : round(end * rate)]
    usable = stretch.size - stretch.size % frame
    if usable == 0:
        return None
    rms = np.sqrt(np.mean(np.square(stretch[:usable].reshape(-1, frame)), axis=1))
    loud = np.flatnonzero(rms > np.percentile(rms, 95) * 10 ** (floor_db / 20))
    return first / rate + loud[0] * FRAME_SECONDS if loud.size else None


# --- one render shared by the xdist workers ------------------------------------------------------


def shared_temp(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """A folder of this test session that every xdist worker sees."""
    base = tmp_path_factory.getbasetemp()
    return base if worker_id == "master" else base.parent


def made_once(folder: Path, make: Callable[[Path], None]) -> Path:
    """``folder`` as ``make(folder)`` fills it, run by the first worker process to get there;
    the others wait for it and take the result."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f"{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / ".made").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            make(folder)
            (folder / ".made").touch()
    return folder
