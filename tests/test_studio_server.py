"""voicer studio's server, run as a user runs it (``voicer studio … --no-browser``) and spoken to
over HTTP on 127.0.0.1: the token, Host and Origin checks, body limits, no file outside the
page's own, and the state, preview, captions, re-take, undo and export routes."""

from __future__ import annotations

import io
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
import uvicorn
from pydantic import ValidationError
from speech_audio import interruptible

from voicer.studio import server as studio_server
from voicer.studio import views
from voicer.subtitles.vtt import parse_vtt

SPEECH = (
    "在全市科技创新大会上的讲话\n\n"
    "今天，我们在这里召开全市科技创新大会。首先，我代表市委、市政府，向大家致以诚挚的问候！\n\n"
    "过去一年，全市研发投入增长12.5%。这些成绩来之不易。\n"
)
MARKER = "[build-system]"  # in pyproject.toml, which must never be served


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    folder: Path
    url: str
    port: int
    token: str
    stderr: Path
    host: str = "127.0.0.1"

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"X-Voicer-Token": self.token if token is None else token}
        return httpx.Client(base_url=self.base, headers=headers, timeout=60)

    def rendered(self, ready: int | None = None) -> dict:
        """The state once the first render is done (``ready``: once that many sentences
        are ready), asked for until then, for at most 60 s."""
        deadline = time.monotonic() + 60
        with self.client() as client:
            while True:
                state = client.get("/api/state").json()
                if not state["rendering"] if ready is None else state["ready"] >= ready:
                    return state
                if time.monotonic() > deadline:
                    pytest.fail(f"the first render has not got that far in 60 s: {state}")
                time.sleep(0.05)

    def stop(self) -> int:
        """Ctrl-C, then the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


def start(folder: Path, *options: str, engine: str = "tone", rendered: bool = True) -> Server:
    """``voicer studio talk.txt --port 0 [options]`` in ``folder``, once it has printed its
    address and (``rendered``) its state says the first render is done."""
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "talk.txt").exists():
        (folder / "talk.txt").write_text(SPEECH, encoding="utf-8")
    stderr = folder / "stderr.txt"
    env = {**os.environ, "VOICER_CACHE_DIR": str(folder / "cache")}
    with stderr.open("wb") as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", "voicer", "studio", "talk.txt", "--engine", engine]
            + ["--no-browser", "--port", "0", *options],
            cwd=folder,
            env=env,
            stdout=subprocess.PIPE,
            stderr=errors,
            preexec_fn=interruptible,
        )
    lines: queue.Queue[bytes] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    try:
        first = lines.get(timeout=60).decode()
    except queue.Empty:
        process.kill()
        process.wait()
        pytest.fail(f"voicer studio printed no address in 60 s: {stderr.read_text()}")
    prefix = "voicer studio on http://"
    if not first.startswith(prefix):
        process.kill()
        process.wait()
        pytest.fail(f"not an address: {first!r}; stderr: {stderr.read_text()}")
    url = first.strip().removeprefix("voicer studio on ")
    address, _, token = first.strip().removeprefix(prefix).partition("/?token=")
    host, _, port_text = address.rpartition(":")
    running = Server(process, folder, url, int(port_text), token, stderr, host)
    if rendered:
        running.rendered()
    return running


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start(tmp_path_factory.mktemp("studio"))
    try:
        yield running
    finally:
        running.stop()


def raw_get(server: Server, target: str, token: bool = True) -> tuple[int, bytes]:
    """GET ``target`` exactly as written (httpx would remove ``..`` segments): status, body."""
    with socket.create_connection((server.host, server.port), timeout=30) as sock:
        request = (
            f"GET {target} HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n"
            + (f"X-Voicer-Token: {server.token}\r\n" if token else "")
            + "Connection: close\r\n\r\n"
        )
        sock.sendall(request.encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


# --- who may ask -------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_page_needs_the_token(server: Server):
    page = httpx.get(server.url, timeout=30)
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert f"/static/studio.js?token={server.token}" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["content-security-policy"] == (
        "default-src 'self'; media-src 'self' blob:; style-src 'self'"
    )
    assert "<script>" not in page.text  # no inline script (the policy would block it)
    assert httpx.get(f"{server.base}/", timeout=30).status_code == 403
    assert httpx.get(f"{server.base}/?token=wrong", timeout=30).status_code == 403
    assert httpx.get(f"{server.base}/?token={server.token[:-1]}", timeout=30).status_code == 403
    script = httpx.get(f"{server.base}/static/studio.js?token={server.token}", timeout=30)
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert httpx.get(f"{server.base}/static/studio.js", timeout=30).status_code == 403


@pytest.mark.slow
def test_the_api_needs_the_token_header(server: Server):
    with httpx.Client(base_url=server.base, timeout=30) as anyone:
        assert anyone.get("/api/state").status_code == 403
        assert anyone.get(f"/api/state?token={server.token}").status_code == 403
        assert anyone.get("/api/preview.wav").status_code == 403
        refused = anyone.post("/api/export")
        assert refused.status_code == 403 and "error" in refused.json()
    with server.client("wrong") as wrong:
        assert wrong.get("/api/state").status_code == 403
    with server.client() as client:
        assert client.get("/api/state").status_code == 200


@pytest.mark.slow
@pytest.mark.parametrize(
    "host",
    ["evil.example:{port}", "evil.example", "127.0.0.1", "127.0.0.1:1", "localhost.evil:{port}"],
)
def test_a_foreign_host_is_refused(server: Server, host: str):
    """DNS rebinding: a page on another name that resolves to 127.0.0.1 sends its own Host."""
    with server.client() as client:
        answer = client.get("/api/state", headers={"Host": host.format(port=server.port)})
        assert answer.status_code == 403
        page = client.get(f"/?token={server.token}", headers={"Host": "evil.example"})
        assert page.status_code == 403
        assert client.get("/api/state", headers={"Host": f"localhost:{server.port}"}).is_success


@pytest.mark.slow
@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:1"])
def test_a_foreign_origin_is_refused(server: Server, origin: str):
    before = (server.folder / "talk.txt").read_bytes()
    with server.client() as client:
        assert client.get("/api/state", headers={"Origin": origin}).status_code == 403
        answer = client.post(
            "/api/sentences/1/retake", json={"text": "改了。"}, headers={"Origin": origin}
        )
        assert answer.status_code == 403
        assert (server.folder / "talk.txt").read_bytes() == before
        for own in (f"http://127.0.0.1:{server.port}", f"http://localhost:{server.port}"):
            assert client.get("/api/state", headers={"Origin": own}).is_success


@pytest.mark.slow
@pytest.mark.parametrize(
    "target",
    [
        "/static/../../pyproject.toml",
        "/static/../../../pyproject.toml",
        "/static/%2e%2e/%2e%2e/pyproject.toml",
        "/static/%2e%2e%2f%2e%2e%2fpyproject.toml",
        "/static/..%2f..%2f..%2fpyproject.toml",
        "/static/%2E%2E%2F%2E%2E%2F%2E%2E%2Fpyproject.toml",
        "/static/..%5c..%5c..%5cpyproject.toml",
        "/static/%252e%252e%252fpyproject.toml",
        "/static/server.py",
        "/static/..",
        "/static/%2e%2e",
        "/static/",
        "/static/index.html/../../../pyproject.toml",
        "/static//work/main/pyproject.toml",
        "/static/%2fetc%2fpasswd",
        "/static/talk.txt",
        "/../pyproject.toml",
        "/docs",
        "/openapi.json",
    ],
)
def test_no_file_outside_the_page_is_served(server: Server, target: str):
    joiner = "&" if "?" in target else "?"
    status, body = raw_get(server, f"{target}{joiner}token={server.token}")
    assert status in (400, 403, 404), (status, body[:200])
    assert MARKER.encode() not in body and b"root:" not in body and b"import" not in body


@pytest.mark.slow
def test_a_large_body_is_refused(server: Server):
    big = {"text": "长" * (100 * 1024 // 3)}  # over 64 KiB of UTF-8 once encoded
    before = (server.folder / "talk.txt").read_bytes()
    with server.client() as client:
        assert client.post("/api/sentences/1/retake", json=big).status_code == 413

        def streamed() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
            yield b'{"text": "'
            for _ in range(100):
                yield b"x" * 1024
            yield b'"}'

        answer = client.post(
            "/api/sentences/1/retake",
            content=streamed(),
            headers={"Content-Type": "application/json"},
        )
        assert answer.status_code == 413
        assert client.get("/api/state").is_success
    assert (server.folder / "talk.txt").read_bytes() == before


# --- what it serves ----------------------------------------------------------------------------


@pytest.mark.slow
def test_state_preview_and_captions_agree(server: Server):
    with server.client() as client:
        state = client.get("/api/state").json()
        wav = client.get("/api/preview.wav")
        vtt = client.get("/api/captions.vtt")
    assert state["source"] == "talk.txt"
    shown = [sentence["shown"] for sentence in state["sentences"]]
    assert shown[0] == "在全市科技创新大会上的讲话" and len(shown) == 5
    assert [s["index"] for s in state["sentences"]] == list(range(5))
    times = [(s["start"], s["end"]) for s in state["sentences"]]
    assert all(start < end for start, end in times)
    assert all(a[1] <= b[0] for a, b in zip(times, times[1:], strict=False))

    assert wav.headers["content-type"] == "audio/wav" and wav.content[:4] == b"RIFF"
    assert wav.content[8:12] == b"WAVE"
    with wave.open(io.BytesIO(wav.content)) as file:
        seconds = file.getnframes() / file.getframerate()
    assert seconds == pytest.approx(state["duration"], abs=0.01)

    assert vtt.headers["content-type"].startswith("text/vtt")
    cues = parse_vtt(vtt.text)
    assert len(cues) == sum(len(s["cues"]) for s in state["sentences"]) > 0
    assert cues[0].start / 1000 == pytest.approx(
        state["sentences"][0]["cues"][0]["start"], abs=0.002
    )


@pytest.mark.slow
def test_retake_undo_and_a_refused_edit(server: Server):
    talk = server.folder / "talk.txt"
    with server.client() as client:
        before = client.get("/api/state").json()
        new_text = "今天，我们在这里隆重召开大会。"
        answer = client.post("/api/sentences/1/retake", json={"text": new_text})
        assert answer.status_code == 200, answer.text
        after = answer.json()
        assert after["version"] > before["version"]
        hashes = [s["hash"] for s in before["sentences"]]
        changed = [s["hash"] for s in after["sentences"]]
        assert changed[1] != hashes[1]
        assert changed[:1] + changed[2:] == hashes[:1] + hashes[2:]
        assert after["sentences"][1]["shown"] == new_text
        assert new_text in talk.read_text(encoding="utf-8")
        assert "我们在这里召开全市科技创新大会" not in talk.read_text(encoding="utf-8")
        assert (server.folder / "talk.txt.bak").read_text(encoding="utf-8") == SPEECH
        assert client.get("/api/state").json() == after
        with wave.open(io.BytesIO(client.get("/api/preview.wav").content)) as file:
            seconds = file.getnframes() / file.getframerate()
        assert seconds == pytest.approx(after["duration"], abs=0.01)

        undone = client.post("/api/sentences/1/undo")
        assert undone.status_code == 200, undone.text
        assert [s["hash"] for s in undone.json()["sentences"]] == hashes
        assert talk.read_text(encoding="utf-8") == SPEECH

        for text in ("", "   ", "两行\n文字"):
            refused = client.post("/api/sentences/1/retake", json={"text": text})
            assert refused.status_code == 422, refused.text
            assert refused.json()["index"] == 1 and refused.json()["error"]
        nothing_to_undo = client.post("/api/sentences/2/undo")
        assert nothing_to_undo.status_code == 422 and nothing_to_undo.json()["index"] == 2
        assert talk.read_text(encoding="utf-8") == SPEECH
        assert [s["hash"] for s in client.get("/api/state").json()["sentences"]] == hashes

        for index in ("5", "99", "-1", "x", "1.0"):
            missing = client.post(f"/api/sentences/{index}/retake", json={"text": "好。"})
            assert missing.status_code == 404, (index, missing.text)
        assert client.post("/api/sentences/99/undo").status_code == 404
        for body in (b"not json", b'{"text": 3}', b"[]", b"\xff"):
            bad = client.post("/api/sentences/1/retake", content=body)
            assert bad.status_code == 400 and "error" in bad.json()
        assert client.get("/api/state").is_success
    assert "Traceback" not in server.stderr.read_text()


@pytest.mark.slow
def test_settings_readings_and_drafts_over_http(server: Server):
    talk = server.folder / "talk.txt"
    with server.client() as client:
        before = client.get("/api/state").json()
        answer = client.post("/api/sentences/2/retake", json={"voice": "tone-low", "pause": 1200})
        assert answer.status_code == 200, answer.text
        third = answer.json()["sentences"][2]
        assert (third["voice"], third["pause"], third["voice_set"]) == ("tone-low", 1200, True)
        assert "[voice tone-low]首先" in talk.read_text(encoding="utf-8")
        assert client.post("/api/sentences/2/undo").status_code == 200
        assert talk.read_text(encoding="utf-8") == SPEECH
        for body in ({}, {"rate": "fast"}, {"pause": True}, {"voice": 3}, {"text": None}):
            bad = client.post("/api/sentences/2/retake", json=body)
            assert bad.status_code == 400 and "error" in bad.json(), body
        refused = client.post("/api/sentences/2/retake", json={"rate": 500})
        assert refused.status_code == 422 and "rate" in refused.json()["error"]

        no_lexicon = client.post(
            "/api/sentences/1/reading", json={"written": "全市", "spoken": "x"}
        )
        assert no_lexicon.status_code == 422
        assert "--lexicon" in no_lexicon.json()["error"]
        assert client.post("/api/sentences/1/reading", json={"written": 1}).status_code == 400

        drafted = client.post("/api/sentences/1/draft", json={"text": "今天我们开会。"})
        # the answer comes once the text is spoken ahead
        assert drafted.status_code == 200
        spoken = {"text": "今天我们开会。", "state": "ready", "error": None}
        assert drafted.json() == {"draft": spoken}
        behind = client.post("/api/sentences/1/draft", json={"text": "好。", "version": -1})
        assert behind.status_code == 200 and behind.json() == {"draft": None}
        assert client.post("/api/sentences/9/draft", json={"text": "好。"}).status_code == 404
        assert client.post("/api/sentences/1/draft", json={"t": 1}).status_code == 400
        assert client.get("/api/export/progress").json() == {
            "running": False,
            "share": None,
            "step": "",
        }
        after = client.get("/api/state").json()
        assert [s["hash"] for s in after["sentences"]] == [s["hash"] for s in before["sentences"]]
    assert talk.read_text(encoding="utf-8") == SPEECH
    assert "Traceback" not in server.stderr.read_text()


@pytest.mark.slow
def test_what_a_retake_saves_can_be_edited_and_undone_whole(server: Server):
    """Markup alone once made sentence 2 vanish, and its undo overwrote sentence 3; a re-take
    into three sentences left two behind on undo; a tab or [[ made it uneditable."""
    talk = server.folder / "talk.txt"
    with server.client() as client:
        for text in ("[# note]", "[pause 1s]", "😀", "\t", "好\x01。", "好\u2028。"):
            refused = client.post("/api/sentences/1/retake", json={"text": text})
            assert refused.status_code == 422, (text, refused.text)
            assert talk.read_text(encoding="utf-8") == SPEECH
        for text, shown in (
            ("甲。乙。丙。", "甲。"),
            ("首先[[注]\t我们开会。", "首先[注] 我们开会。"),
        ):
            answer = client.post("/api/sentences/1/retake", json={"text": text})
            assert answer.status_code == 200, answer.text
            sentence = answer.json()["sentences"][1]
            assert (sentence["shown"], sentence["editable"], sentence["undo"]) == (
                shown,
                True,
                True,
            )
            undone = client.post("/api/sentences/1/undo")
            assert undone.status_code == 200, undone.text
            assert talk.read_text(encoding="utf-8") == SPEECH
    assert "Traceback" not in server.stderr.read_text()


@pytest.mark.slow
def test_the_state_holds_what_its_declaration_says(server: Server):
    """Every key voicer/studio/views.py declares, of its type, and no other: a sentence with
    its own settings, a draft and a finding included."""
    with server.client() as client:
        edited = client.post("/api/sentences/2/retake", json={"voice": "tone-low", "rate": 10})
        assert edited.status_code == 200, edited.text
        drafted = client.post("/api/sentences/3/draft", json={"text": "今天我们开会。"})
        assert drafted.status_code == 200, drafted.text
        answer = client.get("/api/state")
        assert client.post("/api/sentences/2/undo").status_code == 200
    state = views.STATE.validate_json(answer.content, strict=True)
    assert views.STATE.validate_json(edited.content, strict=True)["version"] == state["version"]
    third, fourth = state["sentences"][2:4]
    assert (third["voice"], third["voice_set"], third["rate"]) == ("tone-low", True, 10)
    assert fourth["draft"] == {"text": "今天我们开会。", "state": "ready", "error": None}
    assert any(sentence["findings"] for sentence in state["sentences"])
    with pytest.raises(ValidationError, match="extra"):
        views.STATE.validate_python({**state, "speed": 1})
    with pytest.raises(ValidationError, match="state"):
        views.STATE.validate_python({**state, "sentences": [{**fourth, "draft": {
            "text": "好。", "state": "done", "error": None}}]})  # fmt: skip


@pytest.mark.slow
def test_a_refused_body_says_what_to_send(server: Server):
    with server.client() as client:
        for route, model in [
            ("retake", studio_server.RetakeBody),
            ("reading", studio_server.ReadingBody),
            ("pinyin", studio_server.PinyinBody),
            ("draft", studio_server.DraftBody),
        ]:
            refused = client.post(f"/api/sentences/1/{route}", json={"tempo": 3})
            assert refused.status_code == 400, refused.text
            message = refused.json()["error"]
            assert message.endswith(f"; {model.usage}") and "\n" not in message


@pytest.mark.slow
def test_export_writes_the_outputs(server: Server):
    with server.client() as client:
        answer = client.post("/api/export")
        assert answer.status_code == 200, answer.text
        done = views.EXPORT.validate_json(answer.content, strict=True)
        state = client.get("/api/state").json()
    written = [server.folder / path for path in done["written"]]
    assert [path.name for path in written] == ["talk.mp3", "talk.srt"]
    assert all(path.stat().st_size > 0 for path in written)
    assert done["duration"] == pytest.approx(state["duration"])
    assert done["cues"] == sum(len(s["cues"]) for s in state["sentences"])
    assert done["report"][-2].startswith("wrote audio/talk.mp3 and audio/talk.srt")


@pytest.mark.slow
def test_ctrl_c_stops_the_studio(tmp_path: Path):
    running = start(tmp_path / "studio")
    with running.client() as client:
        assert client.get("/api/state").is_success
    began = time.monotonic()
    assert running.stop() == 0
    assert time.monotonic() - began < 30
    said = running.stderr.read_text()
    assert "Traceback" not in said and "interrupted" not in said
    assert running.process.stdout is not None
    assert running.process.stdout.read() == b""  # the address was the only line


@pytest.mark.slow
def test_the_studio_starts_again_at_once_on_the_same_port(tmp_path: Path):
    """Stopping closes the page's open connection from the server's side, which leaves it in
    TIME_WAIT on the port for a minute: a new studio must still be able to listen there."""
    first = start(tmp_path / "studio")
    with first.client() as client:
        assert client.get("/api/state").is_success  # the connection stays open (keep-alive)
        assert first.stop() == 0
    port = str(first.port)
    again = start(tmp_path / "studio", "--port", port)
    try:
        assert again.port == first.port
        with again.client() as client:
            assert client.get("/api/state").is_success
    finally:
        assert again.stop() == 0


# --- bad input: a one-line 4xx, never a 500 ------------------------------------------------------


def raw_post(server: Server, target: str, body: bytes) -> tuple[int, bytes]:
    """POST ``body`` to ``target`` exactly as written: status, body."""
    with socket.create_connection((server.host, server.port), timeout=30) as sock:
        head = (
            f"POST {target} HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n"
            f"X-Voicer-Token: {server.token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        sock.sendall(head.encode() + body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head_part, _, answer_body = answer.partition(b"\r\n\r\n")
    return int(head_part.split()[1]), answer_body


def assert_refused_cleanly(status: int, body: bytes, statuses: tuple[int, ...]) -> None:
    assert status in statuses, (status, body[:300])
    error = json.loads(body)["error"]
    assert "\n" not in error and "Error" not in error and "/" + "work" not in error
    assert str(Path(__file__).parent.parent) not in error


@pytest.mark.slow
@pytest.mark.parametrize(
    "body",
    [
        b"[" * 30_000 + b"]" * 30_000,
        b'{"text": ' + b"[" * 30_000 + b"]" * 30_000 + b"}",
        b'{"text": "\\ud800"}',
        b'{"text": "\\udfff\\ud800"}',
        b'{"text": "ok", "tempo": 3}',
        b'{"text": "ok", "rate": 1.5}',
    ],
)
def test_a_malformed_body_is_a_400(server: Server, body: bytes):
    before = (server.folder / "talk.txt").read_bytes()
    status, answer = raw_post(server, "/api/sentences/1/retake", body)
    assert_refused_cleanly(status, answer, (400,))
    assert (server.folder / "talk.txt").read_bytes() == before
    assert "Traceback" not in server.stderr.read_text()


@pytest.mark.slow
@pytest.mark.parametrize("index", ["²", "٣", "３", "1" * 5000, "0" * 7, "+1", " 1", "1 "])
def test_a_sentence_number_is_ascii_digits(server: Server, index: str):
    from urllib.parse import quote

    before = (server.folder / "talk.txt").read_bytes()
    for action, body in (("retake", b'{"text": "\xe5\xa5\xbd\xe3\x80\x82"}'), ("undo", b"")):
        status, answer = raw_post(server, f"/api/sentences/{quote(index)}/{action}", body)
        assert_refused_cleanly(status, answer, (404,))
        assert len(answer) < 300
    assert (server.folder / "talk.txt").read_bytes() == before
    assert "Traceback" not in server.stderr.read_text()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["x%00", "studio.js%00.png", "a" * 5000, "%ff", "%2e"])
def test_a_bad_static_name_is_a_404(server: Server, name: str):
    status, body = raw_get(server, f"/static/{name}?token={server.token}")
    assert_refused_cleanly(status, body, (404,))
    assert "Traceback" not in server.stderr.read_text()


@pytest.mark.slow
def test_a_bad_content_length_is_a_400(server: Server):
    with socket.create_connection((server.host, server.port), timeout=30) as sock:
        sock.sendall(
            f"POST /api/sentences/1/undo HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n"
            f"X-Voicer-Token: {server.token}\r\nContent-Length: ²\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert 400 <= int(answer.split()[1]) < 500, answer[:200]
    assert "Traceback" not in server.stderr.read_text()


@pytest.mark.slow
def test_a_lone_surrogate_leaves_no_temporary_file_and_no_open_file(server: Server):
    """Such a text once reached the file writer, which failed half-way: a .part file and an
    open descriptor were left behind for every request."""
    talk = server.folder / "talk.txt"
    before = talk.read_bytes()
    descriptors = f"/proc/{server.process.pid}/fd"
    bodies = [
        b'{"text": "\\ud800"}',
        b'{"text": "a\\udc00b"}',
        b'{"written": "\\ud800", "spoken": "x"}',
    ]
    status, _ = raw_post(server, "/api/sentences/1/retake", bodies[0])  # the first loads what
    opened = len(os.listdir(descriptors))  # a request needs, once
    for _ in range(20):
        for body, action in zip(bodies, ("retake", "retake", "reading"), strict=True):
            status, answer = raw_post(server, f"/api/sentences/1/{action}", body)
            assert_refused_cleanly(status, answer, (400,))
    assert len(os.listdir(descriptors)) <= opened
    assert not [path.name for path in server.folder.iterdir() if path.suffix == ".part"]
    assert talk.read_bytes() == before


@pytest.mark.slow
@pytest.mark.parametrize(
    "voice",
    ["zm_yunxi]注入文字[#", "x]", "[voice", "tone low", "tone\tlow", "tone\n", "", "zm_yunxi"],
)
def test_a_voice_is_one_the_engine_offers(server: Server, voice: str):
    talk = server.folder / "talk.txt"
    before = talk.read_bytes()
    with server.client() as client:
        answer = client.post("/api/sentences/1/retake", json={"voice": voice})
        assert answer.status_code == 422, answer.text
        assert "voice" in answer.json()["error"]
    assert talk.read_bytes() == before


def test_a_failure_inside_the_studio_is_a_plain_500(capfd: pytest.CaptureFixture[str]):
    """Whatever fails inside the studio (here a state that raises with a path in its words):
    the answer says nothing of it, and stderr has one line about it, no traceback."""

    def broken() -> dict:
        raise RuntimeError("/home/someone/talk.txt: gone")

    sock = studio_server.bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    app = studio_server.create_app(SimpleNamespace(state=broken), "t0ken", port)  # type: ignore[arg-type]
    running = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    thread = threading.Thread(target=running.run, kwargs={"sockets": [sock]})
    thread.start()
    try:
        while not running.started and thread.is_alive():
            time.sleep(0.01)
        answer = httpx.get(
            f"http://127.0.0.1:{port}/api/state", headers={"X-Voicer-Token": "t0ken"}
        )
    finally:
        running.should_exit = True
        thread.join()
        sock.close()
    assert answer.status_code == 500
    assert answer.json() == {"error": "internal error: the studio's terminal says more"}
    said = capfd.readouterr().err
    assert "Traceback" not in said
    assert said.count("voicer: studio: internal error") == 1


@pytest.mark.slow
def test_a_script_gone_under_the_studio_is_a_one_line_refusal(tmp_path: Path):
    """A script deleted, or made a folder, under the studio was a 500 on every request."""
    running = start(tmp_path / "studio")
    talk = running.folder / "talk.txt"
    try:
        with running.client() as client:
            for gone in (talk.unlink, talk.mkdir):
                gone()
                assert client.get("/api/state").status_code == 200
                for action in ("retake", "undo", "reading"):
                    answer = client.post(f"/api/sentences/1/{action}", json={"text": "好。"})
                    assert answer.status_code in (400, 422), answer.text
                    assert "\n" not in answer.json()["error"]
            talk.rmdir()
            talk.write_text(SPEECH, encoding="utf-8")
            answer = client.post("/api/sentences/1/retake", json={"text": "好。"})
            assert answer.status_code == 200, answer.text
    finally:
        assert running.stop() == 0
    assert "Traceback" not in running.stderr.read_text()
    assert "internal error" not in running.stderr.read_text()


# --- where it listens --------------------------------------------------------------------------


@pytest.mark.slow
def test_another_loopback_address_answers_to_its_own_names(tmp_path: Path):
    running = start(tmp_path / "studio", "--host", "127.0.0.2")
    try:
        assert running.url.startswith(f"http://127.0.0.2:{running.port}/?token=")
        with running.client() as client:
            for host in ("127.0.0.2", "127.0.0.1", "localhost"):
                answer = client.get("/api/state", headers={"Host": f"{host}:{running.port}"})
                assert answer.is_success, host
            for host in ("evil.example", "10.0.0.5", "127.0.0.2:1"):
                assert client.get("/api/state", headers={"Host": host}).status_code == 403
    finally:
        assert running.stop() == 0
    assert "warning" not in running.stderr.read_text()


@pytest.mark.slow
def test_a_host_other_machines_reach_is_warned_about(tmp_path: Path):
    """192.0.2.1 is a documentation address no machine holds: the warning comes, then
    listening fails, and nothing goes on the network."""
    folder = tmp_path / "studio"
    folder.mkdir()
    (folder / "talk.txt").write_text(SPEECH, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "voicer", "studio", "talk.txt", "--engine", "tone"]
        + ["--no-browser", "--host", "192.0.2.1", "--port", "0"],
        cwd=folder,
        env={**os.environ, "VOICER_CACHE_DIR": str(folder / "cache")},
        capture_output=True,
        timeout=120,
    )
    lines = done.stderr.decode().splitlines()
    assert lines[0].startswith("voicer: warning: --host 192.0.2.1 lets other machines reach")
    assert "clear text" in lines[0]
    assert done.returncode != 0 and "cannot listen on 192.0.2.1" in lines[-1]
    assert "Traceback" not in done.stderr.decode()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("bound", "arrived", "host", "status"),
    [
        ("0.0.0.0", "10.1.2.3", "127.0.0.1:8765", 403),  # from the network, claiming loopback
        ("0.0.0.0", "10.1.2.3", "localhost:8765", 403),
        ("0.0.0.0", "10.1.2.3", "10.1.2.3:8765", 200),
        ("0.0.0.0", "10.1.2.3", "10.9.9.9:8765", 403),
        ("0.0.0.0", "127.0.0.1", "127.0.0.1:8765", 200),
        ("0.0.0.0", "127.0.0.1", "localhost:8765", 200),
        ("0.0.0.0", "127.0.0.1", "10.1.2.3:8765", 403),
        ("::", "::ffff:10.1.2.3", "10.1.2.3:8765", 200),
        ("::", "::ffff:10.1.2.3", "127.0.0.1:8765", 403),
        ("::", "::1", "[::1]:8765", 200),
        ("10.1.2.3", "10.1.2.3", "10.1.2.3:8765", 200),
        ("10.1.2.3", "10.1.2.3", "127.0.0.1:8765", 403),
        ("10.1.2.3", "10.1.2.3", "localhost:8765", 403),
    ],
)
def test_the_host_header_must_name_the_address_the_request_came_to(
    tmp_path: Path, bound: str, arrived: str, host: str, status: int
):
    """Over ASGI, the connection's local address is the request's scope["server"]: what a
    server listening on every address sees of a request from the network, with no network."""
    import asyncio

    from voicer import pipeline
    from voicer.studio import server
    from voicer.studio.session import Studio

    (tmp_path / "talk.txt").write_text(SPEECH, encoding="utf-8")
    options = pipeline.RenderOptions(engine="tone")
    studio = Studio(tmp_path / "talk.txt", options, pipeline.Outputs.beside(tmp_path / "t.mp3"))
    app = server.create_app(studio, "secret", 8765, bound)
    shown = f"[{arrived}]" if ":" in arrived else arrived

    async def ask() -> int:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url=f"http://{shown}:8765"
        ) as client:
            headers = {"Host": host, "X-Voicer-Token": "secret"}
            return (await client.get("/api/state", headers=headers)).status_code

    try:
        assert asyncio.run(ask()) == status
    finally:
        studio.close()
