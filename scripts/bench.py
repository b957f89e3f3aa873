"""voicer's benchmarks (speed, re-renders, long scripts, the studio, alignment); prints figures,
asserts nothing.

    python scripts/bench.py [edge] [rerender] [kokoro] [long] [longline] [cached] [video]
                            [studio] [studiostart] [retake] [batch] [small] [align]
                            [--quick] [--text FILE]

Every section runs when none is named.

edge      The example through the loopback stand-in for Edge's service (edge_server.py),
          rendered by voicer and by the edge-tts CLI, each as a subprocess: wall times and their
          ratio (target: voicer at least 4x faster), and voicer with --jobs 1, 4 and 8.
rerender  The example rendered into a fresh cache (edge, then kokoro), one sentence edited, and
          rendered again: the re-render's wall time (target < 3 s) and where its clips came from.
kokoro    The example (or --text FILE) with the offline engine in this process: the engine's
          own anchor first (a plain loop of misaki's G2P and one model call per sentence on the
          same spoken text, nothing else), then the full render with every core's thread in
          this process; both wall times, their ratio, the share of the render outside the
          engine and spent on loudness. Then the engine alone, one process with a thread per
          core against one single-threaded process per core; and the CLI as users run it, each
          render a fresh process: the default (single-threaded worker processes) against one
          process with every core's thread (VOICER_KOKORO_WORKERS=1), alternately, twice each.
long      Generated scripts of 1,000 and 10,000 sentences (--quick: 100 and 1,000) with the
          tone engine to WAV: audio hours, wall time and the child's peak RSS; the time ratio
          (target <= ~12x) and the RSS target for 3 hours of audio (< 400 MB).
longline  One line with no punctuation at all (a varied Mandarin phrase repeated), rendered by
          the CLI to WAV, each a subprocess: 10,000 characters with kokoro (the default offline
          engine) and 50,000 with the tone engine (--quick: 1,000 with kokoro, 10,000 with
          tone): audio length, wall time and the child's peak RSS (its largest process: kokoro's
          worker processes each hold a model) against the target (< 400 MB).
cached    examples/long-speech.txt (or --text FILE) rendered to MP3 with every clip already in the
          cache (filled by an untimed render), each render a CLI subprocess; against ffmpeg's own
          MP3 encode of the same audio (a WAV voicer wrote) plus one ebur128 true-peak pass over
          it, in turn, CACHED_ROUNDS times each: median wall times and their ratio (target
          <= 1.5). voicer's bytecode is kept between its runs, as an installed voicer's is.
video     examples/long-speech.txt (or --text FILE) with the tone engine, each render a CLI
          subprocess sharing one cache (filled first by an untimed render, so no timed render
          synthesises anything): to .mp3 (audio only), then to .mp4 and to .webm with
          --burn-in at 1280x720; wall times, the audio's length and what the picture adds,
          (video wall - audio wall) / audio length (target <= 0.1 for .mp4).
studio    The example in a studio session (voicer.studio.session, in this process, a fresh
          cache), kokoro then edge (the loopback stand-in): three re-takes of a typical sentence,
          each a new text, timed from the edit to a playable preview (the re-take and the
          preview WAV; target < 1.5 s with kokoro). Cold: the re-take is the first the studio
          hears of the text. Drafted: as the page does, the text is sent as a draft when typing
          pauses for 600 ms, and Re-take is pressed 1 s after that. Against a CLI re-render of
          the edited file (a fresh process, every other sentence from the cache).
studiostart
          `voicer studio examples/long-speech.txt --engine kokoro --no-browser` (or --text FILE),
          a fresh process: the time from its start to the address on stdout (target < 2 s), with
          a fresh cache and then again with the cache the first run filled; the first run is
          left running until its first render is done, which is timed too (the state's
          sentences all ready).
retake    Re-takes in the studio's page as a person makes them, in headless Chromium (Playwright,
          /usr/bin/chromium), on a studio of examples/long-speech.txt with kokoro and a fresh
          cache, each from the click on Re-take to a playable preview (the page's status says
          it is re-taken and its player has the new preview's metadata), timed in the page:
          a new text typed at about 5 characters a second and Re-take clicked at once, one
          pasted, and another voice, rate and pause; three of each, every one new to the run.
          After each, the engine alone (KokoroEngine in this process, warm, every core's
          thread, as the studio speaks a re-take) on the same spoken text, voice and rate.
          Idle, then with every core kept busy by another process: re-take / (1.25 * engine
          + 0.3 s), worst of each case (target <= 1); of the re-take, how long its request
          took to be answered and the preview to download; and the cores kept busy meanwhile
          by processes the benchmark did not start (the machine may be shared).

batch     20 scripts (paragraphs of examples/long-speech.txt) rendered by `voicer batch` with
          kokoro (--quick: the tone engine) with 1 and 2 workers: on the local backend, on a
          Ray instance the batch starts and stops, and on a Ray cluster started apart
          (`ray start --head` on 127.0.0.1); each run a fresh process with a fresh cache:
          throughput in audio-seconds per wall-second, the whole process and the batch alone
          (the summary line's time: without starting Python and Ray, and stopping Ray); Ray
          against local (target <= 1.10), from runs in the order local, ray, cluster,
          cluster, ray, local for each worker count, as the machine's speed drifts; whether
          every output is the same bytes.
small     Small commands, each a fresh process, in rounds that take them in turn (7 rounds,
          --quick 3, after one untimed round that fills voicer's cache folder as any first run
          does): `python -c "import voicer"`, `voicer --help`, `edge-tts --help` and
          `voicer check examples/speech.txt`; the median wall time of each and their ratios
          to edge-tts --help (targets: --help <= 1.2x, check <= 2x).
align     examples/long-speech.txt (or --text FILE; --quick: examples/speech.txt) read by
          kokoro's zf_xiaobei (the reference is the default zm_yunxi): 10 % faster with shorter
          sentence pauses, 10 % slower with longer ones, the slower one with white noise at 10 dB
          SNR and a chord bed at -10 dB (M4A), the faster one so too after 5 s of the bed alone
          (FLAC), and espeak-ng's Mandarin voice; each aligned by `voicer align` in this process
          against the truth of its render: sentence, cue and word start errors, sentences
          doubted and those off by more than 250 ms that were not, and the alignment's time
          apart from synthesis per minute of recording (target <= 0.5 s). Then the faster
          reading tiled to 60 min (--quick: 10) against the script tiled as often (the
          reference from the cache), the CLI in a fresh process: wall time, the alignment's
          time per minute and the child's peak RSS (target < 500 MB).

Pacing of the stand-in service: ``set_pacing(latency=0.3, realtime=3.0)``. The server waits
``latency`` seconds after a request's SSML arrives before it answers (turn.start), then sends
the MP3 in 192 ms chunks, each no earlier than its end would be reached when playing at
``realtime`` times real time. So a request for N seconds of speech takes about 0.3 + N / 3 s:
an assumption standing in for the real service (a round trip and synthesis start-up before the
first byte, then audio produced faster than it plays), not a measurement of it. The server
encodes each new text with ffmpeg before it starts pacing (an artefact of the stand-in, with
no counterpart in the real service), so each tool renders once, untimed, to fill its cache.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "speech.txt"
LONG_EXAMPLE = ROOT / "examples" / "long-speech.txt"
SECTIONS = (
    "edge", "rerender", "kokoro", "long", "longline", "cached", "video", "studio", "studiostart",
    "retake", "batch", "small", "align",
)  # fmt: skip
EDGE_VOICE = "zh-CN-YunyangNeural"  # voicer's default edge voice for Mandarin
LATENCY_SECONDS = 0.3
REALTIME = 3.0
# edge-tts builds its URL from edge_tts.communicate.WSS_URL: patch it, then run its CLI
EDGE_TTS_SHIM = (
    "import sys; import edge_tts.communicate as c; c.WSS_URL = sys.argv.pop(1); "
    "from edge_tts.util import main; main()"
)
EDIT = ("两千余名", "三千余名")  # one sentence of the example, a character changed
HAN_POOL = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能"
    "下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量"
    "都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各"
)
SEED = 5  # issue 5
RSS_TARGET_MB = 400
RSS_TARGET_HOURS = 3.0
# The wrapper that runs each child and writes [wall seconds, peak RSS in KiB] to a file. A
# child's ru_maxrss counts the RSS it had at fork, before exec: the parent's size. Forked from
# this small wrapper rather than from the benchmark (which may hold kokoro or the edge server),
# the figure is the child's own peak (or that of a process the child forked, e.g. ffmpeg, if
# larger), never the benchmark's or another run's.
MEASURE = (
    "import json, resource, subprocess, sys, time; began = time.perf_counter(); "
    "code = subprocess.call(sys.argv[2:]); seconds = time.perf_counter() - began; "
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss; "
    "open(sys.argv[1], 'w').write(json.dumps([seconds, peak])); sys.exit(code)"
)
_SUMMARY = re.compile(
    r"(?P<minutes>\d+):(?P<seconds>[\d.]+) of audio in (?P<total>[\d.]+) s .*?"
    r"(?P<made>\d+) clips? synthesised, (?P<hits>\d+) from the cache, "
    r"(?P<retries>\d+) retr(?:y|ies)"
)


# --- running children ----------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One child process: wall time, its peak RSS, what it printed."""

    seconds: float
    peak_mb: float  # the child's own peak RSS (see MEASURE), in 2**20 bytes
    stdout: str


@dataclass(frozen=True)
class Summary:
    """The last line voicer render prints."""

    audio_seconds: float
    render_seconds: float
    synthesised: int
    cached: int
    retries: int


def run_child(command: list[str], cwd: Path, env: dict[str, str]) -> Run:
    """Run ``command`` to completion under a small, fresh wrapper process (see MEASURE)."""
    with tempfile.TemporaryDirectory() as tmp, open(Path(tmp) / "out", "w+b") as out:
        figures = Path(tmp) / "figures.json"
        wrapped = [sys.executable, "-c", MEASURE, str(figures), *command]
        done = subprocess.run(wrapped, cwd=cwd, env=env, stdout=out, stderr=subprocess.PIPE)
        if done.returncode:
            message = done.stderr.decode(errors="replace")[-2000:]
            raise RuntimeError(f"{command[:4]}... exited {done.returncode}: {message}")
        seconds, peak_kib = json.loads(figures.read_text())
        out.seek(0)
        return Run(seconds, peak_kib / 1024, out.read().decode())


def child_env(**extra: str) -> dict[str, str]:
    """This environment, with voicer importable from this checkout and no proxy for loopback."""
    env = dict(os.environ, NO_PROXY="127.0.0.1", no_proxy="127.0.0.1", **extra)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def voicer_render(*args: str) -> list[str]:
    return [sys.executable, "-m", "voicer", "render", *args]


def summary_of(run: Run) -> Summary:
    """The figures of voicer's closing summary line."""
    match = _SUMMARY.search(run.stdout.strip().splitlines()[-1])
    if match is None:
        raise RuntimeError(f"no summary line in: {run.stdout!r}")
    return Summary(
        audio_seconds=60 * int(match["minutes"]) + float(match["seconds"]),
        render_seconds=float(match["total"]),
        synthesised=int(match["made"]),
        cached=int(match["hits"]),
        retries=int(match["retries"]),
    )


@contextlib.contextmanager
def edge_server() -> Iterator[Any]:
    """The loopback stand-in for Edge's service, paced like the real one (see the docstring)."""
    from edge_server import EdgeServer

    with EdgeServer() as server:
        server.set_pacing(latency=LATENCY_SECONDS, realtime=REALTIME)
        yield server


def example_in(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(EXAMPLE, folder / "speech.txt"))


# --- edge ----------------------------------------------------------------------------------


def edge_section() -> None:
    with edge_server() as server, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        example_in(folder)
        env = child_env(VOICER_EDGE_URL=server.url)
        voicer_edge(folder, env)  # untimed: the stand-in encodes each new text once
        edge_tts(folder, env, server.url)
        ours = voicer_edge(folder, env)
        theirs = edge_tts(folder, env, server.url)
        print_edge(folder, ours, theirs)
        for jobs in (1, 4, 8):
            run = voicer_edge(folder, env, "--jobs", str(jobs))
            print(f"voicer --jobs {jobs:<6} {run.seconds:8.2f} s")


def voicer_edge(folder: Path, env: dict[str, str], *extra: str) -> Run:
    args = ("speech.txt", "-o", "out.mp3", "--engine", "edge", "--no-cache", "-q", *extra)
    return run_child(voicer_render(*args), folder, env)


def edge_tts(folder: Path, env: dict[str, str], url: str) -> Run:
    args = ["-f", "speech.txt", "-v", EDGE_VOICE]
    args += ["--write-media", "edge-tts.mp3", "--write-subtitles", "edge-tts.srt"]
    return run_child([sys.executable, "-c", EDGE_TTS_SHIM, url, *args], folder, env)


def print_edge(folder: Path, ours: Run, theirs: Run) -> None:
    from edge_server import MP3_BYTES_PER_SECOND  # the stand-in's MP3, which edge-tts wrote

    audio = (folder / "edge-tts.mp3").stat().st_size / MP3_BYTES_PER_SECOND
    pacing = f"{LATENCY_SECONDS} s to first byte, audio at {REALTIME:g}x real time"
    print(f"pacing               {pacing}")
    print(f"voicer (default jobs){ours.seconds:8.2f} s")
    print(f"edge-tts             {theirs.seconds:8.2f} s ({audio:.1f} s of audio in one request)")
    ratio = theirs.seconds / ours.seconds
    print(f"edge-tts / voicer    {ratio:8.2f}x (target >= 4x)")


# --- rerender ------------------------------------------------------------------------------


def rerender_section() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        with edge_server() as server:
            rerender("edge", Path(tmp) / "edge", child_env(VOICER_EDGE_URL=server.url))
        rerender("kokoro", Path(tmp) / "kokoro", child_env())


def rerender(engine: str, folder: Path, env: dict[str, str]) -> None:
    """Render into a fresh cache, edit one sentence, render again; print the second render."""
    source = example_in(folder)
    command = voicer_render(source.name, "-o", "out.mp3", "--engine", engine)
    command += ["--cache-dir", "cache"]
    first = run_child(command, folder, env)
    text = source.read_text(encoding="utf-8")
    assert EDIT[0] in text, "the example changed: pick another edit"
    source.write_text(text.replace(*EDIT), encoding="utf-8")
    again = run_child(command, folder, env)
    cached = run_child(command, folder, env)  # nothing changed since: every clip cached
    made = summary_of(first).synthesised
    print(f"{engine:<7}first render   {first.seconds:8.2f} s ({made} synthesised)")
    found = summary_of(again)
    print(
        f"{engine:<7}re-render      {again.seconds:8.2f} s wall (target < 3 s), "
        f"{found.render_seconds:.1f} s by its summary; "
        f"{found.synthesised} synthesised, {found.cached} from the cache"
    )
    print(f"{engine:<7}all cached     {cached.seconds:8.2f} s wall")
    if engine == "kokoro":
        started, spoken = kokoro_edit_seconds(source)
        expected = cached.seconds + started + spoken
        print(
            f"{engine:<7}the engine     {started:8.2f} s to start, {spoken:.2f} s for the edited "
            f"sentence; re-render / (all cached + those) {again.seconds / expected:.2f}x"
        )


def kokoro_edit_seconds(source: Path) -> tuple[float, float]:
    """The kokoro engine's start (its model loaded) and its own time for the sentence EDIT
    changed (the median of ENGINE_TIMINGS), in this process."""
    from voicer import pipeline
    from voicer.model import Prosody
    from voicer.script.overrides import annotate
    from voicer.script.reading import read_script
    from voicer.synthesis.engines.kokoro import KokoroEngine

    plan = pipeline.prepare(read_script(source), pipeline.RenderOptions(engine="kokoro"))
    segment = next(s for s in plan.segments if EDIT[1] in s.shown)
    began = time.perf_counter()
    engine = KokoroEngine()
    engine.load()
    started = time.perf_counter() - began
    text = annotate(segment.spoken, segment.pinyin)
    times = []
    for _ in range(ENGINE_TIMINGS):
        clear_g2p_caches()
        began = time.perf_counter()
        engine.synthesise(text, plan.choice.voice, Prosody())
        times.append(time.perf_counter() - began)
    return started, statistics.median(times)


# --- kokoro --------------------------------------------------------------------------------


KOKORO_ROUNDS = 2  # CLI renders of each kind in default_against_threads, taken in turn


@contextlib.contextmanager
def environment(**values: str | None) -> Iterator[None]:
    """``values`` set in this process's environment meanwhile (None: unset)."""
    before = {name: os.environ.get(name) for name in values}
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def kokoro_section(text: Path) -> None:
    in_process_kokoro(text)
    default_against_threads(text)


def in_process_kokoro(text: Path) -> None:
    """The plain loop, then the render as users get it (worker processes) and in this process
    alone with every core's thread (what voicer adds to the engine's own work), in one run."""
    from voicer.synthesis.engines import kokoro

    began = time.perf_counter()
    kokoro.KokoroEngine().load()  # model load, once per process: reported apart from the render
    load_seconds = time.perf_counter() - began
    spoken = spoken_sentences(text)
    print(f"text                 {text.name}: {len(spoken)} sentences")
    print(f"model load           {load_seconds:8.2f} s (once per process, not in what follows)")
    clear_g2p_caches()
    loop_seconds, loop_audio = plain_kokoro_loop(spoken)
    print(f"plain loop           {loop_seconds:8.2f} s wall for {loop_audio:.2f} s of audio")
    for label, workers in [("default", None), ("one process", "1")]:
        clear_g2p_caches()  # the render does its own G2P, as it would alone
        with environment(VOICER_KOKORO_WORKERS=workers):
            result = kokoro_render(None, text)
        print(f"-- render, {label} ({result.jobs} at a time)")
        print_kokoro(result)
        print(
            f"render / plain loop  {result.total_seconds / loop_seconds:8.2f}x "
            "(the render's wall time against the engine's own; target <= 1 for the default)"
        )


def clear_g2p_caches() -> None:
    from voicer.synthesis.engines import kokoro

    kokoro._phoneme_ids.cache_clear()
    kokoro._word_tokens.cache_clear()


def default_against_threads(text: Path) -> None:
    """``voicer render --engine kokoro --no-cache`` as users run it, each render a fresh
    process (model loads and worker starts counted): kokoro's default against one process with
    every core's thread, in turn, KOKORO_ROUNDS times each; mean wall times and their ratio."""
    kinds = {
        "default": child_env(),
        "threads": child_env(VOICER_KOKORO_WORKERS="1"),
    }
    walls: dict[str, list[float]] = {kind: [] for kind in kinds}
    others: dict[str, list[float]] = {kind: [] for kind in kinds}
    jobs: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(shutil.copy(text, Path(tmp) / text.name))
        command = voicer_render(source.name, "--engine", "kokoro", "--no-cache", "-o", "out.mp3")
        for round_ in range(KOKORO_ROUNDS):
            for kind in kinds if round_ % 2 == 0 else reversed(kinds):
                busy, ours = busy_seconds(), children_seconds()
                run = run_child(command, Path(tmp), kinds[kind])
                walls[kind].append(run.seconds)
                other = busy_seconds() - busy - (children_seconds() - ours)
                others[kind].append(max(0.0, other) / run.seconds)
                found = re.search(r"(\d+) at a time", run.stdout)
                jobs[kind] = found[1] if found else "?"
    mean = {kind: sum(found) / len(found) for kind, found in walls.items()}
    for kind, label in [
        ("threads", f"1 process, {os.cpu_count()} threads"),
        ("default", f"default, {jobs['default']} at a time"),
    ]:
        each = ", ".join(f"{seconds:.2f}" for seconds in walls[kind])
        elsewhere = ", ".join(f"{cores:.2f}" for cores in others[kind])
        print(
            f"CLI {label:<20} {mean[kind]:8.2f} s wall (mean of {each}; "
            f"cores busy with other work meanwhile: {elsewhere})"
        )
    print(
        f"threads / default    {mean['threads'] / mean['default']:8.2f}x "
        "(the CLI's wall times; above 1: the default is faster)"
    )


def busy_seconds() -> float:
    """CPU seconds every core of this machine has spent busy since boot (Linux; else 0)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return 0.0
    idle = int(fields[3]) + int(fields[4])  # idle and iowait
    return (sum(int(field) for field in fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def children_seconds() -> float:
    """CPU seconds of this process's children that have ended (and theirs, waited for)."""
    times = os.times()
    return times.children_user + times.children_system


def kokoro_render(jobs: int | None, text: Path) -> Any:
    from voicer import RenderOptions, render

    options = RenderOptions(engine="kokoro", jobs=jobs, use_cache=False)
    with tempfile.TemporaryDirectory() as tmp:
        return render(text, Path(tmp) / "bench.mp3", options=options)


def spoken_sentences(text: Path) -> list[str]:
    """What the engine is to say for each sentence of ``text``, as a render prepares it."""
    from voicer import pipeline
    from voicer.script.reading import read_script

    plan = pipeline.prepare(read_script(text), pipeline.RenderOptions(engine="kokoro"))
    return [segment.spoken for segment in plan.segments]


def plain_kokoro_loop(sentences: list[str]) -> tuple[float, float]:
    """The engine alone, as its own users would call it: misaki's G2P, then one model call
    per sentence (the same model file, voice and thread settings as voicer's), nothing else.
    Returns the wall time of the loop and the seconds of audio it made."""
    import onnxruntime
    from misaki import zh

    from voicer.synthesis.engines import kokoro

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = os.cpu_count() or 1
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(
        kokoro._read_model(None), sess_options=options, providers=["CPUExecutionProvider"]
    )
    g2p, vocabulary = zh.ZHG2P(), kokoro._vocabulary()
    style = kokoro._voice_styles("zm_yunxi")
    samples = 0
    began = time.perf_counter()
    for sentence in sentences:
        phonemes, _ = g2p(sentence)
        ids = [vocabulary[p] for p in phonemes if p in vocabulary][: kokoro.MAX_TOKENS]
        inputs = {
            "tokens": np.array([[0, *ids, 0]], dtype=np.int64),
            "style": style[len(ids) - 1].reshape(1, 256),
            "speed": np.ones(1, dtype=np.float32),
        }
        samples += session.run(None, inputs)[0].size
    return time.perf_counter() - began, samples / kokoro.SAMPLE_RATE


def rtf(result: Any) -> float:
    """Synthesis seconds per second of audio."""
    return result.synthesis_seconds / result.duration


def print_kokoro(result: Any) -> None:
    outside = result.total_seconds - result.synthesis_seconds
    print(f"audio                {result.duration:8.2f} s")
    print(f"render wall time     {result.total_seconds:8.2f} s")
    print(f"  inside the engine  {result.synthesis_seconds:8.2f} s")
    print(f"  outside the engine {outside:8.2f} s")
    print(f"real-time factor     {rtf(result):8.3f} (synthesis / audio)")
    print(f"share outside engine {100 * outside / result.total_seconds:7.1f} % (target < 10 %)")
    share = 100 * result.mastering_seconds / result.total_seconds
    print(f"loudness work        {result.mastering_seconds:8.2f} s = {share:.1f} % (target < 10 %)")


# --- long ----------------------------------------------------------------------------------


def sentence(rng: random.Random) -> str:
    """Two short clauses joined by a comma: 2 to 6 Han characters."""
    first = "".join(rng.choices(HAN_POOL, k=rng.randint(1, 4)))
    second = "".join(rng.choices(HAN_POOL, k=rng.randint(1, 2)))
    return f"{first}，{second}{rng.choice('。。。。！？')}"


def long_script(sentences: int, seed: int = SEED) -> str:
    """A deterministic script: paragraphs (one a line) of 3-6 sentences."""
    rng = random.Random(seed)
    lines = []
    while sentences > 0:
        count = min(sentences, rng.randint(3, 6))
        lines.append("".join(sentence(rng) for _ in range(count)))
        sentences -= count
    return "\n".join(lines) + "\n"


def long_section(quick: bool) -> None:
    counts = (100, 1000) if quick else (1000, 10000)
    with tempfile.TemporaryDirectory() as tmp:
        short, long = (long_run(Path(tmp), count) for count in counts)
    label = f"time {counts[1]}/{counts[0]}"
    print(f"{label:<21}{long.seconds / short.seconds:8.2f}x (target <= ~12x)")
    hours = summary_of(long).audio_seconds / 3600
    if hours < RSS_TARGET_HOURS:
        print(f"RSS at 3 h           not measured: the longest run is {hours:.2f} h")
    else:
        holds = "holds" if long.peak_mb < RSS_TARGET_MB else "MISSED"
        print(f"RSS at 3 h           {long.peak_mb:.0f} MB (target < {RSS_TARGET_MB} MB): {holds}")


def long_run(folder: Path, count: int) -> Run:
    source = folder / f"long-{count}.txt"
    source.write_text(long_script(count), encoding="utf-8")
    args = (source.name, "--engine", "tone", "--no-cache", "-o", f"long-{count}.wav")
    run = run_child(voicer_render(*args), folder, child_env())
    hours = summary_of(run).audio_seconds / 3600
    print(
        f"{count:>6} sentences     {hours:6.2f} h of audio in {run.seconds:7.1f} s, "
        f"peak RSS {run.peak_mb:6.0f} MB"
    )
    return run


# --- longline ------------------------------------------------------------------------------


LONGLINE_RUNS = (("kokoro", 10_000), ("tone", 50_000))
LONGLINE_QUICK = (("kokoro", 1_000), ("tone", 10_000))
LONGLINE_PHRASES = (
    "我们要继续推动科技创新",
    "加快建设现代化产业体系",
    "让更多的科研成果走出实验室",
    "走向生产线",
    "为青年人才创造良好条件",
    "全市广大干部群众共同努力",
    "不断提高人民群众的生活水平",
    "深化改革扩大开放",
)


def unpunctuated_line(characters: int) -> str:
    """A deterministic Mandarin line of ``characters`` characters with no punctuation: the
    phrases in turn, every third one followed by the start of another."""
    phrases, count, n = [], 0, 0
    while count < characters:
        chosen = LONGLINE_PHRASES[n % len(LONGLINE_PHRASES)]
        if n % 3 == 0:
            chosen += LONGLINE_PHRASES[(5 * n + 1) % len(LONGLINE_PHRASES)][:4]
        phrases.append(chosen)
        count += len(chosen)
        n += 1
    return "".join(phrases)[:characters]


def longline_section(quick: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for engine, characters in LONGLINE_QUICK if quick else LONGLINE_RUNS:
            source = Path(tmp) / f"line-{characters}.txt"
            source.write_text(unpunctuated_line(characters) + "\n", encoding="utf-8")
            args = (source.name, "--engine", engine, "--no-cache", "-o", f"{source.stem}.wav")
            run = run_child(voicer_render(*args), Path(tmp), child_env())
            hours = summary_of(run).audio_seconds / 3600
            holds = "holds" if run.peak_mb < RSS_TARGET_MB else "MISSED"
            print(
                f"{characters:>6} characters {engine:<6} {hours:5.2f} h of audio in "
                f"{run.seconds:7.1f} s, peak RSS {run.peak_mb:5.0f} MB "
                f"(target < {RSS_TARGET_MB} MB): {holds}",
                flush=True,
            )


# --- video ---------------------------------------------------------------------------------


VIDEO_SIZE = "1280x720"
CACHED_TARGET = 1.5  # a fully cached render against ffmpeg's MP3 encode plus a true-peak pass
CACHED_ROUNDS = 3


def cached_section(text: Path) -> None:
    from voicer import ffmpeg

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = Path(shutil.copy(text, folder / text.name))
        # as voicer installed from a wheel runs: its modules' bytecode kept (here in the
        # folder), not compiled again in every run when PYTHONDONTWRITEBYTECODE is set
        env = child_env(PYTHONPYCACHEPREFIX=str(folder / "bytecode"))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        base = (source.name, "--engine", "tone", "--cache-dir", "cache")
        run_child(voicer_render(*base, "-o", "programme.wav"), folder, env)  # fills the cache
        encode = [ffmpeg.executable(), "-v", "error", "-y", "-i", "programme.wav"]
        encode += ["-c:a", "libmp3lame", "-b:a", "128k", "encoded.mp3"]
        peak = [ffmpeg.executable(), "-v", "error", "-i", "programme.wav"]
        peak += ["-af", "ebur128=peak=true", "-f", "null", "-"]
        renders, encodes, peaks = [], [], []
        for _ in range(CACHED_ROUNDS):
            rendered = run_child(voicer_render(*base, "-o", "speech.mp3"), folder, env)
            renders.append(rendered.seconds)
            encodes.append(run_child(encode, folder, env).seconds)
            peaks.append(run_child(peak, folder, env).seconds)
    render, alone = statistics.median(renders), statistics.median(encodes)
    measured = statistics.median(peaks)
    print(f"text                 {text.name}: {summary_of(rendered).audio_seconds:.1f} s of audio")
    print(f"render, all cached   {render:8.2f} s wall ({cache_note(rendered)})")
    print(f"ffmpeg MP3 encode    {alone:8.2f} s wall")
    print(f"ebur128 true peak    {measured:8.2f} s wall")
    print(
        f"render / (encode + peak) {render / (alone + measured):6.2f}x "
        f"(target <= {CACHED_TARGET:g}); medians of {CACHED_ROUNDS} rounds, in turn"
    )


VIDEO_TARGET = 0.1  # seconds of wall time the picture may add per second of audio (.mp4)


def video_section(text: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = Path(shutil.copy(text, folder / text.name))
        env = child_env()

        def render(output: str, *extra: str) -> Run:
            args = (source.name, "-o", output, "--engine", "tone", "--cache-dir", "cache")
            return run_child(voicer_render(*args, *extra), folder, env)

        render("warm.mp3")  # untimed: fills the cache, so every timed render reads from it
        audio = render("audio.mp3")
        drawn = ("--burn-in", "--size", VIDEO_SIZE)
        videos = {extension: render(f"video{extension}", *drawn) for extension in (".mp4", ".webm")}
    length = summary_of(audio).audio_seconds
    print(f"text                 {text.name}: {length:.1f} s of audio (tone engine)")
    print(f"audio .mp3           {audio.seconds:8.2f} s wall ({cache_note(audio)})")
    for extension, run in videos.items():
        added = (run.seconds - audio.seconds) / length
        target = f" (target <= {VIDEO_TARGET:g})" if extension == ".mp4" else ""
        label = f"video {extension} burn-in"
        print(f"{label:<21}{run.seconds:8.2f} s wall ({cache_note(run)}, {VIDEO_SIZE})")
        print(f"  added per s audio  {added:8.3f}{target}")


RETAKES = (  # a typical sentence of the example (the 5th), said three new ways
    "首先，我代表市委、市政府，向奋战在科研一线的同志们致以问候！",
    "首先，我代表市委，向奋战在科研一线的同志们致以诚挚的问候和衷心的感谢！",
    "首先，我代表市政府，向各位科研工作者致以崇高的敬意！",
)
DRAFTED = (  # the same sentence said three more ways, each typed (drafted) before its re-take
    "首先，我代表市委、市政府，向同志们致以亲切的问候！",
    "首先，我代表市委，向奋战在一线的科研人员致以问候和感谢！",
    "首先，我代表市政府，向全体科技工作者致以崇高的敬意！",
)
RETAKE_INDEX = 4
RETAKE_TARGET = 1.5  # seconds from an edit to a playable preview, offline engine
TYPING_PAUSE = 1.0  # seconds between the page's draft (600 ms after the last keystroke) and Re-take


def studio_section() -> None:
    from voicer import pipeline
    from voicer.studio.session import Studio

    for engine in ("kokoro", "edge"):
        with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
            folder = Path(tmp)
            source = Path(shutil.copy(EXAMPLE, folder / "speech.txt"))
            env = child_env(VOICER_CACHE_DIR=str(folder / "cache"))
            if engine == "edge":
                server = stack.enter_context(edge_server())
                env["VOICER_EDGE_URL"] = server.url
            stack.enter_context(environment(**env))
            options = pipeline.RenderOptions(engine=engine)
            began = time.perf_counter()
            studio = Studio(source, options, pipeline.Outputs.beside(folder / "speech.mp3"))
            opened = time.perf_counter() - began
            cold, drafted, lengths = [], [], []
            for text in RETAKES:
                began = time.perf_counter()
                state = studio.retake(RETAKE_INDEX, text)
                studio.preview_wav()
                cold.append(time.perf_counter() - began)
                sentence = state["sentences"][RETAKE_INDEX]
                start, end = sentence["start"], sentence["end"]
                assert start is not None and end is not None  # placed: the first render is done
                lengths.append(end - start)
            for text in DRAFTED:
                studio.draft(RETAKE_INDEX, text)
                time.sleep(TYPING_PAUSE)
                began = time.perf_counter()
                studio.retake(RETAKE_INDEX, text)
                studio.preview_wav()
                drafted.append(time.perf_counter() - began)
            studio.close()
            source.write_text(
                source.read_text(encoding="utf-8").replace(
                    DRAFTED[-1], "首先，我代表市委向同志们问好！"
                ),
                encoding="utf-8",
            )
            cli = run_child(voicer_render("speech.txt", "--engine", engine), folder, env)
        target = f" (target < {RETAKE_TARGET:g} s)" if engine == "kokoro" else ""
        spoken = ", ".join(f"{value:.1f}" for value in lengths)
        print(f"{engine:<8} open {opened:6.2f} s; sentences of {spoken} s of speech")
        print(f"         re-take to preview, cold:    {_figures(cold)} s{target}")
        print(
            f"         re-take to preview, drafted: {_figures(drafted)} s (Re-take "
            f"{TYPING_PAUSE:g} s after the draft){target}"
        )
        print(
            f"         CLI re-render of one edited sentence {cli.seconds:6.2f} s "
            f"({cache_note(cli)}); best cold re-take / CLI {min(cold) / cli.seconds:.2f}"
        )


URL_TARGET = 2.0  # seconds from `voicer studio` to its address on stdout


def studiostart_section(text: Path) -> None:
    """The studio's first answer: time to its address, and to its first render's end."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        shutil.copy(text, folder / text.name)
        env = child_env(VOICER_CACHE_DIR=str(folder / "cache"))
        for cache in ("fresh", "warm"):
            url, rendered = studio_start(folder, text.name, env)
            done = "" if rendered is None else f"; every sentence ready at {rendered:6.2f} s"
            print(
                f"kokoro   {cache} cache: address on stdout at {url:6.2f} s "
                f"(target < {URL_TARGET:g} s){done}"
            )


def studio_start(folder: Path, name: str, env: dict[str, str]) -> tuple[float, float | None]:
    """Seconds from starting `voicer studio` to its address on stdout, and to the state's
    every sentence ready (None when the state does not say, as before it did)."""
    with studio_process(folder, name, env) as studio, studio.client() as api:
        rendered = first_render(api)
        return studio.url_seconds, time.perf_counter() - studio.began if rendered else None


@dataclass(frozen=True)
class StudioRun:
    """A `voicer studio` process that has printed its address."""

    address: str  # the page's, with its access token
    began: float  # time.perf_counter() when the process was started
    url_seconds: float  # from its start to the address on stdout

    def client(self) -> Any:
        """An httpx client of the studio's API, sending the token as the page does."""
        import httpx

        base, _, token = self.address.partition("/?token=")
        return httpx.Client(base_url=base, headers={"X-Voicer-Token": token}, timeout=600)


@contextlib.contextmanager
def studio_process(folder: Path, name: str, env: dict[str, str]) -> Iterator[StudioRun]:
    """`voicer studio NAME --engine kokoro --no-browser --port 0` in ``folder``, once it has
    printed its address; stopped with Ctrl-C (SIGINT) afterwards."""
    command = [sys.executable, "-m", "voicer", "studio", name, "--engine", "kokoro"]
    began = time.perf_counter()
    process = subprocess.Popen(
        [*command, "--no-browser", "--port", "0"],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode()
        url = time.perf_counter() - began
        if not line.startswith("voicer studio on "):
            raise RuntimeError(f"not an address: {line!r}")
        yield StudioRun(line.strip().removeprefix("voicer studio on "), began, url)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def first_render(api: Any) -> bool:
    """Once the studio's first render has ended: True, or False at once when the state does
    not say whether it runs."""
    while True:
        state = api.get("/api/state").json()
        if "rendering" not in state:
            return False
        if not state["rendering"]:
            return True
        time.sleep(0.2)


def _figures(values: Sequence[float | None]) -> str:
    return ", ".join("?" if value is None else f"{value:.2f}" for value in values)


# --- retake --------------------------------------------------------------------------------


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required",
]  # fmt: skip
# sentence 13 of examples/long-speech.txt: 25 characters, as long as the median sentence
RETAKE_SENTENCE = 12
TYPED = (  # new texts for it, typed like a person; RETAKE_ROUNDS a condition
    "在这里，我代表省委、省政府，向同志们表示衷心的感谢！",
    "在这里，我代表省委，向基层干部表示衷心的感谢和敬意！",
    "在这里，我代表省政府，向农民朋友们表示诚挚的问候！",
    "在此，我代表省委、省政府，向全省干部群众表示感谢！",
    "在这里，我谨代表省委，向奋战在一线的同志们致以问候！",
    "在这里，我代表省委、省政府，向各位来宾表示热烈欢迎！",
)
PASTED = (  # and pasted
    "在这里，我代表省委、省政府，向大家致以崇高的敬意！",
    "在这里，我代表省委，向广大农民群众表示衷心的感谢！",
    "在这里，我代表省政府，向驻村工作队表示亲切的慰问！",
    "借此机会，我代表省委、省政府，向大家表示衷心感谢！",
    "在这里，我代表省委，向各级党委、政府表示诚挚感谢！",
    "在这里，我代表省委、省政府，向科技人员表示衷心的感谢！",
)
RETAKE_CASES = ("typed", "pasted", "settings")
RETAKE_ROUNDS = 3  # of each case, in each condition
RETAKE_CONDITIONS = (("idle", 0), ("busy", os.cpu_count() or 1))  # and processes spinning
KEY_DELAY_MS = 200  # between keystrokes: about 5 characters a second
RETAKE_TIMEOUT_MS = 120_000
# (engine factor, seconds): a re-take should take at most 1.25 x the engine's time + 0.3 s
RETAKE_BOUND = (1.25, 0.3)
# Clicks Re-take in the page and resolves when its status says the re-take is done and the
# player has the new preview's metadata, or says why not (failure); with the seconds the
# re-take's request took to be answered (answer) and the preview's download (preview).
TIMED_RETAKE = """async ({index, timeout}) => {
  const status = document.querySelector('#status');
  const player = document.querySelector('#player');
  const button = document.querySelector(`.sentence[data-index="${index}"] button.retake`);
  const done = `Re-took sentence ${index + 1}.`;
  const before = player.src;
  const took = (path) => {
    const found = performance.getEntriesByType('resource').filter((e) => e.name.includes(path));
    return found.length ? found[found.length - 1].duration / 1000 : null;
  };
  performance.clearResourceTimings();
  return await new Promise((resolve) => {
    let observer, timer, began;
    const finish = (failure) => {
      const seconds = (performance.now() - began) / 1000;
      observer.disconnect();
      clearTimeout(timer);
      player.removeEventListener('loadedmetadata', check);
      resolve({seconds, failure, answer: took('/retake'), preview: took('/api/preview.wav')});
    };
    function check() {
      const said = status.textContent;
      if (status.classList.contains('bad') || said.includes('nothing changed')) finish(said);
      else if (said === done && player.src !== before && player.readyState >= 1) finish(null);
    }
    observer = new MutationObserver(check);
    observer.observe(status, {childList: true, characterData: true, subtree: true});
    player.addEventListener('loadedmetadata', check);
    timer = setTimeout(() => finish(`no answer in ${timeout / 1000} s`), timeout);
    began = performance.now();
    button.click();
  });
}"""


@dataclass(frozen=True)
class Retake:
    """One re-take: from the click to a playable preview, and the engine alone on the same."""

    seconds: float
    engine_seconds: float
    failure: str | None
    answer_seconds: float | None  # of the re-take's request, to its answer
    preview_seconds: float | None  # of the preview's download

    @property
    def ratio(self) -> float:
        """Against the bound: at most 1 when it holds."""
        factor, constant = RETAKE_BOUND
        return self.seconds / (factor * self.engine_seconds + constant)


def retake_section() -> None:
    """Re-takes in the studio's page, in headless Chromium, against the engine's own time for
    each sentence re-taken, idle and with both cores busy."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        script = Path(shutil.copy(LONG_EXAMPLE, folder / LONG_EXAMPLE.name))
        env = child_env(VOICER_CACHE_DIR=str(folder / "cache"))
        with studio_process(folder, script.name, env) as studio, studio.client() as api:
            first_render(api)
            rendered = time.perf_counter() - studio.began
            print(f"studio's first render done at {rendered:.1f} s", flush=True)
            engine = warm_kokoro()
            with studio_page(studio.address) as page:
                for turn, (condition, spinners) in enumerate(RETAKE_CONDITIONS):
                    print(f"-- {condition} (load average {load_average()})", flush=True)
                    with busy_cores(spinners):
                        mark, first = cpu_mark(), turn * RETAKE_ROUNDS
                        for case in RETAKE_CASES:
                            made = retake_rounds(page, api, engine, script, case, first)
                            print_retakes(condition, case, made)
                        elsewhere = cores_elsewhere(mark)
                    print(f"{'':14} other work on this machine: {elsewhere:.2f} cores meanwhile")


def cpu_mark() -> tuple[float, float, float]:
    return time.perf_counter(), busy_seconds(), own_cpu_seconds()


def cores_elsewhere(mark: tuple[float, float, float]) -> float:
    """The cores kept busy on average since ``mark`` by processes other than this one and
    those it started (Linux; else 0)."""
    wall, busy, ours = (now - then for now, then in zip(cpu_mark(), mark, strict=True))
    return max(0.0, busy - ours) / wall


def own_cpu_seconds() -> float:
    """CPU seconds of this process and of every process it started, and they started, still
    running (with those they waited for) (Linux; else 0)."""
    stats = {}
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if entry.name.isdigit():  # stat's fields after the name: ppid, ..., 11-14 times
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
                stats[int(entry.name)] = (int(fields[1]), sum(map(int, fields[11:15])))
    ours = {os.getpid()}
    while more := {pid for pid, (parent, _) in stats.items() if parent in ours} - ours:
        ours |= more
    return sum(stats[pid][1] for pid in ours if pid in stats) / os.sysconf("SC_CLK_TCK")


def warm_kokoro() -> Any:
    """KokoroEngine in this process, as the studio speaks a re-take (every core's thread),
    its model loaded and its first sentence spoken."""
    from voicer.model import Prosody
    from voicer.synthesis.engines.kokoro import KokoroEngine

    engine = KokoroEngine()
    engine.load()
    engine.synthesise("同志们，大家好。", "zm_yunxi", Prosody())
    return engine


@contextlib.contextmanager
def studio_page(address: str) -> Iterator[Any]:
    """The studio's page in headless Chromium, once its first render is shown."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(address)
            page.wait_for_selector("body[data-ready]", timeout=RETAKE_TIMEOUT_MS)
            yield page
        finally:
            browser.close()


@contextlib.contextmanager
def busy_cores(count: int) -> Iterator[None]:
    """``count`` processes that each keep a core busy meanwhile."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def retake_rounds(
    page: Any, api: Any, engine: Any, script: Path, case: str, first: int
) -> list[Retake]:
    """RETAKE_ROUNDS re-takes of one case, changes ``first`` on (each new to this run)."""
    made = []
    for number in range(first, first + RETAKE_ROUNDS):
        page.wait_for_function("() => !document.body.classList.contains('busy')")
        change_sentence(page, case, number)
        timed = page.evaluate(
            TIMED_RETAKE, {"index": RETAKE_SENTENCE, "timeout": RETAKE_TIMEOUT_MS}
        )
        # the page plays the sentence re-taken: silent while the engine is timed
        page.wait_for_function("() => !document.body.classList.contains('busy')")
        page.evaluate("() => document.querySelector('#player').pause()")
        said = api.get("/api/state").json()["sentences"][RETAKE_SENTENCE]
        failure = timed["failure"] or unlike(said, retake_change(case, number))
        found = (timed["seconds"], engine_alone(engine, said, script), failure)
        made.append(Retake(*found, timed["answer"], timed["preview"]))
    return made


def retake_change(case: str, number: int) -> dict[str, Any]:
    """Change number ``number`` of ``case``, as the state says it once made."""
    if case == "settings":  # and another voice, of those the page offers
        return {"rate": 6 + 4 * number, "pause": 450 + 50 * number}
    return {"shown": (TYPED if case == "typed" else PASTED)[number]}


def unlike(said: dict[str, Any], change: dict[str, Any]) -> str | None:
    """What the state ``said`` of the sentence shows the change did not make, if anything."""
    wrong = {name: said[name] for name, value in change.items() if said[name] != value}
    return f"the sentence has {wrong}, not {change}" if wrong else None


def change_sentence(page: Any, case: str, number: int) -> None:
    """Change number ``number`` of ``case`` made in the page as a person makes it, up to the
    click on Re-take: a text typed or pasted over the sentence's, or another voice (of those
    the page offers), a new rate and a new pause."""
    item = page.locator(f'.sentence[data-index="{RETAKE_SENTENCE}"]')
    change = retake_change(case, number)
    if case == "settings":
        select = item.locator("select.voice")
        offered = select.locator("option").evaluate_all("options => options.map(o => o.value)")
        others = [voice for voice in offered if voice and voice != select.input_value()]
        select.select_option(others[number % len(others)])
        item.locator("input.rate").fill(str(change["rate"]))
        item.locator("input.pause").fill(str(change["pause"]))
        return
    item.locator("textarea.edit").select_text()
    if case == "typed":
        page.keyboard.type(change["shown"], delay=KEY_DELAY_MS)
    else:
        page.keyboard.insert_text(change["shown"])  # one input event, as a paste fires


ENGINE_TIMINGS = 3  # the engine's own time for a sentence: the median of this many


def engine_alone(engine: Any, said: dict[str, Any], script: Path) -> float:
    """Seconds the engine takes (the median of ENGINE_TIMINGS), in this process, to say the
    sentence as the studio has it:
    its spoken text, voice and rate from the state (``said``), with the readings of the
    studio's file written into the text, as pipeline.synthesise_segment does."""
    from dataclasses import replace

    from voicer import pipeline
    from voicer.script.overrides import annotate
    from voicer.script.reading import read_script

    plan = pipeline.prepare(read_script(script), pipeline.RenderOptions(engine="kokoro"))
    segment = plan.segments[RETAKE_SENTENCE]
    if segment.spoken != said["spoken"]:
        raise RuntimeError(f"the studio says {said['spoken']!r}, its file {segment.spoken!r}")
    text = annotate(said["spoken"], segment.pinyin)
    prosody = replace(plan.prosody, rate=said["rate"])
    times = []
    for _ in range(ENGINE_TIMINGS):  # one timing on a busy machine is as noisy as the re-take
        clear_g2p_caches()  # the engine reads the text afresh, as the studio does a new one
        began = time.perf_counter()
        engine.synthesise(text, said["voice"], prosody)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def print_retakes(condition: str, case: str, made: list[Retake]) -> None:
    factor, constant = RETAKE_BOUND
    held = [retake for retake in made if retake.failure is None]
    worst = max((retake.ratio for retake in held), default=float("nan"))
    verdict = "holds" if len(held) == len(made) and worst <= 1 else "MISSED"
    print(
        f"{condition:<5}{case:<9} re-take {_figures([r.seconds for r in made])} s; "
        f"engine {_figures([r.engine_seconds for r in made])} s; re-take / "
        f"({factor:g}*engine + {constant:g}) {_figures([r.ratio for r in held])}: "
        f"worst {worst:.3f}, {verdict}"
    )
    answers = _figures([r.answer_seconds for r in made])
    downloads = _figures([r.preview_seconds for r in made])
    print(
        f"{'':14} of which the re-take's answer {answers} s, the preview's download {downloads} s"
    )
    for retake in made:
        if retake.failure is not None:
            print(f"{'':14} failed after {retake.seconds:.1f} s: {retake.failure}")
    sys.stdout.flush()


# --- batch ---------------------------------------------------------------------------------


BATCH_SCRIPTS = 20
BATCH_WORKERS = (1, 2)


def kill_with_descendants(pattern: str) -> None:
    """SIGKILL for the processes whose command line matches ``pattern``, and their own."""
    found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout
    pids = set(found.split())
    while True:
        children = subprocess.run(["pgrep", "-P", ",".join(pids)], capture_output=True, text=True)
        more = set(children.stdout.split()) - pids
        if not pids or not more:
            break
        pids |= more
    if pids:
        subprocess.run(["kill", "-9", *pids], check=False, capture_output=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


BATCH_BACKENDS = {  # how each is named in the figures: voicer batch's options
    "local": ("--backend", "local"),
    "ray": ("--backend", "ray"),  # a Ray instance of its own, started and stopped by the batch
    "cluster": ("--backend", "ray", "--ray-address"),  # + the address of one started apart
}
BATCH_ORDER = ("local", "ray", "cluster", "cluster", "ray", "local")


# one batch run: the process, the seconds of audio it made, the seconds its batch took alone
BatchRun = tuple[Run, float, float]


def batch_section(quick: bool) -> None:
    """20 scripts cut from the long example, rendered by `voicer batch` with 1 and 2 workers
    on the local backend, on a Ray instance of its own, and on a Ray cluster started apart
    (`ray start --head` on 127.0.0.1, as a cluster that is already up); each run a fresh
    process with a fresh cache. The machine's speed drifts by more than the differences
    sought, so for each worker count the runs go in BATCH_ORDER, and each figure is the sum
    of a backend's two runs."""
    engine = "tone" if quick else "kokoro"
    runs: dict[tuple[str, int], list[BatchRun]] = {}
    with tempfile.TemporaryDirectory() as tmp, ray_head() as address:
        folder = Path(tmp)
        write_batch_scripts(folder / "in")
        for workers in BATCH_WORKERS:
            for backend in BATCH_ORDER:
                made = runs.setdefault((backend, workers), [])
                made.append(batch_run(folder, backend, workers, len(made), engine, address))
        outputs = sorted(folder.glob("out-*"))
        same = all(
            (out / f"{n:02}.mp3").read_bytes() == (outputs[0] / f"{n:02}.mp3").read_bytes()
            for out in outputs
            for n in range(BATCH_SCRIPTS)
        )
    print_batch_figures(runs, engine)
    print(f"outputs identical on every backend and worker count: {'yes' if same else 'NO'}")


def write_batch_scripts(scripts: Path) -> None:
    """BATCH_SCRIPTS scripts in ``scripts``, each a paragraph of the long example in turn."""
    paragraphs = [p for p in LONG_EXAMPLE.read_text(encoding="utf-8").split("\n") if p.strip()]
    scripts.mkdir()
    for n in range(BATCH_SCRIPTS):
        chosen = paragraphs[n % len(paragraphs)]
        (scripts / f"{n:02}.txt").write_text(chosen + "\n", encoding="utf-8")


def batch_run(
    folder: Path, backend: str, workers: int, number: int, engine: str, address: str
) -> BatchRun:
    """The ``number``th `voicer batch` of ``folder``/in on ``backend`` with ``workers``
    workers (``address``: the cluster's), a fresh process with a cache of its own; its
    figures printed as it ends."""
    name = f"{backend}-{workers}-{number}"
    env = child_env(VOICER_CACHE_DIR=str(folder / f"cache-{name}"), **RAY_LOOPBACK)
    options = [*BATCH_BACKENDS[backend], *([address] if backend == "cluster" else [])]
    command = [
        sys.executable, "-m", "voicer", "batch", "in", "-o", f"out-{name}",
        "--engine", engine, *options, "--workers", str(workers), "-q",
    ]  # fmt: skip
    run = run_child(command, folder, env)
    report = json.loads((folder / f"out-{name}" / "report.json").read_text())
    audio = sum(item["audio_seconds"] for item in report)
    batch_seconds = float(re.search(r" in ([\d.]+) s", run.stdout)[1])  # type: ignore[index]
    print(
        f"  {backend:<7} {workers} worker(s): {run.seconds:6.1f} s wall, "
        f"{batch_seconds:6.1f} s batch alone, peak RSS {run.peak_mb:.0f} MB",
        flush=True,
    )
    return run, audio, batch_seconds


def print_batch_figures(runs: dict[tuple[str, int], list[BatchRun]], engine: str) -> None:
    """Each backend's speed in audio seconds per second, then Ray's against the local
    backend's for each worker count."""
    audio = runs[("local", 1)][0][1]
    print(f"{BATCH_SCRIPTS} scripts, {audio:.1f} s of audio, {engine} engine, fresh caches")
    for (backend, workers), made in sorted(runs.items(), key=lambda item: item[0][1]):
        wall = sum(run.seconds for run, _, _ in made)
        alone = sum(seconds for _, _, seconds in made)
        print(
            f"{backend:<7} {workers} worker{'s' if workers > 1 else ' '}  "
            f"{len(made) * audio / wall:6.2f} audio-s per wall-s, "
            f"{len(made) * audio / alone:6.2f} counting the batch alone"
        )
    for workers in BATCH_WORKERS:
        local = runs[("local", workers)]
        for backend in ("ray", "cluster"):
            ray = runs[(backend, workers)]
            wall = sum(r.seconds for r, _, _ in ray) / sum(r.seconds for r, _, _ in local)
            alone = sum(s for _, _, s in ray) / sum(s for _, _, s in local)
            print(
                f"{backend} / local, {workers} worker(s): {wall:.2f} wall, "
                f"{alone:.2f} batch alone (target <= 1.10)"
            )


# Ray's own switches: its servers on 127.0.0.1 only, and the access token `ray start` keeps
# in ~/.ray sent by the drivers too
RAY_LOOPBACK = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "token"}


@contextlib.contextmanager
def ray_head() -> Iterator[str]:
    """A one-node Ray cluster of 2 CPUs on 127.0.0.1, started with `ray start --head`: its
    address; afterwards its processes are killed, and no other Ray on this machine."""
    ray = str(Path(sys.executable).with_name("ray"))
    port, client_port = free_port(), free_port()
    folder = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # short: Ray's sockets live in it
    command = [
        ray, "start", "--head", f"--port={port}", "--node-ip-address=127.0.0.1",
        f"--ray-client-server-port={client_port}", "--num-cpus=2", "--include-dashboard=false",
        "--disable-usage-stats", f"--temp-dir={folder}",
    ]  # fmt: skip
    subprocess.run(command, env=child_env(**RAY_LOOPBACK), check=True, capture_output=True)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        # its processes name the folder (Ray Client's server, the cluster's address), and
        # the processes they started (Ray's agents, workers) too
        kill_with_descendants(f"{folder}|--address=127.0.0.1:{port} ")
        shutil.rmtree(folder, ignore_errors=True)


def cache_note(run: Run) -> str:
    found = summary_of(run)
    return f"{found.synthesised} synthesised, {found.cached} from the cache"


# --- small ---------------------------------------------------------------------------------


def small_section(quick: bool) -> None:
    """Small commands, in turn, round after round, so that a change in the machine's load
    weighs on each alike; the median of each."""
    commands = {
        "import voicer": [sys.executable, "-c", "import voicer"],
        "voicer --help": [*console_script("voicer"), "--help"],
        "edge-tts --help": [*console_script("edge-tts"), "--help"],
        "voicer check": [*console_script("voicer"), "check", str(EXAMPLE)],
    }
    env = child_env()
    rounds = 3 if quick else 7
    times: dict[str, list[float]] = {name: [] for name in commands}
    for timed in [False] + [True] * rounds:
        for name, command in commands.items():
            seconds = run_child(command, ROOT, env).seconds
            if timed:
                times[name].append(seconds)
    medians = {name: statistics.median(found) for name, found in times.items()}
    for name, median in medians.items():
        print(f"{name:<20} {1000 * median:8.0f} ms (median of {rounds})")
    edge = medians["edge-tts --help"]
    for name, target in (("voicer --help", 1.2), ("voicer check", 2.0)):
        print(f"{name} / edge-tts --help {medians[name] / edge:6.2f}x (target <= {target}x)")


def console_script(name: str) -> list[str]:
    """The command ``name`` of this Python's environment, as a user runs it."""
    found = Path(sys.executable).with_name(name)
    if found.exists():
        return [str(found)]
    return [sys.executable, "-m", name.replace("-", "_")]


def load_average() -> str:
    return ", ".join(f"{figure:.1f}" for figure in os.getloadavg())


# --- main ----------------------------------------------------------------------------------


# --- align ---------------------------------------------------------------------------------


def align_section(text: Path, quick: bool) -> None:
    import align_media

    with tempfile.TemporaryDirectory(prefix="voicer-bench-align-") as name:
        folder = Path(name)
        script = Path(shutil.copy(text, folder / "speech.txt"))
        with environment(VOICER_CACHE_DIR=str(folder / "cache")):
            readings = align_readings(align_media, script, folder)
            print(f"{'recording':<10} {'min':>5} {'s/min wall/CPU':>10} {'sentence start ms':>24} "
                  f"{'cues':>12} {'words ms':>16} {'doubted':>8} {'missed':>7}")  # fmt: skip
            pooled: list[float] = []
            for label, reading in readings.items():
                found = align_accuracy(reading, script, folder)
                print_alignment(label, reading, found)
                pooled += found.cues
            cues = np.array(pooled)
            print(
                f"kokoro recordings' cue starts together: median {np.median(cues) * 1000:.0f} ms "
                f"(target <= 40), {np.mean(cues <= 0.1):.1%} within 100 ms (target >= 95 %)"
            )
            tiled_alignment(align_media, text, readings["faster"], folder, 2 if quick else 13)


def align_readings(media: Any, script: Path, folder: Path) -> dict[str, Any]:
    """The recordings the accuracy is measured on, with their truth (see the docstring)."""
    began = time.perf_counter()
    faster = media.kokoro_reading(
        script, folder, "faster", rate="+10%", sentence_pause_ms=250, paragraph_pause_ms=1200
    )
    slower = media.kokoro_reading(
        script, folder, "slower", rate="-10%", sentence_pause_ms=900, paragraph_pause_ms=500
    )
    readings = {
        "faster": faster,
        "slower": slower,
        "noisy": media.treated(slower, folder / "noisy.m4a", snr_db=10, bed_db=-10),
        "music": media.treated(faster, folder / "music.flac", 10, -10, music_before=5.0),
        "espeak-ng": media.espeak_reading(script, folder),
    }
    print(f"(recordings made in {time.perf_counter() - began:.0f} s)")
    return readings


@dataclass(frozen=True)
class AlignAccuracy:
    minutes: float
    align_seconds: float
    cpu_seconds: float
    sentences: list[float]  # absolute start errors, seconds
    cues: list[float]
    words: list[float]
    doubted: int
    missed: int  # off by more than 250 ms and not doubted


def align_accuracy(reading: Any, script: Path, folder: Path) -> AlignAccuracy:
    from voicer import pipeline
    from voicer.script import reading as scripts

    stem = reading.path.stem
    timeline = folder / f"{stem}.t.json"
    outputs = pipeline.AlignOutputs((folder / f"{stem}-aligned.srt",), timeline)
    result = pipeline.align_recording(
        scripts.read_script(script), reading.path, outputs, pipeline.RenderOptions("kokoro")
    )
    document = json.loads(timeline.read_text(encoding="utf-8"))
    sentences = [s for s in document["sentences"] if s["index"] in reading.starts]
    errors = [abs(s["start"] - reading.starts[s["index"]]) for s in sentences]
    found = {cue["text"]: cue["start"] for s in sentences for cue in s["cues"]}
    cues = [abs(found[text] - start) for start, text in reading.cues if text in found]
    words = [
        abs(word["start"] - start)
        for s in sentences
        if len(reading.words.get(s["index"], ())) == len(s["words"])
        for word, start in zip(s["words"], reading.words[s["index"]], strict=True)
    ]
    missed = sum(e > 0.25 and not s["doubtful"] for e, s in zip(errors, sentences, strict=True))
    return AlignAccuracy(
        result.duration / 60,
        result.align_seconds,
        result.align_cpu_seconds,
        errors,
        cues,
        words,
        sum(s["doubtful"] for s in sentences),
        missed,
    )


def print_alignment(label: str, reading: Any, found: AlignAccuracy) -> None:
    def ms(values: list[float], share: float) -> str:
        return f"{np.percentile(values, share) * 1000:.0f}" if values else "-"

    def within(values: list[float], limit: float) -> str:
        return f"{np.mean(np.array(values) <= limit):.0%}" if values else "-"

    starts = found.sentences
    print(
        f"{label:<10} {found.minutes:>5.1f} {found.align_seconds / found.minutes:>5.2f}"
        f"/{found.cpu_seconds / found.minutes:<4.2f} "
        f"{ms(starts, 50):>5}/{ms(starts, 90):>4} {within(starts, 0.04):>5}<40 "
        f"{within(starts, 0.1):>4}<100 {within(found.cues, 0.1):>7}<100 "
        f"{ms(found.words, 50):>4}/{ms(found.words, 90):>4}/{ms(found.words, 100):>5} "
        f"{found.doubted:>4}/{len(starts):<3} {found.missed:>7}"
    )


def tiled_alignment(media: Any, text: Path, reading: Any, folder: Path, times: int) -> None:
    """The reading repeated ``times`` times against the script repeated as often."""
    script = folder / "tiled.txt"
    script.write_text("\n\n".join([text.read_text(encoding="utf-8")] * times), encoding="utf-8")
    recording = folder / "tiled.flac"
    media.write(np.tile(media.decode(reading.path), times), recording)
    env = child_env(VOICER_CACHE_DIR=str(folder / "cache"))  # the reference: every clip there
    figures = folder / "figures.json"
    command = [sys.executable, "-m", "voicer", "align", str(script), str(recording)]
    wrapped = [sys.executable, "-c", MEASURE, str(figures), *command, "-o", "tiled.srt"]
    done = subprocess.run(wrapped, cwd=folder, env=env, capture_output=True, check=False)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"voicer align exited {done.returncode}: {done.stderr[-2000:]!r}")
    seconds, peak_kib = json.loads(figures.read_text())
    printed = done.stdout.decode()
    summary = re.search(
        r"for ([\d.]+) min of recording .*alignment ([\d.]+) s \(([\d.]+) s CPU", printed
    )
    if summary is None:
        raise RuntimeError(f"no summary line in: {printed[-2000:]!r}")
    minutes, aligning, cpu = float(summary[1]), float(summary[2]), float(summary[3])
    print(
        f"tiled: {minutes:.1f} min of recording ({times} x the script): the CLI {seconds:.1f} s "
        f"wall, the alignment {aligning:.1f} s ({aligning / minutes:.2f} s/min; CPU "
        f"{cpu / minutes:.2f} s/min), peak RSS "
        f"{peak_kib / 1024:.0f} MB (target < 500), {printed.count(': doubtful')} sentences "
        "doubted"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sections", nargs="*", metavar="SECTION", help=", ".join(SECTIONS))
    parser.add_argument(
        "--quick",
        action="store_true",
        help="long: 100 and 1,000 sentences; longline: 1,000 characters (kokoro) and 10,000 "
        "(tone); batch: the tone engine; small: 3 rounds",
    )
    parser.add_argument(
        "--text",
        type=Path,
        help="kokoro, cached, video and studiostart: the speech to render [kokoro: the "
        "example; the others: examples/long-speech.txt]",
    )
    args = parser.parse_args()
    unknown = [name for name in args.sections if name not in SECTIONS]
    if unknown:
        parser.error(f"unknown section {', '.join(unknown)}; known: {', '.join(SECTIONS)}")
    sections = {
        "edge": edge_section,
        "rerender": rerender_section,
        "kokoro": lambda: kokoro_section(args.text or EXAMPLE),
        "long": lambda: long_section(args.quick),
        "longline": lambda: longline_section(args.quick),
        "cached": lambda: cached_section(args.text or LONG_EXAMPLE),
        "video": lambda: video_section(args.text or LONG_EXAMPLE),
        "studio": studio_section,
        "studiostart": lambda: studiostart_section(args.text or LONG_EXAMPLE),
        "retake": retake_section,
        "batch": lambda: batch_section(args.quick),
        "small": lambda: small_section(args.quick),
        "align": lambda: align_section(
            args.text or (EXAMPLE if args.quick else LONG_EXAMPLE), args.quick
        ),
    }
    for name in args.sections or SECTIONS:
        print(f"== {name} == (load average {load_average()} on {os.cpu_count()} cores)", flush=True)
        sections[name]()
        sys.stdout.flush()


if __name__ == "__main__":
    main()
