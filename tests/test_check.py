"""``voicer check``: a draft's findings at the author's line and column, as text and JSON."""

from __future__ import annotations

import json

import pytest
from speech_audio import invoke_voicer
from test_edge_cli import voicer


def check(*args: str, cwd):
    """``voicer check ARGS`` in this process, its output as text (a missing file: a real
    process, below)."""
    return invoke_voicer("check", *args, cwd=cwd, text=True)


DRAFT = (
    "[# 第二稿，待核实]\n"
    "一、总体情况\n"
    "2024年，*市GDP增长*%，居全省第*位(全国第XX位)。\n"
    "全年完成投资3-5亿元，其中★重点项目占比达到百分之六十以上，为全市经济社会发展提供了有力"
    "支撑，各项工作取得了显著成效，得到了上级部门和社会各界的充分肯定和高度评价，"
    "也为下一阶段的改革发展任务打下了坚实的基础。\n"
    "【待定】\n"
)


def findings_of(tmp_path, *args):
    (tmp_path / "draft.txt").write_text(DRAFT, encoding="utf-8")
    result = check("draft.txt", "--format", "json", *args, cwd=tmp_path)
    return result, json.loads(result.stdout)


def test_check_lists_every_placeholder_where_the_author_wrote_it(tmp_path):
    result, report = findings_of(tmp_path)
    assert result.returncode == 1
    found = [(f["line"], f["column"], f["text"]) for f in report["findings"]]
    placeholders = [
        (f["line"], f["column"], f["text"])
        for f in report["findings"]
        if f["kind"] == "placeholder"
    ]
    assert placeholders == [
        (3, 7, "*"),
        (3, 14, "*"),
        (3, 21, "*"),
        (3, 27, "XX"),
        (5, 1, "【待定】"),
    ]
    assert (3, 23, "(") in found and (3, 30, ")") in found  # half-width brackets
    assert (4, 15, "★") in found
    assert report["counts"]["error"] == 5


def test_check_says_how_numbers_will_be_read_and_flags_long_sentences(tmp_path):
    _, report = findings_of(tmp_path)
    readings = {f["text"]: f["spoken"] for f in report["findings"] if f["kind"] == "reading"}
    assert readings == {"2024": "二零二四", "3-5": "三到五"}
    (long,) = [f for f in report["findings"] if f["kind"] == "long-sentence"]
    assert (long["line"], long["column"], long["severity"]) == (4, 1, "warning")


def test_the_readable_report_has_one_line_per_finding(tmp_path):
    (tmp_path / "draft.txt").write_text(DRAFT, encoding="utf-8")
    result = check("draft.txt", cwd=tmp_path)
    lines = result.stdout.strip().splitlines()
    assert lines[-1] == "5 errors, 4 warnings, 2 notes"
    assert (
        "draft.txt:3:7: error: unfilled placeholder * in “2024年，*市GDP增长*%，居全省…”" in lines
    )
    assert len(lines) == 12


def test_a_clean_script_exits_0_even_with_notes(tmp_path):
    (tmp_path / "clean.txt").write_text("全市GDP增长5.2%，居全省第3位。\n", encoding="utf-8")
    result = check("clean.txt", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    assert "5.2% will be read “百分之五点二”" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "0 errors, 0 warnings, 2 notes"


@pytest.mark.slow
def test_malformed_markup_is_an_error_finding_and_a_missing_file_exit_2(tmp_path):
    (tmp_path / "bad.txt").write_text("第一句。\n第二句[foo]话。\n", encoding="utf-8")
    result = check("bad.txt", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1
    (finding,) = json.loads(result.stdout)["findings"]
    assert (finding["line"], finding["column"], finding["kind"]) == (2, 4, "markup")
    missing = voicer("check", "nowhere.txt", cwd=tmp_path)
    assert missing.returncode == 2
    assert missing.stderr.strip().startswith("voicer: error: ")


def test_render_counts_the_warnings_check_lists(tmp_path):
    """A render says how many warnings `voicer check` has (here a sentence too long for three
    subtitles), counting each sentence's subtitles as it cut them on the speech."""
    long = "，".join(["今年全市地区生产总值稳步增长"] * 8) + "。"
    (tmp_path / "talk.txt").write_text(f"同志们好。{long}\n", encoding="utf-8")
    checked = check("talk.txt", "--format", "json", cwd=tmp_path)
    warnings = json.loads(checked.stdout)["counts"]["warning"]
    assert warnings == 1
    args = ["--engine", "tone", "-o", "t.wav"]
    rendered = invoke_voicer("render", "talk.txt", *args, cwd=tmp_path, text=True)
    assert rendered.returncode == 0, rendered.stderr
    assert "1 warning about the script (see: voicer check talk.txt)" in rendered.stderr
