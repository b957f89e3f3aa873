"""Script authoring end to end: the engine hears the spoken form, subtitles keep the author's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import srt
from speech_audio import invoke_voicer
from test_edge_cli import voicer

DRAFT = "2024年3月5日，全市GDP增长5.2%，居全省第3位。\n请拨打热线12345咨询，张珺同志主持会议。\n"


@pytest.mark.slow
def test_the_engine_hears_numbers_in_words_and_subtitles_keep_digits(edge_server, tmp_path):
    (tmp_path / "draft.txt").write_text(DRAFT, encoding="utf-8")
    (tmp_path / "names.tsv").write_text("# names\n张珺\t张军\n", encoding="utf-8")
    args = ["-o", "draft.wav", "--engine", "edge", "--lexicon", "names.tsv", "--timeline", "t.json"]
    result = invoke_voicer("render", "draft.txt", *args, cwd=tmp_path, text=True)
    assert result.returncode == 0, result.stderr
    heard = "".join(sorted(request.text for request in edge_server.requests))
    for spoken in (
        "二零二四年三月五日",
        "增长百分之五点二",
        "第三位",
        "热线幺二三四五",
        "张军同志",
    ):
        assert spoken in heard
    assert not any(character.isdigit() for character in heard)
    assert "张珺" not in heard
    shown = "".join(cue.content for cue in srt.parse((tmp_path / "draft.srt").read_text("utf-8")))
    shown = shown.replace("\n", "").replace(" ", "")
    for written in ("2024年3月5日", "GDP增长5.2%", "第3位", "热线12345", "张珺同志"):
        assert written in shown
    sentences = json.loads((tmp_path / "t.json").read_text("utf-8"))["sentences"]
    assert sentences[0]["text"].startswith("2024年3月5日")
    assert sentences[0]["spoken"].startswith("二零二四年三月五日")


@pytest.mark.slow
def test_a_malformed_lexicon_is_a_usage_error_before_synthesis(edge_server, tmp_path):
    (tmp_path / "draft.txt").write_text(DRAFT, encoding="utf-8")
    (tmp_path / "names.tsv").write_text("张珺 张军\n", encoding="utf-8")
    args = ["--engine", "edge", "--lexicon", "names.tsv"]
    result = voicer("render", "draft.txt", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("voicer: error: names.tsv:1")
    assert edge_server.requests == []


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.slow
def test_the_example_draft_goes_through_check_then_render_with_its_fills(tmp_path):
    checked = invoke_voicer("check", str(EXAMPLES / "draft.txt"), "--format", "json", cwd=tmp_path)
    assert checked.returncode == 1
    assert json.loads(checked.stdout)["counts"]["error"] == 3
    fills = ["--fill-file", str(EXAMPLES / "draft-fills.toml")]
    args = ["-o", "draft.wav", "--engine", "tone", "--timeline", "t.json", *fills]
    rendered = invoke_voicer("render", str(EXAMPLES / "draft.txt"), *args, cwd=tmp_path)
    assert rendered.returncode == 0, rendered.stderr
    sentences = json.loads((tmp_path / "t.json").read_text("utf-8"))["sentences"]
    spoken = "".join(s["spoken"] for s in sentences)
    assert not any(c.isdigit() or c in "*%" for c in spoken)
    assert "增长百分之六点一，居全省第三位" in spoken
    shown = (tmp_path / "draft.srt").read_text("utf-8")
    assert "江城市" in shown and "6.1%" in shown and "*" not in shown
