"""voicer studio's page in a real browser: headless Chromium (driven by Playwright) opens the
page a user opens, lists the sentences, plays from a clicked sentence, re-takes one sentence
through its edit box and exports; every step is checked against the server's own state and
the files it writes.

With ``VOICER_SCREENSHOT`` set, the run also saves the README's picture of the page,
``examples/studio.png``; otherwise nothing is written into the repository."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from speech_audio import interruptible

from voicer.subtitles import formats

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs /usr/bin/chromium (.ci/run installs it)"
)
sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (the test extra)")

# two paragraphs, four sentences
SCRIPT = (
    "今天我们召开全市科技创新大会。首先向大家致以诚挚的问候！\n\n"
    "过去一年全市研发投入稳步增长。这些成绩来之不易。\n"
)
EDITED = 1  # sentence 2 on the page
NEW_TEXT = "首先向全体科技工作者表示衷心的感谢！"
SCREENSHOT = Path(__file__).resolve().parents[1] / "examples" / "studio.png"
WAIT = 60_000  # ms: generous, for a loaded machine; the test waits for conditions, not times
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]

# the player's current caption track, its cues as [start, end, text] once it has loaded them
TRACK_CUES = """() => {
  const player = document.querySelector('#player');
  const element = document.querySelector('#captions');
  if (!element || !element.track || element.readyState !== 2) return null;
  const track = element.track;
  if (track.mode === 'disabled') track.mode = 'hidden';
  if (!track.cues) return null;
  if (player.textTracks.length !== 1 || player.textTracks[0] !== track) return null;
  return Array.from(track.cues, (cue) => [cue.startTime, cue.endTime, cue.text]);
}"""


@dataclass
class Studio:
    process: subprocess.Popen[bytes]
    folder: Path
    url: str
    token: str
    stderr: Path

    def stop(self) -> None:
        """Ctrl-C, as a user stops it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start(folder: Path) -> Studio:
    """``voicer studio talk.txt --engine tone`` in ``folder``, once it has printed its address
    (as tests/test_studio_server.py starts it)."""
    (folder / "talk.txt").write_text(SCRIPT, encoding="utf-8")
    stderr = folder / "stderr.txt"
    env = {**os.environ, "VOICER_CACHE_DIR": str(folder / "cache")}
    with stderr.open("wb") as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", "voicer", "studio", "talk.txt", "--engine", "tone"]
            + ["--no-browser", "--port", "0"],
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
        first = ""
    prefix = "voicer studio on http://127.0.0.1:"
    if not first.startswith(prefix):
        process.kill()
        process.wait()
        pytest.fail(f"no address: {first!r}; stderr: {stderr.read_text()}")
    url = first.strip().removeprefix("voicer studio on ")
    return Studio(process, folder, url, url.partition("/?token=")[2], stderr)


@pytest.fixture
def studio(tmp_path: Path) -> Iterator[Studio]:
    running = start(tmp_path)
    try:
        yield running
    finally:
        running.stop()


def state(page: Any, token: str) -> dict[str, Any]:
    """GET /api/state from the page, with the token header as the page sends it."""
    return page.evaluate(
        """async (token) => {
          const response = await fetch('/api/state', {headers: {'X-Voicer-Token': token}});
          if (!response.ok) throw new Error('state: ' + response.status);
          return await response.json();
        }""",
        token,
    )


def track_cues(page: Any) -> list[list[Any]]:
    """The player's caption cues, once its track has loaded them."""
    page.wait_for_function(f"({TRACK_CUES})() !== null", timeout=WAIT)
    return page.evaluate(TRACK_CUES)


def state_cues(current: dict[str, Any]) -> list[tuple[float, float, str]]:
    return [
        (cue["start"], cue["end"], "\n".join(cue["lines"]))
        for sentence in current["sentences"]
        for cue in sentence["cues"]
    ]


def same_cues(track: list[list[Any]], expected: list[tuple[float, float, str]]) -> bool:
    """The same texts, and times within 1 ms (WebVTT and SRT keep milliseconds)."""
    return len(track) == len(expected) and all(
        text == want_text and abs(start - want_start) <= 0.0011 and abs(end - want_end) <= 0.0011
        for (start, end, text), (want_start, want_end, want_text) in zip(
            track, expected, strict=True
        )
    )


def test_the_page_plays_retakes_and_exports(studio: Studio, tmp_path: Path):
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        page = browser.new_page()
        try:
            check_the_page(page, studio)
        except BaseException:
            # a screenshot is a help, never the failure reported
            with contextlib.suppress(Exception):
                page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
            raise
        finally:
            browser.close()


def check_the_page(page: Any, studio: Studio) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(studio.url)
    page.wait_for_selector("body[data-ready]", timeout=WAIT)
    before = state(page, studio.token)
    sentences = before["sentences"]
    assert len(sentences) == 4, [s["shown"] for s in sentences]

    # the list and the timeline show every sentence, as the state lists them
    assert page.locator(".sentence").count() == len(sentences)
    assert page.locator("#timeline .segment").count() == len(sentences)
    assert page.locator(".sentence .shown").all_inner_texts() == [s["shown"] for s in sentences]
    assert page.locator(".error").count() == 0

    # the caption track holds the state's cues
    cues = track_cues(page)
    assert len(cues) == len(state_cues(before))
    assert same_cues(cues, state_cues(before)), (cues, state_cues(before))

    # a click on a sentence plays from its start
    third = sentences[2]
    page.locator('.sentence[data-index="2"] .shown').click()
    page.wait_for_function(
        "(start) => { const p = document.querySelector('#player');"
        " return !p.seeking && Math.abs(p.currentTime - start) < 0.3; }",
        arg=third["start"],
        timeout=WAIT,
    )
    page.wait_for_function(
        "(start) => { const p = document.querySelector('#player');"
        " return !p.paused && p.currentTime > start + 0.05; }",
        arg=third["start"],
        timeout=WAIT,
    )
    playing = page.locator('.sentence[data-index="2"]').get_attribute("class") or ""
    assert "playing" in playing.split()

    # re-take sentence 2 from its edit box
    edited = page.locator(f'.sentence[data-index="{EDITED}"]')
    edited.locator(".edit").fill(NEW_TEXT)
    edited.locator(".retake").click()
    page.wait_for_function(
        "(version) => document.body.dataset.version !== String(version)"
        " && document.querySelector('#status').textContent.startsWith('Re-took')",
        arg=before["version"],
        timeout=WAIT,
    )
    after = state(page, studio.token)
    assert after["version"] != before["version"]
    changed = [
        index
        for index, (old, new) in enumerate(zip(sentences, after["sentences"], strict=True))
        if old["hash"] != new["hash"]
    ]
    assert changed == [EDITED]
    assert after["sentences"][EDITED]["shown"] == NEW_TEXT
    assert [s["shown"] for i, s in enumerate(after["sentences"]) if i != EDITED] == [
        s["shown"] for i, s in enumerate(sentences) if i != EDITED
    ]
    assert studio.folder.joinpath("talk.txt").read_text(encoding="utf-8") == SCRIPT.replace(
        sentences[EDITED]["shown"], NEW_TEXT
    )
    assert edited.locator(".shown").inner_text() == NEW_TEXT
    assert page.locator(".error").count() == 0
    # the page reloaded its captions: the new track holds the new state's cues
    page.wait_for_function(
        f"(want) => {{ const cues = ({TRACK_CUES})();"
        " return cues !== null && cues.some((cue) => cue[2].replace(/\\n/g, '').includes(want)); }",
        arg=NEW_TEXT.rstrip("！"),
        timeout=WAIT,
    )
    cues = track_cues(page)
    assert same_cues(cues, state_cues(after)), (cues, state_cues(after))

    # export: the SRT beside the script is what the player's track shows
    page.locator("#export").click()
    page.wait_for_function(
        "() => document.querySelector('#status').textContent.startsWith('Wrote')", timeout=WAIT
    )
    status = page.locator("#status").inner_text()
    written = re.findall(r"([^ ,]+\.srt)[,( ]", status)  # "Wrote audio/talk.mp3, audio/talk.srt (…"
    assert len(written) == 1 and Path(written[0]).name == "talk.srt", status
    assert "bad" not in (page.locator("#status").get_attribute("class") or "").split()
    exported = formats.read(studio.folder / written[0])  # milliseconds
    srt = [(cue.start / 1000, cue.end / 1000, "\n".join(cue.lines)) for cue in exported]
    assert same_cues(cues, srt), (cues, srt)
    assert errors == []

    if os.environ.get("VOICER_SCREENSHOT"):
        page.evaluate("() => document.querySelector('#player').pause()")
        page.set_viewport_size({"width": 1200, "height": 800})
        page.evaluate("() => window.scrollTo(0, 0)")
        page.screenshot(path=str(SCREENSHOT))
