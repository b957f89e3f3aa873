"""Ctrl-C during a render: prompt exit 130, no partial output, no worker process left behind,
and an intact cache to resume from."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from speech_audio import interruptible, invoke_voicer, none_left, start_cli, workers_seen

pytestmark = pytest.mark.slow  # CLI subprocesses interrupted mid-render

# Five sentences of examples/speech.txt, short ones first: with two workers the three short
# ones are done (three clips, the point of the interruption) while each worker is well into a
# long one, each of which takes longer than the three short ones together. The resumed render
# speaks only those two. (The example's first nine lines, as before, were eight sentences,
# the last five spoken again after the interruption.)
SPEECH = (
    "在全市科技创新大会上的讲话\n\n"
    "同志们、朋友们：\n\n"
    "谢谢大家。\n\n"
    "今天，我们在这里召开全市科技创新大会，回顾过去一年的工作，部署下一阶段的任务。\n\n"
    "第一，加强基础研究，支持高校和科研院所（包括新型研发机构）开展原创性探索。\n"
)


def test_ctrl_c_mid_render_then_resume(tmp_path: Path):
    (tmp_path / "talk.txt").write_text(SPEECH, encoding="utf-8")
    cache_dir = tmp_path / "cache"
    mark = str(uuid.uuid4())
    process = start_cli(tmp_path, "talk.txt", mark=mark)
    expected = 2 if (os.cpu_count() or 1) >= 2 else 0  # kokoro's workers: one per core
    workers = workers_seen(process, mark, expected)
    while len(list(cache_dir.rglob("*.clip"))) < 3 and process.poll() is None:
        time.sleep(0.1)  # some sentences spoken, others under way
    assert process.poll() is None, "the render ended before it could be interrupted"
    os.killpg(process.pid, signal.SIGINT)  # as a terminal sends it
    _, stderr = process.communicate(timeout=120)
    said = stderr.decode()
    assert process.returncode == 130, said
    assert said.strip().splitlines()[-1] == "voicer: interrupted; no output was written"
    assert "Traceback" not in said and "KeyboardInterrupt" not in said
    assert not (tmp_path / "audio").exists()
    assert not list(tmp_path.rglob("*.part"))
    assert len(workers) == expected and none_left(mark) == {}
    done = len(list(cache_dir.rglob("*.clip")))
    assert done >= 3

    # resuming is the cache's part, not the process's: the same command, in this process
    resumed = invoke_voicer(
        "render", "talk.txt", "--engine", "kokoro", cwd=tmp_path,
        env={"VOICER_CACHE_DIR": str(cache_dir)},
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr.decode()
    assert f"{done} from the cache" in resumed.stdout.decode()
    assert (tmp_path / "audio" / "talk.mp3").exists()


def test_ctrl_c_while_voicer_is_still_starting_is_one_line(tmp_path: Path):
    """Ctrl-C while the command's modules are being imported (numpy loaded, the rest not yet):
    one line and exit code 130, as later, not a traceback."""
    (tmp_path / "talk.txt").write_text("今天开会。\n", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "voicer", "render", "talk.txt", "--engine", "tone", "-q"],
        cwd=tmp_path, stderr=subprocess.PIPE, preexec_fn=interruptible,
    )  # fmt: skip
    maps = Path(f"/proc/{process.pid}/maps")
    while process.poll() is None and "_multiarray_umath" not in maps.read_text():
        time.sleep(0.001)  # until numpy is loaded, well before the command's last module
    assert process.poll() is None, "voicer was done before it could be interrupted"
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr.decode()
    assert stderr.decode() == "voicer: interrupted; no output was written\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["talk.txt"]
