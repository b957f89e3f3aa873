"""The three signal kernels voicer takes from scipy: ``sosfilt`` (K-weighting), ``upfirdn``
(resampling) and ``firwin`` (filter design, done here with numpy).

Importing ``scipy.signal`` loads scipy.stats, interpolate and optimize, which takes about as
long as mastering a fully cached render without it (README: Measured choices). The two
compiled kernels import nothing of that, so they are loaded from their files inside the
package; if they cannot be (another scipy layout), the public functions are used.
"""

from __future__ import annotations

import importlib.util
import threading
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np


def sosfilt(sos: np.ndarray, x: np.ndarray, zi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``scipy.signal.sosfilt(sos, x, zi=zi)`` for one-dimensional ``x``, in float64: the
    filtered signal and the final state (``zi`` is left as it was)."""
    kernel = _kernel("_sosfilt")
    if kernel is None:
        return scipy_signal().sosfilt(sos, x, zi=zi)
    y = np.array(x, np.float64, order="C").reshape(1, -1)
    state = np.array(zi, np.float64, order="C").reshape(1, *np.shape(zi))
    kernel._sosfilt(np.asarray(sos, np.float64), y, state)
    return y.reshape(-1), state.reshape(np.shape(zi))


def resample_poly(x: np.ndarray, up: int, down: int) -> np.ndarray:
    """``scipy.signal.resample_poly(x, up, down)`` for one-dimensional float32 ``x`` (its
    default Kaiser window, beta 5, and zero padding)."""
    kernel = _kernel("_upfirdn_apply")
    if kernel is None:
        return scipy_signal().resample_poly(x, up, down)
    h, pre_remove = _padded(_resampling_taps(up, down), up, down, x.size)
    n_out = -(-x.size * up // down)
    out = np.zeros(kernel._output_len(h.size, x.size, up, down), np.float32)
    flipped = _polyphase(h, up)
    mode = kernel.mode_enum("constant")
    kernel._apply(np.asarray(x, np.float32), flipped, out, up, down, 0, mode, 0)
    return out[pre_remove : pre_remove + n_out]


def firwin(numtaps: int, cutoff: float, beta: float) -> np.ndarray:
    """``scipy.signal.firwin(numtaps, cutoff, window=("kaiser", beta))``: a low-pass FIR cut
    off at ``cutoff`` (1 is Nyquist), Kaiser-windowed, scaled to unit gain at 0 Hz."""
    m = np.arange(numtaps) - 0.5 * (numtaps - 1)
    h = cutoff * np.sinc(cutoff * m) * np.kaiser(numtaps, beta)
    return h / h.sum()


def scipy_signal() -> Any:
    """The scipy.signal module (imported now if it was not yet)."""
    from scipy import signal

    return signal


def preload() -> None:
    """Load the kernels measuring and filtering need, in a background thread (at most once)."""
    thread = threading.Thread(target=_load_kernels, daemon=True)
    thread.start()


def _load_kernels() -> None:
    _kernel("_sosfilt")
    _kernel("_upfirdn_apply")


@cache
def _resampling_taps(up: int, down: int) -> np.ndarray:
    """resample_poly's low-pass filter, as it designs it for float32 samples."""
    half_len = 10 * max(up, down)
    return firwin(2 * half_len + 1, 1 / max(up, down), 5.0).astype(np.float32) * up


def _padded(h: np.ndarray, up: int, down: int, n_in: int) -> tuple[np.ndarray, int]:
    """``h`` padded as resample_poly pads it to centre ``n_in`` samples' output, and how many
    output samples come before the first that is kept."""
    half_len = (h.size - 1) // 2
    pre_pad = down - half_len % down
    pre_remove = (half_len + pre_pad) // down
    n_out = -(-n_in * up // down)
    post_pad = 0
    while _output_len(h.size + pre_pad + post_pad, n_in, up, down) < n_out + pre_remove:
        post_pad += 1
    padded = np.concatenate([np.zeros(pre_pad, h.dtype), h, np.zeros(post_pad, h.dtype)])
    return padded, pre_remove


def _output_len(taps: int, n_in: int, up: int, down: int) -> int:
    return ((n_in - 1) * up + taps - 1) // down + 1


def _polyphase(h: np.ndarray, up: int) -> np.ndarray:
    """``h`` arranged as upfirdn's kernel reads it: each phase's taps, reversed."""
    full = np.zeros(h.size + (-h.size % up), h.dtype)
    full[: h.size] = h
    return np.ascontiguousarray(full.reshape(-1, up).T[:, ::-1].ravel())


_LOCK = threading.Lock()


def _kernel(name: str) -> ModuleType | None:
    """scipy.signal's compiled module ``name``, loaded without scipy.signal itself; None if
    it cannot be."""
    with _LOCK:  # once, whichever thread asks first
        return _load(name)


@cache
def _load(name: str) -> ModuleType | None:
    try:
        spec = importlib.util.find_spec("scipy")
        if spec is None or spec.origin is None:
            return None
        folder = Path(spec.origin).parent / "signal"
        found = sorted(folder.glob(f"{name}.*.so")) + sorted(folder.glob(f"{name}.*.pyd"))
        if not found:
            return None
        loaded = importlib.util.spec_from_file_location(f"scipy.signal.{name}", found[0])
        if loaded is None or loaded.loader is None:
            return None
        module = importlib.util.module_from_spec(loaded)
        loaded.loader.exec_module(module)
        return module
    except Exception:  # noqa: BLE001 - whatever stops it, the public functions will do
        return None
