"""The studio answers at once: a busy port or bad input is one line and exit 2 before any
work, the address is printed while the first render still runs, the state says which
sentences are ready, and what needs the whole programme waits for it (a 409).

The first render is held by the loopback stand-in for Edge's service, which answers no
synthesis request until the test lets it: what the studio shows meanwhile does not depend on
the machine's speed."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_studio_server import SPEECH, Server, start

SENTENCES = 5  # in SPEECH: the title and four sentences


@pytest.fixture
def studio(held_edge, tmp_path: Path) -> Iterator[Server]:
    """A studio on the held service, one sentence at a time (so in script order)."""
    running = start(tmp_path / "studio", "--jobs", "1", engine="edge", rendered=False)
    try:
        yield running
    finally:
        held_edge.release()
        running.stop()


def seconds_of(data: bytes) -> float:
    with wave.open(io.BytesIO(data)) as file:
        return file.getnframes() / file.getframerate()


def test_the_address_comes_before_any_clip_and_the_state_says_none_is_ready(held_edge, studio):
    with studio.client() as client:
        state = client.get("/api/state").json()
        assert state["rendering"] is True and state["ready"] == 0
        assert state["render_error"] is None
        assert len(state["sentences"]) == SENTENCES
        for sentence in state["sentences"]:
            assert sentence["ready"] is False
            assert sentence["start"] is None and sentence["hash"] is None
            assert sentence["cues"] == []
            assert sentence["shown"]  # the text is there to read at once
        preview = client.get("/api/preview.wav")
        assert preview.status_code == 409
        assert "0 of 5 sentences ready" in preview.json()["error"]
        assert client.get("/api/captions.vtt").status_code == 409
    assert len(held_edge.requests) <= 1  # the first sentence's, held


def test_sentences_become_ready_one_by_one_and_play_as_they_do(held_edge, studio):
    held_edge.release(1)
    state = studio.rendered(ready=1)
    assert state["rendering"] is True
    first, second = state["sentences"][:2]
    assert first["ready"] is True and first["hash"] and first["end"] > first["start"] >= 0
    assert second["ready"] is False and second["start"] is None
    with studio.client() as client:
        preview = client.get("/api/preview.wav")
        assert preview.status_code == 200
        assert seconds_of(preview.content) == pytest.approx(state["duration"], abs=0.01)
        assert state["duration"] >= first["end"]
        captions = client.get("/api/captions.vtt")
        assert captions.status_code == 200 and captions.text.startswith("WEBVTT")
    held_edge.release()
    done = studio.rendered()
    assert done["ready"] == SENTENCES
    assert all(sentence["ready"] and sentence["hash"] for sentence in done["sentences"])
    assert done["sentences"][0]["hash"] == first["hash"]  # the same clip, not spoken again
    assert done["duration"] > state["duration"]


def test_export_and_edits_answer_409_until_the_first_render_is_done(held_edge, studio):
    audio = studio.folder / "audio"
    with studio.client() as client:
        refused = client.post("/api/export")
        assert refused.status_code == 409
        message = refused.json()["error"]
        assert message.startswith("the first render is still running")
        assert "\n" not in message and "Traceback" not in message
        retake = client.post("/api/sentences/1/retake", json={"text": "今天开会。"})
        assert retake.status_code == 409
        assert client.post("/api/sentences/1/undo").status_code == 409
        assert not audio.exists()  # nothing written, not even in part
        assert (studio.folder / "talk.txt").read_text(encoding="utf-8") == SPEECH
        held_edge.release()
        studio.rendered()
        done = client.post("/api/export")
        assert done.status_code == 200, done.text
    assert sorted(path.name for path in audio.iterdir()) == ["talk.mp3", "talk.srt"]
    assert "Traceback" not in studio.stderr.read_text()


def run_studio(folder: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """``voicer studio`` in ``folder``, expected to stop on its own."""
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "talk.txt").exists():
        (folder / "talk.txt").write_text(SPEECH, encoding="utf-8")
    command = [sys.executable, "-m", "voicer", "studio", "talk.txt", "--no-browser", *options]
    env = {**os.environ, "VOICER_CACHE_DIR": str(folder / "cache")}
    return subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=60)


def test_a_busy_port_is_one_line_and_exit_2_before_anything_is_done(held_edge, tmp_path: Path):
    # a script with a markup error: it would be the complaint if the script were read first
    tmp_path.joinpath("talk.txt").write_text("大家好。[pause 1s\n谢谢。\n", encoding="utf-8")
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        done = run_studio(tmp_path, "--engine", "edge", "--port", str(port))
    assert done.returncode == 2, done
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0], lines
    assert held_edge.connections == 0  # not even the voices were asked for


@pytest.mark.parametrize(
    ("script", "said"),
    [
        ("大家好。[pause 1s\n谢谢。\n", "unclosed ["),
        ("甲乙丙。\n丁戊己。[foo]庚辛。\n", "unknown markup [foo]"),
    ],
)
def test_bad_input_is_one_line_and_exit_2_before_the_address(
    held_edge, tmp_path: Path, script: str, said: str
):
    (tmp_path / "talk.txt").write_text(script, encoding="utf-8")
    done = run_studio(tmp_path, "--engine", "edge", "--port", "0")
    assert done.returncode == 2, done
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and said in lines[0], lines
    assert held_edge.requests == []


def test_an_unreadable_script_is_one_line_and_exit_2(tmp_path: Path):
    (tmp_path / "talk.txt").mkdir()  # a folder where the script should be
    done = run_studio(tmp_path, "--engine", "tone", "--port", "0")
    assert done.returncode == 2, done
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_ctrl_c_during_the_first_render_stops_the_studio(held_edge, studio):
    studio.rendered(ready=0)  # it answers while the first sentence is held
    assert studio.stop() == 0
    said = studio.stderr.read_text()
    assert "Traceback" not in said and "interrupted" not in said, said
    assert not (studio.folder / "audio").exists()


def test_a_first_render_that_fails_says_so_on_the_page_and_the_terminal(
    edge_server, tmp_path: Path
):
    edge_server.set_mode("bad_content_type")  # every request: a failure not worth retrying
    running = start(tmp_path / "studio", "--retries", "0", engine="edge", rendered=False)
    try:
        deadline = time.monotonic() + 60
        with running.client() as client:
            while (state := client.get("/api/state").json())["render_error"] is None:
                assert time.monotonic() < deadline, state
                time.sleep(0.05)
            assert state["rendering"] is True
            refused = client.post("/api/export")
            assert refused.status_code == 409
            assert refused.json()["error"].startswith("the first render failed: ")
    finally:
        edge_server.reset()
        assert running.stop() == 0
    said = running.stderr.read_text().strip().splitlines()
    assert len(said) == 1 and said[0].startswith("voicer: studio: the first render failed:"), said
    assert "Traceback" not in running.stderr.read_text()
