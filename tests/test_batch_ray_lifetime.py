"""The Ray instance a ``voicer batch --backend ray`` starts for itself ends with it, even when
the batch is killed (SIGKILL): none of its processes is left behind, the raylet's agents
included (left to Ray, they outlive the raylet by a minute)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import suppress
from pathlib import Path

import pytest
from test_batch_local import write_scripts
from test_batch_ray_cluster import processes

pytest.importorskip("ray")
pytestmark = [pytest.mark.ray, pytest.mark.xdist_group("ray")]  # one Ray at a time here

# Ray's own agents take about 60 s to go; the batch's watchdog ends them at once. The deadline
# is well below the one and far above the other.
GONE_WITHIN_SECONDS = 30.0


def descendants(root: int) -> dict[int, str]:
    """The live processes below ``root``, with their command lines."""
    running = processes()
    found = {root}
    while more := {pid for pid, (parent, _) in running.items() if parent in found} - found:
        found |= more
    return {pid: running[pid][1] for pid in found - {root}}


def test_a_killed_batch_leaves_no_process_of_its_ray_instance(tmp_path: Path):
    texts = {
        f"{n:02}.txt": f"第{n}项：今天讨论第{n}号议题。会议决定推进第{n}号工作。\n"
        for n in range(16)
    }
    write_scripts(tmp_path / "in", texts)
    ray_folder = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # short: Ray's sockets live in it
    env = {**os.environ, "RAY_TMPDIR": ray_folder, "VOICER_CACHE_DIR": str(tmp_path / "cache")}
    command = [sys.executable, "-m", "voicer", "batch", "in", "-o", "out", "--engine", "tone",
               "--backend", "ray", "--workers", "2"]  # fmt: skip
    batch = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    instance: dict[int, str] = {}
    try:
        stamps = tmp_path / "out" / ".voicer-batch"
        deadline = time.monotonic() + 300
        while not (stamps.is_dir() and any(stamps.iterdir())) and time.monotonic() < deadline:
            assert batch.poll() is None, batch.communicate()[1].decode()[-3000:]
            time.sleep(0.05)
        instance = descendants(batch.pid)  # its Ray instance and the watchdog, mid-batch
        batch.kill()
        _, said = batch.communicate(timeout=60)
        assert batch.returncode == -signal.SIGKILL, said.decode()[-3000:]
        assert any("ray::DashboardAgent" in line for line in instance.values()), instance

        deadline = time.monotonic() + GONE_WITHIN_SECONDS
        while (left := set(instance) & set(processes())) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not left, {pid: instance[pid] for pid in left}
    finally:
        batch.kill()
        for pid in set(instance) & set(processes()):  # the test's own leftovers, if it failed
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(ray_folder, ignore_errors=True)
