"""An engine whose requests run in worker processes, each with its own single-threaded engine.

On a machine with few cores, two sentences spoken at once by two processes of one onnxruntime
thread each finish sooner than the same sentences one after the other by one process with two
threads (kokoro on 2 cores: the engine alone 4-10 % sooner, a render by the CLI 9-18 % sooner,
the processes' start counted; ``scripts/bench.py kokoro`` measures both). :class:`Workers`
wraps an engine so: everything is the wrapped engine's own except :meth:`Workers.synthesise`,
which a worker process runs.

Processes start when a request finds none free, at most ``processes`` of them, and serve every
wrapper of an equal engine until this process ends. Each is a fresh interpreter (a spawn, not a
fork of this process and its threads) that unpickles the engine, which builds its model on
first use; not multiprocessing's spawn, which would run the main script again in each worker.
Workers end with this process however it ends: at exit, or at once when it dies (each watches a
pipe only this process holds, so ``os._exit`` after Ctrl-C and a kill -9 leave no orphan
behind). They run in a session of their own, so a Ctrl-C at the terminal reaches this process
alone, which decides what it means.
"""

from __future__ import annotations

import atexit
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from contextlib import suppress
from multiprocessing.connection import Connection, Pipe
from pathlib import Path
from typing import Any

from voicer.errors import SynthesisError
from voicer.model import Clip, Prosody, Voice
from voicer.synthesis.engines.protocol import Engine

STOP_SECONDS = 5.0  # how long a worker has to end at exit before it is killed


class Workers:
    """``engine`` with its requests spread over up to ``processes`` worker processes, in each
    of which ``environment`` is set before the engine is unpickled.

    ``default_jobs`` is ``processes``: the caller's threads keep every worker busy; more
    requests at once than ``processes`` wait for a free worker. :meth:`set_jobs` says how many
    requests the caller runs at once: with one, requests run in this process on the engine as
    it is (every core's thread), and no worker starts. Idle workers stay until the process
    ends (:func:`shut_down` ends them sooner).
    Attributes the Engine protocol does not name (``model_path``, ``load``, ...) are the
    wrapped engine's.
    """

    def __init__(
        self, engine: Engine, processes: int, environment: Mapping[str, str] | None = None
    ) -> None:
        self.engine = engine
        self.name = engine.name
        self.word_marks = engine.word_marks
        self.takes_pinyin = engine.takes_pinyin
        self.default_jobs = processes
        self.processes = processes
        self.in_process = False
        self._pool = _pool_for(engine, processes, dict(environment or {}))

    def set_jobs(self, jobs: int) -> None:
        """The caller runs ``jobs`` requests at once from now on: one (or none) in this
        process, more in the worker processes."""
        self.in_process = jobs < 2

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
        if self.in_process:
            return self.engine.synthesise(text, voice, prosody)
        clip: Clip = self._pool.call("synthesise", text, voice, prosody)
        return clip

    def worker_pids(self) -> list[int]:
        """The process ids of the workers running now."""
        return self._pool.pids()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "engine":
            raise AttributeError(name)
        return getattr(self.engine, name)


def wanted(variable: str, most: int) -> int:
    """The worker processes to use: the number in environment variable ``variable`` when it
    is set (0 or 1: none, requests run in this process), else one per core, at most ``most``."""
    asked = os.environ.get(variable, "").strip()
    if asked.isdigit():
        return int(asked)
    return min(os.cpu_count() or 1, most)


class _Worker:
    """One worker process, the pipe its requests and their replies go through, and a lifeline
    it watches to end when this process does."""

    def __init__(self, engine: bytes, environment: dict[str, str]) -> None:
        self.lost = False  # set when the worker died, or its pipe can no longer be trusted
        self.requests, theirs = Pipe()
        watched, self.lifeline = os.pipe()
        # what it says on stderr (the reason it died), closed with the worker
        self.errors = tempfile.TemporaryFile()  # noqa: SIM115
        root = str(Path(__file__).resolve().parents[3])  # the folder holding voicer
        path = os.environ.get("PYTHONPATH")
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", _START, str(theirs.fileno()), str(watched)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=self.errors,
                pass_fds=(theirs.fileno(), watched),
                env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (root, path)))},
                start_new_session=True,  # a Ctrl-C at the terminal is for this process alone
            )
        except OSError as exc:
            os.close(self.lifeline)
            raise SynthesisError(f"cannot start an engine worker process: {exc}") from None
        finally:
            theirs.close()
            os.close(watched)
        self.requests.send((sys.path, environment, engine))

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def call(self, name: str, method: str, args: tuple[Any, ...]) -> Any:
        try:
            self.requests.send((method, args))
            outcome, value = self.requests.recv()
        except (EOFError, OSError, pickle.UnpicklingError):
            self.lost = True  # another worker may well speak it: worth a retry
            raise SynthesisError(f"{name}: {self._ended()}", transient=True) from None
        except BaseException:  # Ctrl-C in the middle: the reply would come to the next request
            self.lost = True
            raise
        if outcome == "error":
            raise value
        return value

    def _ended(self) -> str:
        try:
            code = self.process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            return f"lost touch with engine worker process {self.pid}"
        if code < 0:
            try:
                how = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                how = f"killed by signal {-code}"
        else:
            how = f"exit code {code}"
        said = self._last_words()
        return f"engine worker process {self.pid} ended unexpectedly ({how})" + (
            f": {said}" if said else ""
        )

    def _last_words(self) -> str:
        """The last line the worker wrote on stderr (a Python error names itself there)."""
        try:
            self.errors.seek(0)
            lines = self.errors.read()[-4000:].decode("utf-8", "replace").splitlines()
        except (OSError, ValueError):
            return ""
        return next((line.strip() for line in reversed(lines) if line.strip()), "")

    def stop(self) -> None:
        """End the worker now, even in the middle of a request, and wait for it."""
        with suppress(OSError):
            os.close(self.lifeline)
        try:
            self.process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def close(self) -> None:
        self.stop()
        self.requests.close()
        self.errors.close()


# What a worker process runs: serve() reads its engine from the pipe and answers requests.
_START = "import sys; from voicer.synthesis.engines.workers import serve; serve(*sys.argv[1:])"


class _Pool:
    """Up to ``size`` workers for one engine, started as requests need them."""

    def __init__(self, engine: bytes, name: str, size: int, environment: dict[str, str]) -> None:
        self.engine, self.name, self.environment = engine, name, environment
        self.slots = threading.BoundedSemaphore(size)  # a request holds one while it runs
        self.lock = threading.Lock()
        self.idle: list[_Worker] = []
        self.running: set[_Worker] = set()
        self.closed = False

    def call(self, method: str, *args: Any) -> Any:
        with self.slots:
            worker = self._take()
            try:
                return worker.call(self.name, method, args)
            finally:
                if worker.lost:
                    self._drop(worker)
                else:
                    self._give_back(worker)

    def _take(self) -> _Worker:
        """A free worker; a new one when none is (holding a slot, fewer than ``size`` run)."""
        with self.lock:
            if self.closed:
                raise SynthesisError(f"{self.name}: the engine workers have been shut down")
            while self.idle:
                worker = self.idle.pop()
                if worker.alive():
                    return worker
                self.running.discard(worker)
                worker.close()
            worker = _Worker(self.engine, self.environment)
            self.running.add(worker)
            return worker

    def _give_back(self, worker: _Worker) -> None:
        with self.lock:
            if not self.closed:
                self.idle.append(worker)

    def _drop(self, worker: _Worker) -> None:
        with self.lock:
            self.running.discard(worker)
        worker.close()

    def pids(self) -> list[int]:
        with self.lock:
            return sorted(worker.pid for worker in self.running)

    def close(self) -> None:
        """End every worker, busy or not; a request under way fails (it is no longer wanted)."""
        with self.lock:
            self.closed = True
            workers = list(self.running)
            self.running.clear()
            self.idle.clear()
        for worker in workers:
            with suppress(OSError):
                os.close(worker.lifeline)  # all at once, then wait for each
        for worker in workers:
            worker.stop()


_POOLS: dict[tuple[bytes, int, tuple[tuple[str, str], ...]], _Pool] = {}
_POOLS_LOCK = threading.Lock()
_AT_EXIT = False  # whether shut_down is registered to run at exit


def _pool_for(engine: Engine, size: int, environment: dict[str, str]) -> _Pool:
    """The pool of workers for equal engines (compared pickled), made once per process."""
    pickled = pickle.dumps(engine)
    key = (pickled, size, tuple(sorted(environment.items())))
    global _AT_EXIT
    with _POOLS_LOCK:
        if not _AT_EXIT:
            _AT_EXIT = bool(atexit.register(shut_down))
        pool = _POOLS.get(key)
        if pool is None:
            pool = _POOLS[key] = _Pool(pickled, engine.name, size, environment)
        return pool


def shut_down() -> None:
    """End every worker of this process (at exit, or by hand); a request under way fails, and
    so does any later one through a wrapper made before (wrappers made after start anew)."""
    with _POOLS_LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
    for pool in pools:
        pool.close()


def serve(requests_fd: str, lifeline_fd: str) -> None:
    """A worker process: take the engine from the pipe, then answer its requests until the
    pipe closes; end at once when the lifeline closes (the process that started it is gone)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch, args=(int(lifeline_fd),), daemon=True).start()
    requests = Connection(int(requests_fd))
    try:
        path, environment, engine = requests.recv()
    except (EOFError, OSError):
        return
    sys.path[:] = path
    os.environ.update(environment)
    served: Any = pickle.loads(engine)
    while True:
        try:
            method, args = requests.recv()
        except (EOFError, OSError):
            return
        try:
            reply: tuple[str, Any] = ("ok", getattr(served, method)(*args))
        except Exception as exc:
            reply = ("error", exc)
        try:
            requests.send(reply)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:  # an unpicklable error
            requests.send(("error", SynthesisError(f"{served.name}: {_one_line(reply[1], exc)}")))


def _one_line(value: object, exc: Exception) -> str:
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {value}"
    return f"cannot send the result back: {exc}"


def _watch(lifeline: int) -> None:
    """End this worker as soon as the process that started it closes the lifeline or dies."""
    with suppress(OSError):
        while os.read(lifeline, 1):
            pass
    os._exit(0)
