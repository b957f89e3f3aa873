"""voicer's signal kernels (voicer.audio._scipy) against scipy.signal's public functions, and
measuring and resampling without importing scipy.signal; blocks handed aside."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy import signal

from voicer.audio import _scipy
from voicer.audio.loudness.meter import _k_weighting
from voicer.audio.stream import Aside


@pytest.fixture
def noise() -> np.ndarray:
    return np.random.default_rng(23).standard_normal(100_003).astype(np.float32)


@pytest.mark.parametrize("rate", [24000, 44100, 48000])
def test_sosfilt_is_scipys(noise: np.ndarray, rate: int):
    sos = _k_weighting(rate)
    state = np.full((2, 2), 0.01)
    filtered, after = _scipy.sosfilt(sos, noise, state)
    expected, expected_after = signal.sosfilt(sos, noise.astype(np.float64), zi=state)
    assert np.array_equal(filtered, expected)
    assert np.array_equal(after, expected_after)
    assert np.all(state == 0.01)  # left as it was


@pytest.mark.parametrize(("up", "down"), [(2, 1), (1, 2), (160, 147), (147, 160), (3, 2)])
@pytest.mark.parametrize("size", [1, 9, 4097, 100_003])
def test_resample_poly_is_scipys(noise: np.ndarray, up: int, down: int, size: int):
    ours = _scipy.resample_poly(noise[:size], up, down)
    theirs = signal.resample_poly(noise[:size], up, down)
    assert ours.dtype == theirs.dtype == np.float32
    assert np.array_equal(ours, theirs)


@pytest.mark.parametrize("factor", [2, 4, 8])
def test_firwin_is_scipys(factor: int):
    ours = _scipy.firwin(16 * factor + 1, 1 / factor, 5.0)
    theirs = signal.firwin(16 * factor + 1, 1 / factor, window=("kaiser", 5.0))
    assert np.allclose(ours, theirs, rtol=0, atol=1e-15)


def test_measuring_and_resampling_leave_scipy_signal_unimported():
    code = (
        "import sys, numpy as np\n"
        "from voicer.audio import loudness\n"
        "from voicer.audio.stream import ArraySignal, Resampled, materialise\n"
        "x = np.sin(np.arange(48000) / 7).astype(np.float32)\n"
        "up = materialise(Resampled(ArraySignal(x, 24000), 48000))\n"
        "meter = loudness.Meter(48000)\n"
        "meter.feed(up)\n"
        "print(round(meter.measurement().true_peak, 1), 'scipy.signal' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split()[-1] == "False"


def test_an_aside_hands_its_blocks_on_in_order(noise: np.ndarray):
    seen: list[np.ndarray] = []
    blocks = [noise[start : start + 1000] for start in range(0, noise.size, 1000)]
    with Aside(seen.append) as aside:
        for block in blocks:
            aside.feed(block)
    assert np.array_equal(np.concatenate(seen), noise)


def test_what_the_sink_aside_raises_reaches_the_caller(noise: np.ndarray):
    def refuse(block: np.ndarray) -> None:
        raise ValueError("no")

    aside = Aside(refuse)
    aside.feed(noise)
    with pytest.raises(ValueError, match="no"):
        aside.close()
