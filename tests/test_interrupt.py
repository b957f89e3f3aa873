"""Ctrl-C during a render: prompt exit 130, no partial output, an intact cache to resume from."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from speech_audio import interruptible, run_voicer

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "speech.txt"


def test_sigint_mid_render_then_resume(tmp_path: Path):
    opening = "\n".join(EXAMPLE.read_text(encoding="utf-8").splitlines()[:9])
    (tmp_path / "talk.txt").write_text(opening, encoding="utf-8")
    cache_dir = tmp_path / "cache"
    env = {**os.environ, "VOICER_CACHE_DIR": str(cache_dir)}
    command = [sys.executable, "-m", "voicer", "render", "talk.txt", "--engine", "kokoro"]
    process = subprocess.Popen(
        command,
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=interruptible,
    )
    deadline = time.monotonic() + 120
    while len(list(cache_dir.rglob("*.clip"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert process.poll() is None, "the render ended before it could be interrupted"
    interrupted_at = time.monotonic()
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert time.monotonic() - interrupted_at < 15  # promptly: at most one synthesis call
    assert process.returncode == 130
    assert stderr.decode().strip().splitlines()[-1] == "voicer: interrupted; no output was written"
    assert not (tmp_path / "audio").exists()
    assert not list(tmp_path.rglob("*.part"))
    done = len(list(cache_dir.rglob("*.clip")))
    assert done >= 3

    resumed = run_voicer(*command[3:], cwd=tmp_path, env={"VOICER_CACHE_DIR": str(cache_dir)})
    assert resumed.returncode == 0, resumed.stderr.decode()
    assert f"{done} from the cache" in resumed.stdout.decode()
    assert (tmp_path / "audio" / "talk.mp3").exists()
