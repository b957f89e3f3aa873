"""``voicer batch`` on the local backend: every script's outputs are what ``voicer render``
writes for it alone; a bad script is reported and the others delivered; a batch run again
skips what is done and speaks nothing already cached; a worker process killed mid-batch costs
nothing but a retry."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import pytest
from speech_audio import interrupted_batch, invoke_voicer, run_voicer

from voicer import pipeline
from voicer.batch.local import LocalBackend
from voicer.batch.manifest import entries
from voicer.batch.run import Batch, Progress
from voicer.synthesis.engines import workers

pytestmark = pytest.mark.slow  # whole batches, kokoro among them, in worker processes

SCRIPTS = {
    "01-opening.txt": "开幕致辞\n\n同志们：今天我们召开全市科技大会。首先，我代表市委问候大家！\n",
    "02-review.txt": "过去一年，全市研发投入增长12.5%。高新企业达到1280家。\n\n成绩来之不易。\n",
    "03-tasks.md": "# 今年的任务\n\n一是抓创新。二是抓人才。三是抓改革。\n",
}


def write_scripts(folder: Path, scripts: dict[str, str] = SCRIPTS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in scripts.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def outcomes(out: Path) -> dict[str, dict]:
    return {
        Path(item["script"]).name: item for item in json.loads((out / "report.json").read_text())
    }


@pytest.fixture(scope="module")
def first_batch(tmp_path_factory: pytest.TempPathFactory):
    """The three scripts and a bad one rendered by `voicer batch` into a fresh cache."""
    root = tmp_path_factory.mktemp("batch")
    write_scripts(root / "in", {**SCRIPTS, "04-draft.txt": "今天在*市开会。\n"})
    env = {"VOICER_CACHE_DIR": str(root / "cache")}
    ran = run_voicer("batch", "in", "-o", "out", "--engine", "tone", "--vtt", cwd=root, env=env)
    return root, env, ran


def test_each_script_is_what_render_writes_alone(first_batch):
    root, _, ran = first_batch
    options = pipeline.RenderOptions(engine="tone", cache_dir=root / "alone-cache")
    for name in SCRIPTS:
        stem = Path(name).stem
        alone = pipeline.Outputs.beside(root / "alone" / f"{stem}.mp3", vtt=True)
        pipeline.render(root / "in" / name, alone, options)
        for suffix in (".mp3", ".srt", ".vtt"):
            batch_file, alone_file = (
                root / "out" / (stem + suffix),
                root / "alone" / (stem + suffix),
            )
            assert batch_file.read_bytes() == alone_file.read_bytes(), batch_file


def test_a_bad_script_is_reported_and_the_others_delivered(first_batch):
    root, _, ran = first_batch
    assert ran.returncode == 1, ran.stderr.decode()
    said = ran.stdout.decode()
    assert "Traceback" not in said + ran.stderr.decode()
    assert said.splitlines()[-1].startswith("4 scripts: 3 delivered, 1 failed, 0 skipped")
    found = outcomes(root / "out")
    assert [found[name]["status"] for name in SCRIPTS] == ["ok", "ok", "ok"]
    bad = found["04-draft.txt"]
    assert bad["status"] == "failed" and bad["outputs"] == []
    assert bad["error"].startswith("1 unfilled placeholder: 1:4 *")
    assert not (root / "out" / "04-draft.mp3").exists()
    opening = found["01-opening.txt"]
    assert opening["outputs"] == ["out/01-opening.mp3", "out/01-opening.srt", "out/01-opening.vtt"]
    assert opening["cues"] > 0 and opening["audio_seconds"] > 5
    assert opening["loudness"] == pytest.approx(-19.0, abs=0.5)  # mp3's default (podcast)
    assert "01-opening.txt" in (root / "out" / "report.txt").read_text(encoding="utf-8")


def test_a_batch_run_again_skips_what_is_done(first_batch):
    root, env, _ = first_batch
    (root / "in" / "04-draft.txt").write_text("今天在上海开会。\n", encoding="utf-8")
    (root / "out" / "02-review.srt").unlink()  # an output lost: that script is made again
    (root / "in" / "03-tasks.md").write_text("# 今年的任务\n\n一是抓创新。\n", encoding="utf-8")
    # skipping is the batch's part, not the process's (first_batch ran the command as a user
    # would): the same command, in this process
    ran = invoke_voicer("batch", "in", "-o", "out", "--engine", "tone", "--vtt", cwd=root, env=env)
    assert ran.returncode == 0, ran.stderr.decode()
    found = outcomes(root / "out")
    assert [found[name]["status"] for name in sorted(found)] == ["skipped", "ok", "ok", "ok"]
    assert (root / "out" / "02-review.srt").is_file()
    assert (
        ran.stdout.decode()
        .splitlines()[-1]
        .startswith("4 scripts: 3 delivered, 0 failed, 1 skipped")
    )


def test_a_killed_worker_costs_a_retry_not_a_script(tmp_path: Path):
    folder = write_scripts(tmp_path / "in", {f"{n:02}.txt": text for n, text in enumerate(
        list(SCRIPTS.values()) * 3)})  # fmt: skip
    settings = {"engine": "tone", "cache_dir": tmp_path / "cache"}
    listed = entries(folder, tmp_path / "out", settings, set(settings))
    backend = LocalBackend(workers=2)
    killed: list[int] = []

    def kill_one(progress: Progress) -> None:
        engine = next(iter(batch._engines.values()))
        assert isinstance(engine, workers.Workers)
        if progress.sentences_done >= 1 and not killed and (pids := engine.worker_pids()):
            killed.append(pids[0])
            threading.Thread(target=os.kill, args=(pids[0], signal.SIGKILL)).start()

    batch = Batch(backend, kill_one)
    try:
        done = batch.run(listed)
    finally:
        backend.close()
    assert killed and all(outcome.status == "ok" for outcome in done), done
    for entry in listed:
        again = tmp_path / "alone" / entry.outputs.audio.name
        options = pipeline.RenderOptions(engine="tone", cache_dir=tmp_path / "alone-cache")
        pipeline.render(entry.script, again, options)
        assert entry.outputs.audio.read_bytes() == again.read_bytes()


@pytest.mark.slow
def test_an_interrupted_batch_goes_on_where_it_stopped(tmp_path: Path):
    # distinct sentences, so that every clip in the cache belongs to exactly one sentence
    texts = {
        f"{n:02}.txt": f"第{n}项：今天讨论第{n}号议题。会议决定推进第{n}号工作。\n"
        for n in range(12)
    }
    write_scripts(tmp_path / "in", texts)
    cache_dir = tmp_path / "cache"
    env = {"VOICER_CACHE_DIR": str(cache_dir)}
    command = ["in", "-o", "out", "--engine", "tone"]
    returncode, stderr = interrupted_batch(*command, "--workers", "1", cwd=tmp_path, env=env)
    if returncode == 0:
        pytest.skip("the batch was done before it could be interrupted")
    assert returncode == 130, stderr
    assert "Traceback" not in stderr
    assert not [p.name for p in (tmp_path / "out").iterdir() if p.name.endswith(".part")]
    kept = len(list(cache_dir.rglob("*.clip")))  # clips the interrupted batch made
    delivered = {p.stem for p in (tmp_path / "out").glob("*.mp3")}
    assert delivered  # at least the script whose stamp was seen

    # going on is the batch's and the cache's part, not the process's: the same command, in
    # this process
    again = invoke_voicer("batch", *command, cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stderr.decode()
    found = outcomes(tmp_path / "out")
    skipped = {Path(name).stem for name, item in found.items() if item["status"] == "skipped"}
    assert skipped == delivered
    spoken = [item for item in found.values() if item["status"] == "ok"]
    per_script = {item["synthesised"] + item["cached"] for item in spoken}
    assert len(per_script) == 1  # every script has as many sentences
    each = per_script.pop()
    # nothing the interrupted batch made is made again, and everything else is made once
    assert sum(item["synthesised"] for item in spoken) == each * len(texts) - kept
    assert sum(item["cached"] for item in spoken) == kept - each * len(delivered)


@pytest.mark.slow
def test_kokoro_scripts_in_a_batch_are_what_render_writes_alone(tmp_path: Path):
    folder = write_scripts(
        tmp_path / "in", {"a.txt": "同志们好。\n", "b.txt": "今天开会。谢谢大家。\n"}
    )
    settings = {"engine": "kokoro", "cache_dir": tmp_path / "cache"}
    listed = entries(folder, tmp_path / "out", settings, set(settings))
    backend = LocalBackend(workers=2)
    try:
        done = Batch(backend).run(listed)
    finally:
        backend.close()
    assert [outcome.status for outcome in done] == ["ok", "ok"], done
    assert [outcome.synthesised for outcome in done] == [1, 2]
    options = pipeline.RenderOptions(engine="kokoro", cache_dir=tmp_path / "alone-cache")
    for entry in listed:  # spoken again, alone: a render in one process, its own threads
        alone = pipeline.Outputs.beside(tmp_path / "alone" / entry.outputs.audio.name)
        pipeline.render(entry.script, alone, options)
        for mine, theirs in zip(entry.outputs.all(), alone.all(), strict=True):
            assert mine.read_bytes() == theirs.read_bytes(), mine


def test_edge_requests_of_every_script_share_one_limit_and_one_backoff(edge_server, tmp_path):
    folder = write_scripts(tmp_path / "in")
    settings = {"engine": "edge", "jobs": 2, "cache_dir": tmp_path / "cache"}
    listed = entries(folder, tmp_path / "out", settings, set(settings))
    edge_server.set_pacing(latency=0.05)
    edge_server.set_mode("http429", times=1)  # the service asks to slow down, once
    backend = LocalBackend(workers=4)
    try:
        done = Batch(backend).run(listed)
    finally:
        backend.close()
    assert [outcome.status for outcome in done] == ["ok"] * 3, done
    assert 1 <= edge_server.most_at_once <= 2  # --jobs 2 for the whole batch, not per script
    assert sum(outcome.synthesised for outcome in done) == len(edge_server.requests)
