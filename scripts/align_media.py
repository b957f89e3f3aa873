"""Recordings of a script for the alignment tests and the bench's align section: another
kokoro voice at other rates and pauses (rendered, so its timeline gives the truth), with noise
and a chord bed, music before the speech, and espeak-ng's Mandarin voice as another
synthesiser."""

from __future__ import annotations

import ctypes
import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from voicer import ffmpeg, pipeline
from voicer import options as declared
from voicer.script import reading

RATE = 48000


@dataclass(frozen=True)
class Reading:
    """A recording and the truth about it: each sentence's start and its words' starts
    (seconds, by sentence index), and each cue's start and text."""

    path: Path
    starts: dict[int, float]
    words: dict[int, list[float]]
    cues: list[tuple[float, str]]

    def shifted(self, path: Path, seconds: float) -> Reading:
        return Reading(
            path,
            {i: start + seconds for i, start in self.starts.items()},
            {i: [start + seconds for start in words] for i, words in self.words.items()},
            [(start + seconds, text) for start, text in self.cues],
        )


def kokoro_reading(
    script: Path,
    folder: Path,
    name: str,
    voice: str = "zf_xiaobei",
    rate: str = "+0%",
    sentence_pause_ms: int = 600,
    paragraph_pause_ms: int = 1000,
) -> Reading:
    """``script`` rendered by kokoro's ``voice`` to ``folder/name.wav``, with its truth."""
    audio, timeline = folder / f"{name}.wav", folder / f"{name}.json"
    if not timeline.exists():
        options = pipeline.RenderOptions(
            engine="kokoro",
            voice=voice,
            rate=declared.read("rate", rate),
            sentence_pause_ms=sentence_pause_ms,
            paragraph_pause_ms=paragraph_pause_ms,
            loudness="none",
        )
        outputs = pipeline.Outputs(audio, (folder / f"{name}.srt",), timeline)
        pipeline.render_script(reading.read_script(script), outputs, options)
    return truth_of(audio, timeline)


def truth_of(audio: Path, timeline: Path) -> Reading:
    """The truth a render's timeline tells about its audio."""
    document = json.loads(timeline.read_text(encoding="utf-8"))
    sentences = document["sentences"]
    return Reading(
        audio,
        {s["index"]: s["start"] for s in sentences},
        {s["index"]: [w["start"] for w in s["words"]] for s in sentences},
        [(c["start"], c["text"]) for s in sentences for c in s["cues"]],
    )


def decode(path: Path) -> np.ndarray:
    return np.concatenate(list(ffmpeg.decode_blocks(path, RATE)))


def write(samples: np.ndarray, path: Path) -> None:
    """Mono samples at RATE to a WAV, FLAC or M4A file (by the extension)."""
    codec = {".wav": ["-c:a", "pcm_s16le"], ".flac": [], ".m4a": ["-c:a", "aac", "-b:a", "96k"]}
    ffmpeg.encode_blocks([samples], RATE, path, codec[path.suffix])


def chord_bed(seconds: float, seed: int = 1) -> np.ndarray:
    """A music-like bed: a major chord and its harmonics, changing every two seconds, with a
    soft beat."""
    rng = np.random.default_rng(seed)
    time = np.arange(round(seconds * RATE)) / RATE
    bed = np.zeros_like(time)
    roots = [220.0, 246.9, 196.0, 261.6]
    for bar in range(int(seconds // 2) + 1):
        span = (time >= bar * 2) & (time < bar * 2 + 2)
        root = roots[bar % len(roots)] * rng.choice([1.0, 1.5])
        for ratio in (1.0, 1.26, 1.5, 2.0):
            for harmonic, level in ((1, 1.0), (2, 0.4), (3, 0.2)):
                bed[span] += level * np.sin(2 * np.pi * root * ratio * harmonic * time[span])
    beat = 1 + 0.5 * np.exp(-((time % 0.5) * 20))
    return (bed * beat).astype(np.float32)


def speech_rms(samples: np.ndarray) -> float:
    """The RMS of the louder half of 50 ms blocks: the speech, not the pauses."""
    blocks = samples[: len(samples) // 2400 * 2400].reshape(-1, 2400)
    levels = np.sqrt((blocks**2).mean(axis=1))
    return float(np.sqrt((np.sort(levels)[len(levels) // 2 :] ** 2).mean()))


def treated(
    source: Reading,
    path: Path,
    snr_db: float | None = None,
    bed_db: float | None = None,
    music_before: float = 0.0,
    seed: int = 7,
) -> Reading:
    """``source`` with white noise ``snr_db`` below the speech, a chord bed ``bed_db``
    against it, and ``music_before`` seconds of the bed (at the speech's level) before it."""
    if path.exists():
        return source.shifted(path, music_before)
    speech = decode(source.path)
    level = speech_rms(speech)
    mixed = speech.copy()
    if snr_db is not None:
        noise = np.random.default_rng(seed).standard_normal(len(speech))
        mixed += (noise * level * 10 ** (-snr_db / 20)).astype(np.float32)
    if bed_db is not None:
        bed = chord_bed(len(speech) / RATE, seed)
        mixed += bed / speech_rms(bed) * level * 10 ** (bed_db / 20)
    if music_before:
        intro = chord_bed(music_before, seed + 1)
        mixed = np.concatenate([intro / speech_rms(intro) * level, mixed])
    peak = float(np.abs(mixed).max())
    write((mixed / max(1.0, peak / 0.95)).astype(np.float32), path)
    return source.shifted(path, music_before)


def espeak_reading(script: Path, folder: Path, name: str = "espeak") -> Reading:
    """``script``'s sentences (as voicer speaks them) read by espeak-ng's Mandarin voice, with
    pauses of 700 ms, in ``folder/name.wav``; each start where its sound begins."""
    import espeakng_loader  # type: ignore[import-untyped]

    path, truth = folder / f"{name}.wav", folder / f"{name}.json"
    if truth.exists():
        return replace(Reading(path, {}, {}, []), **_load(truth))
    plan = pipeline.prepare(reading.read_script(script), pipeline.RenderOptions(engine="tone"))
    library = ctypes.CDLL(espeakng_loader.get_library_path())
    rate = library.espeak_Initialize(2, 0, espeakng_loader.get_data_path().encode(), 0)
    chunks: list[np.ndarray] = []
    callback_type = ctypes.CFUNCTYPE(
        ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
    )

    def heard(samples: object, count: int, events: object) -> int:
        if count > 0:
            chunks.append(np.ctypeslib.as_array(samples, (count,)).copy())
        return 0

    callback = callback_type(heard)
    library.espeak_SetSynthCallback(callback)
    library.espeak_SetVoiceByName(b"cmn")
    pieces, starts, at = [np.zeros(rate // 2, dtype=np.int16)], {}, rate // 2
    for segment in plan.segments:
        chunks.clear()
        text = segment.spoken.encode("utf-8")
        library.espeak_Synth(text, len(text) + 1, 0, 0, 0, 1, None, None)
        library.espeak_Synchronize()
        clip = np.concatenate(chunks)
        loud = np.flatnonzero(np.abs(clip) > 300)
        clip = clip[loud[0] : loud[-1] + 1]
        starts[segment.index] = at / rate
        pieces += [clip, np.zeros(rate * 7 // 10, dtype=np.int16)]
        at += len(clip) + rate * 7 // 10
    samples = np.concatenate(pieces).astype(np.float32) / 32768
    resampled = np.interp(
        np.arange(round(len(samples) * RATE / rate)) * rate / RATE, np.arange(len(samples)), samples
    ).astype(np.float32)
    write(resampled, path)
    truth.write_text(json.dumps({"starts": starts}), encoding="utf-8")
    return Reading(path, starts, {}, [])


def _load(truth: Path) -> dict:
    starts = json.loads(truth.read_text(encoding="utf-8"))["starts"]
    return {"starts": {int(i): start for i, start in starts.items()}}


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(
        prog="align_media.py",
        description=" ".join((__doc__ or "").split()),
        epilog="Then: voicer align SCRIPT FOLDER/NAME.wav (the truth is in FOLDER/NAME.json)",
    )
    parser.add_argument("script", type=Path, help="the script to read")
    parser.add_argument("folder", type=Path, help="where the recording and its truth go")
    parser.add_argument("--name", default="reading", help="the recording's name (no suffix)")
    parser.add_argument("--voice", default="zf_xiaobei", help="kokoro's voice for the reading")
    parser.add_argument("--rate", default="+0%", help="speaking rate, as render's --rate")
    parser.add_argument("--snr", type=float, help="white noise this many dB below the speech")
    parser.add_argument("--bed", type=float, help="a chord bed this many dB against the speech")
    parser.add_argument("--music-before", type=float, default=0.0, help="seconds of bed first")
    args = parser.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    made = kokoro_reading(args.script, args.folder, f"{args.name}-clean", args.voice, args.rate)
    path = args.folder / f"{args.name}.wav"
    made = treated(made, path, args.snr, args.bed, args.music_before)
    print(f"{made.path}: {len(made.starts)} sentences")


if __name__ == "__main__":
    main()
