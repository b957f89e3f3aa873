"""Engine work that is no longer wanted stops in the middle: kokoro's inference is ended and an
edge request cancelled, so a re-take never waits behind a draft of stale text. Each test stops
work that provably could not have finished (a request the service holds, one sentence of one
inference), so none depends on the machine's speed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from voicer import pipeline
from voicer.model import Prosody
from voicer.studio.session import Studio
from voicer.synthesis import cancel
from voicer.synthesis.engines.edge import EdgeEngine
from voicer.synthesis.engines.kokoro import KokoroEngine

WAIT = 120.0  # seconds: generous, for a loaded machine; conditions are awaited, not times
# one inference (fewer tokens than kokoro's limit), several seconds of speech
ONE_PIECE = "今年以来，全省上下认真落实各项决策部署，乡村振兴工作取得了新的进展，粮食再获丰收。"


def in_thread(work: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    """``work`` run in a thread; the dict gets its ``result`` or ``error``."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = work()
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"waited {WAIT:g} s for {what}"
        time.sleep(0.01)


def test_work_stopped_before_it_starts_never_starts():
    stop = cancel.Stop()
    stop.stop()
    called = []
    with (
        cancel.stoppable(stop),
        pytest.raises(cancel.Stopped),
        cancel.on_stop(lambda: called.append("interrupt")),
    ):
        called.append("work")
    assert called == []


def test_work_stopped_midway_is_interrupted_and_says_stopped():
    stop, started, interrupted = cancel.Stop(), threading.Event(), threading.Event()

    def work() -> None:
        with cancel.stoppable(stop), cancel.on_stop(interrupted.set):
            started.set()
            interrupted.wait()
            raise RuntimeError("the engine's own error when it is interrupted")

    thread, outcome = in_thread(work)
    assert started.wait(WAIT)
    stop.stop()
    thread.join(WAIT)
    assert isinstance(outcome.get("error"), cancel.Stopped)


def test_work_without_a_stop_is_untouched():
    with cancel.on_stop(lambda: pytest.fail("nothing stops this")):
        cancel.check()


@pytest.mark.slow
def test_a_kokoro_inference_ends_when_stopped_and_the_engine_speaks_on():
    engine = KokoroEngine()
    engine.synthesise("好。", "zm_yunxi", Prosody())  # the model loaded
    stop = cancel.Stop()

    def speak() -> Any:
        with cancel.stoppable(stop):
            return engine.synthesise(ONE_PIECE, "zm_yunxi", Prosody())

    thread, outcome = in_thread(speak)
    until(lambda: bool(stop._hooks), "the inference to start")  # its interruption is set
    stop.stop()
    thread.join(WAIT)
    # one piece: had the inference run to its end, the clip would have come back
    assert isinstance(outcome.get("error"), cancel.Stopped), outcome
    clip = engine.synthesise("同志们好。", "zm_yunxi", Prosody())
    assert clip.samples.size > clip.sample_rate // 4


def test_an_edge_request_is_cancelled_when_stopped(held_edge):
    stop = cancel.Stop()

    def speak() -> Any:
        with cancel.stoppable(stop):
            return EdgeEngine().synthesise("今天开会。", "zh-CN-YunyangNeural", Prosody())

    thread, outcome = in_thread(speak)
    until(lambda: len(held_edge.requests) == 1, "the request to reach the service")
    stop.stop()
    thread.join(WAIT)
    assert not thread.is_alive()  # while the service still holds the answer
    assert isinstance(outcome.get("error"), cancel.Stopped), outcome


SCRIPT = "同志们：今天我们开会。首先总结工作。然后部署任务。\n"
STALE, TYPED = "首先总结今年的", "首先总结今年的工作。"


@pytest.fixture
def studio(edge_server, tmp_path: Path) -> Iterator[tuple[Studio, int]]:
    """A studio on the fake service, rendered; then the service holds every answer. With it,
    how many requests the service had by then."""
    (tmp_path / "talk.txt").write_text(SCRIPT, encoding="utf-8")
    outputs = pipeline.Outputs.beside(tmp_path / "talk.mp3")
    opened = Studio(tmp_path / "talk.txt", pipeline.RenderOptions(engine="edge"), outputs)
    edge_server.hold()
    try:
        yield opened, len(edge_server.requests)
    finally:
        edge_server.release()
        opened.close()


def test_a_retake_stops_a_draft_of_stale_text_and_does_not_wait_for_it(edge_server, studio):
    studio, rendered = studio
    stale = studio.draft(1, STALE)
    assert stale is not None
    until(lambda: len(edge_server.requests) == rendered + 1, "the stale draft")
    assert stale.describe()["state"] == "speaking"
    thread, outcome = in_thread(lambda: studio.retake(1, TYPED))
    # the re-take's own request reaches the service while the draft's is still held
    until(lambda: len(edge_server.requests) == rendered + 2, "the re-take")
    assert [r.text for r in edge_server.requests[rendered:]] == [STALE, TYPED]
    assert stale.describe()["state"] == "stopped"
    edge_server.release()
    thread.join(WAIT)
    state = outcome["result"]
    assert state["sentences"][1]["shown"] == TYPED
    assert state["sentences"][1]["draft"] is None


def test_a_drafts_state_goes_from_speaking_to_ready_and_a_new_text_stops_it(edge_server, studio):
    studio, rendered = studio
    first = studio.draft(1, STALE)
    assert first is not None
    until(lambda: len(edge_server.requests) == rendered + 1, "the first draft")
    described = studio.state()["sentences"][1]["draft"]
    assert described == {"text": STALE, "state": "speaking", "error": None}
    second = studio.draft(1, TYPED)
    assert second is not None and second is not first
    until(lambda: first.future.done(), "the first draft to stop")
    assert first.describe()["state"] == "stopped"
    assert studio.draft(1, TYPED) is second  # the same text: the same draft
    assert studio.draft(1, TYPED, version=studio.version + 1) is None  # a page behind
    edge_server.release()
    second.future.result(WAIT)
    assert studio.state()["sentences"][1]["draft"]["state"] == "ready"
    made = studio.speaker.misses
    studio.retake(1, TYPED)
    assert studio.speaker.misses == made  # the draft's clip, not spoken again
