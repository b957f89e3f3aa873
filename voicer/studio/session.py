"""A render kept open for review: the engine stays loaded, every sentence's clip is kept, and
one sentence can be edited and spoken again while the rest of the programme stays as it was.

The studio's server calls a :class:`Studio` one request at a time; every step is the
pipeline's own (prepare, synthesise a sentence, assemble, cue, write), so an export is what
``voicer render`` with the same options writes.
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import io
import shutil
import threading
import wave
from pathlib import Path
from typing import Any

import numpy as np

from voicer import files, pipeline
from voicer.audio import loudness
from voicer.audio.assembly import Assembled
from voicer.audio.stream import Gained, materialize
from voicer.errors import InputError
from voicer.model import Clip, Cue, Segment
from voicer.script import reading
from voicer.subtitles import formats
from voicer.synthesis.engines import workers


class Studio:
    """A script, its plan and its clips, ready for re-takes (not thread-safe by itself: it
    serialises its calls with a lock)."""

    def __init__(
        self, source: Path, options: pipeline.RenderOptions, outputs: pipeline.Outputs
    ) -> None:
        self.source, self.options, self.outputs = source, options, outputs
        self.version = 0
        self._lock = threading.RLock()
        self._clips: dict[tuple[str, str | None, int | None], Clip] = {}
        self._history: dict[int, list[str]] = {}
        self._scratch = contextlib.ExitStack()
        self._backed_up = False
        pipeline.check_outputs(outputs, options)
        self.plan = pipeline.prepare(reading.read_script(source), options)
        self.speaker = pipeline.open_speaker(self.plan, options)
        self._speak_all()
        self._build()

    @property
    def folder(self) -> Path:
        """The script's folder: the studio reads and writes nothing outside it and the outputs."""
        return self.source.resolve().parent

    def state(self) -> dict[str, Any]:
        """The script as the page shows it: each sentence with its text, spoken form, times,
        clip hash and cues."""
        with self._lock:
            rate = self.programme.sample_rate
            return {
                "source": str(self.source),
                "version": self.version,
                "duration": self.programme.duration,
                "engine": self.plan.choice.engine.name,
                "voice": self.plan.choice.voice,
                "sentences": [
                    self._sentence(index, segment, rate)
                    for index, segment in enumerate(self.plan.segments)
                ],
            }

    def preview_wav(self) -> bytes:
        """The whole programme, levelled, as a 16-bit WAV at the engine's rate."""
        with self._lock:
            programme = self.assembled.programme
            spans = [(p.speech_start, p.speech_end) for p in programme.placements]
            knots = loudness.level_knots(self.assembled.levels, spans, self.assembled.meter)
            samples = materialize(Gained(programme.signal, *knots))
            pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
            buffer = io.BytesIO()
            with wave.open(buffer, "wb") as file:
                file.setnchannels(1)
                file.setsampwidth(2)
                file.setframerate(programme.sample_rate)
                file.writeframes(pcm.tobytes())
            return buffer.getvalue()

    def captions_vtt(self) -> str:
        """The cues as WebVTT, for the page's player."""
        with self._lock:
            return formats.format_text(self.cues, self.programme.sample_rate, ".vtt")

    def retake(self, index: int, text: str) -> dict[str, Any]:
        """Sentence ``index`` written as ``text`` in the script file (saved at once, the first
        edit of a session keeping a backup), spoken again, and the programme rebuilt."""
        with self._lock:
            previous = self._drafted(index).shown
            self._edit(index, text)
            self._history.setdefault(index, []).append(previous)
            return self.state()

    def undo(self, index: int) -> dict[str, Any]:
        """Sentence ``index`` back to the text it had before its last re-take."""
        with self._lock:
            earlier = self._history.get(index)
            if not earlier:
                raise InputError(f"sentence {index + 1} has no edit to undo")
            self._edit(index, earlier[-1])
            earlier.pop()
            return self.state()

    def export(self) -> dict[str, Any]:
        """Write what ``voicer render`` with the same options writes."""
        with self._lock:
            pipeline.check_outputs(self.outputs, self.options)
            measured = pipeline.write(
                self.outputs, self.plan, self.assembled, self.cues, self.options
            )
            return {
                "written": [str(path) for path in self.outputs.all()],
                "duration": self.programme.duration,
                "cues": len(self.cues),
                "loudness": measured.integrated,
            }

    def close(self) -> None:
        """Let go of the scratch audio."""
        with self._lock:
            self._scratch.close()

    @property
    def programme(self) -> Any:
        return self.assembled.programme

    def _sentence(self, index: int, segment: Segment, rate: int) -> dict[str, Any]:
        placement = self.programme.placements[index]
        clip = self._clips[_key(segment)]
        return {
            "index": index,
            "shown": segment.shown,
            "spoken": segment.spoken,
            "line": segment.line,
            "column": segment.column,
            "start": placement.speech_start / rate,
            "end": placement.speech_end / rate,
            "hash": hashlib.sha1(clip.samples.tobytes()).hexdigest()[:16],
            "cues": [
                {"start": cue.start / rate, "end": cue.end / rate, "lines": list(cue.lines)}
                for cue in self.cues
                if cue.segment == index
            ],
            "undo": bool(self._history.get(index)),
            "findings": self._findings.get(index, []),
        }

    def _drafted(self, index: int) -> Segment:
        if not 0 <= index < len(self.plan.drafted):
            raise IndexError(index)
        return self.plan.drafted[index]

    def _edit(self, index: int, text: str) -> None:
        """Write ``text`` in place of sentence ``index`` in the file, then rebuild from it."""
        text = text.strip()
        if not text or "\n" in text:
            raise InputError(f"sentence {index + 1}: the new text must be one non-empty line")
        original = self.source.read_bytes()
        try:
            content = original.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"{self.source}: the studio edits UTF-8 scripts only") from None
        edited = _replaced(content, self._drafted(index), text)
        if not self._backed_up:
            shutil.copy2(self.source, self.source.with_name(self.source.name + ".bak"))
            self._backed_up = True
        files.write_atomically(self.source, edited)
        try:
            script = reading.read_script(self.source)
            self.plan = pipeline.prepare(script, self.options, self.plan.choice)
            self._build()
        except BaseException:
            files.write_atomically(self.source, content)  # the edit did not take: file as it was
            raise

    def _speak_all(self) -> None:
        """Every sentence spoken as a render speaks them (several at once); from then on the
        engine speaks one sentence at a time, the fastest way for a re-take (an engine in
        worker processes then runs in this process, with every core's thread)."""
        jobs = pipeline.jobs_for(self.plan, self.options)
        with pipeline.speaking(self.plan, self.speaker, jobs) as clips:
            for segment, clip in zip(self.plan.segments, clips, strict=True):
                self._clips[_key(segment)] = clip
        engine = self.plan.choice.engine
        if isinstance(engine, workers.Workers):
            engine.set_jobs(1)
        # the pool cancels its speaker's backoff as it closes: re-takes get a new speaker
        self.speaker = pipeline.open_speaker(self.plan, self.options)

    def _check(self) -> None:
        """What ``voicer check`` says, by sentence: each finding goes to the sentence it lies
        in (the last one starting at or before it)."""
        starts = [(segment.line, segment.column) for segment in self.plan.drafted]
        found: dict[int, list[dict[str, Any]]] = {}
        for finding in pipeline.script_findings(self.plan.script, self.options, self.plan.lexicon):
            index = max(0, bisect.bisect_right(starts, (finding.line, finding.column)) - 1)
            found.setdefault(index, []).append(
                {
                    "severity": finding.severity,
                    "kind": finding.kind,
                    "text": finding.text,
                    "message": finding.message,
                    "spoken": finding.spoken,
                }
            )
        self._findings = found

    def _build(self) -> None:
        """Clips for every sentence (the engine speaks only those not yet spoken), then the
        programme, its cues and the findings on the script."""
        clips = []
        for index, segment in enumerate(self.plan.segments):
            key = _key(segment)
            if key not in self._clips:
                self._clips[key] = pipeline.synthesise_sentence(self.speaker, self.plan, index)
            clips.append(self._clips[key])
        scratch = contextlib.ExitStack()
        assembled: Assembled = pipeline.assemble(self.plan, clips, self.options, scratch)
        self.cues: list[Cue] = pipeline.cue(self.plan, assembled.programme)
        self._scratch.close()
        self._scratch, self.assembled = scratch, assembled
        self._check()
        self.version += 1


def _key(segment: Segment) -> tuple[str, str | None, int | None]:
    """What a sentence's clip depends on."""
    return segment.spoken, segment.voice, segment.rate


def _replaced(content: str, segment: Segment, text: str) -> str:
    """``content`` with ``segment``'s text, where it starts at its line and column, replaced
    by ``text``; an InputError when the file does not hold it there as drafted (markup or
    placeholders inside it)."""
    lines = content.split("\n")
    line = lines[segment.line - 1] if 0 < segment.line <= len(lines) else ""
    start = segment.column - 1
    if not line[start:].startswith(segment.shown):
        raise InputError(
            f"line {segment.line}: this sentence is not written in the file as shown "
            "(markup or placeholders in it): edit it in the file"
        )
    lines[segment.line - 1] = line[:start] + text + line[start + len(segment.shown) :]
    return "\n".join(lines)
