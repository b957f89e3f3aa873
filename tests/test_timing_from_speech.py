"""Issue 11: every sentence is one engine call, and cues are cut afterwards from its word marks.

- The audio does not depend on the subtitle profile: the same script rendered under three
  profiles gives the same WAV bytes (the engine really runs each time) and different SRTs.
- Renders follow their profile: ``voicer subtitles-check`` finds nothing in them (here the
  50-sentence examples/long-speech.txt spoken by the loopback edge service; the kokoro render
  of tests/test_sync.py is checked there).
- Cues are in sync inside sentences, checked on the decoded audio with a detector of the test's
  own: a cue that starts a sentence starts within 40 ms of its first sound; one that starts
  inside a sentence starts on a word of the timeline, and where kokoro pauses at clause
  punctuation the pause lies between the words around it (40 ms at both edges) and the cue
  after it starts within 40 ms of the sound after the pause.
- ``--timeline`` lists every sentence's words with their samples, for both engines.

The check functions are shared with tests/test_sync.py.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import srt
from speech_audio import (
    TimedSentence,
    Timeline,
    decode,
    first_sound,
    invoke_voicer,
    made_once,
    read_timeline,
    shared_temp,
    silences,
)

ROOT = Path(__file__).resolve().parent.parent
LONG_SPEECH = ROOT / "examples" / "long-speech.txt"
# four sentences, one long with commas and an enumeration comma so that it makes several cues
# (； would end a sentence)
SCRIPT = (
    "同志们：今天我们在这里召开会议。\n\n"
    "首先，我代表市委、市政府，向奋战在科研一线的同志们，致以诚挚的问候和衷心的感谢！\n\n"
    "创新之路没有捷径，只有一步一个脚印。\n\n"
    "谢谢大家。\n"
)
PROFILES = {
    "chars16": ("--max-chars", "16"),
    "chars8": ("--max-chars", "8"),
    "plain": ("--subtitle-style", "plain"),
}
TOLERANCE = 0.040  # seconds: sync, and a pause's edges against the words around it
# where a word's decay falls silent depends on the detector's threshold: voicer's (40 dB under
# the clip's peak) can hear a quiet final vowel stop up to this much before ours does
DECAY = 0.060
SAME_TIME = 0.001  # a cue start and a word start read from two files (SRT rounds to the ms)
CLAUSE_PUNCTUATION = "，；：、"
CLOSERS = "”’」』）)》〉】〕] "


# --- checks on a render's timeline, SRT and audio (also used by tests/test_sync.py) ----------


def srt_starts(path: Path) -> dict[int, float]:
    """Cue number -> start in seconds, as the SRT file says."""
    cues = srt.parse(path.read_text(encoding="utf-8"))
    return {cue.index: cue.start.total_seconds() for cue in cues}


def word_problems(timeline: Timeline) -> list[str]:
    """What is wrong with the timeline's words: every sentence has words, in order, not
    overlapping, inside the sentence's speech, their texts found in order in the spoken text;
    every cue starts on a word or on the sentence's speech."""
    rate = timeline.sample_rate
    problems = []
    for sentence in timeline.sentences:
        where = f"sentence {sentence.index} “{sentence.text[:14]}”"
        if not sentence.words:
            problems.append(f"{where}: no words ({sentence.words!r})")
            continue
        previous_end, previous = sentence.start_sample, "the speech start"
        for word in sentence.words:
            if not previous_end <= word.start_sample < word.end_sample:
                problems.append(
                    f"{where}: word “{word.text}” {word.start_sample}-{word.end_sample} starts "
                    f"before {previous} ends ({previous_end}) or is empty"
                )
            if word.end_sample > sentence.end_sample:
                late = (word.end_sample - sentence.end_sample) / rate
                problems.append(
                    f"{where}: word “{word.text}” ends {late * 1000:.1f} ms after the speech "
                    f"({word.end_sample} > {sentence.end_sample})"
                )
            for seconds, sample in ((word.start, word.start_sample), (word.end, word.end_sample)):
                if abs(seconds - sample / rate) > 1e-6:
                    problems.append(f"{where}: word “{word.text}” {seconds} s is not {sample}")
            previous_end, previous = max(previous_end, word.end_sample), f"“{word.text}”"
        missing = [
            w.text
            for w, at in zip(sentence.words, sentence.word_positions(), strict=True)
            if at < 0
        ]
        if missing:
            problems.append(f"{where}: words not found in order in “{sentence.spoken}”: {missing}")
        starts = {word.start_sample for word in sentence.words} | {sentence.start_sample}
        for cue in sentence.cues:
            if cue.start_sample not in starts:
                problems.append(f"{where}: cue {cue.index} starts at {cue.start_sample}, no word")
    return problems


@dataclass(frozen=True)
class CueStarts:
    """Cue starts against the timeline's words: the largest difference and what is wrong."""

    inner: int  # cues that start inside a sentence
    largest_error: float  # seconds, over every cue, against its sentence start or nearest word
    problems: list[str]


def cue_start_problems(timeline: Timeline, srt_path: Path) -> CueStarts:
    """Each SRT cue that starts a sentence starts on the sentence's speech, and every other on
    the start of a word of the timeline (within 1 ms), the first word of its text where the
    spoken text is the text as written."""
    starts = srt_starts(srt_path)
    problems, errors, inner = [], [0.0], 0
    for sentence in timeline.sentences:
        for number, cue in enumerate(sentence.cues):
            start = starts[cue.index]
            if number == 0:
                errors.append(abs(start - sentence.start))
                if errors[-1] > SAME_TIME:
                    problems.append(f"cue {cue.index}: {start} s, sentence at {sentence.start} s")
                continue
            inner += 1
            if not sentence.words:
                problems.append(f"cue {cue.index}: sentence {sentence.index} has no words")
                continue
            word = min(sentence.words, key=lambda w: abs(w.start - start))
            errors.append(abs(word.start - start))
            if errors[-1] > SAME_TIME:
                problems.append(
                    f"cue {cue.index} “{cue.text}”: {start:.3f} s, nearest word “{word.text}” "
                    f"at {word.start:.3f} s"
                )
            elif sentence.text == sentence.spoken:
                opening = cue.text.lstrip(CLAUSE_PUNCTUATION + CLOSERS + "“‘「『（(《")
                if not opening.startswith(word.text.strip()):
                    problems.append(f"cue {cue.index} “{cue.text}” starts on word “{word.text}”")
    return CueStarts(inner, max(errors), problems)


@dataclass(frozen=True)
class Boundary:
    """A clause punctuation mark between two words, and the pause heard there (if any)."""

    context: str
    before: int | None  # index of the word before it (None: no word before)
    after: int | None
    pause: tuple[float, float] | None = None


@dataclass(frozen=True)
class Pauses:
    """Pauses found by energy inside sentences, against the timeline's words and cues."""

    punctuation: int = 0  # clause punctuation marks between two words
    paused: int = 0  # ... where the audio pauses
    edge_errors: tuple[float, ...] = ()  # pause start - word end, pause end - next word start
    cue_errors: tuple[float, ...] = ()  # cue start - end of the pause before it
    elsewhere: int = 0  # pauses away from clause punctuation
    problems: tuple[str, ...] = ()

    def __add__(self, other: Pauses) -> Pauses:
        return Pauses(
            *(
                a + b
                for a, b in zip(
                    (self.punctuation, self.paused, self.edge_errors, self.cue_errors),
                    (other.punctuation, other.paused, other.edge_errors, other.cue_errors),
                    strict=True,
                )
            ),
            self.elsewhere + other.elsewhere,
            self.problems + other.problems,
        )

    def summary(self) -> str:
        def largest(values: tuple[float, ...]) -> str:
            return f"{max(map(abs, values)) * 1000:.0f} ms" if values else "-"

        return (
            f"{self.paused} of {self.punctuation} clause punctuation marks paused; "
            f"largest edge error {largest(self.edge_errors)}, "
            f"{len(self.cue_errors)} cues after a pause, largest error {largest(self.cue_errors)}; "
            f"{self.elsewhere} other pauses"
        )


def boundaries(sentence: TimedSentence, found: list[tuple[float, float]]) -> list[Boundary]:
    """Every clause punctuation mark of the spoken text, in order, with the words around it
    and the pause found there: the one nearest the gap between the two words' marks, among
    those that overlap the two words."""
    words = sentence.words or ()
    positions = sentence.word_positions()
    marks = []
    for at, char in enumerate(sentence.spoken):
        if char not in CLAUSE_PUNCTUATION:
            continue
        context = sentence.spoken[max(0, at - 6) : at + 6]
        before = max(
            (k for k, p in enumerate(positions) if p >= 0 and p + len(words[k].text) <= at),
            default=None,
        )
        after = next((k for k, p in enumerate(positions) if p > at), None)
        if before is None or after is None:
            marks.append(Boundary(context, before, after))
            continue
        first, second = words[before], words[after]
        middle = (first.end + second.start) / 2
        near = [p for p in found if p[1] > first.start and p[0] < second.end]
        pause = min(near, key=lambda p: abs((p[0] + p[1]) / 2 - middle), default=None)
        marks.append(Boundary(context, before, after, pause))
    return marks


def pause_check(samples: np.ndarray, timeline: Timeline, srt_path: Path) -> Pauses:
    """Pauses of at least 70 ms inside each sentence's speech, found by energy in the decoded
    audio: each one at clause punctuation has its edges within 40 ms of the end of the word
    before and the start of the word after; every other one lies between two words (cutting
    into neither by more than 40 ms); a cue that starts after clause punctuation where the
    audio pauses starts within 40 ms of the sound after the pause, and the cue before it
    stays on screen until that pause (25 ms for the detector's threshold)."""
    starts = srt_starts(srt_path)
    total = Pauses()
    for sentence in timeline.sentences:
        words = sentence.words or ()
        where = f"sentence {sentence.index}"
        found = silences(samples, sentence.start, sentence.end)
        marks = boundaries(sentence, found)
        edge_errors, cue_errors, problems = [], [], []
        between = [m for m in marks if m.before is not None and m.after is not None]
        paused = [m for m in between if m.pause is not None]
        for mark in paused:
            assert mark.pause is not None and mark.before is not None and mark.after is not None
            errors = (
                mark.pause[0] - words[mark.before].end,
                mark.pause[1] - words[mark.after].start,
            )
            edge_errors += errors
            if not -TOLERANCE <= errors[0] <= DECAY or abs(errors[1]) > TOLERANCE:
                problems.append(
                    f"{where} “{mark.context}”: pause {mark.pause[0]:.3f}-{mark.pause[1]:.3f} s, "
                    f"words end {words[mark.before].end:.3f} s and start "
                    f"{words[mark.after].start:.3f} s "
                    f"({errors[0] * 1000:+.0f} ms / {errors[1] * 1000:+.0f} ms)"
                )
        at_marks = {m.pause for m in paused}
        others = [p for p in found if p not in at_marks]
        for pause in others:
            before = max((k for k, w in enumerate(words) if w.start <= pause[0]), default=None)
            after = 0 if before is None else before + 1
            ends = words[before].end if before is not None else sentence.start
            following = words[after].start if after < len(words) else sentence.end
            if pause[0] < ends - TOLERANCE or pause[1] > following + TOLERANCE:
                problems.append(
                    f"{where}: pause {pause[0]:.3f}-{pause[1]:.3f} s (no clause punctuation) "
                    f"inside a word: words end {ends:.3f} s, next starts {following:.3f} s"
                )
        shown = [c for c in sentence.text if c in CLAUSE_PUNCTUATION]
        if shown == [c for c in sentence.spoken if c in CLAUSE_PUNCTUATION]:
            written = ""
            for previous, cue in zip(sentence.cues, sentence.cues[1:], strict=False):
                written += previous.text
                if not written.rstrip(CLOSERS).endswith(tuple(CLAUSE_PUNCTUATION)):
                    continue
                mark = marks[sum(c in CLAUSE_PUNCTUATION for c in written) - 1]
                if mark.pause is None:
                    continue
                start = starts[cue.index]
                cue_errors.append(start - mark.pause[1])
                if abs(cue_errors[-1]) > TOLERANCE:
                    problems.append(
                        f"cue {cue.index} “{cue.text}”: starts {start:.3f} s, the sound after the "
                        f"pause at “{mark.context}” at {mark.pause[1]:.3f} s "
                        f"({cue_errors[-1] * 1000:+.0f} ms)"
                    )
                if previous.end < mark.pause[0] - 0.025:
                    problems.append(
                        f"cue {previous.index}: ends {previous.end:.3f} s, before its speech "
                        f"stops at {mark.pause[0]:.3f} s"
                    )
        total += Pauses(
            len(between),
            len(paused),
            tuple(edge_errors),
            tuple(cue_errors),
            len(others),
            tuple(problems),
        )
    return total


def sentence_start_errors(samples: np.ndarray, timeline: Timeline, srt_path: Path) -> list[float]:
    """For each sentence: its first cue's start minus the first sound of its speech (found
    from 200 ms before the sentence's start, inside the pause before it)."""
    starts = srt_starts(srt_path)
    errors = []
    for sentence in timeline.sentences:
        sound = first_sound(samples, max(0.0, sentence.start - 0.2), sentence.end)
        assert sound is not None, sentence.text
        errors.append(starts[sentence.cues[0].index] - sound)
    return errors


# --- kokoro: one script under three subtitle profiles -----------------------------------------


@pytest.fixture(scope="module")
def kokoro_renders(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """The script rendered by kokoro under each profile (see CACHE): <name>.wav, .srt, .json
    (timeline) and .log (what it printed). Made once, by whichever worker gets there first."""

    def render(folder: Path) -> None:
        (folder / "speech.txt").write_text(SCRIPT, encoding="utf-8")
        for name, options in PROFILES.items():
            result = invoke_voicer(
                "render", "speech.txt", "--engine", "kokoro", *options,
                "-o", f"{name}.wav", "--timeline", f"{name}.json",
                cwd=folder, env={"VOICER_CACHE_DIR": str(folder / "cache")},
            )  # fmt: skip
            (folder / f"{name}.log").write_bytes(result.stderr + result.stdout)
            assert result.returncode == 0, result.stderr.decode()

    return made_once(shared_temp(tmp_path_factory, worker_id) / "kokoro-profiles", render)


@pytest.mark.slow
def test_audio_is_the_same_under_every_profile_and_the_subtitles_are_not(kokoro_renders):
    folder = kokoro_renders
    logs = {name: (folder / f"{name}.log").read_text(encoding="utf-8") for name in PROFILES}
    n = len(read_timeline(folder / "chars16.json").sentences)
    # the first render fills a fresh cache; the others ask the engine for exactly the same
    # sentences, so every clip comes from the cache (that the engine repeats itself to the bit
    # is tests/test_kokoro_workers.py's)
    assert f"{n} clips synthesised, 0 from the cache" in logs["chars16"]
    assert f"0 clips synthesised, {n} from the cache" in logs["chars8"]
    assert f"0 clips synthesised, {n} from the cache" in logs["plain"]
    audio = {name: (folder / f"{name}.wav").read_bytes() for name in PROFILES}
    assert audio["chars8"] == audio["chars16"]
    assert audio["plain"] == audio["chars16"]
    subtitles = {name: (folder / f"{name}.srt").read_text(encoding="utf-8") for name in PROFILES}
    assert len(set(subtitles.values())) == len(PROFILES)
    counts = {name: len(list(srt.parse(text))) for name, text in subtitles.items()}
    assert counts["chars8"] > counts["chars16"] > 4, counts  # the long sentence makes cues
    # the words are the audio's: the same in every timeline
    words = [
        [s.words for s in read_timeline(folder / f"{name}.json").sentences] for name in PROFILES
    ]
    assert words[1] == words[0] and words[2] == words[0]


@pytest.mark.slow
@pytest.mark.parametrize("name", PROFILES)
def test_each_render_follows_its_own_profile(kokoro_renders, name):
    result = invoke_voicer("subtitles-check", f"{name}.srt", *PROFILES[name], cwd=kokoro_renders)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert result.stdout.decode().strip() == f"{name}.srt: no violations"


@pytest.mark.slow
@pytest.mark.parametrize("name", PROFILES)
def test_kokoro_timeline_lists_every_word_with_its_samples(kokoro_renders, name):
    timeline = read_timeline(kokoro_renders / f"{name}.json")
    assert timeline.engine == "kokoro"
    assert word_problems(timeline) == []
    spoken = "".join(w.text for s in timeline.sentences for w in s.words or ())
    assert spoken == re.sub(r"[^\u4e00-\u9fff]", "", SCRIPT)  # every word, none twice


@pytest.mark.slow
@pytest.mark.parametrize("name", PROFILES)
def test_kokoro_cues_start_on_words_and_on_the_speech_after_pauses(kokoro_renders, name):
    folder = kokoro_renders
    timeline = read_timeline(folder / f"{name}.json")
    samples = decode(folder / f"{name}.wav")
    errors = sentence_start_errors(samples, timeline, folder / f"{name}.srt")
    assert max(map(abs, errors)) <= TOLERANCE, errors
    starts = cue_start_problems(timeline, folder / f"{name}.srt")
    assert starts.inner >= 1
    pauses = pause_check(samples, timeline, folder / f"{name}.srt")
    print(name, pauses.summary(), file=sys.stderr)
    assert pauses.paused >= 3, pauses.summary()  # the check has something to check
    assert not starts.problems, starts.problems
    assert not pauses.problems, (pauses.summary(), pauses.problems)


# --- edge: examples/long-speech.txt through the loopback service --------------------------------


@pytest.fixture(scope="module")
def edge_render(tmp_path_factory: pytest.TempPathFactory, worker_id: str, _edge_server_running):
    """examples/long-speech.txt spoken by the loopback edge service: e.mp3, e.srt, e.json."""
    server = _edge_server_running

    def render(folder: Path) -> None:
        server.reset()
        result = invoke_voicer(
            "render", str(LONG_SPEECH), "--engine", "edge", "--no-cache",
            "-o", "e.mp3", "--timeline", "e.json", cwd=folder,
            env={"VOICER_EDGE_URL": server.url, "VOICER_CACHE_DIR": str(folder / "cache")},
        )  # fmt: skip
        assert result.returncode == 0, result.stderr.decode()

    return made_once(shared_temp(tmp_path_factory, worker_id) / "edge-long-speech", render)


@pytest.mark.slow
def test_the_loopback_service_speaks_at_a_natural_pace(edge_render):
    """4.5 Han characters a second (0.18 s each, 0.08 s between two-character words), so the
    reading-speed rule meets a realistic pace."""
    timeline = read_timeline(edge_render / "e.json")
    han = sum(len(re.findall(r"[\u4e00-\u9fff]", s.spoken)) for s in timeline.sentences)
    speech = sum(s.end - s.start for s in timeline.sentences)
    assert 4.0 <= han / speech <= 5.0, han / speech
    assert len(timeline.sentences) == 50


@pytest.mark.slow
def test_edge_render_of_the_long_speech_breaks_no_subtitle_rule(edge_render):
    result = invoke_voicer("subtitles-check", "e.srt", cwd=edge_render)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert result.stdout.decode().strip() == "e.srt: no violations"


@pytest.mark.slow
def test_edge_timeline_lists_every_word_with_its_samples(edge_render):
    timeline = read_timeline(edge_render / "e.json")
    assert timeline.engine == "edge"
    assert word_problems(timeline) == []
    starts = cue_start_problems(timeline, edge_render / "e.srt")
    assert starts.inner >= 10 and not starts.problems, starts.problems


@pytest.mark.slow
def test_edge_cue_starts_are_on_the_onset_of_a_word(edge_render):
    """The loopback words are tone bursts with 80 ms of silence between them."""
    samples = decode(edge_render / "e.mp3")
    onsets = []
    for sentence in read_timeline(edge_render / "e.json").sentences:
        onsets.append(first_sound(samples, max(0.0, sentence.start - 0.2), sentence.end))
        onsets += [end for _, end in silences(samples, sentence.start, sentence.end, 48000, 0.04)]
    found = np.array(onsets)
    errors = [
        start - found[np.argmin(np.abs(found - start))]
        for start in srt_starts(edge_render / "e.srt").values()
    ]
    assert max(map(abs, errors)) <= TOLERANCE, max(errors, key=abs)
