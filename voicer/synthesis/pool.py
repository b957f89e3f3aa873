"""Speaking the sentences: the engine through the clip cache, several sentences at once,
each request retried when it fails for a passing reason. Clips come back in script order
whatever order they finish in, so the result does not depend on the number of jobs.
"""

from __future__ import annotations

import math
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from voicer.errors import SynthesisError
from voicer.model import Clip, Prosody, Segment
from voicer.synthesis import cache
from voicer.synthesis.engines import selection
from voicer.synthesis.retry import Backoff, RetryPolicy, call_with_retries

AHEAD_PER_JOB = 4  # sentences started ahead of the one being assembled, per job


@dataclass(frozen=True)
class Counts:
    """A speaker's work at one moment: clips the engine made, clips the cache had, and engine
    requests tried again after a transient failure."""

    synthesised: int = 0
    cached: int = 0
    retries: int = 0


class Speaker:
    """The chosen engine and voice, through the clip cache when there is one, with retries.

    Safe to use from several threads at once; counts cache hits, clips made and retries.
    """

    def __init__(
        self,
        choice: selection.Choice,
        prosody: Prosody,
        clips: cache.ClipCache | None,
        policy: RetryPolicy,
        on_retry: Callable[[str], None] | None = None,
    ) -> None:
        self.choice = choice
        self.prosody = prosody
        self.clips = clips
        self.policy = policy
        self.backoff = Backoff()
        self.on_retry = on_retry
        self.hits = self.misses = self.retries = 0
        self._lock = threading.Lock()
        self._making: dict[str, Future[Clip]] = {}  # requests under way, by cache key
        # computed once: the engine version may read package metadata or stat a model file
        engine = choice.engine
        self.key_fields = (engine.name, engine.cache_version)

    @property
    def word_marks(self) -> bool:
        return self.choice.engine.word_marks

    def counts(self) -> Counts:
        """What it has done so far."""
        with self._lock:
            return Counts(synthesised=self.misses, cached=self.hits, retries=self.retries)

    def cached(self, text: str, voice: str | None = None, prosody: Prosody | None = None) -> bool:
        """Whether :meth:`speak` would find ``text`` in the cache."""
        return self.clips is not None and self.clips.holds(self._name(text, voice, prosody))

    def speak(self, text: str, voice: str | None = None, prosody: Prosody | None = None) -> Clip:
        """``text`` in ``voice`` with ``prosody`` (by default the render's)."""
        voice = voice or self.choice.voice
        prosody = prosody or self.prosody
        if self.clips is None:
            return self._synthesise(text, voice, prosody)
        name = self._name(text, voice, prosody)
        with self._lock:
            # the same words twice in a script: made once, whichever thread asks first
            making = self._making.get(name)
            owner = making is None
            if making is None:
                self._making[name] = making = Future()
        if not owner:
            clip = making.result()
            self._count("hits")
            return clip
        try:
            found = self.clips.get(name)
            if found is not None:
                self._count("hits")
            else:
                found = self._synthesise(text, voice, prosody)
                self.clips.put(name, found)
            making.set_result(found)
            return found
        except BaseException as exc:
            making.set_exception(exc)
            raise
        finally:
            with self._lock:
                del self._making[name]

    def _name(self, text: str, voice: str | None, prosody: Prosody | None) -> str:
        voice, prosody = voice or self.choice.voice, prosody or self.prosody
        return cache.key(*self.key_fields, voice, repr(prosody), text)

    def _synthesise(self, text: str, voice: str, prosody: Prosody) -> Clip:
        engine = self.choice.engine
        clip = call_with_retries(
            lambda: engine.synthesise(text, voice, prosody),
            self.policy,
            self.backoff,
            lambda attempt, error, delay: self._retrying(text, attempt, error, delay),
        )
        self._count("misses")
        return clip

    def _retrying(self, text: str, attempt: int, error: SynthesisError, delay: float) -> None:
        self._count("retries")
        if self.on_retry:
            self.on_retry(
                f"attempt {attempt} for “{preview(text)}” failed: {error}; retry in {delay:.1f} s"
            )

    def _count(self, what: str) -> None:
        with self._lock:
            setattr(self, what, getattr(self, what) + 1)


def preview(text: str, width: int = 16) -> str:
    """The start of ``text`` on one line, for messages.

    >>> preview("一二三四五六七八九十一二三四五六七八")
    '一二三四五六七八九十一二三四五…'
    """
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


class Synthesis:
    """Every sentence's clip, in script order, made by ``jobs`` worker threads that start at
    once (so the caller can do other work while they run); iterate to take the clips.

    ``speak(i)`` makes sentence i's clip; it is called from the worker threads. At most
    ``jobs * AHEAD_PER_JOB`` sentences are in flight or waiting to be taken, so memory does
    not grow with the length of the script. :meth:`close` (or leaving the ``with`` block) drops
    the sentences not started and cancels backoffs; the workers are daemon threads, so a
    request still running does not hold up the exit.
    """

    def __init__(
        self,
        speak: Callable[[int], Clip],
        segments: Sequence[Segment],
        jobs: int,
        backoff: Backoff | None = None,
    ) -> None:
        self.speak, self.segments, self.backoff = speak, segments, backoff
        self.window = max(1, jobs) * AHEAD_PER_JOB
        self.tasks: queue.PriorityQueue[tuple[float, int, Future[Clip] | None]] = (
            queue.PriorityQueue()
        )
        self.waiting: deque[Future[Clip]] = deque()
        self.started = 0
        self.workers = [
            threading.Thread(target=self._work, daemon=True) for _ in range(max(1, jobs))
        ]
        for worker in self.workers:
            worker.start()
        self._fill()

    def __iter__(self) -> Iterator[Clip]:
        for _ in self.segments:
            self._fill()
            yield self.waiting.popleft().result()

    def __enter__(self) -> Synthesis:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        for future in self.waiting:
            future.cancel()
        if self.backoff:
            self.backoff.cancel()
        for number in range(len(self.workers)):
            self.tasks.put((math.inf, number, None))

    def _fill(self) -> None:
        while self.started < len(self.segments) and len(self.waiting) < self.window:
            self.waiting.append(Future())
            self.tasks.put((self._priority(self.started), self.started, self.waiting[-1]))
            self.started += 1

    def _priority(self, index: int) -> float:
        """Longest first when several workers share the waiting sentences (the last one to
        finish then ends sooner); in script order for one."""
        return -len(self.segments[index].spoken) if len(self.workers) > 1 else index

    def _work(self) -> None:
        while (task := self.tasks.get())[2] is not None:
            _, index, future = task
            assert future is not None
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(self.speak(index))
            except BaseException as exc:  # handed to the caller, which raises it
                future.set_exception(exc)
