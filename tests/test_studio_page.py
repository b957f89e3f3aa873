"""voicer studio's page in a real browser: headless Chromium (driven by Playwright) opens the
page a user opens, lists the sentences, plays from a clicked sentence, re-takes one sentence
through its edit box, gives one sentence another voice and another a longer pause after it,
saves a reading to the lexicon, shows every sentence's pinyin and fixes a word's, undoes, and
exports; every step is checked against the
server's own state and the files it writes.

One studio (started with a lexicon) and one browser serve the whole module, each test on a
page of its own; every test compares the state before and after its own steps, so the tests
hold in any order.

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

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs /usr/bin/chromium (.ci/run installs it)"
    ),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (the test extra)")

# two paragraphs, four sentences
SCRIPT = (
    "今天我们召开全市科技创新大会。首先向大家致以诚挚的问候！\n\n"
    "过去一年全市研发投入稳步增长。这些成绩来之不易。\n"
)
EDITED = 1  # sentence 2 on the page: its text is re-taken
NEW_TEXT = "首先向全体科技工作者表示衷心的感谢！"
VOICED = 3  # sentence 4: another voice
DRAFT_TEXT = "这些成绩确实来之不易。"  # typed into sentence 4, then taken back
PAUSED = 2  # sentence 3: a longer pause after it
LONGER_MS = 1000  # how much longer
LEXICON = "words.tsv"
WRITTEN, SPOKEN = "召开", "举行"  # a reading for a word only sentence 1 has
PINYIN_WORD, PINYIN_MARKS, PINYIN_NUMBERS = "科技", "kē jì", "ke1 ji4"  # a word of sentence 1
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


def start(folder: Path, *options: str, engine: str = "tone") -> Studio:
    """``voicer studio talk.txt --engine ENGINE [options]`` in ``folder``, once it has printed
    its address (as tests/test_studio_server.py starts it)."""
    (folder / "talk.txt").write_text(SCRIPT, encoding="utf-8")
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
        first = ""
    prefix = "voicer studio on http://127.0.0.1:"
    if not first.startswith(prefix):
        process.kill()
        process.wait()
        pytest.fail(f"no address: {first!r}; stderr: {stderr.read_text()}")
    url = first.strip().removeprefix("voicer studio on ")
    return Studio(process, folder, url, url.partition("/?token=")[2], stderr)


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Studio]:
    """One studio for the module, with a lexicon file (TSV) to save readings in."""
    folder = tmp_path_factory.mktemp("studio")
    (folder / LEXICON).write_text("# written\tspoken\n", encoding="utf-8")
    running = start(folder, "--lexicon", LEXICON)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@contextlib.contextmanager
def opened(browser: Any, studio: Studio, folder: Path) -> Iterator[Any]:
    """A new page on the studio, once it is ready; no script error may happen on it, and a
    screenshot goes to ``folder`` when what runs inside fails."""
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(studio.url)
        page.wait_for_selector("body[data-ready]", timeout=WAIT)
        yield page
        assert errors == []
    except BaseException:
        # a screenshot is a help, never the failure reported
        with contextlib.suppress(Exception):
            page.screenshot(path=str(folder / "failure.png"), full_page=True)
        raise
    finally:
        page.close()


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


def settled(page: Any, studio: Studio, before: dict[str, Any]) -> dict[str, Any]:
    """The state once the change just asked for has gone through: the page is no longer busy
    and shows a new version, without an error; its audio and captions are reloaded."""
    page.wait_for_function(
        "(version) => !document.body.classList.contains('busy')"
        " && (document.body.dataset.version !== String(version)"
        " || document.querySelector('#status').classList.contains('bad'))",
        arg=before["version"],
        timeout=WAIT,
    )
    status = page.locator("#status")
    assert "bad" not in (status.get_attribute("class") or "").split(), status.inner_text()
    assert page.locator(".error").count() == 0, page.locator(".error").all_inner_texts()
    after = state(page, studio.token)
    assert after["version"] != before["version"]
    return after


def retaken(before: dict[str, Any], after: dict[str, Any]) -> list[int]:
    """The sentences whose clip changed."""
    return [
        index
        for index, (old, new) in enumerate(
            zip(before["sentences"], after["sentences"], strict=True)
        )
        if old["hash"] != new["hash"]
    ]


def sentence(page: Any, index: int) -> Any:
    return page.locator(f'.sentence[data-index="{index}"]')


def exported(page: Any, studio: Studio) -> list[tuple[float, float, str]]:
    """Export from the page: the cues of the SRT it wrote beside the script; the page shows
    what ``voicer render`` prints."""
    page.locator("#export").click()
    page.wait_for_function(
        "() => document.querySelector('#status').textContent.startsWith('Wrote')"
        " && !document.body.classList.contains('busy')",
        timeout=WAIT,
    )
    status = page.locator("#status").inner_text()
    written = re.findall(r"([^ ,]+\.srt)[,( ]", status)  # "Wrote audio/talk.mp3, audio/talk.srt (…"
    assert len(written) == 1 and Path(written[0]).name == "talk.srt", status
    assert "bad" not in (page.locator("#status").get_attribute("class") or "").split()
    assert page.locator("#report").is_visible()
    assert "talk.srt" in page.locator("#report-lines").inner_text()
    assert page.locator("#export-progress").is_hidden()
    cues = formats.read(studio.folder / written[0])  # milliseconds
    return [(cue.start / 1000, cue.end / 1000, "\n".join(cue.lines)) for cue in cues]


def reloaded_cues(page: Any, after: dict[str, Any]) -> list[list[Any]]:
    """The player's captions once they are the new state's (the page reloads its track)."""
    page.wait_for_function(
        f"(want) => {{ const cues = ({TRACK_CUES})();"
        " return cues !== null && cues.length === want.length"
        " && cues.every((cue, i) => Math.abs(cue[0] - want[i][0]) <= 0.0011"
        " && cue[2] === want[i][2]); }",
        arg=state_cues(after),
        timeout=WAIT,
    )
    cues = track_cues(page)
    assert same_cues(cues, state_cues(after)), (cues, state_cues(after))
    return cues


def test_the_page_plays_retakes_and_exports(browser: Any, studio: Studio, tmp_path: Path):
    with opened(browser, studio, tmp_path) as page:
        check_the_page(page, studio)


def check_the_page(page: Any, studio: Studio) -> None:
    before = state(page, studio.token)
    sentences = before["sentences"]
    assert len(sentences) == 4, [s["shown"] for s in sentences]
    script = studio.folder.joinpath("talk.txt").read_text(encoding="utf-8")

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
    edited = sentence(page, EDITED)
    edited.locator(".edit").fill(NEW_TEXT)
    edited.locator(".retake").click()
    after = settled(page, studio, before)
    assert page.locator("#status").inner_text().startswith("Re-took")
    assert retaken(before, after) == [EDITED]
    assert after["sentences"][EDITED]["shown"] == NEW_TEXT
    assert [s["shown"] for i, s in enumerate(after["sentences"]) if i != EDITED] == [
        s["shown"] for i, s in enumerate(sentences) if i != EDITED
    ]
    assert studio.folder.joinpath("talk.txt").read_text(encoding="utf-8") == script.replace(
        sentences[EDITED]["shown"], NEW_TEXT
    )
    assert edited.locator(".shown").inner_text() == NEW_TEXT
    # the page reloaded its captions: the new track holds the new state's cues
    assert any(
        NEW_TEXT.rstrip("！") in cue[2].replace("\n", "") for cue in reloaded_cues(page, after)
    )
    cues = track_cues(page)

    # export: the SRT beside the script is what the player's track shows
    srt = exported(page, studio)
    assert same_cues(cues, srt), (cues, srt)


def test_another_voice_for_one_sentence(browser: Any, studio: Studio, tmp_path: Path):
    with opened(browser, studio, tmp_path) as page:
        before = state(page, studio.token)
        voiced = before["sentences"][VOICED]
        names = [voice["name"] for voice in before["voices"]]
        others = [name for name in names if name != voiced["voice"]]
        assert others, f"the engine offers no voice but {voiced['voice']}: {before['voices']}"
        item = sentence(page, VOICED)
        # the voice menu: the script's default, then the engine's voices
        values = item.locator(".voice option").evaluate_all("(os) => os.map((o) => o.value)")
        assert values[:1] == [""] and values[1 : len(names) + 1] == names

        # typing that pauses sends the text to be drafted, once it differs from the sentence
        box = item.locator(".edit")
        draft = f"/api/sentences/{VOICED}/draft"
        with page.expect_request(lambda r: r.url.endswith(draft), timeout=WAIT) as drafted:
            box.fill(DRAFT_TEXT)
        assert drafted.value.post_data_json == {"text": DRAFT_TEXT, "version": before["version"]}
        box.fill(voiced["shown"])  # taken back: the text is not changed

        item.locator(".voice").select_option(others[0])
        retake = f"/api/sentences/{VOICED}/retake"
        with page.expect_request(lambda r: r.url.endswith(retake), timeout=WAIT) as sent:
            item.locator(".retake").click()
        assert sent.value.post_data_json == {"voice": others[0]}  # only what changed
        after = settled(page, studio, before)

        # exactly that sentence was spoken again, in that voice, and the script says so
        assert retaken(before, after) == [VOICED]
        now = after["sentences"][VOICED]
        assert (now["voice"], now["voice_set"], now["shown"]) == (others[0], True, voiced["shown"])
        assert f"[voice {others[0]}]" in studio.folder.joinpath("talk.txt").read_text("utf-8")
        item = sentence(page, VOICED)
        assert f"voice {others[0]}" in item.locator(".meta").inner_text()
        assert item.locator(".voice").input_value() == others[0]
        assert "set" in (item.locator(".voice-field").get_attribute("class") or "").split()

        # the captions are the new state's, and the export writes them
        cues = reloaded_cues(page, after)
        srt = exported(page, studio)
        assert same_cues(cues, srt), (cues, srt)


def test_typed_text_is_spoken_ahead_and_the_page_says_when_it_is_ready(
    browser: Any, studio: Studio, tmp_path: Path
):
    with opened(browser, studio, tmp_path) as page:
        before = state(page, studio.token)
        item = sentence(page, VOICED)
        box, ahead = item.locator(".edit"), item.locator(".ahead")
        assert ahead.is_hidden()
        box.fill(DRAFT_TEXT)
        item.locator(".ahead.ready").wait_for(timeout=WAIT)
        assert ahead.inner_text() == "spoken ahead"
        drafted = state(page, studio.token)["sentences"][VOICED]["draft"]
        assert drafted == {"text": DRAFT_TEXT, "state": "ready", "error": None}
        box.fill(DRAFT_TEXT + "再")  # typing on: the badge goes until the new text is spoken
        assert ahead.is_hidden()
        box.fill(before["sentences"][VOICED]["shown"])  # taken back: nothing to speak ahead
        page.wait_for_timeout(1000)  # longer than the page waits before it speaks ahead
        assert ahead.is_hidden()
        assert [s["hash"] for s in state(page, studio.token)["sentences"]] == [
            s["hash"] for s in before["sentences"]
        ]


def test_a_longer_pause_after_a_sentence(browser: Any, studio: Studio, tmp_path: Path):
    with opened(browser, studio, tmp_path) as page:
        before = state(page, studio.token)
        paused, following = before["sentences"][PAUSED], before["sentences"][PAUSED + 1]
        longer = paused["pause"] + LONGER_MS
        item = sentence(page, PAUSED)
        shown = str(paused["pause"]) if paused["pause_set"] else ""
        assert item.locator(".pause").input_value() == shown
        for name, (least, most) in before["limits"].items():  # the inputs' limits, said once
            field = item.locator(f".{name}")
            shown_limits = (field.get_attribute("min"), field.get_attribute("max"))
            assert shown_limits == (str(least), str(most))
        item.locator(".pause").fill(str(longer))
        item.locator(".retake").click()
        after = settled(page, studio, before)

        now = after["sentences"][PAUSED]
        assert (now["pause"], now["pause_set"]) == (longer, True)
        moved = after["sentences"][PAUSED + 1]["start"] - following["start"]
        assert abs(moved - LONGER_MS / 1000) <= 0.05, moved
        for old, new in zip(before["sentences"][: PAUSED + 1], after["sentences"], strict=False):
            assert abs(new["start"] - old["start"]) <= 0.001, (old, new)
        assert "[pause" in studio.folder.joinpath("talk.txt").read_text("utf-8")
        item = sentence(page, PAUSED)
        assert f"pause {longer} ms" in item.locator(".meta").inner_text()
        assert item.locator(".pause").input_value() == str(longer)

        # Undo: the pause as the script had it
        item.locator(".undo").click()
        undone = settled(page, studio, after)
        back = undone["sentences"][PAUSED]
        assert (back["pause"], back["pause_set"]) == (paused["pause"], paused["pause_set"])
        assert abs(undone["sentences"][PAUSED + 1]["start"] - following["start"]) <= 0.05


def test_a_reading_saved_to_the_lexicon(browser: Any, studio: Studio, tmp_path: Path):
    with opened(browser, studio, tmp_path) as page:
        before = state(page, studio.token)
        lexicon = studio.folder / LEXICON
        assert before["lexicon"] and Path(before["lexicon"]).name == LEXICON, before["lexicon"]
        assert f"{WRITTEN}\t{SPOKEN}" not in lexicon.read_text("utf-8").splitlines()
        having = [s["index"] for s in before["sentences"] if WRITTEN in s["shown"]]
        assert having == [0], [s["shown"] for s in before["sentences"]]

        item = sentence(page, 0)
        item.locator(".reading-written").fill(WRITTEN)
        item.locator(".reading-spoken").fill(SPOKEN)
        item.locator(".save-reading").click()
        after = settled(page, studio, before)

        assert f"{WRITTEN}\t{SPOKEN}" in lexicon.read_text("utf-8").splitlines()
        assert retaken(before, after) == having
        now = after["sentences"][0]
        assert {"written": WRITTEN, "spoken": SPOKEN} in now["readings"]
        assert SPOKEN in now["spoken"] and now["shown"] == before["sentences"][0]["shown"]
        assert page.locator("#status").inner_text().startswith("Saved the reading")
        entries = sentence(page, 0).locator(".reading-entry").all_inner_texts()
        assert f"{WRITTEN} → {SPOKEN}" in entries

        # Undo takes the reading back, from the lexicon too
        sentence(page, 0).locator(".undo").click()
        undone = settled(page, studio, after)
        assert f"{WRITTEN}\t{SPOKEN}" not in lexicon.read_text("utf-8").splitlines()
        assert undone["sentences"][0]["hash"] == before["sentences"][0]["hash"]
        assert undone["sentences"][0]["readings"] == before["sentences"][0]["readings"]


def test_each_sentence_shows_its_pinyin_and_a_word_is_fixed(
    browser: Any, studio: Studio, tmp_path: Path
):
    with opened(browser, studio, tmp_path) as page:
        before = state(page, studio.token)
        # every sentence's words under their pinyin, as the state (and check --readings) says
        for current in before["sentences"]:
            item = sentence(page, current["index"])
            syllables = item.locator(".pinyin rt").all_inner_texts()
            assert syllables == [word["pinyin"] for word in current["words"]]
            assert " ".join(syllables) == current["pinyin"] != ""
        first = sentence(page, 0)
        assert first.locator(".pinyin").is_visible()
        page.locator("#show-pinyin").uncheck()
        assert first.locator(".pinyin").is_hidden()
        page.locator("#show-pinyin").check()
        assert first.locator(".pinyin").is_visible()

        lexicon = studio.folder / LEXICON
        entries = lexicon.read_text("utf-8")
        word = first.locator("button.word", has_text=PINYIN_WORD)
        assert PINYIN_WORD in word.locator("ruby").inner_text()
        word.click()
        fix = first.locator(".pinyin-fix")
        assert fix.is_visible()
        assert fix.locator(".pinyin-word").input_value() == PINYIN_WORD

        # one syllable for two characters: refused, the lexicon as it was
        fix.locator(".pinyin-syllables").fill("ke1")
        fix.locator(".save-pinyin").click()
        page.wait_for_function(
            "() => document.querySelector('#status').classList.contains('bad')"
            " && !document.body.classList.contains('busy')",
            timeout=WAIT,
        )
        assert "one syllable per character" in sentence(page, 0).locator(".error").inner_text()
        assert lexicon.read_text("utf-8") == entries

        # in tone marks: saved as a lexicon entry, in tone numbers
        sentence(page, 0).locator("button.word", has_text=PINYIN_WORD).click()
        fix = sentence(page, 0).locator(".pinyin-fix")
        fix.locator(".pinyin-syllables").fill(PINYIN_MARKS)
        fix.locator(".save-pinyin").click()
        after = settled(page, studio, before)
        assert page.locator("#status").inner_text().startswith("Saved the pinyin")
        assert f"{PINYIN_WORD}\t{PINYIN_NUMBERS}" in lexicon.read_text("utf-8").splitlines()

        # Undo takes it back
        sentence(page, 0).locator(".undo").click()
        settled(page, studio, after)
        assert lexicon.read_text("utf-8") == entries


@pytest.mark.skipif(
    not os.environ.get("VOICER_SCREENSHOT"), reason="VOICER_SCREENSHOT=1 saves the README's picture"
)
def test_the_readme_screenshot(browser: Any, studio: Studio, tmp_path: Path):
    """examples/studio.png: the page after a re-take of sentence 2, another voice for sentence
    4, a longer pause after sentence 3 and a reading in sentence 1, then an export (each done
    here unless a test before did it, so the picture is the same however the tests ran)."""
    with opened(browser, studio, tmp_path) as page:
        current = state(page, studio.token)
        sentences = current["sentences"]
        changes: list[tuple[int, dict[str, str], str]] = []
        if sentences[EDITED]["shown"] != NEW_TEXT:
            changes.append((EDITED, {".edit": NEW_TEXT}, ".retake"))
        if not sentences[VOICED]["voice_set"]:
            other = next(
                v["name"] for v in current["voices"] if v["name"] != sentences[VOICED]["voice"]
            )
            changes.append((VOICED, {".voice": other}, ".retake"))
        if not sentences[PAUSED]["pause_set"]:
            longer = str(sentences[PAUSED]["pause"] + LONGER_MS)
            changes.append((PAUSED, {".pause": longer}, ".retake"))
        if not sentences[0]["readings"]:
            changes.append(
                (0, {".reading-written": WRITTEN, ".reading-spoken": SPOKEN}, ".save-reading")
            )
        for index, fields, action in changes:
            item = sentence(page, index)
            for selector, value in fields.items():
                if selector == ".voice":
                    item.locator(selector).select_option(value)
                else:
                    item.locator(selector).fill(value)
            item.locator(action).click()
            current = settled(page, studio, current)
        exported(page, studio)
        page.evaluate("() => document.querySelector('#player').pause()")
        page.set_viewport_size({"width": 1200, "height": 900})
        page.evaluate("() => window.scrollTo(0, 0)")
        page.screenshot(path=str(SCREENSHOT), full_page=True)


def test_the_page_shows_each_sentence_as_it_becomes_ready(browser, held_edge, tmp_path: Path):
    """The first render held by the stand-in service, one sentence at a time: the page lists
    every sentence at once, each waiting; one released sentence becomes playable while Export
    and Re-take still wait; then every one is ready and Export can be pressed."""
    running = start(tmp_path, "--jobs", "1", engine="edge")
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(running.url)
        page.wait_for_selector("body[data-rendering='true']", timeout=WAIT)
        assert page.locator(".sentence").count() == 4
        assert page.locator(".sentence[data-ready='false'] .waiting").count() == 4
        assert page.locator("#export").is_disabled()
        assert "0 of 4 sentences ready" in page.locator("#status").inner_text()

        held_edge.release(1)
        page.wait_for_selector("#sentence-0[data-ready='true']", timeout=WAIT)
        first = state(page, running.token)
        assert first["rendering"] and first["ready"] == 1
        page.wait_for_function(
            "(end) => Math.abs(document.querySelector('#player').duration - end) < 0.05",
            arg=first["duration"],
            timeout=WAIT,
        )
        assert page.locator(".sentence[data-ready='true']").count() == 1
        assert page.locator("#timeline .segment").count() == 1
        assert page.locator("#export").is_disabled()
        assert page.locator("#sentence-0 .retake").is_disabled()
        assert "1 of 4 sentences ready" in page.locator("#status").inner_text()
        page.click("#sentence-0 .shown")  # the ready sentence plays
        page.wait_for_function(
            "() => document.querySelector('#player').currentTime > 0", timeout=WAIT
        )
        page.evaluate("document.querySelector('#player').pause()")

        held_edge.release()
        page.wait_for_selector("body[data-ready]", timeout=WAIT)
        assert page.locator(".sentence[data-ready='true']").count() == 4
        assert page.locator("#timeline .segment").count() == 4
        assert page.locator("#export").is_enabled()
        assert page.locator("#sentence-2 .retake").is_enabled()
        done = state(page, running.token)
        page.wait_for_function(
            "(end) => Math.abs(document.querySelector('#player').duration - end) < 0.05",
            arg=done["duration"],
            timeout=WAIT,
        )
        assert errors == []
    except BaseException:
        with contextlib.suppress(Exception):
            page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
        raise
    finally:
        page.close()
        held_edge.release()
        running.stop()
