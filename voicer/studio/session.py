"""A render kept open for review: the engine stays loaded, every sentence's clip is kept, and
one sentence can be edited and spoken again while the rest of the programme stays as it was.

The studio's server calls a :class:`Studio` one request at a time; every step is the
pipeline's own (prepare, synthesise a sentence, assemble, cue, write), so an export is what
``voicer render`` with the same options writes.

A studio opened with ``background=True`` has read and checked its script but spoken nothing:
:meth:`Studio.start` speaks every sentence in a thread of its own while the page is served.
Until that first render is done, the state says which sentences have their clip, the
preview is the programme of the sentences ready so far (from the first: the render delivers
them in script order), and edits and exports are refused with :class:`Rendering`.
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import struct
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from voicer import files, pipeline, reporting
from voicer.audio.assembly import Assembled, Measures
from voicer.audio.stream import BLOCK
from voicer.errors import InputError, VoicerError
from voicer.model import Clip, Cue, Override, Programme, Prosody, Segment, Voice
from voicer.script import reading
from voicer.studio import edits, history
from voicer.studio.views import (
    DraftState,
    DraftView,
    ExportView,
    FindingView,
    SentenceView,
    StateView,
    VoiceView,
)
from voicer.subtitles import formats
from voicer.synthesis import cancel
from voicer.synthesis.engines import workers

Key = tuple[str, str | None, int | None, tuple[Override, ...]]  # spoken, voice, rate, readings


CLOSING_SECONDS = 1.0  # how long closing waits for the sentence the first render is speaking
# While the first render runs, the state shows the times of the sentences ready at most this
# long ago (the programme so far is joined again for it no more often); the preview is current.
STATE_TIMES_SECONDS = 2.0


class Rendering(VoicerError):
    """What needs every sentence's clip, asked for before the first render has made them."""


class Studio:
    """A script, its plan and its clips, ready for re-takes.

    Three threads call on it: the server's (a request's call at a time), the first render's
    and the drafts'. Two locks keep them apart:

    - :attr:`lock` guards the session: the plan, the clips, the drafts by sentence, the
      programme and its cues, the findings, the edit history, the files it writes and what it
      last read of them. Every public method holds it, and the server holds it around each
      request's call, so that finding the sentence and acting on it is one step. The first
      render takes it to keep each clip and to build the programme. The draft thread never
      takes it: a re-take holds it while it waits for a draft's clip. Only
      :attr:`export_progress` is read without it, to report an export that holds it.
    - ``_engine`` guards the engine: it speaks one sentence at a time, for a re-take or a
      draft (the first render speaks through its own pool before either may run).
    """

    def __init__(
        self,
        source: Path,
        options: pipeline.RenderOptions,
        outputs: pipeline.Outputs,
        *,
        background: bool = False,
    ) -> None:
        """The script read and checked (an InputError for bad input), then, unless
        ``background``, every sentence spoken; with it, :meth:`start` speaks them."""
        self.source, self.options, self.outputs = source, options, outputs
        self.version = 0
        self.export_progress: tuple[float, str] | None = None  # while an export runs
        self.lock = threading.RLock()  # see the class's docstring, for both
        self._engine = threading.Lock()
        self._clips: dict[Key, Clip] = {}
        self._hashes: dict[Key, str] = {}  # of each clip's samples, for the page
        self._drafts: dict[int, Draft] = {}  # each sentence's newest text spoken ahead
        self._drafting = ThreadPoolExecutor(1, thread_name_prefix="voicer-draft")
        # the preview of each programme built, made while the page is told of the change
        self._previewing = ThreadPoolExecutor(1, thread_name_prefix="voicer-preview")
        self._preview: Future[bytes] | None = None
        self._measures = Measures()  # each clip's speech bounds and loudness, measured once
        self.history = history.History(source)
        self._scratch = contextlib.ExitStack()
        self._backed_up: set[Path] = set()
        self.targets = pipeline.check_outputs(outputs, options, str(source))
        self.plan = pipeline.prepare(reading.read_script(source), self._plan_options())
        self._seen = self._snapshot()  # what the files held when the studio last read or wrote them
        self.speaker = pipeline.open_speaker(self.plan, options)
        self._findings: dict[int, list[FindingView]] | None = None
        self._ready = 0  # sentences of the first render with their clip, from the first
        self._render_error: str | None = None
        self._failure: Exception | None = None
        self._rendered = threading.Event()
        self._stopping = threading.Event()
        self._partial: _Partial | None = None
        self._renderer: threading.Thread | None = None
        if not background:
            self._first_render()
            if self._failure is not None:
                raise self._failure

    @property
    def rendering(self) -> bool:
        """The first render is still running (or failed)."""
        return not hasattr(self, "assembled")

    def start(self, on_failure: Callable[[str], None] | None = None) -> None:
        """The first render, in a thread of its own; ``on_failure(message)`` if it fails."""

        def run() -> None:
            self._first_render()
            if self._render_error is not None and on_failure is not None:
                on_failure(self._render_error)

        self._renderer = threading.Thread(target=run, name="voicer-render", daemon=True)
        self._renderer.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the first render to end (done or failed); whether it has."""
        return self._rendered.wait(timeout)

    @property
    def folder(self) -> Path:
        """The script's folder: the studio reads and writes nothing outside it and the outputs."""
        return self.source.resolve().parent

    @property
    def lexicon(self) -> Path | None:
        """The lexicon file readings are saved to (it may not exist yet)."""
        return self.options.lexicon

    def state(self) -> StateView:
        """The script as the page shows it: each sentence with its text, spoken form, pinyin
        as the offline engine reads it (and its words), times, clip hash, cues, voice, rate,
        pause and findings; the voices the engine offers."""
        with self.lock:
            if not self.rendering:
                with contextlib.suppress(VoicerError):  # the files as they are, if readable
                    self._follow_outside_changes()
            view = self._view(STATE_TIMES_SECONDS)
            rate = view[0].programme.sample_rate if view else 1
            content = self._shown_script()
            words: Mapping[str, str] = self.plan.lexicon or {}
            engine = self.plan.choice.engine
            return {
                "source": str(self.source),
                "version": self.version,
                "rendering": self.rendering,
                "ready": len(self.plan.segments) if not self.rendering else self._ready,
                "render_error": self._render_error,
                "duration": view[0].programme.duration if view else 0.0,
                "engine": engine.name,
                "voice": self.plan.choice.voice,
                "lexicon": None if self.lexicon is None else str(self.lexicon),
                "voices": [
                    VoiceView(name=v.name, gender=v.gender, description=v.description)
                    for v in self._voices()
                ],
                "limits": edits.limits(),
                "sentences": [
                    self._sentence(index, segment, rate, content, words, view)
                    for index, segment in enumerate(self.plan.segments)
                ],
            }

    def preview_wav(self) -> bytes:
        """The whole programme, levelled, as a 16-bit WAV at the engine's rate (while the
        first render runs: the sentences ready so far)."""
        with self.lock:
            if self.rendering or self._preview is None:
                return _wav_of(self._shown()[0])
            return self._preview.result()

    def captions_vtt(self) -> str:
        """The cues as WebVTT, for the page's player (of the preview :meth:`preview_wav` gives)."""
        with self.lock:
            assembled, cues = self._shown()
            return formats.format_text(cues, assembled.programme.sample_rate, ".vtt")

    def retake(
        self,
        index: int,
        text: str | None = None,
        settings: Mapping[str, edits.Setting] | None = None,
    ) -> StateView:
        """Sentence ``index`` changed in the script file (saved at once, the first change of a
        session keeping a backup) and spoken again, and the programme rebuilt. ``text``: its
        new text; ``settings``: its own ``voice``, ``rate`` (percent) and ``pause`` after it
        (ms), None for what the script says without it."""
        with self.lock:
            self._refuse_while_rendering()
            change: dict[str, edits.Setting] = dict(settings or {})
            unknown = set(change) - {*edits.BEFORE, "pause"}
            if unknown:
                raise InputError(f"unknown setting {', '.join(sorted(unknown))}")
            if change.get("voice") is not None:
                self._check_voice(change["voice"])
            if text is not None:
                self._check_markdown(index, text)
                change["text"] = text
            if not change:
                raise InputError(f"sentence {index + 1}: nothing to change")
            self._refuse_after_outside_changes()
            content = self._script_text()
            edited = self._changed_script(index, content, change)
            begins = edits.start_after(content, self._place(index), change)
            self._save(index, self.source, content, edited, begins)
            return self.state()

    def set_reading(self, index: int, written: str, spoken: str) -> StateView:
        """``written``, which sentence ``index`` holds, said as ``spoken`` wherever it occurs:
        an entry of the lexicon file (an empty ``spoken`` removes it), saved at once; every
        sentence it changes is spoken again."""
        with self.lock:
            self._refuse_while_rendering()
            path = self._lexicon_file()
            self._refuse_after_outside_changes()
            written = written.strip()
            if not written or written not in self.plan.segments[self._known(index)].shown:
                raise InputError(f"sentence {index + 1} does not contain “{written}”")
            content = self._lexicon_text(path)
            self._save(index, path, content, edits.with_reading(content, written, spoken))
            return self.state()

    def set_pinyin(self, index: int, word: str, pinyin: str) -> StateView:
        """``word`` (Han characters), which sentence ``index`` holds, said with ``pinyin`` (one
        syllable per character) wherever it occurs: a lexicon entry ``word<TAB>pinyin`` saved
        as :meth:`set_reading` saves one (an empty ``pinyin`` removes it); an InputError for
        pinyin that is not one syllable per character."""
        return self.set_reading(index, word, edits.pinyin_reading(word, pinyin))

    def undo(self, index: int) -> StateView:
        """The last change made for sentence ``index`` undone (its text, settings or a
        reading), all of it: a re-take that made several sentences of one is undone on any
        of them. An InputError when the file no longer holds what the change wrote there."""
        with self.lock:
            self._refuse_while_rendering()
            self._refuse_after_outside_changes()
            change = self.history.last_for(self._offset(self._script_text(), index))
            if change is None:
                raise InputError(f"sentence {index + 1} has no edit to undo")
            try:
                earlier = change.undone(self._text_of(change.path))
            except InputError as exc:
                context = f"sentence {index + 1}: its last change cannot be undone"
                raise exc.within(context) from None
            self._rewrite({change.path: earlier})
            self.history.forget(change)
            return self.state()

    def draft(self, index: int, text: str, version: int | None = None) -> Draft | None:
        """Start speaking ``text`` as sentence ``index`` would say it, in the background, so a
        re-take with that text finds its clip ready (the page sends what is being typed); the
        sentence's earlier draft is stopped. None when nothing is spoken ahead: while the first
        render runs, for a text a re-take would refuse, or when ``version`` (the state the
        page was drawn from) is no longer the studio's."""
        with self.lock:
            segment = self.plan.segments[self._known(index)]
            if self.rendering or version not in (None, self.version):
                return None
            try:
                shown = edits.shown_of(edits.new_text(text, segment.line))
            except InputError:
                return None
            drafted = pipeline.respoken(self.plan, segment, shown)
            if not drafted.spoken.strip():
                return None
            key = _key(drafted)
            earlier = self._drafts.get(index)
            if earlier is not None and earlier.key == key and earlier.usable():
                return earlier
            if earlier is not None:
                earlier.halt()
            draft = Draft(key, text.strip())
            if key in self._clips:
                draft.future.set_result(self._clips[key])
            else:
                draft.future = self._drafting.submit(self._speak_ahead, drafted, draft.stop)
            self._drafts[index] = draft
            return draft

    def export(self, report: Callable[[float, str], None] | None = None) -> ExportView:
        """Write what ``voicer render`` with the same options writes; the lines it prints.
        ``report(share, words)`` hears how far the export has got."""
        with self.lock, contextlib.ExitStack() as scratch:
            self._refuse_while_rendering()
            began = time.perf_counter()
            targets = self.targets.with_font(self.plan, scratch)
            step = "mastering" if targets.picture is None else "mastering and encoding"
            programme = self.programme

            def progress(share: float) -> None:
                done = len(self.plan.segments)
                state = pipeline.Progress(done, done, programme.duration, 0.0, share, step)
                self.export_progress = reporting.progress_state(state)
                if report is not None:
                    report(*self.export_progress)

            try:
                delivered = pipeline.finish(
                    targets, self.plan, self.assembled, self.cues, self.options, progress
                )
                progress(1.0)
            finally:
                self.export_progress = None
            counts = self.speaker.counts()
            result = pipeline.RenderResult.of(self.plan, self.outputs, delivered, counts, began)
            return {
                "written": [str(path) for path in self.outputs.all()],
                "duration": programme.duration,
                "cues": len(self.cues),
                "loudness": delivered.loudness.integrated,
                "report": reporting.report_lines(result),
                "warnings": [violation.message for violation in result.violations],
            }

    def close(self) -> None:
        """Stop the first render if it still runs; let go of the scratch audio and the drafts."""
        self._stopping.set()
        if self._renderer is not None:
            self._renderer.join(timeout=CLOSING_SECONDS)  # a daemon: it ends with the process
        with self.lock:
            for draft in self._drafts.values():
                draft.halt()
        self._drafting.shutdown(wait=True, cancel_futures=True)  # the drafts take no lock
        self._previewing.shutdown(wait=True)
        with self.lock:
            self._scratch.close()
            self._drop_partial()

    @property
    def programme(self) -> Programme:
        return self.assembled.programme

    def _sentence(
        self,
        index: int,
        segment: Segment,
        rate: int,
        content: str,
        words: Mapping[str, str],
        view: tuple[Assembled, list[Cue]] | None,
    ) -> SentenceView:
        ready = not self.rendering or index < self._ready
        hashed = self._hash_of(_key(segment)) if ready else None
        own, editable = _own_settings(content, _place_of(segment))
        start, end = _speech_times(index, rate, view)
        spacing = pipeline.spacing_of(self.options)
        said = pipeline.segment_reading(segment, self.plan.language)
        return {
            "index": index,
            "shown": segment.shown,
            "spoken": segment.spoken,
            "pinyin": said.pinyin,
            "words": [{"text": w.text, "pinyin": " ".join(w.pinyin)} for w in said.words],
            "line": segment.line,
            "column": segment.column,
            "ready": ready,
            "start": start,
            "end": end,
            "hash": hashed,
            "cues": [
                {"start": cue.start / rate, "end": cue.end / rate, "lines": list(cue.lines)}
                for cue in (view[1] if view else ())
                if cue.segment == index
            ],
            "voice": segment.voice or self.plan.choice.voice,
            "voice_set": "voice" in own,
            "rate": self.plan.prosody.rate if segment.rate is None else segment.rate,
            "rate_set": "rate" in own,
            "pause": spacing.after(segment, last=False),
            "pause_set": "pause" in own,
            "editable": editable,
            "readings": [
                {"written": written, "spoken": spoken}
                for written, spoken in words.items()
                if written in segment.shown
            ],
            "undo": self._undoable(index, content),
            "findings": self._found().get(index, []),
            "draft": self._drafts[index].describe() if index in self._drafts else None,
        }

    def _hash_of(self, key: Key) -> str:
        """A short hash of the clip's samples (a key's clip never changes, so it is kept)."""
        if key not in self._hashes:
            samples = self._clips[key].samples
            self._hashes[key] = hashlib.sha1(samples.tobytes()).hexdigest()[:16]
        return self._hashes[key]

    def _known(self, index: int) -> int:
        if not 0 <= index < len(self.plan.segments):
            raise IndexError(index)
        return index

    def _place(self, index: int) -> edits.Place:
        return _place_of(self.plan.segments[self._known(index)])

    def _plan_options(self) -> pipeline.RenderOptions:
        """The options, but for a lexicon file the studio has yet to write."""
        if self.lexicon is not None and not self.lexicon.exists():
            return replace(self.options, lexicon=None)
        return self.options

    def _script_text(self) -> str:
        try:
            return files.read_input(self.source, "text file").decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"{self.source}: the studio edits UTF-8 scripts only") from None

    def _shown_script(self) -> str:
        """The script's text for the page: nothing (so nothing is editable) while it cannot
        be read."""
        try:
            return files.read_input(self.source, "text file").decode("utf-8", errors="replace")
        except InputError:
            return ""

    def _snapshot(self) -> dict[Path, bytes | None]:
        paths = [self.source] if self.lexicon is None else [self.source, self.lexicon]
        return {path: _bytes_of(path) for path in paths}

    def _refuse_after_outside_changes(self) -> None:
        """An edit or undo is refused when the files changed since the page was shown: a
        sentence's place, or what an undo puts back, may not be what the page showed."""
        changed = self._follow_outside_changes()
        if changed:
            names = " and ".join(path.name for path in changed)
            raise InputError(
                f"{names} changed outside the studio: it has been read again; check the "
                "sentence and try again"
            )

    def _follow_outside_changes(self) -> list[Path]:
        """The files another program changed since the studio last read or wrote them, read
        again: the plan, and the changes to undo moved along (or, where it wrote, dropped)."""
        now = self._snapshot()
        changed = [path for path, data in now.items() if data != self._seen[path]]
        if not changed:
            return []
        plan = self.plan
        try:
            script = reading.read_script(self.source)
            self.plan = pipeline.prepare(script, self._plan_options(), plan.choice)
            self._build()
        except BaseException:
            self.plan = plan
            raise
        for path in changed:
            self.history.outside(path, _text(self._seen[path]), _text(now[path]))
        self._seen = now
        return changed

    def _lexicon_file(self) -> Path:
        path = self.lexicon
        if path is None:
            raise InputError("start the studio with --lexicon FILE to save readings")
        if path.suffix.lower() == ".toml":
            raise InputError(f"{path}: the studio saves readings to a TSV lexicon, not TOML")
        return path

    def _changed_script(self, index: int, content: str, change: Mapping[str, edits.Setting]) -> str:
        """``content`` with ``change`` made to sentence ``index``. The sentence after it keeps
        the voice and rate it has now: markup for them is written before it where needed."""
        following = self._following(index)
        for keyword in (k for k in edits.BEFORE if k in change):
            if following is not None:
                value = getattr(following, keyword)
                shown = "default" if value is None else _setting_text(keyword, value)
                place = _place_of(following)
                content = edits.with_setting_before(content, place, keyword, shown)
        return edits.changed(content, self._place(index), change)

    def _save(
        self, index: int, path: Path, content: str, edited: str, begins: int | None = None
    ) -> None:
        """``edited`` written to ``path`` (which holds ``content``), kept for sentence
        ``index`` to undo; in the script, it must begin at offset ``begins`` then."""
        sentence = self._offset(self._script_text(), index)
        self._rewrite({path: edited}, begins)
        self.history.record(history.Edit.between(path, content, edited), sentence, begins)

    def _offset(self, script: str, index: int) -> int:
        """Where sentence ``index`` starts in the script's text ``script``."""
        return edits.offset_of(script, self._place(index))

    def _undoable(self, index: int, script: str) -> bool:
        try:
            change = self.history.last_for(self._offset(script, index))
            if change is None:
                return False
            return change.intact(
                script if change.path == self.source else self._text_of(change.path)
            )
        except InputError:  # the sentence is not where it was, or the lexicon cannot be read
            return False

    def _text_of(self, path: Path) -> str:
        return self._script_text() if path == self.source else self._lexicon_text(path)

    def _voices(self) -> list[Voice]:
        """The engine's voices for the script's language."""
        return [
            voice
            for voice in self.plan.choice.engine.voices()
            if voice.language in ("und", "") or voice.language.startswith(self.plan.language)
        ]

    def _check_begins_sentence(self, script: str, at: int) -> None:
        """A re-take's text must begin a sentence of the plan (of ``script``): text that
        begins with closing punctuation (”, ], ）) would join the sentence before it."""
        line = edits.line_of(script, at)
        for segment in (s for s in self.plan.segments if s.line == line):
            with contextlib.suppress(InputError):
                if edits.offset_of(script, _place_of(segment)) == at:
                    return
        raise InputError(
            f"line {line}: the new text would join the sentence before it: begin it with "
            "what can begin a sentence"
        )

    def _check_markdown(self, index: int, text: str) -> None:
        """A re-take's text in a Markdown script must read as it is written."""
        if self.source.suffix.lower() in reading.MARKDOWN_SUFFIXES:
            line = self.plan.segments[self._known(index)].line
            edits.check_plain_markdown(edits.new_text(text, line), line)

    def _check_voice(self, voice: edits.Setting) -> None:
        names = [v.name for v in self._voices()]
        if voice not in names:
            engine = self.plan.choice.engine.name
            raise InputError(f"voice: the {engine} engine has no such voice: pick one it offers")

    def _following(self, index: int) -> Segment | None:
        return self.plan.segments[index + 1] if index + 1 < len(self.plan.segments) else None

    @staticmethod
    def _lexicon_text(path: Path) -> str:
        """The lexicon's text, a byte-order mark included (so an undo puts back its bytes)."""
        data = _bytes_of(path)
        try:
            return "" if data is None else data.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"{path}: the studio saves readings to UTF-8 lexicons only") from None

    def _rewrite(self, changes: Mapping[Path, str], begins: int | None = None) -> None:
        """Write the files (the first write of each keeping a backup beside it), then rebuild
        from them; if that fails, the files go back to what they were. A file is edited where
        the user's link to it leads, keeping its mode."""
        earlier = {path: _bytes_of(path) for path in changes}
        for path, content in changes.items():
            if path not in self._backed_up and path.exists():
                # a new file in place of the .bak path: a link planted there is replaced
                files.write_atomically(path.with_name(path.name + ".bak"), path.read_bytes())
            self._backed_up.add(path)
            files.edit_in_place(path, content)
            self._seen[path] = content.encode("utf-8")
        plan = self.plan
        try:
            script = reading.read_script(self.source)
            self.plan = pipeline.prepare(script, self._plan_options(), plan.choice)
            if begins is not None:
                self._check_begins_sentence(changes[self.source], begins)
            self._build()
        except BaseException:
            self.plan = plan  # the change did not take: the plan and files as they were
            for path, before in earlier.items():
                if before is None:
                    path.resolve().unlink(missing_ok=True)  # what the write made, not a link
                else:
                    files.edit_in_place(path, before)
                self._seen[path] = before
            raise

    def _first_render(self) -> None:
        """Every sentence spoken, then the programme built; a failure is kept, in one line,
        for the state to show (the studio cannot be edited or exported then)."""
        try:
            if self._speak_all():
                with self.lock:
                    self._build()
        except VoicerError as exc:
            self._render_error, self._failure = str(exc), exc
        except Exception as exc:  # a bug: the terminal says what, the page that it failed
            self._render_error, self._failure = f"internal error: {exc!r}", exc
        finally:
            self._rendered.set()

    def _speak_all(self) -> bool:
        """Every sentence spoken as a render speaks them (several at once), each clip kept
        as it comes; from then on the engine speaks one sentence at a time, the fastest way
        for a re-take (an engine in worker processes then runs in this process, with every
        core's thread, loaded now). False when :meth:`close` stopped it first."""
        jobs = pipeline.jobs_for(self.plan, self.options, self.speaker)
        with pipeline.speaking(self.plan, self.speaker, jobs) as clips:
            for segment, clip in zip(self.plan.segments, clips, strict=True):
                if self._stopping.is_set():
                    return False
                with self.lock:
                    self._clips[_key(segment)] = clip
                    self._ready += 1
        engine = self.plan.choice.engine
        if isinstance(engine, workers.Workers):
            engine.set_jobs(1)
            # a first word spoken here loads the model and its text front end in this process
            engine.synthesise(self.plan.segments[0].spoken[:2], self.plan.choice.voice, Prosody())
        # the pool cancels its speaker's backoff as it closes: re-takes get a new speaker
        self.speaker = pipeline.open_speaker(self.plan, self.options)
        return True

    def _refuse_while_rendering(self) -> None:
        if self._render_error is not None:
            raise Rendering(
                f"the first render failed: {self._render_error}; stop the studio (Ctrl-C) "
                "and start it again"
            )
        if self.rendering:
            raise Rendering(
                f"the first render is still running ({self._ready} of "
                f"{len(self.plan.segments)} sentences ready): try again when it is done"
            )

    def _view(self, stale: float = 0.0) -> tuple[Assembled, list[Cue]] | None:
        """The programme and cues the page is shown: the whole programme once the first
        render is done, until then that of the sentences ready so far (None: none is), or
        of those ready at most ``stale`` seconds ago."""
        if not self.rendering:
            return self.assembled, self.cues
        ready, partial = self._ready, self._partial
        if ready == 0:
            return None
        if partial is None or (partial.ready != ready and partial.age() >= stale):
            self._drop_partial()
            plan = replace(self.plan, segments=self.plan.segments[:ready])
            clips = [self._clips[_key(segment)] for segment in plan.segments]
            scratch = contextlib.ExitStack()
            assembled = pipeline.assemble(plan, clips, self.options, scratch)
            cues = pipeline.cue(plan, assembled.programme)
            partial = self._partial = _Partial(ready, assembled, cues, scratch)
        return partial.assembled, partial.cues

    def _drop_partial(self) -> None:
        if self._partial is not None:
            self._partial.scratch.close()
            self._partial = None

    def _shown(self) -> tuple[Assembled, list[Cue]]:
        """:meth:`_view`, or Rendering while no sentence is ready."""
        view = self._view()
        if view is None:
            self._refuse_while_rendering()
            raise Rendering("no sentence is ready yet")
        return view

    def _speak(self, segment: Segment) -> Clip:
        with self._engine:
            cancel.check()  # a draft stopped while it waited for the engine
            return pipeline.synthesise_segment(self.speaker, self.plan, segment)

    def _speak_ahead(self, segment: Segment, stop: cancel.Stop) -> Clip:
        with cancel.stoppable(stop):
            return self._speak(segment)

    def _clips_for(self, segments: Sequence[Segment]) -> list[Clip]:
        """Each segment's clip: kept, spoken ahead, or spoken now. Every draft these do not
        use is stopped first, so the engine speaks none of them before the missing clips."""
        missing = {_key(segment) for segment in segments} - self._clips.keys()
        ahead = {d.key: d for d in self._drafts.values() if d.key in missing and d.usable()}
        for draft in self._drafts.values():
            if ahead.get(draft.key) is not draft:
                draft.halt()
        self._drafts = {}
        for segment in segments:
            key = _key(segment)
            if key not in self._clips:
                spoken = ahead.get(key)
                clip = spoken.clip() if spoken is not None else None
                self._clips[key] = clip or self._speak(segment)
        return [self._clips[_key(segment)] for segment in segments]

    def _check(self) -> None:
        """What ``voicer check`` says, by sentence: each finding goes to the sentence it lies
        in (the last one starting at or before it)."""
        starts = [(segment.line, segment.column) for segment in self.plan.segments]
        found: dict[int, list[FindingView]] = {}
        for finding in pipeline.script_findings(self.plan.script, self.options, self.plan.lexicon):
            index = max(0, bisect.bisect_right(starts, (finding.line, finding.column)) - 1)
            found.setdefault(index, []).append(
                FindingView(
                    severity=finding.severity,
                    kind=finding.kind,
                    text=finding.text,
                    message=finding.message,
                    spoken=finding.spoken,
                )
            )
        self._findings = found

    def _found(self) -> dict[int, list[FindingView]]:
        """The findings by sentence (found once the page first asks, while the render runs)."""
        if self._findings is None:
            self._check()
        assert self._findings is not None
        return self._findings

    def _build(self) -> None:
        """Clips for every sentence (the engine speaks only those not yet spoken), then the
        programme, its cues and the findings on the script."""
        clips = self._clips_for(self.plan.segments)
        scratch = contextlib.ExitStack()
        assembled: Assembled = pipeline.assemble(
            self.plan, clips, self.options, scratch, measures=self._measures
        )
        self.cues: list[Cue] = pipeline.cue(self.plan, assembled.programme)
        if self._preview is not None:
            with contextlib.suppress(Exception):  # it reads the scratch audio closed below
                self._preview.exception()
        self._scratch.close()
        self._scratch, self.assembled = scratch, assembled
        self._preview = self._previewing.submit(_wav_of, assembled)
        self._drop_partial()
        self._check()
        self.version += 1


@dataclass
class Draft:
    """A sentence's text (as typed) spoken ahead of its re-take, under a Stop of its own."""

    key: Key
    text: str
    stop: cancel.Stop = field(default_factory=cancel.Stop)
    future: Future[Clip] = field(default_factory=Future)

    def usable(self) -> bool:
        """Not stopped, and not failed (a failure is spoken again by the re-take)."""
        return self.state() in ("waiting", "speaking", "ready")

    def halt(self) -> None:
        """Stop it: not started, it never starts; under way, the engine is interrupted."""
        self.future.cancel()
        self.stop.stop()

    def clip(self) -> Clip | None:
        """Its clip, once spoken (None when it was stopped or failed)."""
        try:
            return self.future.result()
        except Exception:  # the re-take speaks the sentence itself, and says why if it fails
            return None

    def state(self) -> DraftState:
        """Where it has got: ``waiting`` for the engine, ``speaking``, ``ready``, ``stopped``
        or ``failed``."""
        future = self.future
        if future.cancelled() or (self.stop.stopped and not future.done()):
            return "stopped"
        if not future.done():
            return "speaking" if future.running() else "waiting"
        if isinstance(future.exception(), cancel.Stopped):
            return "stopped"
        return "ready" if future.exception() is None else "failed"

    def describe(self) -> DraftView:
        """What the page shows: the text, the state and, when it failed, why."""
        state = self.state()
        error = str(self.future.exception()) if state == "failed" else None
        return DraftView(text=self.text, state=state, error=error)


@dataclass
class _Partial:
    """The programme of the first ``ready`` sentences, joined while the first render runs."""

    ready: int
    assembled: Assembled
    cues: list[Cue]
    scratch: contextlib.ExitStack
    made: float = field(default_factory=time.monotonic)

    def age(self) -> float:
        return time.monotonic() - self.made


def _wav_of(assembled: Assembled) -> bytes:
    """The programme, levelled, as a 16-bit WAV at the engine's rate, made a block at a time
    straight into the file's bytes (no copy of the whole programme in float64 or in PCM)."""
    signal = assembled.levelled()
    rate, length = signal.sample_rate, signal.length
    header = b"".join(
        [
            b"RIFF" + struct.pack("<I", 36 + 2 * length) + b"WAVEfmt ",
            struct.pack("<IHHIIHH", 16, 1, 1, rate, 2 * rate, 2, 16),
            b"data" + struct.pack("<I", 2 * length),
        ]
    )
    wav = bytearray(len(header) + 2 * length)
    wav[: len(header)] = header
    pcm = np.frombuffer(wav, "<i2", offset=len(header))
    for start in range(0, length, BLOCK):
        block = np.clip(signal.read(start, min(start + BLOCK, length)), -1.0, 1.0) * 32767
        pcm[start : start + block.size] = block  # truncated toward zero, as astype does
    return bytes(wav)


def _bytes_of(path: Path) -> bytes | None:
    """What the file holds, None when there is none (a link to nothing included); a one-line
    InputError when it cannot be read (a folder now, say)."""
    if not path.exists():
        return None
    return files.read_input(path, "text file")


def _text(data: bytes | None) -> str:
    """A file's bytes as text, for following another program's change: a file no longer
    UTF-8 is refused on its next edit anyway."""
    return "" if data is None else data.decode("utf-8", errors="replace")


def _key(segment: Segment) -> Key:
    """What a sentence's clip depends on."""
    return segment.spoken, segment.voice, segment.rate, segment.pinyin


def _own_settings(content: str, place: edits.Place) -> tuple[Mapping[str, str], bool]:
    """The settings the script gives a sentence itself, and whether it can be edited (it
    cannot while its markup is not where the plan says)."""
    try:
        return edits.own_settings(content, place), True
    except InputError:
        return {}, False


def _speech_times(
    index: int, rate: int, view: tuple[Assembled, list[Cue]] | None
) -> tuple[float | None, float | None]:
    """Where sentence ``index``'s speech starts and ends in the programme shown, in seconds
    (None while it is not in it)."""
    placements = view[0].programme.placements if view else ()
    if index >= len(placements):
        return None, None
    return placements[index].speech_start / rate, placements[index].speech_end / rate


def _place_of(segment: Segment) -> edits.Place:
    return edits.Place(segment.line, segment.column, segment.shown)


def _setting_text(keyword: str, value: str | int) -> str:
    """A voice or rate in force, as its markup's argument."""
    return f"{value:+d}%" if keyword == "rate" and isinstance(value, int) else str(value)
