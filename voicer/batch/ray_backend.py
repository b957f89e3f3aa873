"""The ray backend: engines in Ray actors, scripts finished by Ray tasks, on a Ray cluster or
on a Ray instance started here.

Where it connects: the ``address`` given (``--ray-address``), else the cluster of the
``RAY_ADDRESS`` environment variable, else a local instance it starts (and shuts down when
done), which listens on 127.0.0.1 only. That instance ends with this process even when it is
killed: a watchdog (:mod:`voicer.batch.ray_watchdog`) ends what Ray leaves running. A cluster
given by its address is never stopped. Ray is an optional extra: ``pip install
'voicer[ray]'``. On a cluster, every node needs voicer (the same version) installed, and the
files a script refers to (a lexicon is read here, but ``--video-in`` and font files are read
where the script is finished) at the same paths.

Engines. The edge engine stays in this process, as it is: its requests wait on the network,
not the CPU, and one concurrency limit and one backoff for the service belong here. Any other
engine (kokoro, tone) is wrapped in a :class:`RayEngine`: ``workers`` actors (default: the
cluster's CPUs), each holding its own copy of the engine (its model loaded once per actor,
kokoro with one intra-op thread, as the local backend's worker processes). Each request goes
to an idle actor; the clips come back here, so the clip cache and the retries are the
driver's (:mod:`voicer.batch.run`). Ray restarts an actor that dies and runs its request
again; a request that still fails because its actor died is a transient ``SynthesisError``,
which the driver's speaker tries again (on a new actor). An error the engine raises (a bad
voice, a failed inference) arrives here as the same exception, with the same message as with
the local backend.

The actors reserve no CPU in Ray's books: ``workers`` says how many engines run, a batch may
hold the actors of more than one engine (tone and kokoro, or two kokoro models), and the
finishing tasks need CPUs too; reserved CPUs would leave some of them waiting for ever. They
are placed turn about on the nodes alive, each node taken as often as it has CPUs (Ray's
``SPREAD``, and a soft node affinity too, put both actors of two on one node of two about
half the time). An actor whose node is gone cannot start again there: its request fails, and
a new actor takes its place on a node alive. With ``gpus_per_worker`` > 0,
each kokoro actor asks Ray for that share of a GPU and runs the model with onnxruntime's
CUDAExecutionProvider when onnxruntime offers it (the ``onnxruntime-gpu`` package), else on
the CPU (``VOICER_KOKORO_CUDA``, see :mod:`voicer.synthesis.engines.kokoro`).

Finishing. A script whose clips all exist is finished by a Ray task (one CPU each, so at
most as many at once as the cluster has CPUs): :func:`voicer.pipeline.deliver` writes the
outputs into a temporary folder on the worker, with the same file names, and the task returns
what was delivered and the files' bytes; this process then writes them to the real outputs,
all or nothing.

Tested with Ray 2.60 on 2 CPUs, no GPU: on a local instance (tests/test_batch_ray.py) outputs
byte-identical to ``voicer render``, an actor killed mid-batch, bad input and engine errors; on
a cluster started with ``ray start --head`` (tests/test_batch_ray_cluster.py), joined by its
address and through Ray Client (``ray://``, which needs grpcio: the extra brings it); on two
nodes (two raylets on 127.0.0.1, ``ray.cluster_utils.Cluster``), the worker node removed
mid-batch; a batch killed (SIGKILL) leaving no process of its own instance
(tests/test_batch_ray_lifetime.py). Not tested: a GPU (the CUDA path is only reached when
onnxruntime offers CUDA), and nodes on separate machines.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import pickle
import queue
import socket
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from voicer import files, pipeline, scratch
from voicer.batch.run import Job
from voicer.errors import InputError, OutputError, SynthesisError, VoicerError
from voicer.model import Clip, Prosody, Voice
from voicer.synthesis.engines import workers
from voicer.synthesis.engines.protocol import Engine

MISSING = "the ray backend needs the extra: pip install 'voicer[ray]'"
CONNECT_SECONDS = 5.0  # how long a cluster's address has to accept a connection
# Ray's switch for clusters beyond one machine (on by default on Linux). Off while a local
# instance starts, Ray takes 127.0.0.1 as the node's address and its servers listen there only,
# not on every interface. The processes Ray starts read the variable; this one had read it into
# a constant when ray was imported, which is set for the while.
_LOOPBACK_ONLY = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


class RayBackend:
    """``workers`` engine actors per engine on a Ray cluster, scripts finished by Ray tasks."""

    name = "ray"

    def __init__(
        self, address: str | None = None, workers: int | None = None, gpus_per_worker: float = 0.0
    ) -> None:
        if gpus_per_worker < 0:
            raise InputError("the GPUs per worker cannot be negative")
        address = address or os.environ.get("RAY_ADDRESS") or None
        self.ray, session = _connect(address)
        self.started = session is not None
        self._watchdog = _watchdog(session) if session is not None else None
        self._engines: dict[bytes, RayEngine] = {}
        self._writing = ThreadPoolExecutor(1, thread_name_prefix="voicer-ray-write")
        resources = self.ray.cluster_resources()
        cpus = int(resources.get("CPU", 0))
        gpus = resources.get("GPU", 0.0)
        nodes = sum(1 for node in self.ray.nodes() if node.get("Alive"))
        self.workers = workers or max(1, cpus)
        self.gpus_per_worker = gpus_per_worker
        if gpus_per_worker > 0 and gpus_per_worker * self.workers > gpus:
            self.close()
            raise InputError(
                f"{self.workers} workers with {gpus_per_worker:g} GPU each need "
                f"{gpus_per_worker * self.workers:g} GPUs, and the Ray cluster has {gpus:g}"
            )
        where = "a local instance" if self.started else f"the cluster at {address or 'auto'}"
        self.description = (
            f"ray {self.ray.__version__}, {pipeline.counted(nodes, 'node')}, "
            + pipeline.counted(cpus, "CPU")
            + (f", {gpus:g} GPUs" if gpus else "")
            + f" ({where}); {pipeline.counted(self.workers, 'worker')} per engine"
        )
        self._deliver = self.ray.remote(_deliver_in_a_folder).options(num_cpus=1)
        self._logs = _quiet_worker_logs(self.ray, True)

    def engine(self, engine: Engine) -> Engine:
        """``engine`` in this backend's actors (edge as it is, in this process); equal engines
        share their actors."""
        if engine.name == "edge":
            return engine
        inner = engine.engine if isinstance(engine, workers.Workers) else engine
        key = pickle.dumps(inner)
        if key not in self._engines:
            gpus = self.gpus_per_worker if inner.name == "kokoro" else 0.0
            self._engines[key] = RayEngine(inner, self.workers, gpus)
        return self._engines[key]

    def finish(self, job: Job) -> Future[pipeline.Delivered]:
        """The job delivered by a Ray task; its outputs written here, all or nothing."""
        done: Future[pipeline.Delivered] = Future()
        try:
            reply = self._deliver.remote(job).future()
        except Exception as exc:  # noqa: BLE001 - a job Ray cannot send fails alone
            done.set_exception(_unwrapped(exc, "finishing the script"))
            return done

        def landed(result: Future[Any]) -> None:
            try:
                self._writing.submit(_write_out, job.outputs, result, done)
            except RuntimeError:  # closed in the meantime: nothing is written any more
                done.set_exception(OutputError(f"{job.outputs.audio}: not written (closed)"))

        reply.add_done_callback(landed)
        return done

    def close(self) -> None:
        """Kill the actors; shut Ray down if this backend started it."""
        for engine in self._engines.values():
            engine.close()
        self._engines.clear()
        self._writing.shutdown(wait=True, cancel_futures=True)
        _quiet_worker_logs(self.ray, getattr(self, "_logs", None))
        if self.started and self.ray.is_initialized():
            self.ray.shutdown()
            self.started = False
        if self._watchdog is not None:  # it ends what is left of the instance
            self._watchdog.communicate(timeout=None)
            self._watchdog = None


class RayEngine:
    """``engine`` with its requests spread over ``workers`` Ray actors, each holding its own
    copy. Everything but :meth:`synthesise` is the wrapped engine's own, answered here.

    Pickled (e.g. in a plan sent to a finishing task), it is the wrapped engine alone.
    """

    def __init__(self, engine: Engine, workers: int, gpus: float = 0.0) -> None:
        import ray

        from voicer.synthesis.engines.kokoro import CUDA_VARIABLE, THREADS_VARIABLE

        self.engine = engine
        self.name = engine.name
        self.word_marks = engine.word_marks
        self.takes_pinyin = engine.takes_pinyin
        self.default_jobs = workers
        self._ray: Any = ray
        environment = {THREADS_VARIABLE: "1"}
        if gpus > 0:
            environment[CUDA_VARIABLE] = "1"
        self._actor_class = ray.remote(_EngineActor)
        self._actor_options = {
            "num_cpus": 0, "num_gpus": gpus, "max_restarts": -1, "max_task_retries": -1
        }  # fmt: skip
        self._arguments = (engine, environment)
        self._lock = threading.Lock()
        self._placed = gpus == 0  # else Ray places them where the GPUs are
        nodes = _nodes_for(ray, workers) if self._placed else [None] * workers
        self._actors = [self._new_actor(node) for node in nodes]
        self._idle: queue.SimpleQueue[Any] = queue.SimpleQueue()
        for actor in self._actors:
            self._idle.put(actor)

    @property
    def actors(self) -> list[Any]:
        """The actor handles serving requests now (for tests and diagnostics)."""
        with self._lock:
            return list(self._actors)

    @property
    def cache_version(self) -> str:
        return self.engine.cache_version

    def voices(self) -> list[Voice]:
        return self.engine.voices()

    def speaks(self, language: str) -> bool:
        return self.engine.speaks(language)

    def ignored_settings(self, prosody: Prosody) -> list[str]:
        return self.engine.ignored_settings(prosody)

    def synthesise(self, text: str, voice: str, prosody: Prosody) -> Clip:
        """``text`` spoken by an idle actor (waiting for one when all are busy)."""
        ray = self._ray
        actor = self._idle.get()
        lost = False
        try:
            clip: Clip = ray.get(actor.synthesise.remote(text, voice, prosody))
            return clip
        except ray.exceptions.RayTaskError as exc:
            raise _unwrapped(exc, self.name) from None
        except (ray.exceptions.RayActorError, ray.exceptions.ActorUnschedulableError) as exc:
            lost = True
            reason = _last_line(exc)
            raise SynthesisError(
                f"{self.name}: its Ray actor died ({reason})", transient=True
            ) from None
        finally:
            self._idle.put(self._replaced(actor) if lost else actor)

    def close(self) -> None:
        """Kill every actor (a request under way fails)."""
        with self._lock:
            actors, self._actors = self._actors, []
        for actor in actors:
            with contextlib.suppress(Exception):
                self._ray.kill(actor, no_restart=True)

    def _new_actor(self, node: str | None) -> Any:
        """An actor on ``node``, or where Ray likes (None)."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        placed = NodeAffinitySchedulingStrategy(node, soft=False) if node else "DEFAULT"
        placing = self._actor_class.options(**self._actor_options, scheduling_strategy=placed)
        return placing.remote(*self._arguments)

    def _replaced(self, actor: Any) -> Any:
        """A new actor in place of one Ray could not keep alive, on the node the nodes alive
        now give its place."""
        with contextlib.suppress(Exception):
            self._ray.kill(actor, no_restart=True)
        with self._lock:
            place = next(n for n, known in enumerate(self._actors) if known is actor)
        nodes = _nodes_for(self._ray, place + 1) if self._placed else [None]
        new = self._new_actor(nodes[-1])
        with self._lock:
            self._actors = [new if known is actor else known for known in self._actors]
        return new

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return _same, (self.engine,)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "engine":
            raise AttributeError(name)
        return getattr(self.engine, name)


class _EngineActor:
    """A Ray actor holding one engine: ``environment`` set before the engine is used."""

    def __init__(self, engine: Engine, environment: dict[str, str]) -> None:
        os.environ.update(environment)
        self.engine = engine
        self.served = 0

    def synthesise(self, text: str, voice: str, prosody: Prosody) -> Clip:
        clip = self.engine.synthesise(text, voice, prosody)
        self.served += 1
        return clip

    # where the actor is and what it did (for tests and diagnostics)

    def pid(self) -> int:
        return os.getpid()

    def node_id(self) -> str:
        import ray

        return str(ray.get_runtime_context().get_node_id())

    def requests_served(self) -> int:
        return self.served


def _same(engine: Engine) -> Engine:
    return engine


def _nodes_for(ray: Any, workers: int) -> list[str | None]:
    """A node for each of ``workers`` actors: the nodes alive turn about, each as often as it
    has CPUs (A, B, A for A with 2 CPUs and B with 1), and round again past the cluster's CPUs;
    None (anywhere) for each when no node has a CPU."""
    cpus = {
        node["NodeID"]: int(node.get("Resources", {}).get("CPU", 0))
        for node in ray.nodes()
        if node.get("Alive")
    }
    turns = [node for turn in range(max(cpus.values(), default=0)) for node in sorted(cpus)
             if cpus[node] > turn]  # fmt: skip
    return [turns[n % len(turns)] if turns else None for n in range(workers)]


# --- finishing a script ----------------------------------------------------------------------


def _deliver_in_a_folder(job: Job) -> tuple[pipeline.Delivered, list[bytes]]:
    """A Ray task: the job delivered into a temporary folder (each output in a folder of its
    own, under its own name), and the bytes of each output, in ``job.outputs.all()``'s order."""
    with tempfile.TemporaryDirectory(prefix="voicer-ray-", dir=scratch.folder()) as name:
        folder = Path(name)
        outputs = job.outputs
        moved = pipeline.Outputs(
            audio=folder / "0" / outputs.audio.name,
            subtitles=tuple(
                folder / str(number) / path.name
                for number, path in enumerate(outputs.subtitles, start=1)
            ),
            timeline=(
                folder / str(len(outputs.subtitles) + 1) / outputs.timeline.name
                if outputs.timeline is not None
                else None
            ),
        )
        targets = job.targets.moved(moved)
        delivered = pipeline.deliver(job.plan, job.clips, targets, job.options)
        return delivered, [path.read_bytes() for path in moved.all()]


def _write_out(
    outputs: pipeline.Outputs, result: Future[Any], done: Future[pipeline.Delivered]
) -> None:
    """The finishing task's outputs written to their places, all or nothing; ``done`` resolved
    with what was delivered, or the task's error."""
    try:
        delivered, contents = result.result()
        targets = outputs.all()
        try:
            with files.atomic_outputs(targets) as temporaries:
                for temporary, content in zip(temporaries, contents, strict=True):
                    files.write_file(temporary, content)
        except OSError as exc:
            raise OutputError(f"cannot write {outputs.audio} ({exc.strerror or exc})") from None
    except BaseException as exc:  # noqa: BLE001 - every failure is the job's
        done.set_exception(_unwrapped(exc, "finishing the script"))
    else:
        done.set_result(delivered)


# --- Ray's errors ----------------------------------------------------------------------------


def _unwrapped(error: BaseException, doing: str) -> BaseException:
    """The error as voicer reports it: the exception raised in a Ray task or actor as it was
    raised there (a VoicerError keeps its type and message); Ray's own errors in one line."""
    try:
        import ray.exceptions as ray_errors
    except ImportError:  # pragma: no cover - ray is there when this backend runs
        return error
    if isinstance(error, ray_errors.RayTaskError):
        cause = getattr(error, "cause", None)
        if isinstance(cause, Exception):
            return cause
        return SynthesisError(f"{doing}: {_last_line(error)}")
    if isinstance(error, ray_errors.RayError):
        return VoicerError(f"{doing}: Ray failed ({_last_line(error)})")
    return error


def _last_line(error: BaseException) -> str:
    """The last non-empty line of an error's message (Ray's messages say the reason last)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


# --- connecting ------------------------------------------------------------------------------


def _connect(address: str | None) -> tuple[Any, Path | None]:
    """The ``ray`` module, connected to the cluster at ``address``, or to a local instance
    started now (``address`` None), and the session folder of the instance if it was started;
    an InputError in one line when it cannot be."""
    try:
        ray: Any = importlib.import_module("ray")
    except ImportError:
        raise InputError(MISSING) from None
    if address is not None:
        _check_reachable(address)
    if ray.is_initialized():  # this process is already connected (by its caller): use that
        return ray, None
    quiet = {
        "include_dashboard": False,
        "logging_level": logging.ERROR,
        "log_to_driver": False,
    }
    if address is None:
        return ray, _start_local(ray, quiet)
    try:
        ray.init(address=address, **quiet)
    except Exception as exc:  # noqa: BLE001 - Ray raises ConnectionError, RuntimeError, ...
        reason = _last_line(exc)
        raise InputError(f"cannot connect to the Ray cluster at {address}: {reason}") from None
    return ray, None


def _start_local(ray: Any, quiet: dict[str, Any]) -> Path:
    """Start a Ray instance in this process that listens on 127.0.0.1 only; its session
    folder."""
    constants: Any = importlib.import_module("ray._private.ray_constants")
    saved_constant = getattr(constants, "ENABLE_RAY_CLUSTER", None)
    saved_variable = os.environ.get(_LOOPBACK_ONLY)
    os.environ[_LOOPBACK_ONLY] = "0"  # for the processes Ray starts
    if saved_constant is not None:
        constants.ENABLE_RAY_CLUSTER = False  # for this one, which imported it already
    try:
        started = ray.init(address="local", **quiet)
    except Exception as exc:  # noqa: BLE001 - reported in one line
        raise VoicerError(f"cannot start a local Ray instance: {_last_line(exc)}") from None
    finally:
        if saved_constant is not None:
            constants.ENABLE_RAY_CLUSTER = saved_constant
        if saved_variable is None:
            os.environ.pop(_LOOPBACK_ONLY, None)
        else:
            os.environ[_LOOPBACK_ONLY] = saved_variable
    return Path(started.address_info["session_dir"])


def _watchdog(session: Path) -> subprocess.Popen[bytes] | None:
    """The process that ends the instance of ``session`` when the pipe to its stdin closes:
    when this backend closes it, or when this process dies, however (:mod:`ray_watchdog`);
    None where there is no ``/proc`` to find the instance's processes in."""
    if not sys.platform.startswith("linux"):
        return None
    script = Path(__file__).with_name("ray_watchdog.py")
    return subprocess.Popen(
        [sys.executable, "-I", str(script), str(session)],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,  # the terminal's Ctrl-C is the batch's, not the watchdog's
    )  # fmt: skip


def _quiet_worker_logs(ray: Any, quiet: bool | None) -> bool | None:
    """Ray prints the errors its processes report ("Task ... failed ... will be retried")
    on this process's stdout, even with ``log_to_driver=False``: a lost actor's request is
    tried again by Ray, or by the driver, and its failure reaches the user as an exception
    when it matters. ``quiet``: True hides them, False shows them, None leaves them as they
    are. What was set before, or None when this Ray has no such switch (a private one)."""
    module: Any = getattr(getattr(ray, "_private", None), "worker", None)
    before = getattr(module, "_worker_logs_enabled", None)
    if quiet is not None and isinstance(before, bool):
        module._worker_logs_enabled = not quiet
    return None if before is None else not before


def _check_reachable(address: str) -> None:
    """An InputError unless ``address`` ("host:port", "ray://host:port") accepts a TCP
    connection within ``CONNECT_SECONDS`` (Ray itself would retry for minutes). "auto" and
    addresses without a port are left to Ray."""
    where = address.split("://", 1)[-1].rstrip("/")
    host, _, port = where.rpartition(":")
    if not host or not port.isdigit():
        return
    try:
        with socket.create_connection((host.strip("[]"), int(port)), CONNECT_SECONDS):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        if isinstance(exc, TimeoutError | socket.timeout):
            reason = f"no answer within {CONNECT_SECONDS:g} s"
        raise InputError(f"cannot reach the Ray cluster at {address}: {reason.lower()}") from None
