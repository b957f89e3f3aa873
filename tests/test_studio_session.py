"""The studio's session: a re-take speaks one sentence again and changes nothing else, every
edit is in the script file at once (with a backup), undo brings a sentence back, and an
export is byte for byte what ``voicer render`` writes from the edited file."""

from __future__ import annotations

from pathlib import Path

import pytest
from speech_audio import run_voicer

from voicer import pipeline
from voicer.errors import InputError
from voicer.studio.session import Studio

SCRIPT = """科技创新大会

同志们：今天我们召开全市科技创新大会。首先，我代表市委向大家致以问候！

一、主要成绩

过去一年，全市研发投入增长12.5%，高新技术企业达到1280家。
"""
EDITED = "首先，我代表市委向奋战在科研一线的同志们致以诚挚的问候！"


@pytest.fixture
def studio(tmp_path: Path):
    (tmp_path / "talk.txt").write_text(SCRIPT, encoding="utf-8")
    outputs = pipeline.Outputs.beside(tmp_path / "out" / "talk.mp3", vtt=True)
    session = Studio(tmp_path / "talk.txt", pipeline.RenderOptions(engine="tone"), outputs)
    yield session
    session.close()


def hashes(state: dict) -> list[str]:
    return [sentence["hash"] for sentence in state["sentences"]]


def test_a_retake_changes_that_sentence_alone_and_saves_the_file(studio: Studio, tmp_path: Path):
    before = studio.state()
    after = studio.retake(2, EDITED)
    changed = [a != b for a, b in zip(hashes(before), hashes(after), strict=True)]
    assert changed == [False, False, True, False, False]
    assert after["sentences"][2]["shown"] == EDITED and after["sentences"][2]["undo"]
    assert after["version"] == before["version"] + 1
    text = (tmp_path / "talk.txt").read_text(encoding="utf-8")
    assert text == SCRIPT.replace("首先，我代表市委向大家致以问候！", EDITED)
    assert (tmp_path / "talk.txt.bak").read_text(encoding="utf-8") == SCRIPT
    # the cues follow: the edited sentence's cues hold its new words
    shown = "".join("".join(cue["lines"]) for cue in after["sentences"][2]["cues"])
    assert "奋战" in shown


def test_undo_brings_back_the_text_and_the_clip(studio: Studio, tmp_path: Path):
    before = studio.state()
    studio.retake(2, EDITED)
    undone = studio.undo(2)
    assert hashes(undone) == hashes(before)
    assert (tmp_path / "talk.txt").read_text(encoding="utf-8") == SCRIPT
    with pytest.raises(InputError, match="no edit to undo"):
        studio.undo(2)


def test_an_export_is_what_render_writes_from_the_edited_file(studio: Studio, tmp_path: Path):
    studio.retake(4, "过去一年，全市研发投入增长百分之十二点五。")
    written = studio.export()["written"]
    assert [Path(path).name for path in written] == ["talk.mp3", "talk.srt", "talk.vtt"]
    rendered = run_voicer(
        "render", "talk.txt", "--engine", "tone", "--vtt", "-o", "again/talk.mp3", cwd=tmp_path
    )
    assert rendered.returncode == 0, rendered.stderr.decode()
    for name in ("talk.mp3", "talk.srt", "talk.vtt"):
        assert (tmp_path / "out" / name).read_bytes() == (tmp_path / "again" / name).read_bytes()


def test_the_preview_and_captions_match_the_state(studio: Studio):
    import io
    import wave

    state = studio.state()
    with wave.open(io.BytesIO(studio.preview_wav())) as preview:
        assert preview.getnchannels() == 1
        seconds = preview.getnframes() / preview.getframerate()
    assert seconds == pytest.approx(state["duration"], abs=1e-3)
    vtt = studio.captions_vtt()
    cues = sum(len(sentence["cues"]) for sentence in state["sentences"])
    assert vtt.startswith("WEBVTT") and vtt.count(" --> ") == cues


@pytest.mark.parametrize("text", ["", "  ", "两行\n文字"])
def test_a_bad_edit_is_refused_and_nothing_changes(studio: Studio, tmp_path: Path, text: str):
    before = studio.state()
    with pytest.raises(InputError):
        studio.retake(1, text)
    assert studio.state() == before
    assert (tmp_path / "talk.txt").read_text(encoding="utf-8") == SCRIPT


def test_a_sentence_with_a_placeholder_is_edited_in_the_file(tmp_path: Path):
    (tmp_path / "talk.txt").write_text("今天在*市开会。大家好。\n", encoding="utf-8")
    options = pipeline.RenderOptions(engine="tone", fills={"*": ["上海"]})
    outputs = pipeline.Outputs.beside(tmp_path / "talk.mp3")
    session = Studio(tmp_path / "talk.txt", options, outputs)
    try:
        with pytest.raises(InputError, match="line 1: this sentence is not written"):
            session.retake(0, "今天在北京开会。")
        assert session.retake(1, "同志们好。")["sentences"][1]["shown"] == "同志们好。"
    finally:
        session.close()
