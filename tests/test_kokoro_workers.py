"""kokoro's worker processes: the clips this process would make, errors as themselves and a
crash as one line, and no process left behind by the CLI, whether it ends or is interrupted."""

from __future__ import annotations

import os
import re
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from speech_audio import none_left, start_cli, workers_seen

from voicer.errors import EngineUnavailable, SynthesisError, VoicerError
from voicer.model import Prosody
from voicer.synthesis.engines import kokoro, registry, workers

pytestmark = pytest.mark.slow  # worker processes that each load the model

VOICE = "zm_yunxi"
SENTENCES = ["今天我们召开全市工作会议。", "同志们：会议将持续两天，请大家准时参加。", "谢谢大家！"]
SHORT = ["谢谢大家！", "今天开会。"]  # one for each worker
SHORT_SPEECH = "同志们：\n谢谢大家。\n"  # two sentences: one for each worker
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "speech.txt"


def wrapped(pool: str, engine: kokoro.KokoroEngine | None = None) -> workers.Workers:
    """kokoro in two single-threaded workers, of a pool no other test uses."""
    environment = {kokoro.THREADS_VARIABLE: "1", "VOICER_TEST_POOL": pool}
    return workers.Workers(engine or kokoro.KokoroEngine(), 2, environment)


def test_kokoro_runs_in_workers_and_stays_a_kokoro_engine(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("VOICER_KOKORO_WORKERS", raising=False)
    engine = registry.create("kokoro")
    assert isinstance(engine, workers.Workers) == ((os.cpu_count() or 1) >= 2)
    assert engine.name == "kokoro" and engine.word_marks
    assert engine.default_jobs == min(os.cpu_count() or 1, 4)
    assert engine.cache_version == kokoro.KokoroEngine().cache_version  # one cache for both
    assert engine.model_path is None  # what the protocol does not name is kokoro's own
    monkeypatch.setenv("VOICER_KOKORO_WORKERS", "1")
    assert isinstance(registry.create("kokoro"), kokoro.KokoroEngine)


def test_workers_speak_exactly_as_this_process_does():
    """Two single-threaded sessions in other processes, against this process's session with a
    thread per core: onnxruntime gives the same samples, to the bit, and so the same marks."""
    engine = wrapped("same")
    with ThreadPoolExecutor(2) as threads:
        clips = list(threads.map(lambda text: engine.synthesise(text, VOICE, Prosody()), SHORT))
    pids = engine.worker_pids()
    assert len(pids) == 2 and os.getpid() not in pids
    here = kokoro.KokoroEngine()
    for text, clip in zip(SHORT, clips, strict=True):
        expected = here.synthesise(text, VOICE, Prosody())
        assert clip.sample_rate == expected.sample_rate
        assert np.array_equal(clip.samples, expected.samples), text
        assert clip.marks == expected.marks and clip.marks, text


def test_errors_in_a_worker_come_back_as_themselves(tmp_path: Path):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    for engine, voice in [
        (kokoro.KokoroEngine(), "zm_nobody"),
        (kokoro.KokoroEngine(broken), VOICE),
    ]:
        with pytest.raises(VoicerError) as here:
            engine.synthesise("你好。", voice, Prosody())
        with pytest.raises(VoicerError) as there:
            wrapped("errors", engine).synthesise("你好。", voice, Prosody())
        assert type(there.value) is type(here.value)
        assert str(there.value) == str(here.value)
        assert vars(there.value) == vars(here.value)  # transient, throttled
    assert type(here.value) is EngineUnavailable and "broken.onnx" in str(here.value)
    assert str(here.value).startswith("kokoro: cannot load the model from ")


def test_one_request_at_a_time_runs_in_this_process():
    engine = wrapped("one at a time")
    engine.set_jobs(1)
    clip = engine.synthesise(SHORT[1], VOICE, Prosody())
    assert clip.marks and engine.worker_pids() == []


def test_a_worker_killed_mid_request_is_one_line_then_replaced():
    engine = wrapped("killed")
    with ThreadPoolExecutor(1) as thread:
        request = thread.submit(engine.synthesise, "。".join(SENTENCES * 3), VOICE, Prosody())
        while not (pids := engine.worker_pids()):
            time.sleep(0.01)
        os.kill(pids[0], signal.SIGKILL)
        with pytest.raises(SynthesisError) as failure:
            request.result()
    message = str(failure.value)
    assert re.fullmatch(
        r"kokoro: engine worker process \d+ ended unexpectedly \(killed by SIGKILL\)", message
    )
    assert failure.value.transient  # another worker may well speak it: worth a retry
    assert engine.synthesise(SENTENCES[2], VOICE, Prosody()).marks  # a new worker
    assert engine.worker_pids() and pids[0] not in engine.worker_pids()


# --- the CLI -------------------------------------------------------------------------------


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: kokoro has no workers")
def test_cli_render_uses_workers_and_leaves_no_process(tmp_path: Path):
    (tmp_path / "talk.txt").write_text(SHORT_SPEECH, encoding="utf-8")
    mark = str(uuid.uuid4())
    process = start_cli(tmp_path, "talk.txt", "--no-cache", mark=mark)
    seen = workers_seen(process, mark, 2)
    stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr.decode()
    assert "2 at a time" in stdout.decode()
    assert len(seen) == 2 and process.pid not in seen
    assert (tmp_path / "audio" / "talk.mp3").exists()
    assert none_left(mark) == {}


def test_jobs_1_speaks_in_the_cli_process(tmp_path: Path):
    (tmp_path / "talk.txt").write_text(SHORT_SPEECH, encoding="utf-8")
    mark = str(uuid.uuid4())
    process = start_cli(tmp_path, "talk.txt", "--no-cache", "--jobs", "1", mark=mark)
    seen = workers_seen(process, mark, 1)
    stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr.decode()
    assert "1 at a time" in stdout.decode()
    assert seen == set()
