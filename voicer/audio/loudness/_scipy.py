"""scipy.signal, imported on first use: the import takes about a second, which a render spends
while the engine is busy (see :func:`preload`)."""

from __future__ import annotations

import threading
from typing import Any


def scipy_signal() -> Any:
    """The scipy.signal module (imported now if it was not yet)."""
    from scipy import signal

    return signal


def preload() -> None:
    """Import what measuring and filtering need, in a background thread (at most once)."""
    threading.Thread(target=scipy_signal, daemon=True).start()
