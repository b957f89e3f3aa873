"""Rendering many scripts at once: the scheduler behind ``voicer batch``.

Every sentence of every script is a unit of work. This process (the driver) prepares each
script (one with bad input is reported and left out), then has its sentences spoken by the
backend's engine through the script's own speaker (the shared clip cache, retries). A script
is finished (joined, cued, mastered and written) as soon as its last clip exists, while the
engine goes on with the next scripts' sentences. Sentences go out in script order, so scripts
finish in order and few are held in memory at once.

Backends differ only in where the engine runs and where a script is finished: ``local``
(worker processes on this machine, finished here) and ``ray`` (actors and tasks on a Ray
cluster). The clips come back here either way, so the cache and the retries, and for the edge
service one concurrency limit and one backoff, are the driver's, whatever the backend.

A script whose outputs a batch wrote before, from the same script and settings, is skipped: a
stamp beside the outputs (``OUT/.voicer-batch/STEM.json``) records what made them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from voicer import __version__, files, pipeline
from voicer.batch.manifest import Entry
from voicer.batch.report import Outcome
from voicer.errors import OutputError, VoicerError
from voicer.model import Clip
from voicer.script import reading
from voicer.synthesis import pool
from voicer.synthesis.engines import selection
from voicer.synthesis.engines.protocol import Engine
from voicer.synthesis.retry import Backoff

STAMP_LIMIT = 64 << 10  # a stamp holds a script's name and a digest: far less than this


@dataclass(frozen=True)
class Job:
    """A script whose clips all exist, ready to be finished."""

    plan: pipeline.Plan
    clips: tuple[Clip, ...]
    targets: pipeline.Targets
    options: pipeline.RenderOptions

    @property
    def outputs(self) -> pipeline.Outputs:
        return self.targets.outputs


class Backend(Protocol):
    """Where the engines run and where scripts are finished."""

    name: str
    workers: int  # engines working at once
    description: str  # where it runs, for the user

    def engine(self, engine: Engine) -> Engine:
        """``engine`` as this backend runs it (the same engine, for one that runs here)."""
        ...

    def finish(self, job: Job) -> Future[pipeline.Delivered]:
        """Deliver the job's outputs (all or nothing), soon or later."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Progress:
    """How far a batch has got."""

    scripts_done: int
    scripts: int
    sentences_done: int
    sentences: int
    audio_seconds: float  # delivered so far
    elapsed: float


class _Script:
    """One script under way: its plan, speaker and clips so far."""

    def __init__(
        self, entry: Entry, plan: pipeline.Plan, speaker: pool.Speaker, targets: pipeline.Targets
    ) -> None:
        self.entry, self.plan, self.speaker, self.targets = entry, plan, speaker, targets
        self.clips: list[Clip | None] = [None] * len(plan.segments)
        self.left = len(plan.segments)
        self.failed: str | None = None
        self.started = time.perf_counter()  # then, when its first sentence goes to the engine
        self.speaking = False


class Batch:
    """A batch run on one backend; :meth:`run` renders the entries and says how each went."""

    def __init__(
        self, backend: Backend, on_progress: Callable[[Progress], None] | None = None
    ) -> None:
        self.backend = backend
        self.on_progress = on_progress
        self._lock = threading.Lock()
        self._choices: dict[tuple[object, ...], selection.Choice] = {}
        self._engines: dict[int, Engine] = {}
        self._limits: dict[int, threading.Semaphore] = {}  # requests at once, per engine
        self._backoff = Backoff()  # one for every script: a throttled service slows them all
        self._outcomes: dict[int, Outcome] = {}
        self._done = self._sentences_done = self._sentences = 0
        self._audio = 0.0
        self._began = time.perf_counter()
        self._total = 0

    def run(self, entries: Sequence[Entry]) -> list[Outcome]:
        """Every entry rendered or skipped (up to date), or failed with its reason."""
        self._total = len(entries)
        scripts: list[tuple[int, _Script]] = []
        for number, entry in enumerate(entries):
            started = self._start(number, entry)
            if started is not None:
                scripts.append((number, started))
        threads = max([self.backend.workers, *(_jobs(s) for _, s in scripts)], default=1)
        finishing: list[Future[None]] = []
        speaking = ThreadPoolExecutor(threads, thread_name_prefix="voicer-batch")
        try:
            spoken = [
                speaking.submit(self._speak, number, script, index)
                for number, script in scripts
                for index in range(len(script.plan.segments))
            ]
            for unit in spoken:
                last = unit.result()
                if last is not None:
                    finishing.append(last)
            for script_done in finishing:
                script_done.result()
        except BaseException:  # Ctrl-C: what is delivered stays; nothing more is started
            self._backoff.cancel()
            raise
        finally:
            speaking.shutdown(wait=False, cancel_futures=True)
        return [self._outcomes[number] for number in range(len(entries))]

    def _start(self, number: int, entry: Entry) -> _Script | None:
        """The script prepared, or its outcome recorded at once (skipped, or bad input)."""
        began = time.perf_counter()
        try:
            targets = pipeline.check_outputs(entry.outputs, entry.options, str(entry.script))
            if _up_to_date(entry):
                self._record(number, _outcome(entry, "skipped", began))
                return None
            script = reading.read_script(entry.script)
            plan = pipeline.prepare(script, entry.options, self._choice(entry, script.language))
            speaker = pipeline.open_speaker(plan, entry.options)
        except VoicerError as error:
            self._record(number, _outcome(entry, "failed", began, str(error)))
            return None
        speaker.backoff = self._backoff
        limit = threading.BoundedSemaphore(pipeline.asked_jobs(plan, entry.options))
        self._limits.setdefault(id(plan.choice.engine), limit)
        with self._lock:
            self._sentences += len(plan.segments)
        return _Script(entry, plan, speaker, targets)

    def _choice(self, entry: Entry, language: str) -> selection.Choice:
        """The engine and voice for a script, chosen once for every script that asks alike,
        with the engine as the backend runs it."""
        options = entry.options
        key = (options.engine, options.voice, language, options.kokoro_model)
        if key not in self._choices:
            chosen = selection.choose(
                options.engine, options.voice, language, options.kokoro_model,
                options.probe_timeout,
            )  # fmt: skip
            engine = self._engines.setdefault(id(chosen.engine), self.backend.engine(chosen.engine))
            self._choices[key] = replace(chosen, engine=engine)
        return self._choices[key]

    def _speak(self, number: int, script: _Script, index: int) -> Future[None] | None:
        """Sentence ``index`` of a script spoken; once it was the last, the script's finishing
        under way."""
        if not script.speaking:
            script.started, script.speaking = time.perf_counter(), True
        if script.failed is None:
            try:
                with self._limits[id(script.plan.choice.engine)]:
                    clip = pipeline.synthesise_sentence(script.speaker, script.plan, index)
            except VoicerError as error:
                script.failed = script.failed or str(error)
            else:
                script.clips[index] = clip
        with self._lock:
            script.left -= 1
            self._sentences_done += 1
            last = script.left == 0
        self._report()
        if not last:
            return None
        if script.failed is not None:
            failed = _outcome(
                script.entry, "failed", script.started, script.failed, speaker=script.speaker
            )
            self._record(number, failed)
            return None
        return self._finish(number, script)

    def _finish(self, number: int, script: _Script) -> Future[None]:
        entry = script.entry
        clips = tuple(clip for clip in script.clips if clip is not None)
        job = Job(script.plan, clips, script.targets, entry.options)
        script.clips = []  # the job holds them now
        delivered = self.backend.finish(job)
        done: Future[None] = Future()

        def record(future: Future[pipeline.Delivered]) -> None:
            try:
                result = future.result()
            except VoicerError as error:
                self._record(number, _outcome(entry, "failed", script.started, str(error)))
            except BaseException as error:  # noqa: BLE001 - reported, never a dead batch
                message = f"{type(error).__name__}: {error}"
                self._record(number, _outcome(entry, "failed", script.started, message))
            else:
                _stamp(entry)
                counts = script.speaker.counts()
                made = pipeline.RenderResult.of(
                    script.plan, entry.outputs, result, counts, script.started
                )
                self._record(number, Outcome.delivered(entry.script, made))
            done.set_result(None)

        delivered.add_done_callback(record)
        return done

    def _record(self, number: int, outcome: Outcome) -> None:
        with self._lock:
            self._outcomes[number] = outcome
            self._done += 1
            self._audio += outcome.audio_seconds or 0.0
        self._report()

    def _report(self) -> None:
        if self.on_progress is None:
            return
        with self._lock:
            progress = Progress(
                self._done, self._total, self._sentences_done, self._sentences, self._audio,
                time.perf_counter() - self._began,
            )  # fmt: skip
        self.on_progress(progress)


def _jobs(script: _Script) -> int:
    """Requests at once for a script's engine: as asked, else the engine's default."""
    return pipeline.asked_jobs(script.plan, script.entry.options)


def _outcome(
    entry: Entry,
    status: str,
    began: float,
    error: str | None = None,
    speaker: pool.Speaker | None = None,
) -> Outcome:
    """A script skipped or failed: what the engine did for it, if anything."""
    counts = speaker.counts() if speaker else pool.Counts()
    return Outcome(
        script=entry.script,
        status=status,
        outputs=tuple(entry.outputs.all()) if status == "skipped" else (),
        error=error,
        seconds=time.perf_counter() - began,
        synthesised=counts.synthesised,
        cached=counts.cached,
    )


# --- what made the outputs -------------------------------------------------------------------


def _fingerprint(entry: Entry) -> str:
    """What a script's outputs depend on: voicer's version, the script's and lexicon's bytes,
    the settings and the output files' names."""
    digest = hashlib.sha256()
    digest.update(__version__.encode())
    for path in (entry.script, entry.options.lexicon):
        if path is not None:
            with contextlib.suppress(OSError):
                digest.update(hashlib.sha256(path.read_bytes()).digest())
    settings = replace(entry.options, cache_dir=None, cache_max=None, use_cache=True, jobs=None)
    digest.update(repr(settings).encode())
    digest.update(repr([str(path) for path in entry.outputs.all()]).encode())
    return digest.hexdigest()


def _up_to_date(entry: Entry) -> bool:
    """Whether the outputs are there, written by a batch from the same script and settings."""
    stamp = _read_stamp(entry.stamp)
    complete = all(path.is_file() for path in entry.outputs.all())
    return complete and isinstance(stamp, dict) and stamp.get("made") == _fingerprint(entry)


def _read_stamp(path: Path) -> object:
    """The record in the stamp at ``path``, or None: a link, a FIFO or a device found there
    (``-> /dev/zero``) is no stamp of a batch's (``files.read_own_file``)."""
    data = files.read_own_file(path, STAMP_LIMIT)
    try:
        return json.loads(data) if data is not None else None
    except ValueError:
        return None


def _stamp(entry: Entry) -> None:
    record = {"script": str(entry.script), "made": _fingerprint(entry)}
    with contextlib.suppress(OutputError):  # without it the script is only rendered again
        files.write_atomically(entry.stamp, json.dumps(record) + "\n")
