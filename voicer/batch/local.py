"""The local backend: engines in worker processes on this machine, scripts finished here.

Each worker process holds one engine, its model loaded once, and speaks one sentence at a
time with one thread (as ``voicer render`` does, so the clips are the same). A worker that
dies takes its sentence with it; the speaker tries it again on another worker (a new one if
need be). The edge engine needs no workers: its requests wait on the network, not the CPU.
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor

from voicer import pipeline
from voicer.batch.run import Job
from voicer.synthesis.engines import workers
from voicer.synthesis.engines.protocol import Engine


class LocalBackend:
    """``workers`` engine processes (default: one per core) and one thread finishing scripts."""

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.description = f"this machine, {self.workers} engine worker processes"
        self._finishing = ThreadPoolExecutor(1, thread_name_prefix="voicer-finish")

    def engine(self, engine: Engine) -> Engine:
        """The engine in this backend's worker processes (edge as it is)."""
        if engine.name == "edge":
            return engine
        from voicer.synthesis.engines.kokoro import THREADS_VARIABLE

        inner = engine.engine if isinstance(engine, workers.Workers) else engine
        return workers.Workers(inner, self.workers, {THREADS_VARIABLE: "1"})

    def finish(self, job: Job) -> Future[pipeline.Delivered]:
        return self._finishing.submit(
            pipeline.deliver, job.plan, job.clips, job.targets, job.options
        )

    def close(self) -> None:
        self._finishing.shutdown(wait=True, cancel_futures=True)
