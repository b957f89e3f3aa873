"""Retries with backoff (voicer.synthesis.retry), shared by the worker threads of one render."""

from __future__ import annotations

import pickle
import random
import threading
import time
from collections.abc import Callable
from itertools import pairwise

import pytest

from voicer.errors import EngineUnavailable, SynthesisError
from voicer.synthesis.retry import Backoff, Cancelled, RetryPolicy, call_with_retries

FAST = RetryPolicy(retries=5, base_delay=0.001, max_delay=0.01)


class NoJitter(random.Random):
    """An rng whose jitter factor is always 1: every delay is exactly base * 2**n, capped."""

    def uniform(self, a: float, b: float) -> float:
        return b


class Script:
    """An action that raises the given errors in turn, then returns "done"; counts its calls."""

    def __init__(self, *errors: Exception, forever: Exception | None = None) -> None:
        self.errors = list(errors)
        self.forever = forever
        self.calls: list[float] = []  # time.monotonic() of each call

    def __call__(self) -> str:
        self.calls.append(time.monotonic())
        if self.errors:
            raise self.errors.pop(0)
        if self.forever is not None:
            raise self.forever
        return "done"


class Outcome:
    """Runs ``function`` in a thread and keeps what it returned or raised."""

    def __init__(self, function: Callable[[], object]) -> None:
        self.value: object = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(function,), daemon=True)
        self.thread.start()

    def _run(self, function: Callable[[], object]) -> None:
        try:
            self.value = function()
        except BaseException as exc:
            self.error = exc

    def join(self, seconds: float) -> Outcome:
        self.thread.join(seconds)
        assert not self.thread.is_alive(), "the thread is still waiting"
        return self


def transient(n: int = 0) -> SynthesisError:
    return SynthesisError(f"edge: no answer within 1 s #{n}", transient=True)


def throttled(n: int = 0) -> SynthesisError:
    return SynthesisError(f"edge: HTTP 429 #{n}", throttled=True)


# --- the error flags ---------------------------------------------------------------------------


def test_synthesis_errors_are_permanent_unless_flagged():
    assert (SynthesisError("x").transient, SynthesisError("x").throttled) == (False, False)
    assert EngineUnavailable("y").transient is False
    assert (transient().transient, transient().throttled) == (True, False)
    assert (throttled().transient, throttled().throttled) == (True, True)


def test_rebuilding_an_error_from_its_message_still_works_and_pickling_keeps_the_flags():
    error = EngineUnavailable("edge: cannot reach the service")
    again = type(error)(f"line 3: {error}")
    assert type(again) is EngineUnavailable and not again.transient
    assert str(again) == "line 3: edge: cannot reach the service"
    copy = pickle.loads(pickle.dumps(throttled(1)))
    assert (str(copy), copy.transient, copy.throttled) == ("edge: HTTP 429 #1", True, True)


# --- retries ------------------------------------------------------------------------------------


def test_a_transient_error_is_retried_until_the_action_succeeds():
    action = Script(transient(1), throttled(2))
    retries: list[tuple[int, SynthesisError, float]] = []
    policy = RetryPolicy(retries=5, base_delay=0.01, max_delay=1.0)
    result = call_with_retries(
        action, policy, Backoff(), lambda *args: retries.append(args), random.Random(7)
    )
    assert result == "done" and len(action.calls) == 3
    jitter = random.Random(7)
    expected = [0.01 * jitter.uniform(0.5, 1.0), 0.02 * jitter.uniform(0.5, 1.0)]
    assert [(n, str(error)) for n, error, _ in retries] == [
        (1, "edge: no answer within 1 s #1"),
        (2, "edge: HTTP 429 #2"),
    ]
    assert [delay for *_, delay in retries] == pytest.approx(expected)
    waited = [later - earlier for earlier, later in pairwise(action.calls)]
    assert all(w >= d for w, d in zip(waited, expected, strict=True)), (waited, expected)


def test_delays_double_from_the_base_up_to_the_ceiling_and_jitter_stays_within_half():
    policy = RetryPolicy(retries=5, base_delay=0.001, max_delay=0.004)
    delays: list[float] = []

    def on_retry(attempt: int, error: SynthesisError, delay: float) -> None:
        delays.append(delay)

    action = Script(*(transient(n) for n in range(5)))
    assert call_with_retries(action, policy, Backoff(), on_retry, NoJitter()) == "done"
    assert delays == pytest.approx([0.001, 0.002, 0.004, 0.004, 0.004])
    rng = random.Random(3)
    jittered = [RetryPolicy(base_delay=1.0).delay(2, rng) for _ in range(200)]
    assert 2.0 <= min(jittered) < 2.2 and 3.8 < max(jittered) <= 4.0


@pytest.mark.parametrize(
    "error",
    [SynthesisError("edge: bad answer"), EngineUnavailable("edge: cannot reach"), KeyError(1)],
)
def test_other_errors_are_raised_at_once_untouched(error):
    action = Script(error)
    retries: list[object] = []
    with pytest.raises(type(error)) as caught:
        call_with_retries(action, FAST, Backoff(), lambda *args: retries.append(args))
    assert caught.value is error
    assert (len(action.calls), retries) == (1, [])


def test_a_spent_budget_raises_the_last_error_saying_how_many_attempts_were_made():
    errors = [throttled(n) for n in range(1, 4)]
    action = Script(*errors)
    policy = RetryPolicy(retries=2, base_delay=0.001)
    with pytest.raises(SynthesisError) as caught:
        call_with_retries(action, policy, Backoff())
    assert str(caught.value) == "edge: HTTP 429 #3 (gave up after 3 attempts)"
    assert (caught.value.transient, caught.value.throttled) == (True, True)
    assert caught.value.__cause__ is errors[-1] and len(action.calls) == 3


def test_no_retries_means_one_attempt():
    action = Script(forever=transient())
    with pytest.raises(SynthesisError, match=r" #0 \(gave up after 1 attempt\)$") as caught:
        call_with_retries(action, RetryPolicy(retries=0), Backoff())
    assert caught.value.transient and not caught.value.throttled
    assert len(action.calls) == 1


def test_a_policy_takes_no_negative_numbers():
    with pytest.raises(ValueError, match="negative"):
        RetryPolicy(retries=-1)


# --- the shared backoff -------------------------------------------------------------------------


def first_retry_started(
    error: SynthesisError, backoff: Backoff, delay: float
) -> tuple[Outcome, Script]:
    """A thread whose first attempt fails with ``error``, once it has begun to back off."""
    retrying = threading.Event()
    action = Script(error)
    policy = RetryPolicy(retries=1, base_delay=delay)
    outcome = Outcome(
        lambda: call_with_retries(action, policy, backoff, lambda *_: retrying.set(), NoJitter())
    )
    assert retrying.wait(5)
    return outcome, action


def test_a_throttled_error_holds_back_every_thread_of_the_pool():
    backoff = Backoff()
    started = time.monotonic()
    first, _ = first_retry_started(throttled(), backoff, 0.3)
    other = Script()
    second = Outcome(lambda: call_with_retries(other, FAST, backoff)).join(5)
    assert second.value == "done" and first.join(5).value == "done"
    assert other.calls[0] - started >= 0.3


@pytest.mark.slow
def test_other_transient_errors_hold_back_only_their_own_thread():
    backoff = Backoff()
    first, first_action = first_retry_started(transient(), backoff, 0.3)
    started = time.monotonic()
    other = Script()
    assert Outcome(lambda: call_with_retries(other, FAST, backoff)).join(5).value == "done"
    assert other.calls[0] - started < 0.15
    assert first.join(5).value == "done"
    assert first_action.calls[1] - first_action.calls[0] >= 0.3


def test_a_later_shorter_hold_does_not_shorten_an_earlier_one():
    backoff = Backoff()
    started = time.monotonic()
    backoff.hold(0.2)
    backoff.hold(0.01)
    backoff.wait()
    assert time.monotonic() - started >= 0.2


def test_cancel_wakes_a_thread_waiting_out_a_pool_wide_hold_at_once():
    backoff = Backoff()
    backoff.hold(30)
    action = Script()
    waiting = Outcome(lambda: call_with_retries(action, FAST, backoff))
    waiting.thread.join(0.1)
    assert waiting.thread.is_alive()
    cancelled_at = time.monotonic()
    backoff.cancel()
    waiting.join(5)
    assert time.monotonic() - cancelled_at < 0.5
    assert isinstance(waiting.error, Cancelled) and action.calls == []


def test_cancel_wakes_a_thread_waiting_out_its_own_retry_delay_at_once():
    backoff = Backoff()
    retrying, action = first_retry_started(transient(), backoff, 30.0)
    cancelled_at = time.monotonic()
    backoff.cancel()
    retrying.join(5)
    assert time.monotonic() - cancelled_at < 0.5
    assert isinstance(retrying.error, Cancelled) and len(action.calls) == 1
    assert backoff.cancelled


def test_nothing_is_attempted_after_cancel():
    backoff = Backoff()
    backoff.cancel()
    action = Script()
    with pytest.raises(Cancelled):
        call_with_retries(action, FAST, backoff)
    assert action.calls == []
