"""``voicer check --readings``: every sentence with the text the offline engine reads and its
pinyin, one syllable per Han character, as text and as JSON; the pipeline function behind it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_edge_cli import REPO, voicer

from voicer import pipeline
from voicer.script import reading

# two sentences on line 1, a blank line, a third (with a number, letters and a half-width
# comma, which check would warn about) on line 3
SPEECH = (
    "今天我们召开全市科技创新大会。首先向大家致以诚挚的问候！\n\n2024年GDP增长5.2%,银行行长说。\n"
)
ITEMS = ["银行", "一样", "不是", "你好", "重庆", "看一看"]  # one item per line, no end punctuation
SYLLABLE = re.compile(r"[a-z]+[1-5]")
HAN = re.compile("[\u4e00-\u9fff]")


def han_count(text: str) -> int:
    return len(HAN.findall(text))


def check_readings(tmp_path: Path, text: str, *args: str) -> subprocess.CompletedProcess:
    (tmp_path / "talk.txt").write_text(text, encoding="utf-8")
    return voicer("check", "talk.txt", "--readings", *args, cwd=tmp_path)


def assert_read_whole(record: dict) -> None:
    """One syllable per Han character of the text read, in its words' order."""
    syllables = record["pinyin"].split(" ") if record["pinyin"] else []
    assert len(syllables) == han_count(record["spoken"]), record
    assert all(SYLLABLE.fullmatch(syllable) for syllable in syllables), record
    assert " ".join(word["pinyin"] for word in record["words"]) == record["pinyin"]
    assert all(han_count(w["text"]) == len(w["pinyin"].split()) for w in record["words"])


@pytest.mark.slow
def test_json_gives_each_sentence_where_it_was_written(tmp_path: Path):
    result = check_readings(tmp_path, SPEECH, "--format", "json")
    assert result.returncode == 0, result.stderr  # the half-width comma is no failure here
    records = json.loads(result.stdout)
    assert [(r["line"], r["column"], r["text"]) for r in records] == [
        (1, 1, "今天我们召开全市科技创新大会。"),
        (1, 16, "首先向大家致以诚挚的问候！"),
        (3, 1, "2024年GDP增长5.2%,银行行长说。"),
    ]
    for record in records:
        assert_read_whole(record)
    third = records[2]
    # the engine reads no digit and no Latin letter: numbers in words, letters spelled
    assert not re.search("[0-9A-Za-z]", third["spoken"]), third["spoken"]
    assert third["spoken"].startswith("二零二四年")
    assert "yin2 hang2 hang2 zhang3" in third["pinyin"]


@pytest.mark.slow
def test_text_is_three_lines_per_sentence(tmp_path: Path):
    result = check_readings(tmp_path, SPEECH)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 9
    assert lines[0] == "1:1   今天我们召开全市科技创新大会。"
    assert lines[3] == "1:16  首先向大家致以诚挚的问候！"
    assert lines[6] == "3:1   2024年GDP增长5.2%,银行行长说。"
    spoken, pinyin = lines[1], lines[2]
    assert spoken == "      spoken  今天我们召开全市科技创新大会."
    assert pinyin.startswith("      pinyin  jin1 tian1 ")
    assert len(pinyin.split()) - 1 == han_count(spoken)
    # the same readings as the JSON
    records = json.loads(check_readings(tmp_path, SPEECH, "--format", "json").stdout)
    assert [line.strip() for line in lines[2::3]] == ["pinyin  " + r["pinyin"] for r in records]


@pytest.mark.slow
def test_one_item_per_line_is_one_record_per_line(tmp_path: Path):
    result = check_readings(tmp_path, "\n".join(ITEMS) + "\n", "--format", "json")
    assert result.returncode == 0, result.stderr
    records = json.loads(result.stdout)
    assert [(r["line"], r["column"], r["text"]) for r in records] == [
        (number, 1, item) for number, item in enumerate(ITEMS, start=1)
    ]
    assert [r["spoken"] for r in records] == ITEMS
    for record in records:
        assert_read_whole(record)
    assert records[0]["pinyin"] == "yin2 hang2"
    assert records[4]["pinyin"] == "chong2 qing4"


@pytest.mark.slow
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path):
    bad_markup = check_readings(tmp_path, "第一句。\n第二句[foo]话。\n")
    missing = voicer("check", "nowhere.txt", "--readings", cwd=tmp_path)
    empty = check_readings(tmp_path, "")
    for result in (bad_markup, missing, empty):
        assert result.returncode == 2, result
        assert result.stdout == ""
        assert len(result.stderr.splitlines()) == 1, result.stderr
        assert result.stderr.startswith("voicer: error: ")
    assert "2:4" in bad_markup.stderr


@pytest.mark.slow
def test_a_lexicon_and_placeholders_change_what_is_read(tmp_path: Path):
    (tmp_path / "words.tsv").write_text("重庆\t崇庆\n", encoding="utf-8")
    script = reading.script_from_bytes("重庆增长*%。\n".encode(), "talk.txt")
    plain = pipeline.sentence_readings(script)
    (found,) = pipeline.sentence_readings(script, {"重庆": "崇庆"})
    assert (found.line, found.column, found.text) == (1, 1, "重庆增长*%。")
    assert found.spoken == "崇庆增长."  # the placeholder is not spoken
    assert found.pinyin.split()[:2] == ["chong2", "qing4"]
    assert plain[0].spoken == "重庆增长."
    assert [w.text for w in found.words][:1] == ["崇庆"]


def test_an_english_script_has_no_pinyin():
    script = reading.script_from_bytes(b"It grew by 5%. Good.\n", "talk.txt")
    found = pipeline.sentence_readings(script)
    assert [(r.text, r.pinyin, r.words) for r in found] == [
        ("It grew by 5%.", "", ()),
        ("Good.", "", ()),
    ]
    assert "percent" in found[0].spoken  # the spoken form, as English is read


@pytest.mark.slow
def test_readings_do_not_load_the_model():
    """The reading is the engine's text front end only: onnxruntime is never imported."""
    code = (
        "import sys\n"
        "from voicer.synthesis.engines import kokoro_words\n"
        "words = kokoro_words.readings('GDP增长5%，银行。')\n"
        "assert [s for w in words for s in w.pinyin][:3] == ['ji2', 'di2', 'pi1'], words\n"
        "assert 'onnxruntime' not in sys.modules\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stderr
