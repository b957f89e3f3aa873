"""Normalisation to a loudness preset: one linear gain to the target, the true-peak limiter
where that gain would push the peaks over the ceiling."""

from __future__ import annotations

import math
from dataclasses import replace

from voicer.audio.loudness.limiter import TRUE_PEAK_MARGIN_DB, Limited, Peaks
from voicer.audio.loudness.meter import Measurement, Meter, measure_signal, read_true_peak
from voicer.audio.stream import Scaled, Signal
from voicer.defaults import LOUDNESS_PRESETS
from voicer.errors import InputError

# preset: (integrated loudness target in LUFS, maximum true peak in dBTP)
PRESETS = LOUDNESS_PRESETS
_MONO_TARGETS = {"podcast": -19.0}  # Apple: -16 LUFS for stereo, -19 LUFS for mono


def target_for(preset: str, channels: int = 1) -> tuple[float, float] | None:
    """(target LUFS, ceiling dBTP) of a loudness preset for a delivery with ``channels``.

    ``"none"`` gives None (no normalisation); an unknown name is an :class:`InputError`.

    >>> target_for("ebu-r128")
    (-23.0, -1.0)
    >>> target_for("podcast"), target_for("podcast", channels=2)
    ((-19.0, -1.0), (-16.0, -1.0))
    >>> target_for("none") is None
    True
    """
    if preset == "none":
        return None
    if preset not in PRESETS:
        choices = ", ".join([*PRESETS, "none"])
        raise InputError(f"unknown loudness preset {preset!r} (choose from {choices})")
    lufs, ceiling = PRESETS[preset]
    if channels == 1:
        lufs = _MONO_TARGETS.get(preset, lufs)
    return lufs, ceiling


def normalise_signal(
    source: Signal, target_lufs: float, ceiling_dbtp: float, meter: Meter | None = None
) -> tuple[Signal, Measurement]:
    """``source`` at ``target_lufs`` integrated loudness with true peak under ``ceiling_dbtp``.

    Measure, then apply one linear gain. When that gain would push the true peak over the
    ceiling, the true-peak limiter takes the peaks down instead of the target being missed;
    the loudness it takes away is given back with a further gain step (each step a pass over
    the signal), until the result is within 0.05 LU of the target. Returns the result (a view
    computed as it is read) and its measurement (a target the ceiling makes unreachable shows
    in it). Silence (nothing above the -70 LUFS gate) comes back unchanged, measured ``-inf``.
    ``meter``: one that has already measured all of ``source`` (saves a pass). If it kept only
    a bound of the true peak (``peak_bound``), the true peak is read (another pass) only when
    the bound does not keep the gain under the ceiling; when it does, the measurement returned
    gives the bound.
    """
    meter = meter or measure_signal(source)
    measured = meter.measurement()
    if not math.isfinite(measured.integrated):
        return source, measured
    gain_db = target_lufs - measured.integrated
    if math.isnan(measured.true_peak):  # a meter that kept only a bound of it
        bound = meter.true_peak_bound()
        if bound + gain_db <= ceiling_dbtp - TRUE_PEAK_MARGIN_DB:
            found = meter.measurement(gain_db)
            return Scaled(source, 10 ** (gain_db / 20)), replace(found, true_peak=bound + gain_db)
        measured = replace(measured, true_peak=read_true_peak(source))
    if measured.true_peak + gain_db <= ceiling_dbtp - TRUE_PEAK_MARGIN_DB:
        found = meter.measurement(gain_db)
        return Scaled(source, 10 ** (gain_db / 20)), replace(
            found, true_peak=measured.true_peak + gain_db
        )
    slope = 1.0  # loudness gained per dB of gain: under 1 once the limiter is working
    tried: tuple[float, float] | None = None  # the last (gain, loudness)
    peaks = Peaks()
    for _ in range(8):
        applied = 10 ** (gain_db / 20)
        result: Signal = Limited(source, applied, ceiling_dbtp, peaks=peaks)
        measured = measure_signal(result).measurement()
        error = target_lufs - measured.integrated
        if abs(error) <= 0.05 or not math.isfinite(error):
            break
        if tried is not None and gain_db != tried[0]:
            slope = min(1.0, max(0.1, (measured.integrated - tried[1]) / (gain_db - tried[0])))
        tried = gain_db, measured.integrated
        gain_db += error / slope
    if measured.true_peak > ceiling_dbtp - TRUE_PEAK_MARGIN_DB / 2:  # rare: measure and limit
        result = Limited(source, applied, ceiling_dbtp, measured=True, peaks=peaks)
        measured = measure_signal(result).measurement()
    return result, measured
