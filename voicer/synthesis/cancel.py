"""Stopping engine work that is no longer wanted, in the middle if the engine allows.

A caller runs engine work under :func:`stoppable` with a :class:`Stop` of its own; another
thread may then call :meth:`Stop.stop`. An engine that can be interrupted registers how with
:func:`on_stop` around its call (kokoro ends onnxruntime's inference, edge cancels its
request), and every engine call made under a stopped Stop raises :class:`Stopped`.

>>> stop = Stop()
>>> with stoppable(stop):
...     check()
...     stop.stop()
...     try:
...         check()
...     except Stopped as stopped:
...         print(stopped)
stopped: no longer wanted
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar


class Stopped(Exception):  # noqa: N818 (it is not an error: the work was not wanted)
    """Engine work stopped by its caller: nothing to retry, nothing to report."""

    def __init__(self) -> None:
        super().__init__("stopped: no longer wanted")


class Stop:
    """A flag another thread sets to stop the work done under it, with what to call then."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stopped = False
        self._hooks: list[Callable[[], object]] = []

    @property
    def stopped(self) -> bool:
        return self._stopped

    def stop(self) -> None:
        """Stop the work: the engine's interruption is called now, once."""
        with self._lock:
            self._stopped = True
            hooks, self._hooks = self._hooks, []
        for hook in hooks:
            hook()

    def _add(self, hook: Callable[[], object]) -> bool:
        with self._lock:
            if not self._stopped:
                self._hooks.append(hook)
            return not self._stopped

    def _remove(self, hook: Callable[[], object]) -> None:
        with self._lock:
            if hook in self._hooks:
                self._hooks.remove(hook)


_CURRENT: ContextVar[Stop | None] = ContextVar("voicer_stop", default=None)


@contextmanager
def stoppable(stop: Stop) -> Iterator[None]:
    """Engine work in this block (this thread, and coroutines it runs) stops with ``stop``."""
    token = _CURRENT.set(stop)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def check() -> None:
    """Raise Stopped when the work under way has been stopped."""
    stop = _CURRENT.get()
    if stop is not None and stop.stopped:
        raise Stopped


def is_stoppable() -> bool:
    """Whether the work under way can be stopped (an engine then prepares to be interrupted)."""
    return _CURRENT.get() is not None


@contextmanager
def on_stop(interrupt: Callable[[], object]) -> Iterator[None]:
    """Call ``interrupt`` (from the stopping thread) if the work is stopped during this block;
    Stopped at once when it already has been, and instead of what the interrupted call
    raised when it has been meanwhile."""
    stop = _CURRENT.get()
    if stop is None:
        yield
        return
    if not stop._add(interrupt):
        raise Stopped
    try:
        yield
    except (Exception, asyncio.CancelledError):
        check()
        raise
    finally:
        stop._remove(interrupt)
