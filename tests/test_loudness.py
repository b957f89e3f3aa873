"""Loudness measurement, limiting and normalisation, checked against independent meters:
pyloudnorm for integrated loudness, ffmpeg's ebur128 filter for true peak and loudness range,
and the EBU Tech 3341/3342 reference cases."""

from __future__ import annotations

import math
import re
import subprocess

import numpy as np
import pyloudnorm
import pytest
from measure import (
    integrated_loudness,
    level_segments,
    limit_true_peak,
    loudness_range,
    measure,
    normalise,
    short_term_loudness,
    speechlike,
)
from scipy import signal

from voicer import ffmpeg
from voicer.audio import loudness
from voicer.audio.stream import ArraySignal, blocks, materialise
from voicer.errors import InputError

RATES = [24000, 48000]


# --- signals ------------------------------------------------------------------------------------


def sine(rate: int, seconds: float, frequency: float = 997.0, amplitude: float = 1.0):
    t = np.arange(round(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def at_lufs(x: np.ndarray, rate: int, lufs: float) -> np.ndarray:
    """``x`` scaled to read ``lufs`` on our meter (checked against pyloudnorm elsewhere)."""
    return (x * 10 ** ((lufs - integrated_loudness(x, rate)) / 20)).astype(np.float32)


def noise(rate: int, seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.1 * rng.standard_normal(round(rate * seconds))).astype(np.float32)


def faded(x: np.ndarray, rate: int, seconds: float = 0.05) -> np.ndarray:
    """Fade in and out, so the edges do not ring in an oversampled peak reading."""
    ramp = np.sin(np.linspace(0, np.pi / 2, round(rate * seconds))) ** 2
    out = x.copy()
    out[: ramp.size] *= ramp
    out[-ramp.size :] *= ramp[::-1]
    return out


# --- independent meters -------------------------------------------------------------------------


def pyloudnorm_lufs(x: np.ndarray, rate: int) -> float:
    return pyloudnorm.Meter(rate).integrated_loudness(x.astype(np.float64))


def ffmpeg_ebur128(x: np.ndarray, rate: int) -> dict[str, float]:
    """ffmpeg's ebur128 summary: integrated ``I``, ``LRA`` and true ``Peak``."""
    command = [ffmpeg.executable(), "-nostdin", "-hide_banner", "-nostats"]
    command += ["-f", "f32le", "-ar", str(rate), "-ac", "1", "-i", "pipe:0"]
    command += ["-af", "ebur128=peak=true", "-f", "null", "-"]
    pcm = np.ascontiguousarray(x, dtype="<f4").tobytes()
    result = subprocess.run(command, input=pcm, capture_output=True, check=True)
    summary = result.stderr.decode().rsplit("Summary:", 1)[1]
    values = {}
    for name in ("I", "LRA", "Peak"):
        found = re.search(rf"^\s*{name}:\s*(-?[\d.]+|-inf)", summary, re.MULTILINE)
        assert found, summary
        values[name] = float(found.group(1))
    return values


# --- measurement --------------------------------------------------------------------------------


def test_k_weighting_is_bs1770s_filter_at_48k():
    standard = [
        [
            1.53512485958697,
            -2.69169618940638,
            1.19839281085285,
            1,
            -1.69065929318241,
            0.73248077421585,
        ],
        [1.0, -2.0, 1.0, 1.0, -1.99004745483398, 0.99007225036621],
    ]
    np.testing.assert_allclose(loudness.meter._k_weighting(48000), standard, atol=1e-10)


SIGNALS = {
    "noise": lambda rate: noise(rate, 20),
    "997 Hz": lambda rate: sine(rate, 10, 997, 0.3),
    "100 Hz": lambda rate: sine(rate, 10, 100, 0.5),
    "5 kHz": lambda rate: sine(rate, 10, 5000, 0.05),
    "speech": lambda rate: speechlike(rate, 30),
}


@pytest.mark.slow
@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("kind", SIGNALS)
def test_integrated_loudness_agrees_with_pyloudnorm(kind, rate):
    x = SIGNALS[kind](rate)
    assert integrated_loudness(x, rate) == pytest.approx(pyloudnorm_lufs(x, rate), abs=0.1)


@pytest.mark.parametrize("rate", RATES)
def test_sine_at_997_hz_reads_its_mean_square(rate):
    """BS.1770's -0.691 offset makes a 997 Hz sine read its mean square in dB."""
    for amplitude in (1.0, 0.1, 0.01):
        expected = 20 * math.log10(amplitude) - 10 * math.log10(2)
        measured = integrated_loudness(sine(rate, 5, 997, amplitude), rate)
        assert measured == pytest.approx(expected, abs=0.05)


@pytest.mark.slow
@pytest.mark.parametrize("rate", RATES)
def test_gating_follows_ebu_tech_3341(rate):
    """Tech 3341 cases 3 and 4 (mono): quiet stretches fall under the relative gate, silence
    and stretches under -70 LUFS under the absolute one; the whole reads -23.0 +/- 0.1."""
    tone = sine(rate, 1)

    def stretch(lufs, seconds):
        return np.tile(at_lufs(tone, rate, lufs), seconds)

    case3 = np.concatenate([stretch(-36, 10), stretch(-23, 60), stretch(-36, 10)])
    case4 = np.concatenate([stretch(-72, 10), case3, stretch(-72, 10)])
    for case in (case3, case4):
        assert integrated_loudness(case, rate) == pytest.approx(-23.0, abs=0.1)
    silence = np.zeros(rate * 5, np.float32)
    assert integrated_loudness(silence, rate) == -math.inf
    assert integrated_loudness(stretch(-75, 5), rate) == -math.inf
    assert integrated_loudness(tone[: rate // 4], rate) == -math.inf  # under 400 ms


@pytest.mark.slow
@pytest.mark.parametrize(
    ("levels", "expected"),
    [
        ((-20, -30), 10),
        ((-20, -15), 5),
        ((-40, -20), 20),
        ((-50, -35, -20, -35, -50), 15),
    ],
)
def test_loudness_range_follows_ebu_tech_3342(levels, expected):
    """Tech 3342 cases 1-4 (mono): 20 s at each level in turn."""
    rate = 48000
    tone = sine(rate, 1)
    x = np.concatenate([np.tile(at_lufs(tone, rate, level), 20) for level in levels])
    measured = loudness_range(x, rate)
    assert measured == pytest.approx(expected, abs=0.2)
    assert measured == pytest.approx(ffmpeg_ebur128(x, rate)["LRA"], abs=0.3)


def test_loudness_range_of_nothing_is_zero():
    assert loudness_range(np.zeros(48000 * 5, np.float32), 48000) == 0.0
    assert loudness_range(sine(48000, 1), 48000) == 0.0  # shorter than one window


def test_short_term_loudness_is_one_value_per_100_ms():
    rate = 24000
    x = at_lufs(sine(rate, 10), rate, -20)
    values = short_term_loudness(x, rate)
    assert values.size == 100 - 30 + 1
    np.testing.assert_allclose(values, -20.0, atol=0.05)


def test_clip_loudness_of_a_short_clip_is_ungated():
    rate = 48000
    x = at_lufs(sine(rate, 2), rate, -30)
    assert loudness.clip_loudness(x, rate) == pytest.approx(-30.0, abs=0.05)
    assert loudness.clip_loudness(x[: rate // 10], rate) == pytest.approx(-30.0, abs=0.1)
    assert loudness.clip_loudness(np.zeros(100, np.float32), rate) == -math.inf
    assert loudness.clip_loudness(np.zeros(0, np.float32), rate) == -math.inf


@pytest.mark.parametrize("rate", RATES)
def test_true_peak_agrees_with_ffmpeg(rate):
    quarter_rate = np.sin(np.pi / 2 * np.arange(rate * 2) + np.pi / 4).astype(np.float32)
    low_passed = signal.lfilter(*signal.butter(4, 0.8), noise(rate, 5) * 4).astype(np.float32)
    for x in (0.5 * faded(quarter_rate, rate), faded(low_passed, rate), speechlike(rate, 10)):
        assert loudness.true_peak(x, rate) == pytest.approx(
            ffmpeg_ebur128(x, rate)["Peak"], abs=0.3
        )


@pytest.mark.parametrize("rate", RATES)
def test_true_peak_sees_inter_sample_peaks(rate):
    """A sine at a quarter of the sample rate, 45 degrees off: samples at 0.707 of the crest."""
    x = faded(np.sin(np.pi / 2 * np.arange(rate) + np.pi / 4).astype(np.float32), rate)
    assert 20 * np.log10(np.abs(x).max()) == pytest.approx(-3.01, abs=0.01)
    assert loudness.true_peak(x, rate) == pytest.approx(0.0, abs=0.05)


@pytest.mark.parametrize("rate", [176400, 192000])
def test_true_peak_at_the_highest_rates_is_the_sample_peak(rate):
    """At 176.4 kHz and above nothing is oversampled (``--sample-rate 192000`` was an internal
    error: no interpolation filter can be cut off at the Nyquist frequency itself)."""
    x = speechlike(rate, 2, peak=0.5)
    assert loudness.true_peak(x, rate) == pytest.approx(20 * np.log10(np.abs(x).max()), abs=1e-4)
    assert loudness.true_peak(limit_true_peak(x, rate, -12.0), rate) <= -12.0


def test_true_peak_of_nothing():
    assert loudness.true_peak(np.zeros(1000, np.float32), 48000) == -math.inf
    assert loudness.true_peak(np.zeros(0, np.float32), 48000) == -math.inf


def test_measure_gives_all_three():
    rate = 48000
    x = speechlike(rate, 20)
    found = measure(x, rate)
    assert found.integrated == integrated_loudness(x, rate)
    assert found.loudness_range == loudness_range(x, rate)
    assert found.true_peak == loudness.true_peak(x, rate)
    assert re.fullmatch(r"-?\d+\.\d LUFS, LRA \d+\.\d LU, true peak -?\d+\.\d dBTP", str(found))


# --- limiter ------------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", RATES)
def test_limiter_keeps_the_true_peak_under_the_ceiling(rate):
    x = speechlike(rate, 10, peak=1.0)  # the loudest syllables peak over 0 dBTP
    assert loudness.true_peak(x, rate) > 0.0
    limited = limit_true_peak(x, rate, -1.0)
    assert loudness.true_peak(limited, rate) <= -1.0
    assert ffmpeg_ebur128(limited, rate)["Peak"] <= -1.0
    # only the peaks are touched: the gain never rises above 1, and is 1 most of the time
    sound = np.abs(x) > 1e-3
    gain = limited[sound] / x[sound]
    assert gain.max() <= 1.0 + 1e-6
    assert np.mean(gain == 1.0) > 0.5


def test_limiter_gain_moves_smoothly():
    """A burst 12 dB over the ceiling in a steady tone: the gain ramps down before it and back
    up after it, with no sample-to-sample jump (a click)."""
    rate = 48000
    x = sine(rate, 2, 1000, 0.2)
    x[rate : rate + rate // 50] *= 10 ** (12 / 20)  # 20 ms, 12 dB up
    limited = limit_true_peak(x, rate, -6.0)
    gain = np.ones(x.size)
    sound = np.abs(x) > 0.05
    gain[sound] = limited[sound] / x[sound]
    neighbours = sound[1:] & sound[:-1]
    assert np.abs(np.diff(gain))[neighbours].max() < 0.005
    assert gain[: rate - rate // 100].min() == 1.0  # lookahead: nothing earlier than 10 ms ahead
    assert loudness.true_peak(limited, rate) <= -6.0


def test_limiter_leaves_a_quiet_signal_alone():
    rate = 48000
    x = speechlike(rate, 5, peak=0.3)
    assert np.array_equal(limit_true_peak(x, rate, -1.0), x)


def test_limiter_catches_a_peak_at_the_very_start():
    rate = 48000
    x = sine(rate, 0.5, 1000, 1.0)
    assert loudness.true_peak(limit_true_peak(x, rate, -3.0), rate) <= -3.0


# --- normalisation ------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("preset", loudness.PRESETS)
def test_normalise_hits_every_preset(preset, rate):
    lufs, ceiling = loudness.PRESETS[preset]
    x = speechlike(rate, 20, peak=0.2)
    normalised, found = normalise(x, rate, lufs, ceiling)
    assert normalised.dtype == np.float32
    measured = measure(normalised, rate)
    for field in ("integrated", "loudness_range", "true_peak"):
        assert getattr(found, field) == pytest.approx(getattr(measured, field), abs=1e-3)
    assert found.integrated == pytest.approx(lufs, abs=0.1)
    assert found.true_peak <= ceiling
    assert pyloudnorm_lufs(normalised, rate) == pytest.approx(lufs, abs=0.15)


def test_normalise_applies_one_gain_when_the_peaks_allow():
    rate = 48000
    x = speechlike(rate, 20, peak=0.5)
    normalised, found = normalise(x, rate, -30.0, -1.0)
    ratio = normalised[np.abs(x) > 1e-3] / x[np.abs(x) > 1e-3]
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-5)
    assert found.integrated == pytest.approx(-30.0, abs=0.01)


@pytest.mark.slow
def test_normalise_checked_by_ffmpeg():
    rate = 48000
    x = speechlike(rate, 20, peak=0.9)
    normalised, found = normalise(x, rate, -14.0, -1.0)
    independent = ffmpeg_ebur128(normalised, rate)
    assert independent["I"] == pytest.approx(-14.0, abs=0.15)
    assert independent["Peak"] <= -1.0


def test_normalise_leaves_silence_alone():
    x = np.zeros(48000 * 3, np.float32)
    x[100] = 1e-6
    normalised, found = normalise(x, 48000, -23.0, -1.0)
    assert np.array_equal(normalised, x)
    assert found.integrated == -math.inf


# --- levelling sentences ------------------------------------------------------------------------


def sentences(rate: int, levels_db: list[float]) -> list[np.ndarray]:
    return [
        speechlike(rate, 3, seed=index) * 10 ** (level / 20)
        for index, level in enumerate(levels_db)
    ]


def programme_of(clips: list[np.ndarray], pause: int) -> tuple[np.ndarray, list[tuple[int, int]]]:
    silence = np.zeros(pause, np.float32)
    spans, parts, position = [], [], 0
    for clip in clips:
        parts += [silence, clip]
        spans.append((position + pause, position + pause + clip.size))
        position += pause + clip.size
    return np.concatenate([*parts, silence]), spans


def median_short_term(x: np.ndarray, rate: int) -> float:
    values = short_term_loudness(x, rate)
    return float(np.median(values[values > -70]))


def test_level_segments_holds_sentences_near_the_median_short_term_loudness():
    """The issue's rule: no sentence more than 3 LU from the programme's median short-term
    loudness; levelling aims at 1.5."""
    rate = 24000
    programme, spans = programme_of(sentences(rate, [0, -10, 0, 4, 0, -10, 0, 0]), rate // 2)
    levelled = level_segments(programme, rate, spans, max_deviation_lu=1.5)
    median = median_short_term(levelled, rate)
    levels = [loudness.clip_loudness(levelled[start:end], rate) for start, end in spans]
    assert max(abs(level - median) for level in levels) <= 1.5 + 0.05
    before = [loudness.clip_loudness(programme[start:end], rate) for start, end in spans]
    assert max(abs(level - median_short_term(programme, rate)) for level in before) > 8
    # the pauses stay silent, and a sentence close enough is left exactly as it was
    assert not levelled[: spans[0][0]].any()
    untouched = [i for i, level in enumerate(before) if abs(level - median) < 1.4]
    assert untouched
    start, end = spans[untouched[0]]
    assert np.array_equal(levelled[start:end], programme[start:end])


def test_level_segments_ramps_across_touching_spans():
    rate = 48000
    x = np.concatenate([sine(rate, 4, 500, 0.3), sine(rate, 2, 500, 0.03)])
    spans = [(0, 4 * rate), (4 * rate, 6 * rate)]
    levelled = level_segments(x, rate, spans, max_deviation_lu=1.5)
    sound = np.abs(x) > 0.01
    gain = np.ones(x.size)
    gain[sound] = levelled[sound] / x[sound]
    neighbours = sound[1:] & sound[:-1]
    assert np.abs(np.diff(gain))[neighbours].max() < 0.05  # 10 ms ramp from 1 to 8 or so
    median = median_short_term(levelled, rate)
    for start, end in spans:
        inner = levelled[start + rate // 10 : end - rate // 10]
        assert abs(loudness.clip_loudness(inner, rate) - median) <= 1.5 + 0.05


def test_level_segments_of_a_short_programme():
    """Under 3 s there is no short-term loudness: the spans' own median is the reference."""
    rate = 24000
    programme, spans = programme_of([sine(rate, 0.8, 500, 0.3), sine(rate, 0.8, 500, 0.03)], 2400)
    levelled = level_segments(programme, rate, spans, max_deviation_lu=1.5)
    levels = [loudness.clip_loudness(levelled[start:end], rate) for start, end in spans]
    assert abs(levels[0] - levels[1]) <= 3.0 + 0.05


def test_level_segments_rejects_bad_spans():
    x = np.zeros(1000, np.float32)
    for spans in ([(0, 2000)], [(500, 600), (100, 200)], [(10, 10)]):
        with pytest.raises(ValueError):
            level_segments(x, 48000, spans)
    assert np.array_equal(level_segments(x, 48000, []), x)


# --- presets ------------------------------------------------------------------------------------


def test_presets():
    assert loudness.target_for("ebu-r128") == (-23.0, -1.0)
    assert loudness.target_for("atsc-a85", channels=2) == (-24.0, -2.0)
    assert loudness.target_for("podcast") == (-19.0, -1.0)
    assert loudness.target_for("podcast", channels=2) == (-16.0, -1.0)
    assert loudness.target_for("streaming") == (-14.0, -1.0)
    assert loudness.target_for("none") is None
    with pytest.raises(InputError, match="unknown loudness preset 'loud'") as raised:
        loudness.target_for("loud")
    assert "\n" not in str(raised.value)


def _tone(seconds: float) -> np.ndarray:
    t = np.arange(round(48000 * seconds)) / 48000
    return (0.1 * np.sin(2 * np.pi * 440 * t) * (1 + 0.5 * np.sin(2 * np.pi * t))).astype(
        np.float32
    )


@pytest.mark.parametrize(
    ("kind", "target", "read", "limited"),
    [("tone", -23.0, False, False), ("speech", -23.0, True, False), ("speech", -14.0, True, True)],
)
def test_a_meter_keeping_only_a_bound_of_the_true_peak_normalises_the_same(
    kind: str, target: float, read: bool, limited: bool
):
    # a tone: its bound (sample peak + 6.4 dB) clears the ceiling, no true peak is read;
    # speech: the bound does not, the true peak is read (and at -14 LUFS the limiter works)
    samples = _tone(6) if kind == "tone" else speechlike(48000, 6)
    source = ArraySignal(samples, 48000)
    bounded = loudness.Meter(48000, true_peak=False, peak_bound=True)
    full = loudness.Meter(48000)
    for block in blocks(source):
        bounded.feed(block)
        full.feed(block)
    gain = target - full.integrated()
    assert bounded.true_peak_bound() >= full.true_peak()
    assert (bounded.true_peak_bound() + gain > -1.0 - loudness.TRUE_PEAK_MARGIN_DB) == read
    ours, ours_measured = loudness.normalise_signal(source, target, -1.0, bounded)
    theirs, their_measured = loudness.normalise_signal(source, target, -1.0, full)
    assert isinstance(theirs, loudness.Limited) == limited
    assert np.array_equal(materialise(ours), materialise(theirs))
    assert ours_measured.integrated == pytest.approx(their_measured.integrated, abs=1e-9)
    assert ours_measured.true_peak >= their_measured.true_peak - 1e-9
