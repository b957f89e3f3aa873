"""``voicer batch --backend ray`` from the command line, joining a Ray cluster started apart
with ``ray start --head`` on 127.0.0.1 (the path a real cluster takes), by its address and
through Ray Client (``ray://``): the report, and each script's outputs byte for byte those
of ``voicer render`` of it alone (in this process; the local backend gives the same,
tests/test_batch_local.py)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import suppress
from pathlib import Path

import pytest
from speech_audio import run_voicer

from voicer import pipeline
from voicer.batch.manifest import Entry

pytest.importorskip("ray")
pytestmark = [pytest.mark.ray, pytest.mark.xdist_group("ray")]  # one Ray at a time here

SCRIPTS = {
    "a.txt": "同志们好。今天我们召开大会。\n",
    "b.txt": "过去一年，全市经济稳中有进。\n\n谢谢大家。\n",
}
RAY = str(Path(sys.executable).with_name("ray"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def processes() -> dict[int, tuple[int, str]]:
    """Every live process (zombies left out): its parent's id and its command line, by id."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with suppress(OSError, IndexError):  # ended meanwhile
            state, parent = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:2]
            if state != "Z":
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                found[int(entry.name)] = (int(parent), command)
    return found


def stop_head(ray_folder: str, gcs_address: str) -> dict[int, str]:
    """End the processes of the head started in ``ray_folder`` (their command lines name it,
    or, for Ray Client's server, the address of its GCS) and every process they started, by
    SIGKILL as ``ray stop --force`` does, but no other Ray on this machine, and without ``ray
    stop``'s wait on zombies of an earlier local instance (up to 22 s); the processes still
    running 30 s later (none, normally)."""
    running = processes()
    head = {
        pid
        for pid, (_, command) in running.items()
        if ray_folder in command or f"--address={gcs_address} " in command
    }
    while more := {pid for pid, (parent, _) in running.items() if parent in head} - head:
        head |= more
    for pid in head:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while (left := head & set(processes())) and time.monotonic() < deadline:
        time.sleep(0.05)
    return {pid: running[pid][1] for pid in left}


def ray_start(*args: str, env: dict[str, str]) -> None:
    started = subprocess.run([RAY, "start", *args], capture_output=True, timeout=120, env=env)
    assert started.returncode == 0, started.stderr.decode()[-2000:]


def test_the_cli_joins_a_cluster_by_address_and_through_ray_client(tmp_path: Path):
    (tmp_path / "in").mkdir()
    for name, text in SCRIPTS.items():
        (tmp_path / "in" / name).write_text(text, encoding="utf-8")
    port, client_port = free_port(), free_port()
    ray_folder = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    # Ray's own switches: every server on 127.0.0.1 only, and the access token that `ray start`
    # keeps in ~/.ray sent by the driver too (Ray asks for RAY_AUTH_MODE=token to send it)
    loopback = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "token"}
    env = {**os.environ, **loopback}
    ran = {}
    try:
        ray_start(
            "--head", f"--port={port}", f"--ray-client-server-port={client_port}",
            "--node-ip-address=127.0.0.1", "--num-cpus=2", "--include-dashboard=false",
            "--disable-usage-stats",
            f"--temp-dir={ray_folder}",  # a short path: Ray's sockets live in it
            env=env,
        )  # fmt: skip
        for address in (f"127.0.0.1:{port}", f"ray://127.0.0.1:{client_port}"):
            ran[address] = run_voicer(
                "batch", "in", "-o", f"out-{len(ran)}", "--engine", "tone", "--backend", "ray",
                "--ray-address", address, cwd=tmp_path,
                env={"VOICER_CACHE_DIR": str(tmp_path / f"cache-{len(ran)}"), **loopback},
            )  # fmt: skip
    finally:
        left = stop_head(ray_folder, f"127.0.0.1:{port}")
        client_logs = _client_server_logs(Path(ray_folder))
        shutil.rmtree(ray_folder, ignore_errors=True)
    assert left == {}

    options = pipeline.RenderOptions(engine="tone", cache_dir=tmp_path / "alone-cache")
    for name in SCRIPTS:
        alone = pipeline.Outputs.beside(tmp_path / "alone" / f"{Path(name).stem}.mp3")
        pipeline.render(tmp_path / "in" / name, alone, options)
    for number, (address, done) in enumerate(ran.items()):
        said = done.stderr.decode()
        assert done.returncode == 0, f"{address}: {said[-3000:]}\n{client_logs}"
        assert "running on ray" in said and "1 node" in said and "Traceback" not in said
        out = tmp_path / f"out-{number}"
        report = json.loads((out / "report.json").read_text(encoding="utf-8"))
        assert [item["status"] for item in report] == ["ok", "ok"]
        for alone_file in (tmp_path / "alone").iterdir():
            assert (out / alone_file.name).read_bytes() == alone_file.read_bytes(), address


@pytest.fixture
def two_nodes(monkeypatch: pytest.MonkeyPatch):
    """A head and a worker node, each a raylet with 1 CPU on 127.0.0.1 (Ray's own test
    cluster, in this process); the cluster and the worker node."""
    import ray
    from ray._private import ray_constants
    from ray.cluster_utils import Cluster

    ray_folder = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # a short path: Ray's sockets
    monkeypatch.setenv("RAY_TMPDIR", ray_folder)  # also where Cluster notes its address
    monkeypatch.setenv(ray_constants.ENABLE_RAY_CLUSTERS_ENV_VAR, "0")  # servers on loopback
    monkeypatch.setattr(ray_constants, "ENABLE_RAY_CLUSTER", False)  # read at import
    loopback = {"num_cpus": 1, "node_ip_address": "127.0.0.1"}
    cluster = Cluster(initialize_head=True, head_node_args={**loopback, "include_dashboard": False})
    try:
        worker = cluster.add_node(**loopback)
        ray.init(address=cluster.address, logging_level="ERROR", log_to_driver=False)
        yield cluster, worker
    finally:
        ray.shutdown()
        cluster.shutdown()
        shutil.rmtree(ray_folder, ignore_errors=True)


def test_a_batch_goes_on_when_a_node_leaves_mid_batch(tmp_path: Path, two_nodes):
    """The worker node is removed once an engine actor on it has spoken a sentence; the batch
    still delivers every script, byte for byte what ``voicer render`` writes, and the cluster
    it was given stays up."""
    import ray

    from voicer.batch.ray_backend import RayBackend, RayEngine
    from voicer.batch.run import Batch, Progress
    from voicer.synthesis.engines.tone import ToneEngine

    cluster, worker = two_nodes
    backend = RayBackend(cluster.address, workers=2)  # the cluster this process is connected to
    try:
        engine = backend.engine(ToneEngine())  # equal engines share their actors: the batch's
        assert isinstance(engine, RayEngine) and "2 nodes" in backend.description
        on_worker = [a for a in engine.actors if ray.get(a.node_id.remote()) == worker.node_id]
        assert len(on_worker) == 1  # one actor on each node: each has one CPU
        lock = threading.Lock()
        removed: list[Progress] = []

        def remove_the_worker_once_it_has_spoken(progress: Progress) -> None:
            with lock:  # the batch's threads wait here while the node goes: it leaves mid-batch
                if not removed and ray.get(on_worker[0].requests_served.remote()) > 0:
                    cluster.remove_node(worker)
                    removed.append(progress)

        entries = _tone_entries(tmp_path, 8)
        outcomes = Batch(backend, remove_the_worker_once_it_has_spoken).run(entries)
    finally:
        backend.close()

    assert removed and removed[0].sentences_done < removed[0].sentences, removed
    assert [outcome.status for outcome in outcomes] == ["ok"] * len(entries), outcomes
    assert [node["NodeID"] for node in ray.nodes() if node["Alive"]] == [cluster.head_node.node_id]
    assert cluster.head_node.remaining_processes_alive()  # a cluster given is never stopped
    options = pipeline.RenderOptions(engine="tone", cache_dir=tmp_path / "alone-cache")
    for entry in entries:
        alone = pipeline.Outputs.beside(tmp_path / "alone" / entry.outputs.audio.name)
        pipeline.render(entry.script, alone, options)
        for made, expected in zip(entry.outputs.all(), alone.all(), strict=True):
            assert made.read_bytes() == expected.read_bytes(), made.name


def _tone_entries(folder: Path, count: int) -> list[Entry]:
    """``count`` scripts of two sentences each, distinct, to render with the tone engine into
    ``folder / "out"``."""
    options = pipeline.RenderOptions(engine="tone", cache_dir=folder / "cache")
    (folder / "in").mkdir()
    entries = []
    for number in range(count):
        script = folder / "in" / f"{number:02}.txt"
        text = f"第{number}项：今天讨论第{number}号议题。会议决定推进第{number}号工作。\n"
        script.write_text(text, encoding="utf-8")
        outputs = pipeline.Outputs.beside(folder / "out" / f"{number:02}.mp3")
        entries.append(Entry(script, options, outputs))
    return entries


def _client_server_logs(ray_folder: Path) -> str:
    """The Ray client servers' error logs, the end of each: what to read when a driver
    could not connect through ray://."""
    logs = sorted(ray_folder.glob("session_*/logs/ray_client_server*.err"))
    return "\n".join(f"{log.name}: {log.read_text(errors='replace')[-2000:]}" for log in logs)
