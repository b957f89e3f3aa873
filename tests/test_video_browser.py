"""A WebM video and its WebVTT play in a real browser: headless Chromium loads both from a
loopback HTTP server, decodes the picture, plays it, and reads every cue of the track."""

from __future__ import annotations

import contextlib
import functools
import html
import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import webvtt

from voicer import ffmpeg

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.video,
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs /usr/bin/chromium (.ci/run installs it)"
    ),
]

SCRIPT = """\
科技创新大会

今天我们召开全市科技创新大会。首先向大家致以诚挚的问候！

让我们携手并进共同努力奋斗！
"""

# Waits for the track's cues and the video's metadata, plays the video muted for a moment,
# then writes what the browser saw into #result as JSON (the DOM Chromium dumps).
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>pending</title></head><body>
<video id="v" src="out.webm" muted playsinline preload="auto" crossorigin="anonymous">
  <track id="t" kind="subtitles" src="out.vtt" srclang="zh" label="中文" default>
</video>
<pre id="result"></pre>
<script>
const video = document.getElementById("v");
const track = document.getElementById("t");
video.textTracks[0].mode = "hidden";  // load the cues whether or not they are shown
const seen = {events: [], error: null};
["loadedmetadata", "loadeddata", "canplay", "playing", "error"].forEach(
  name => video.addEventListener(name, () => seen.events.push(name)));
track.addEventListener("error", () => { seen.error = "track failed to load"; });
function sleep(ms) { return new Promise(done => setTimeout(done, ms)); }
async function run() {
  for (let i = 0; i < 300; i++) {
    const cues = video.textTracks[0].cues;
    if (track.readyState === 2 && cues && cues.length && video.readyState >= 1) break;
    await sleep(50);
  }
  let played = null;
  try {
    await video.play();
    await sleep(500);
    played = video.currentTime;
    video.pause();
  } catch (error) {
    played = "play failed: " + error;
  }
  const cues = video.textTracks[0].cues;
  const report = {
    duration: video.duration,
    videoWidth: video.videoWidth,
    videoHeight: video.videoHeight,
    readyState: video.readyState,
    trackReadyState: track.readyState,
    cueCount: cues ? cues.length : -1,
    firstCue: cues && cues.length ? cues[0].text : null,
    firstCueStart: cues && cues.length ? cues[0].startTime : null,
    lastCueEnd: cues && cues.length ? cues[cues.length - 1].endTime : null,
    played: played,
    mediaError: video.error ? video.error.code + " " + video.error.message : null,
    seen: seen,
  };
  document.getElementById("result").textContent = JSON.stringify(report);
  document.title = "done";
}
run();
</script>
</body></html>
"""


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format, *args) -> None:  # noqa: A002 - the base class's name
        pass


@contextlib.contextmanager
def serving(folder: Path) -> Iterator[str]:
    """``folder`` over HTTP on a free loopback port, in a thread; yields its URL."""
    handler = functools.partial(_Quiet, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def seconds(timestamp: str) -> float:
    """A WebVTT time (``00:00:01.270``) in seconds, to the millisecond.

    >>> seconds("01:02:03.045")
    3723.045
    """
    *hours, minutes, rest = timestamp.split(":")
    return 3600 * int(hours[0] if hours else 0) + 60 * int(minutes) + float(rest)


def duration_of(video: Path) -> float:
    """The file's length, as ffmpeg reports it when reading it."""
    command = [ffmpeg.executable(), "-nostdin", "-hide_banner", "-i", str(video)]
    found = subprocess.run(command, capture_output=True, text=True).stderr
    match = re.search(r"Duration: (\d+):(\d+):([\d.]+)", found)
    assert match, found
    return 3600 * int(match[1]) + 60 * int(match[2]) + float(match[3])


@pytest.fixture(scope="module")
def browser_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    folder = tmp_path_factory.mktemp("browser")
    (folder / "speech.txt").write_text(SCRIPT, encoding="utf-8")
    command = [sys.executable, "-m", "voicer", "render", "speech.txt", "-o", "out.webm"]
    command += ["--engine", "tone", "--vtt", "-q", "--cache-dir", str(folder / "cache")]
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    (folder / "index.html").write_text(PAGE, encoding="utf-8")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with serving(folder) as url:
        browser = [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--autoplay-policy=no-user-gesture-required",
            "--virtual-time-budget=15000",
            "--dump-dom",
            url + "index.html",
        ]
        dumped = subprocess.run(browser, capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="result">(.*?)</pre>', dumped.stdout, re.S)
    assert found and found[1], (
        f"no result in the DOM:\n{dumped.stdout[-2000:]}\n{dumped.stderr[-3000:]}"
    )
    return json.loads(html.unescape(found[1])), folder


def test_browser_reads_every_cue_of_the_vtt(browser_report):
    report, folder = browser_report
    cues = webvtt.read(str(folder / "out.vtt")).captions
    print(f"\nbrowser: {report}")
    assert report["trackReadyState"] == 2, report  # LOADED
    assert report["cueCount"] == len(cues) >= 3
    assert report["firstCue"] == cues[0].text
    assert abs(report["firstCueStart"] - seconds(cues[0].start)) < 0.0015
    assert abs(report["lastCueEnd"] - seconds(cues[-1].end)) < 0.0015


def test_browser_decodes_and_plays_the_webm(browser_report):
    report, folder = browser_report
    assert report["mediaError"] is None, report
    assert report["readyState"] >= 1, report  # HAVE_METADATA at least
    assert (report["videoWidth"], report["videoHeight"]) == (1280, 720)
    # NaN (a file the browser cannot read) is no number in JSON: null
    assert isinstance(report["duration"], float | int), report
    assert abs(report["duration"] - duration_of(folder / "out.webm")) <= 0.1, report
    assert isinstance(report["played"], float | int) and report["played"] > 0, report
