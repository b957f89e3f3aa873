"""The ray backend of voicer batch, on a real local Ray instance (no mocks of Ray).

One backend (a local instance of 2 CPUs, 2 workers) serves the whole module: starting Ray
takes about 7 s here. The tests run in one xdist worker (the group "ray") so that only one
instance starts. The tone engine speaks: fast and deterministic, so the outputs can be
compared byte for byte with those of ``voicer render``.
"""

from __future__ import annotations

import json
import pickle
import sys
import threading
from pathlib import Path

import pytest
from speech_audio import interrupted_batch, invoke_voicer

ray = pytest.importorskip("ray")

from voicer import pipeline  # noqa: E402
from voicer.batch.manifest import Entry  # noqa: E402
from voicer.batch.ray_backend import MISSING, RayBackend, RayEngine  # noqa: E402
from voicer.batch.run import Batch, Job, Progress  # noqa: E402
from voicer.errors import InputError, VoicerError  # noqa: E402
from voicer.model import Prosody  # noqa: E402
from voicer.script import reading  # noqa: E402
from voicer.synthesis.engines import kokoro, registry, selection  # noqa: E402
from voicer.synthesis.engines.tone import ToneEngine  # noqa: E402
from voicer.video.picture import VideoSettings  # noqa: E402

pytestmark = [pytest.mark.ray, pytest.mark.xdist_group("ray")]

SCRIPTS = {
    "opening": "大家好。今天我们讨论城市的未来。\n\n交通是第一个问题。住房是第二个问题。\n",
    "closing": "感谢各位的到来。我们的工作才刚刚开始。\n",
    "notes": "第一，公园要更多。第二，街道要更安静。\n\n第三，学校要更近。\n",
    "short": "谢谢大家。\n",
}
TONE = pipeline.RenderOptions(engine="tone")


@pytest.fixture(scope="module")
def backend():
    started = RayBackend(workers=2)
    yield started
    started.close()


@pytest.fixture(autouse=True)
def _fresh_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every test speaks its sentences anew: no clip from an earlier test's cache."""
    monkeypatch.setenv("VOICER_CACHE_DIR", str(tmp_path / "cache"))


def _scripts(folder: Path, names: list[str]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names:
        path = folder / f"{name}.txt"
        path.write_text(SCRIPTS[name], encoding="utf-8")
        paths.append(path)
    return paths


def _entry(script: Path, out: Path, options: pipeline.RenderOptions = TONE) -> Entry:
    return Entry(script, options, pipeline.Outputs.beside(out / f"{script.stem}.mp3"))


def _same_as_render(entry: Entry, folder: Path) -> None:
    """The entry's outputs are byte for byte those of ``voicer render`` of its script alone."""
    outputs = entry.outputs
    alone = pipeline.Outputs(
        folder / outputs.audio.name,
        tuple(folder / path.name for path in outputs.subtitles),
        folder / outputs.timeline.name if outputs.timeline else None,
    )
    pipeline.render(entry.script, alone, entry.options)
    for made, expected in zip(outputs.all(), alone.all(), strict=True):
        assert made.read_bytes() == expected.read_bytes(), made.name


def test_a_batch_gives_what_render_gives(backend, tmp_path):
    scripts = _scripts(tmp_path / "in", ["opening", "closing", "notes"])
    out = tmp_path / "out"
    entries = [_entry(path, out) for path in scripts]
    # one script with more outputs: a WAV, an SRT and a VTT, and the timeline
    wav = pipeline.Outputs.beside(out / "notes.wav", vtt=True, timeline=out / "notes.json")
    entries[2] = Entry(scripts[2], TONE, wav)

    outcomes = Batch(backend).run(entries)

    assert [outcome.status for outcome in outcomes] == ["ok"] * 3, outcomes
    assert [outcome.synthesised for outcome in outcomes] == [4, 2, 3]  # not from a cache
    for entry in entries:
        _same_as_render(entry, tmp_path / "alone" / entry.script.stem)
    assert "ray 2." in backend.description and "1 node" in backend.description


def test_a_worker_killed_mid_batch_loses_nothing(backend, tmp_path):
    scripts = _scripts(tmp_path / "in", ["opening", "closing", "notes", "short"])
    entries = [_entry(path, tmp_path / "out") for path in scripts]
    engine = backend.engine(ToneEngine())  # the engine the batch will use: equal ones share
    assert isinstance(engine, RayEngine)
    victim = engine.actors[0]
    before = ray.get(victim.pid.remote())
    killed = threading.Event()
    lock = threading.Lock()

    def kill_after_the_first_sentence(progress: Progress) -> None:
        with lock:
            if progress.sentences_done >= 1 and not killed.is_set():
                ray.kill(victim, no_restart=False)  # Ray starts it again
                killed.set()

    outcomes = Batch(backend, on_progress=kill_after_the_first_sentence).run(entries)

    assert killed.is_set()
    assert [outcome.status for outcome in outcomes] == ["ok"] * 4, outcomes
    assert victim in engine.actors and ray.get(victim.pid.remote()) != before  # restarted
    for entry in entries:
        _same_as_render(entry, tmp_path / "alone" / entry.script.stem)


def test_an_actor_gone_for_good_is_replaced(backend, tmp_path):
    scripts = _scripts(tmp_path / "in", ["opening", "closing"])
    entries = [_entry(path, tmp_path / "out") for path in scripts]
    engine = backend.engine(ToneEngine())
    victim = engine.actors[-1]
    killed = threading.Event()
    lock = threading.Lock()

    def kill_after_the_first_sentence(progress: Progress) -> None:
        with lock:
            if progress.sentences_done >= 1 and not killed.is_set():
                ray.kill(victim, no_restart=True)  # its requests fail: a transient error
                killed.set()

    outcomes = Batch(backend, on_progress=kill_after_the_first_sentence).run(entries)

    assert [outcome.status for outcome in outcomes] == ["ok"] * 2, outcomes
    assert victim not in engine.actors and len(engine.actors) == 2  # a new one in its place
    for entry in entries:
        _same_as_render(entry, tmp_path / "alone" / entry.script.stem)


def test_an_interrupted_batch_goes_on_where_it_stopped(backend, tmp_path):
    """Ctrl-C in a batch on its own Ray instance, then the same command again (in this
    process, on the module's instance): the scripts delivered are skipped, and no sentence in
    the cache is spoken again."""
    # distinct sentences, so that every clip in the cache belongs to exactly one sentence
    for n in range(24):
        script = tmp_path / "in" / f"{n:02}.txt"
        script.parent.mkdir(exist_ok=True)
        script.write_text(f"第{n}项：今天讨论第{n}号议题。会议决定推进第{n}号工作。\n", "utf-8")
    cache_dir = tmp_path / "cache"
    command = ["in", "-o", "out", "--engine", "tone", "--backend", "ray"]
    returncode, stderr = interrupted_batch(*command, "--workers", "1", cwd=tmp_path)
    delivered = {path.stem for path in (tmp_path / "out").glob("*.mp3")}
    if returncode == 0 or len(delivered) == 24:  # Ctrl-C came as Ray was stopping
        pytest.skip("the batch was done before it could be interrupted")
    assert returncode == 130, stderr
    assert "Traceback" not in stderr
    kept = len(list(cache_dir.rglob("*.clip")))
    assert delivered

    again = invoke_voicer("batch", *command, cwd=tmp_path)
    assert again.returncode == 0, again.stderr.decode()
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    skipped = {Path(item["script"]).stem for item in report if item["status"] == "skipped"}
    assert skipped == delivered
    spoken = [item for item in report if item["status"] == "ok"]
    assert len(spoken) == 24 - len(delivered)
    # two sentences a script: what the first batch spoke is not spoken again
    assert sum(item["synthesised"] for item in spoken) == 2 * 24 - kept
    assert sum(item["cached"] for item in spoken) == kept - 2 * len(delivered)


def test_bad_input_fails_alone_with_its_one_line(backend, tmp_path):
    scripts = _scripts(tmp_path / "in", ["opening", "closing", "short"])
    draft = tmp_path / "in" / "draft.txt"
    draft.write_text("全市GDP增长*%。我们继续努力。\n", encoding="utf-8")
    lexicon = tmp_path / "in" / "names.tsv"
    lexicon.write_text("上海\n", encoding="utf-8")  # no tab: malformed
    out = tmp_path / "out"
    with_lexicon = pipeline.RenderOptions(engine="tone", lexicon=lexicon)
    entries = [
        _entry(scripts[0], out),
        _entry(draft, out),
        _entry(scripts[1], out, with_lexicon),
        _entry(scripts[2], out),
    ]

    outcomes = Batch(backend).run(entries)

    assert [outcome.status for outcome in outcomes] == ["ok", "failed", "failed", "ok"]
    for outcome, entry in zip(outcomes[1:3], entries[1:3], strict=True):
        with pytest.raises(InputError) as rendered:
            pipeline.render(entry.script, tmp_path / "alone" / "x.mp3", entry.options)
        assert outcome.error == str(rendered.value)
        assert "\n" not in outcome.error
    assert "names.tsv:1" in outcomes[2].error
    for entry in (entries[0], entries[3]):
        _same_as_render(entry, tmp_path / "alone" / entry.script.stem)


def test_an_engine_error_in_an_actor_arrives_as_raised(backend):
    """kokoro refuses an unknown voice before it loads its model: the same InputError here."""
    engine = RayEngine(kokoro.KokoroEngine(), 1)
    try:
        with pytest.raises(InputError) as local:
            kokoro.KokoroEngine().synthesise("你好。", "zm_nobody", Prosody())
        with pytest.raises(InputError) as remote:
            engine.synthesise("你好。", "zm_nobody", Prosody())
    finally:
        engine.close()
    assert type(remote.value) is InputError
    assert str(remote.value) == str(local.value)


def test_an_error_finishing_a_script_arrives_as_raised(backend, tmp_path):
    """A finishing task that fails gives the Future the error deliver raises here."""
    script = _scripts(tmp_path / "in", ["short"])[0]
    # the font is looked for as the script is finished, when its text is known: there is none
    video = VideoSettings(burn_in=True, font="No Such Font Anywhere")
    options = pipeline.RenderOptions(engine="tone", video=video)
    plan = pipeline.prepare(reading.read_script(script), options)
    tone = ToneEngine()
    clips = tuple(tone.synthesise(s.spoken, plan.choice.voice, plan.prosody) for s in plan.segments)
    outputs = pipeline.Outputs.beside(tmp_path / "out" / "short.mp4")
    targets = pipeline.check_outputs(outputs, options)
    with pytest.raises(VoicerError) as local:
        pipeline.deliver(plan, clips, targets, options)
    ray_plan = pipeline.prepare(
        plan.script, options, selection.Choice(backend.engine(tone), plan.choice.voice)
    )

    finished = backend.finish(Job(ray_plan, clips, targets, options))

    with pytest.raises(VoicerError) as remote:
        finished.result(timeout=120)
    assert type(remote.value) is type(local.value)
    assert str(remote.value) == str(local.value)
    assert not any(path.exists() for path in outputs.all())


def test_a_ray_engine_pickles_as_the_engine_it_wraps(backend):
    engine = backend.engine(ToneEngine())
    assert isinstance(pickle.loads(pickle.dumps(engine)), ToneEngine)
    assert engine.default_jobs == backend.workers == 2
    assert engine.cache_version == ToneEngine.cache_version
    assert backend.engine(registry.create("edge")).name == "edge"  # edge stays in the driver


def test_the_local_instance_listens_on_loopback(backend):
    assert backend.started
    assert {node["NodeManagerAddress"] for node in ray.nodes()} == {"127.0.0.1"}


def test_an_unreachable_cluster_is_one_line(backend):
    with pytest.raises(InputError) as refused:
        RayBackend(address="127.0.0.1:1")
    assert str(refused.value).startswith("cannot reach the Ray cluster at 127.0.0.1:1: ")
    assert "\n" not in str(refused.value)


def test_without_ray_the_extra_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails
    with pytest.raises(InputError) as missing:
        RayBackend()
    assert str(missing.value) == MISSING


def test_kokoro_asks_for_cuda_only_when_told_and_offered(monkeypatch):
    import onnxruntime

    monkeypatch.delenv(kokoro.CUDA_VARIABLE, raising=False)
    assert kokoro._providers() == ["CPUExecutionProvider"]
    monkeypatch.setenv(kokoro.CUDA_VARIABLE, "1")
    offered = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: offered)
    assert kokoro._providers() == offered
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: ["CPUExecutionProvider"])
    assert kokoro._providers() == ["CPUExecutionProvider"]
