"""Trying an engine request again when it failed for a passing reason.

One ``Backoff`` is shared by all worker threads of a render: a throttled answer (HTTP 429)
holds back the whole pool, not just the thread that got it, and ``cancel()`` (on Ctrl-C) wakes
every waiting thread at once instead of letting it sit out a long backoff. Each request is
wrapped in ``call_with_retries``, which retries transient ``SynthesisError``s with exponential
backoff and jitter and lets every other error through at once.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from voicer.defaults import RETRIES
from voicer.errors import SynthesisError

T = TypeVar("T")
OnRetry = Callable[[int, SynthesisError, float], None]
_RNG = random.Random()


class Cancelled(Exception):
    """Raised by a ``Backoff`` wait once the backoff has been cancelled (the render stops)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a failed request is tried again.

    ``retries``: extra attempts after the first. The wait before retry ``n`` (0 for the first)
    is ``min(max_delay, base_delay * 2**n)`` seconds, times a random factor in [0.5, 1].
    """

    retries: int = RETRIES
    base_delay: float = 0.5
    max_delay: float = 30.0

    def __post_init__(self) -> None:
        if self.retries < 0 or self.base_delay < 0 or self.max_delay < 0:
            raise ValueError(f"a retry policy takes no negative numbers: {self}")

    def delay(self, n: int, rng: random.Random) -> float:
        """Seconds to wait before retry ``n`` (counting from 0), with jitter from ``rng``.

        >>> policy = RetryPolicy(base_delay=1.0, max_delay=5.0)
        >>> [0.5 <= policy.delay(0, random.Random(n)) <= 1.0 for n in range(3)]
        [True, True, True]
        >>> [2.5 <= policy.delay(n, random.Random(0)) <= 5.0 for n in (10, 5000)]
        [True, True]
        """
        doubled = self.base_delay * 2 ** min(n, 64)  # no float overflow for a huge budget
        return min(self.max_delay, doubled) * rng.uniform(0.5, 1.0)


class Backoff:
    """When the worker threads of one render may send their next request (thread-safe).

    >>> backoff = Backoff()
    >>> backoff.wait()  # nothing held: returns at once
    >>> backoff.cancel()
    >>> backoff.wait()
    Traceback (most recent call last):
    ...
    voicer.synthesis.retry.Cancelled: the render was cancelled
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._resume_at = 0.0  # time.monotonic() before which nobody sends
        self._cancelled = False

    @property
    def cancelled(self) -> bool:
        """Whether ``cancel()`` has been called."""
        with self._condition:
            return self._cancelled

    def wait(self) -> None:
        """Block until the pool may send again (at once unless held); raise Cancelled."""
        with self._condition:
            while self._wait_step(self._resume_at):
                pass

    def hold(self, seconds: float) -> None:
        """Hold every thread's next send until at least ``seconds`` from now."""
        with self._condition:
            self._resume_at = max(self._resume_at, time.monotonic() + seconds)

    def sleep(self, seconds: float) -> None:
        """Block this thread alone for ``seconds``, or until cancelled (then raise Cancelled)."""
        deadline = time.monotonic() + seconds
        with self._condition:
            while self._wait_step(deadline):
                pass

    def cancel(self) -> None:
        """Wake every waiting thread now; from now on every wait raises Cancelled."""
        with self._condition:
            self._cancelled = True
            self._condition.notify_all()

    def _wait_step(self, deadline: float) -> bool:
        """Wait (lock held) towards ``deadline``; False once it has passed, raise if cancelled."""
        if self._cancelled:
            raise Cancelled("the render was cancelled")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        self._condition.wait(remaining)
        return True


def call_with_retries(
    action: Callable[[], T],
    policy: RetryPolicy,
    backoff: Backoff,
    on_retry: OnRetry | None = None,
    rng: random.Random | None = None,
) -> T:
    """``action()``, tried again after a transient SynthesisError while ``policy`` allows.

    Every attempt first waits for ``backoff``. After a transient failure, with attempts left,
    ``on_retry(attempt, error, delay)`` is called (``attempt``: the number of the attempt that
    failed, from 1) and the next attempt waits ``delay`` seconds: a throttled error holds the
    whole pool that long, any other transient error only this thread. Errors that are not
    transient, and anything that is not a SynthesisError, propagate at once. When the retries
    are spent, the last error is raised again, its message ending in "(gave up after N
    attempts)". ``Cancelled`` is raised as soon as ``backoff`` is cancelled.

    >>> answers = iter([SynthesisError("busy", transient=True), "spoken"])
    >>> def action() -> str:
    ...     answer = next(answers)
    ...     if isinstance(answer, Exception):
    ...         raise answer
    ...     return answer
    >>> call_with_retries(action, RetryPolicy(base_delay=0.001), Backoff())
    'spoken'
    """
    rng = rng or _RNG
    attempts = policy.retries + 1
    for attempt in range(1, attempts + 1):
        backoff.wait()
        try:
            return action()
        except SynthesisError as error:
            if not error.transient:
                raise
            if attempt == attempts:
                raise _gave_up(error, attempts) from error
            _pause(attempt, error, policy.delay(attempt - 1, rng), backoff, on_retry)
    raise AssertionError("unreachable: the last attempt returns or raises")


def _pause(
    attempt: int, error: SynthesisError, delay: float, backoff: Backoff, on_retry: OnRetry | None
) -> None:
    """Report a retry, then wait ``delay`` (the whole pool for a throttled error)."""
    if error.throttled:
        backoff.hold(delay)  # before on_retry, so that no other thread slips a request in
    if on_retry is not None:
        on_retry(attempt, error, delay)
    if not error.throttled:
        backoff.sleep(delay)


def _gave_up(error: SynthesisError, attempts: int) -> SynthesisError:
    """``error`` once more, saying how many attempts were made.

    >>> final = _gave_up(SynthesisError("edge: HTTP 429", throttled=True), 6)
    >>> str(final), final.transient, final.throttled
    ('edge: HTTP 429 (gave up after 6 attempts)', True, True)
    >>> str(_gave_up(SynthesisError("edge: HTTP 503", transient=True), 1))
    'edge: HTTP 503 (gave up after 1 attempt)'
    """
    noun = "attempt" if attempts == 1 else "attempts"
    return error.replaced(reason=f"{error.reason} (gave up after {attempts} {noun})")
