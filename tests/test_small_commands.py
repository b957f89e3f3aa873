"""Small commands import only what they use: ``import voicer`` and ``voicer --help`` no stage,
``voicer check`` no audio stage and, without --readings, no reading of pinyin; and jieba's
dictionary read from voicer's store cuts text as jieba's own does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import jieba
import pytest

from voicer.script import dictionary

ROOT = Path(__file__).resolve().parent.parent
THIRD_PARTY_STAGES = ("numpy", "pydub", "scipy", "onnxruntime", "jieba", "misaki", "edge_tts")
STAGES = ("pipeline", "checks", "reporting", "studio", "batch", "video", "subtitles", "audio")
STAGES += ("synthesis", "script")


def imported_by(*args: str) -> set[str]:
    """The modules a fresh Python imports running ``args``, from ``-X importtime``."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def stages_among(modules: set[str], stages: tuple[str, ...]) -> list[str]:
    return sorted(
        name
        for name in modules
        if name.split(".")[0] in THIRD_PARTY_STAGES
        or (name.startswith("voicer.") and name.split(".")[1] in stages)
    )


def test_import_voicer_imports_no_stage():
    modules = imported_by("-c", "import voicer")
    assert "voicer" in modules
    assert stages_among(modules, STAGES) == []


def test_render_options_are_made_without_a_stage():
    made = "import voicer; voicer.RenderOptions(rate=voicer.Level(10, '%'))"
    assert stages_among(imported_by("-c", made), STAGES) == []


def test_help_imports_no_stage():
    modules = imported_by("-m", "voicer", "--help")
    assert "voicer.cli" in modules
    assert stages_among(modules, STAGES) == []


def test_a_command_help_imports_no_stage():
    modules = imported_by("-m", "voicer", "check", "--help")
    assert stages_among(modules, STAGES) == []


@pytest.mark.slow
def test_check_imports_neither_an_audio_stage_nor_the_readings():
    # the first check in a cache folder stores jieba's dictionary and its tags there, from
    # jieba.posseg's table; the next one reads them
    imported_by("-m", "voicer", "check", "examples/speech.txt")
    modules = imported_by("-m", "voicer", "check", "examples/speech.txt")
    audio = ("pipeline", "reporting", "studio", "batch", "video", "audio", "synthesis")
    assert [name for name in stages_among(modules, audio) if name.split(".")[0] != "jieba"] == []
    assert "jieba" in modules  # the checks cut sentences into words
    assert not {"jieba.posseg", "pypinyin"} & modules


@pytest.mark.slow
def test_check_readings_still_reads_pinyin():
    modules = imported_by("-m", "voicer", "check", "--readings", "examples/speech.txt")
    assert {"jieba.posseg", "pypinyin"} <= modules


@pytest.mark.slow
def test_the_stored_dictionary_cuts_as_jiebas_own(tmp_path):
    store = tmp_path / "jieba.sqlite"
    own = jieba.Tokenizer()
    own.tmp_dir = str(tmp_path)
    dictionary.use_store(own, store)  # none yet: written from the dictionary jieba loads
    assert isinstance(own.FREQ, dict)
    stored = jieba.Tokenizer()
    dictionary.use_store(stored, store)
    assert isinstance(stored.FREQ, dictionary.StoredFrequencies)
    assert stored.total == own.total
    text = (ROOT / "examples" / "long-speech.txt").read_text(encoding="utf-8")
    for hmm in (True, False):
        assert list(stored.cut(text, HMM=hmm)) == list(own.cut(text, HMM=hmm))
    for word in ("科研", "科研成", "实验室", "不是一个词", "GDP"):
        assert stored.FREQ.get(word) == own.FREQ.get(word)
        assert (word in stored.FREQ) == (word in own.FREQ)
    for tokenizer in (own, stored):
        tokenizer.add_word("科研成果走出")
    assert list(stored.cut(text)) == list(own.cut(text))


@pytest.mark.slow
def test_a_store_voicer_did_not_write_is_not_read(tmp_path):
    elsewhere = tmp_path / "elsewhere.sqlite"
    elsewhere.write_bytes(b"not a dictionary")
    store = tmp_path / "jieba.sqlite"
    store.symlink_to(elsewhere)
    tokenizer = jieba.Tokenizer()
    tokenizer.tmp_dir = str(tmp_path)
    dictionary.use_store(tokenizer, store)
    assert isinstance(tokenizer.FREQ, dict)  # jieba's own, loaded
    assert elsewhere.read_bytes() == b"not a dictionary"
    assert not store.is_symlink()  # a store of its own was written in the link's place
