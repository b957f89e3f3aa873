"""Scratch space (``voicer-scratch-<pid>-<random>/`` in the temporary folder, holding the
programme's ``voicer-*.f32`` files) and temporary outputs (``.part`` files beside the targets)
are removed on every way out: Ctrl-C once or twice, SIGTERM, a write that fails (a file size
limit, a full disk); what kill -9 leaves is swept by the next command that needs scratch.

The tests run ``python -m voicer`` in a subprocess with TMPDIR pointing at a folder of their
own (``temp_folder``), send signals and make faults for real (tests/faults.py), and wait for
what they watch (a file appearing), never for a time.
"""

from __future__ import annotations

import fcntl
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import faults
import numpy as np
import pytest
from speech_audio import interruptible

from voicer import scratch
from voicer.audio.stream import PcmFile
from voicer.errors import OutputError

DEADLINE = 300  # seconds: generous, for a loaded machine; no test waits this long when it passes
LIMIT = 2_000_000  # bytes: a file size limit that an output passes and scratch does not


def speech(sentences: int) -> str:
    """A speech of ``sentences`` different sentences (about 8 s of tone engine audio each)."""
    return "".join(
        f"第{n}句，今天我们在这里召开全市科技创新大会，回顾过去一年的工作。\n"
        for n in range(sentences)
    )


def start(*args: str, cwd: Path, tmpdir: Path, **popen: object) -> subprocess.Popen[str]:
    """``python -m voicer ARGS`` started with TMPDIR=``tmpdir``, its stdout and stderr piped."""
    return subprocess.Popen(
        [sys.executable, "-m", "voicer", *args],
        cwd=cwd,
        env={**os.environ, "TMPDIR": str(tmpdir)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def voicer(*args: str, cwd: Path, tmpdir: Path, **popen: object) -> subprocess.CompletedProcess:
    process = start(*args, cwd=cwd, tmpdir=tmpdir, **popen)
    stdout, stderr = process.communicate(timeout=DEADLINE)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def wait_for(found: Callable[[], object], process: subprocess.Popen[str], what: str) -> None:
    """Wait until ``found()`` is true, while ``process`` runs."""
    deadline = time.monotonic() + DEADLINE
    while not found():
        assert process.poll() is None, f"voicer ended before {what}: {process.stderr.read()}"
        assert time.monotonic() < deadline, f"no {what} after {DEADLINE} s"
        time.sleep(0.02)


def scratch_files(tmpdir: Path) -> list[Path]:
    return sorted(tmpdir.rglob("voicer-*.f32"))


def left_in(folder: Path) -> list[str]:
    """Every file and folder under ``folder``, relative to it."""
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


def one_line_error(result: subprocess.CompletedProcess) -> str:
    """The only line on stderr (-q), an error, after a failed run with no traceback."""
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("voicer: error: "), result.stderr
    return lines[0]


@pytest.fixture
def temp_folder(tmp_path: Path) -> Path:
    """An empty folder for TMPDIR: whatever is in it afterwards was left there."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    return folder


# --- 1. Ctrl-C twice in a batch: stopped at once, what was delivered kept, no scratch ---------


@pytest.mark.slow
def test_ctrl_c_twice_stops_a_batch_at_once_and_removes_its_scratch(tmp_path, temp_folder):
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "a.txt").write_text("各位来宾，大家好。\n今天我们在这里相聚。\n", encoding="utf-8")
    (scripts / "b.txt").write_text(speech(100), encoding="utf-8")
    out = tmp_path / "out"
    process = start(
        "batch", "scripts", "-o", "out", "--engine", "tone", "--no-cache", "-q",
        cwd=tmp_path, tmpdir=temp_folder, preexec_fn=interruptible,
    )  # fmt: skip
    # a delivered, b being written (minutes of audio: mastered for a while)
    wait_for(lambda: list(out.glob(".b.mp3.*.part")), process, "b being written")
    assert (out / "a.mp3").is_file() and scratch_files(temp_folder)
    process.send_signal(signal.SIGINT)
    assert "Ctrl-C again: stop now" in process.stderr.readline()
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=DEADLINE)
    assert process.returncode == 130, stderr
    assert "no output was written" not in stderr and "Traceback" not in stderr
    assert stderr.splitlines() == [
        "voicer: stopped; the script that was being written is left out",
        "voicer: the scripts delivered are kept; the same command goes on from there",
    ]
    assert left_in(out) == [".voicer-batch", ".voicer-batch/a.json", "a.mp3", "a.srt"]
    assert left_in(temp_folder) == []


# --- 2. a file size limit: one line naming the file, no scratch, the earlier output kept -------


@pytest.mark.slow
def test_a_write_past_the_file_size_limit_fails_cleanly(tmp_path, temp_folder):
    (tmp_path / "talk.txt").write_text(speech(12), encoding="utf-8")
    args = ["render", "talk.txt", "--engine", "tone", "--no-cache", "-q", "-o", "out.mp3"]
    earlier = voicer(*args, cwd=tmp_path, tmpdir=temp_folder)
    assert earlier.returncode == 0, earlier.stderr
    delivered = (tmp_path / "out.mp3").read_bytes()
    assert len(delivered) < LIMIT  # the programme's scratch is not: 4 times as large
    (tmp_path / "talk.txt").write_text(speech(13), encoding="utf-8")

    limited = voicer(
        *args, cwd=tmp_path, tmpdir=temp_folder, preexec_fn=faults.file_size_limit(LIMIT)
    )
    error = one_line_error(limited)
    written = re.fullmatch(
        r"voicer: error: cannot write scratch file (\S+) \(File too large\)", error
    )
    assert written and Path(written[1]).parent.parent == temp_folder, error
    assert left_in(temp_folder) == []
    assert (tmp_path / "out.mp3").read_bytes() == delivered
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp3", "out.srt", "talk.txt", "tmp"]


def test_a_scratch_file_is_removed_when_it_could_not_be_written(tmp_path):
    with faults.tmpfs(tmp_path / "disk", "64k") as disk:
        pcm = PcmFile(24000, disk)
        with pytest.raises(OutputError, match=r"voicer-.+\.f32 \(No space left on device"):
            for _ in range(100):  # small blocks: one is still buffered, to be flushed at close
                pcm.append(np.zeros(1000, np.float32))
        pcm.close()
        assert list(disk.iterdir()) == []


# --- 3. kill -9: the next command sweeps what it left, never a live process's scratch ---------


@pytest.mark.slow
def test_scratch_of_a_killed_render_is_swept_by_the_next_render(tmp_path, temp_folder):
    (tmp_path / "long.txt").write_text(speech(100), encoding="utf-8")
    (tmp_path / "short.txt").write_text(speech(1), encoding="utf-8")
    holder = subprocess.Popen(  # a live process with a scratch file of its own
        [sys.executable, "-c", HOLD_SCRATCH], cwd=tmp_path,
        env={**os.environ, "TMPDIR": str(temp_folder)},
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        live = Path(holder.stdout.readline().strip())
        killed = start(
            "render", "long.txt", "--engine", "tone", "--no-cache", cwd=tmp_path, tmpdir=temp_folder
        )
        wait_for(lambda: len(scratch_files(temp_folder)) > 1, killed, "the render's scratch")
        killed.kill()
        killed.communicate(timeout=DEADLINE)
        stale = set(scratch_files(temp_folder)) - {live}
        assert stale  # kill -9 leaves it: nothing could remove it then

        after = voicer(
            "render",
            "short.txt",
            "--engine",
            "tone",
            "--no-cache",
            "-q",
            cwd=tmp_path,
            tmpdir=temp_folder,
        )
        assert after.returncode == 0, after.stderr
        assert scratch_files(temp_folder) == [live]
        assert live.read_bytes() == bytes(4 * 4)
    finally:
        holder.communicate("\n", timeout=DEADLINE)
    assert holder.returncode == 0
    assert left_in(temp_folder) == []  # the holder removed its own as it ended


HOLD_SCRATCH = """
import numpy as np
from voicer import scratch
from voicer.audio.stream import PcmFile
pcm = PcmFile(24000)
pcm.append(np.zeros(4, np.float32))
pcm.read(0, 4)
print(pcm.path, flush=True)
input()
pcm.close()
"""


def scratch_folder(base: Path, pid: int, minutes_old: float, locked: bool) -> Path:
    """A scratch folder as process ``pid`` would leave it, last changed ``minutes_old`` ago,
    its lock held (by this process) or not."""
    made = base / f"{scratch.PREFIX}{pid}-test"
    made.mkdir()
    handle = os.open(made / scratch.LOCK, os.O_CREAT | os.O_RDWR)
    if locked:
        fcntl.flock(handle, fcntl.LOCK_EX)  # held until the test ends: the fd stays open
    else:
        os.close(handle)
    then = time.time() - minutes_old * 60
    os.utime(made, (then, then))
    return made


@pytest.mark.parametrize(
    ("process", "minutes_old", "locked", "swept"),
    [
        ("gone", 0, False, True),
        ("alive", 0, False, False),  # it may be setting the folder up: lock not taken yet
        ("alive", 2, False, True),  # its process id taken by another process since
        ("alive", 2, True, False),
        ("this", 0, False, True),  # a process before this one had its id (a container)
    ],
)
def test_a_scratch_folder_is_swept_when_its_process_is_gone(
    process, minutes_old, locked, swept, tmp_path
):
    pid = {"gone": gone_pid(), "alive": os.getppid(), "this": os.getpid()}[process]
    folder = scratch_folder(tmp_path, pid, minutes_old, locked)
    assert scratch.sweep(tmp_path) == ([folder] if swept else [])
    assert folder.exists() != swept


@pytest.mark.parametrize("planted", ["a lock that is a link", "a name that is a link"])
def test_what_a_scratch_folder_is_not_is_never_swept_nor_followed(planted, tmp_path):
    """Another user may plant ``voicer-scratch-*`` in a shared temporary folder: a lock that is
    a link (to a device, say, whose opening does something) is never opened, and a name that
    is a link to a folder elsewhere is left, and so is all it leads to."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("kept", encoding="utf-8")
    base = tmp_path / "tmp"
    base.mkdir()
    planted_at = base / f"{scratch.PREFIX}{gone_pid()}-planted"
    if planted == "a lock that is a link":
        planted_at.mkdir()
        (planted_at / scratch.LOCK).symlink_to(elsewhere / "no-such-device")
    else:
        planted_at.symlink_to(elsewhere)

    assert scratch.sweep(base) == []

    assert os.path.lexists(planted_at)
    assert [path.name for path in elsewhere.iterdir()] == ["keep.txt"]


def gone_pid() -> int:
    """The id of a process that has ended."""
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(ended.stdout)


# --- 4. an interrupted video render: nothing left, not even the folders it made -------------


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_video_render_removes_the_folders_it_made(stop, tmp_path, temp_folder):
    (tmp_path / "talk.txt").write_text(speech(40), encoding="utf-8")
    (tmp_path / "kept").mkdir()
    target = tmp_path / "kept" / "new" / "dir" / "out.mp4"
    process = start(
        "render", "talk.txt", "--engine", "tone", "--no-cache", "-q", "-o", str(target),
        cwd=tmp_path, tmpdir=temp_folder, preexec_fn=interruptible,
    )  # fmt: skip
    wait_for(
        lambda: list(target.parent.glob(".out.mp4.*.part")), process, "the video being written"
    )
    process.send_signal(stop)
    _, stderr = process.communicate(timeout=DEADLINE)
    assert process.returncode == 128 + stop, stderr
    assert "Traceback" not in stderr
    assert (tmp_path / "kept").is_dir() and left_in(tmp_path / "kept") == []
    assert left_in(temp_folder) == []


# --- 5. scratch on a disk too small for it: one line, nothing left, the earlier output kept ---


@pytest.mark.slow
def test_scratch_that_does_not_fit_fails_cleanly(tmp_path, temp_folder, small_tmpfs):
    (tmp_path / "talk.txt").write_text(speech(12), encoding="utf-8")
    args = ["render", "talk.txt", "--engine", "tone", "--no-cache", "-q", "-o", "out.mp3"]
    earlier = voicer(*args, cwd=tmp_path, tmpdir=temp_folder)
    assert earlier.returncode == 0, earlier.stderr
    delivered = (tmp_path / "out.mp3").read_bytes()
    (tmp_path / "talk.txt").write_text(speech(13), encoding="utf-8")

    full = voicer(*args, cwd=tmp_path, tmpdir=small_tmpfs)
    error = one_line_error(full)
    assert f"cannot write scratch file {small_tmpfs}/voicer-scratch-" in error
    assert "(No space left on device; TMPDIR sets where scratch goes)" in error
    assert left_in(small_tmpfs) == []
    assert (tmp_path / "out.mp3").read_bytes() == delivered
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == [
        "out.mp3",
        "out.srt",
        "talk.txt",
    ]
