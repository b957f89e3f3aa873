"""The watchdog of a local Ray instance, without Ray: it waits for its stdin to close, then
kills every process that writes in the session folder, and none that only reads there.
(tests/test_batch_ray_lifetime.py checks it against a real Ray instance, in the full suite.)"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from voicer.batch import ray_watchdog

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

SCRIPT = Path(ray_watchdog.__file__)
HOLD = "import sys, time; f = open(sys.argv[1], sys.argv[2]); print(flush=True); time.sleep(600)"


def holding(path: Path, mode: str) -> subprocess.Popen[str]:
    """A process that keeps ``path`` open in ``mode`` (once it has printed a line)."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path), mode], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    process.stdout.readline()
    return process


@pytest.fixture
def session(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[str], subprocess.Popen[str]]]:
    """A session folder, a process that writes a log in it and one that only reads one."""
    (tmp_path / "read.log").write_text("", encoding="utf-8")
    writer = holding(tmp_path / "write.log", "w")
    reader = holding(tmp_path / "read.log", "r")
    yield tmp_path, writer, reader
    for process in (writer, reader):
        process.kill()
        process.wait()


def test_the_writers_in_a_folder_are_found_and_the_readers_are_not(session):
    folder, writer, reader = session
    found = set(ray_watchdog.writers_in(folder))
    assert writer.pid in found
    assert reader.pid not in found


def test_closing_its_stdin_kills_the_writers_and_spares_the_readers(session):
    folder, writer, reader = session
    watchdog = subprocess.Popen(
        [sys.executable, "-I", str(SCRIPT), str(folder)], stdin=subprocess.PIPE
    )
    time.sleep(0.2)  # the watchdog is waiting on its stdin: the writer is still there
    assert writer.poll() is None
    assert watchdog.stdin is not None
    watchdog.stdin.close()
    assert watchdog.wait(timeout=60) == 0
    assert writer.wait(timeout=60) == -9  # SIGKILL
    assert reader.poll() is None
