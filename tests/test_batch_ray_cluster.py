"""``voicer batch --backend ray`` from the command line, joining a Ray cluster started apart
with ``ray start --head`` on 127.0.0.1 (the path a real cluster takes): the same outputs as
the local backend, and the report."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from speech_audio import run_voicer

pytest.importorskip("ray")
pytestmark = pytest.mark.xdist_group("ray")  # one Ray at a time on this machine

SCRIPTS = {
    "a.txt": "同志们好。今天我们召开大会。\n",
    "b.txt": "过去一年，全市经济稳中有进。\n\n谢谢大家。\n",
}
RAY = str(Path(sys.executable).with_name("ray"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_cli_joins_a_cluster_started_with_ray_start(tmp_path: Path):
    (tmp_path / "in").mkdir()
    for name, text in SCRIPTS.items():
        (tmp_path / "in" / name).write_text(text, encoding="utf-8")
    port = free_port()
    ray_folder = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    head = [
        RAY, "start", "--head", f"--port={port}", "--node-ip-address=127.0.0.1", "--num-cpus=2",
        "--include-dashboard=false", "--disable-usage-stats",
        f"--temp-dir={ray_folder}",  # a short path: Ray's sockets live in it
    ]  # fmt: skip
    # Ray's own switches: every server on 127.0.0.1 only, and the access token that `ray start`
    # keeps in ~/.ray sent by the driver too (Ray asks for RAY_AUTH_MODE=token to send it)
    loopback = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "token"}
    started = subprocess.run(head, capture_output=True, timeout=120, env={**os.environ, **loopback})
    assert started.returncode == 0, started.stderr.decode()[-2000:]
    try:
        env = {"VOICER_CACHE_DIR": str(tmp_path / "cache"), **loopback}
        ran = run_voicer(
            "batch", "in", "-o", "out", "--engine", "tone", "--backend", "ray",
            "--ray-address", f"127.0.0.1:{port}", cwd=tmp_path, env=env,
        )  # fmt: skip
    finally:
        subprocess.run([RAY, "stop", "--force"], capture_output=True, timeout=120)
        shutil.rmtree(ray_folder, ignore_errors=True)
    said = ran.stderr.decode()
    assert ran.returncode == 0, said[-3000:]
    assert "running on ray" in said and "1 node" in said and "Traceback" not in said
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert [item["status"] for item in report] == ["ok", "ok"]

    env = {"VOICER_CACHE_DIR": str(tmp_path / "local-cache")}
    local = run_voicer("batch", "in", "-o", "local", "--engine", "tone", cwd=tmp_path, env=env)
    assert local.returncode == 0, local.stderr.decode()
    for name in ("a.mp3", "a.srt", "b.mp3", "b.srt"):
        assert (tmp_path / "out" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()
