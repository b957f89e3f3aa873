"""What a finished render says about itself: the lines ``voicer render`` prints, which the
studio's export shows too; and the readings ``voicer check --readings`` prints."""

from __future__ import annotations

import json
from dataclasses import asdict

from voicer import pipeline
from voicer.subtitles.profiles import reading_speed


def report_lines(result: pipeline.RenderResult) -> list[str]:
    """The reading speed, the loudness, what was written, and the summary line."""
    speeds = [reading_speed(cue, result.sample_rate) for cue in result.cues]
    lines = [
        f"reading speed {sum(speeds) / len(speeds):.1f} characters/s on average, "
        f"{max(speeds):.1f} at most (limit {result.profile.max_cps:g}); "
        f"{pipeline.counted(len(result.violations), 'subtitle rule violation')}"
    ]
    if result.loudness is not None:
        measured = result.loudness
        lines.append(
            f"loudness {measured.integrated:.1f} LUFS, range {measured.loudness_range:.1f} LU, "
            f"true peak {measured.true_peak:.1f} dBTP"
        )
    written = _listing([str(path) for path in result.outputs.all()])
    cues = pipeline.counted(len(result.cues), "cue")
    lines.append(f"wrote {written} ({cues}) with {result.engine} {result.voice}")
    lines.append(summary(result))
    return lines


def summary(result: pipeline.RenderResult) -> str:
    """The closing line of a render: how much audio, how fast, and from where."""
    return (
        f"{clock(result.duration)} of audio in {result.total_seconds:.1f} s "
        f"(real-time factor {result.real_time_factor:.2f}); "
        f"{pipeline.counted(result.sentences, 'sentence')}, {result.jobs} at a time: "
        f"{pipeline.counted(result.counts.synthesised, 'clip')} synthesised, "
        f"{result.counts.cached} from the cache, "
        f"{pipeline.counted(result.counts.retries, 'retry', 'retries')}"
    )


def _listing(names: list[str]) -> str:
    """The names joined as in a sentence.

    >>> _listing(["a"]), _listing(["a", "b"]), _listing(["a", "b", "c"])
    ('a', 'a and b', 'a, b and c')
    """
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def clock(seconds: float) -> str:
    """Minutes and seconds.

    >>> clock(75.25)
    '1:15.2'
    """
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}:{rest:04.1f}"


def progress_state(progress: pipeline.Progress) -> tuple[float, str]:
    """How far a render has got, 0 to 1, and in words: sentences, audio and time left, then
    the last step (mastering, or mastering and encoding) and its share."""
    audio = f"{clock(progress.audio_seconds)} of audio"
    if progress.mastering is None:
        share = progress.done / max(1, progress.total)
        left = progress.elapsed / max(1, progress.done) * (progress.total - progress.done)
        return (
            share,
            f"{progress.done}/{progress.total} sentences, {audio}, about {clock(left)} left",
        )
    return progress.mastering, f"{progress.step} {audio}, {progress.mastering:.0%}"


def readings_text(readings: list[pipeline.SentenceReading]) -> str:
    """Each sentence at ``LINE:COLUMN`` with its text, then, indented below the text, the
    text the offline engine reads and its pinyin: a sentence is three lines, and a grep for a
    syllable or a word finds its line (``grep -B2`` its sentence).

    >>> print(readings_text([pipeline.SentenceReading(3, 1, "好。", "好.", "hao3", ())]))
    3:1  好。
         spoken  好.
         pinyin  hao3
    """
    places = [f"{reading.line}:{reading.column}" for reading in readings]
    width = max(map(len, places), default=0)
    indent = " " * (width + 2)
    lines = []
    for place, reading in zip(places, readings, strict=True):
        lines += [
            f"{place:<{width}}  {reading.text}",
            f"{indent}spoken  {reading.spoken}",
            f"{indent}pinyin  {reading.pinyin or '(no Han characters)'}",
        ]
    return "\n".join(lines)


def readings_json(readings: list[pipeline.SentenceReading]) -> str:
    """The readings as a JSON list: each sentence's line, column, text, spoken text, pinyin
    (space-separated syllables) and its Han words (each word's text and pinyin, the same
    way)."""
    found = [
        {
            **asdict(reading),
            "words": [{"text": w.text, "pinyin": " ".join(w.pinyin)} for w in reading.words],
        }
        for reading in readings
    ]
    return json.dumps(found, ensure_ascii=False, indent=2)
