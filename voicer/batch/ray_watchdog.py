"""Ends a local Ray instance with the batch that started it, however the batch ends.

Run as a script by the ray backend once its own instance is up (``python -I ray_watchdog.py
SESSION_FOLDER``), in a session of its own, its stdin a pipe from the batch. When the pipe
closes, because the batch is done or its process died (even by SIGKILL), it kills every
process that writes a file in the instance's session folder (each Ray process writes its
logs there), but the batch's own, until none is left, then exits.

Ray ties only the processes it starts itself to the driver (the kernel kills them when it
dies, ``PR_SET_PDEATHSIG``); the raylet's agents outlive the raylet by a minute, spent
reporting its death to a GCS that is gone, and Ray's own reaper would need the driver to
lead a process group of its own, out of reach of the terminal's Ctrl-C.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

WRITING = os.O_WRONLY | os.O_RDWR
GIVE_UP_SECONDS = 30.0  # a process that survives SIGKILL this long is not coming back


def main(session: Path) -> None:
    spared = {os.getpid(), os.getppid()}  # this process, and the batch's (it writes there too)
    sys.stdin.buffer.read()  # until the batch closes the pipe, or its process is gone
    deadline = time.monotonic() + GIVE_UP_SECONDS
    while (left := set(writers_in(session)) - spared) and time.monotonic() < deadline:
        for pid in left:
            with contextlib.suppress(OSError):  # gone meanwhile
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)


def writers_in(folder: Path) -> Iterator[int]:
    """The processes with a file under ``folder`` open for writing."""
    for process in Path("/proc").iterdir():
        if process.name.isdigit() and _writes_in(process, folder):
            yield int(process.name)


def _writes_in(process: Path, folder: Path) -> bool:
    with contextlib.suppress(OSError):  # ended meanwhile, or not ours to look into
        for descriptor in (process / "fd").iterdir():
            with contextlib.suppress(OSError, ValueError, IndexError, StopIteration):
                if not Path(os.readlink(descriptor)).is_relative_to(folder):
                    continue
                info = (process / "fdinfo" / descriptor.name).read_text()
                flags = next(line for line in info.splitlines() if line.startswith("flags:"))
                if int(flags.split()[1], 8) & WRITING:
                    return True
    return False


if __name__ == "__main__":
    main(Path(sys.argv[1]))
