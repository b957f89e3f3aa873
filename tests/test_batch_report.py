"""The batch report: JSON read back, the table's columns, the summary line, the files written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voicer.batch.report import (
    ERROR_COLUMNS,
    Outcome,
    columns,
    cut,
    report_json,
    report_table,
    summary_line,
    write_report,
)
from voicer.errors import OutputError

OUTCOMES = [
    Outcome(
        Path("chapters/01.txt"),
        "ok",
        (Path("out/01.mp3"), Path("out/01.srt")),
        None,
        75.25,
        31,
        -16.04,
        12.345,
    ),
    Outcome(
        Path("chapters/开幕词.md"), "failed", error="line 3: placeholder '*' left", seconds=0.5
    ),
    Outcome(Path("chapters/03.txt"), "skipped"),
]


def test_json_reads_back_with_every_field_and_paths_as_given():
    read = json.loads(report_json(OUTCOMES, Path("out")))
    assert [item["script"] for item in read] == [
        "chapters/01.txt",
        "chapters/开幕词.md",
        "chapters/03.txt",
    ]
    assert read[0] == {
        "script": "chapters/01.txt",
        "status": "ok",
        "outputs": ["out/01.mp3", "out/01.srt"],
        "error": None,
        "audio_seconds": 75.25,
        "cues": 31,
        "loudness": -16.04,
        "seconds": 12.345,
        "synthesised": 0,
        "cached": 0,
    }
    assert read[1]["status"] == "failed"
    assert read[1]["error"] == "line 3: placeholder '*' left"
    assert read[1]["outputs"] == [] and read[1]["audio_seconds"] is None
    assert read[2]["status"] == "skipped" and read[2]["loudness"] is None


def test_json_keeps_chinese_as_written_and_absolute_paths_absolute(tmp_path):
    text = report_json([Outcome(tmp_path / "讲话.txt", "ok", (tmp_path / "讲话.mp3",))], tmp_path)
    assert "讲话" in text  # not \u escapes
    assert json.loads(text)[0]["outputs"] == [str(tmp_path / "讲话.mp3")]


def test_table_has_a_line_per_script_with_length_cues_loudness_and_time():
    lines = report_table(OUTCOMES).splitlines()
    assert len(lines) == 1 + len(OUTCOMES)
    assert lines[0].split() == ["script", "status", "audio", "cues", "loudness", "time", "error"]
    assert lines[1].split() == [
        "chapters/01.txt",
        "ok",
        "1:15.2",
        "31",
        "-16.0",
        "LUFS",
        "12.3",
        "s",
    ]
    assert lines[2].endswith("line 3: placeholder '*' left")
    assert lines[3].split() == ["chapters/03.txt", "skipped", "-", "-", "-", "0.0", "s"]


def _starts(line: str, words: list[str]) -> list[int]:
    """The terminal column where each of ``words`` starts in ``line``, searched in order."""
    found, at = [], 0
    for word in words:
        at = line.index(word, at)
        found.append(columns(line[:at]))
        at += len(word)
    return found


def test_table_columns_line_up_in_a_terminal_with_chinese_names():
    lines = report_table(OUTCOMES).splitlines()
    status = [
        _starts(line, [word])[0]
        for line, word in zip(lines, ["status", "ok", "failed", "skipped"], strict=True)
    ]
    assert len(set(status)) == 1
    # the right-aligned time column ends in the same terminal column on every line
    ends = [columns(line[: re.search(r"(\d s|time)\b", line).end()]) for line in lines]
    assert len(set(ends)) == 1


@given(
    st.lists(
        st.text(st.sampled_from("ab1_中文讲话，。x"), min_size=1, max_size=12),
        min_size=1,
        max_size=6,
        unique=True,
    )
)
def test_status_column_lines_up_whatever_the_names(names):
    outcomes = [Outcome(Path(name + ".txt"), "ok", seconds=1.0) for name in names]
    lines = report_table(outcomes).splitlines()
    starts = {
        columns(line[: line.index("  ok  " if i else "  status")]) for i, line in enumerate(lines)
    }
    assert len(starts) == 1


def test_a_long_error_is_cut_in_the_table_and_kept_whole_in_the_json():
    error = "失败：" + "x" * 200 + "\nsecond line"
    outcome = [Outcome(Path("a.txt"), "failed", error=error)]
    line = report_table(outcome).splitlines()[1]
    shown = line[line.index("失败") :]
    assert shown.endswith("…") and columns(shown) <= ERROR_COLUMNS
    assert "\n" not in report_table(outcome).splitlines()[1]
    assert json.loads(report_json(outcome, Path(".")))[0]["error"] == error


@given(st.text(st.sampled_from("ab 中文，"), max_size=40), st.integers(1, 30))
def test_cut_fits_its_width_and_keeps_the_start(text, width):
    shown = cut(text, width)
    assert columns(shown) <= width or shown == "…"
    assert shown == text or (shown.endswith("…") and text.startswith(shown[:-1]))


def test_summary_counts_scripts_by_status_and_the_audio_delivered():
    line = summary_line(OUTCOMES, 10.0)
    assert line == (
        "3 scripts: 1 delivered, 1 failed, 1 skipped; "
        "1:15.2 of audio in 10.0 s (7.5 audio-seconds per second)"
    )


def test_summary_of_hours_of_audio_and_of_one_script():
    long = [Outcome(Path(f"{i}.txt"), "ok", audio_seconds=1675.2) for i in range(3)]
    assert summary_line(long, 612.3).startswith("3 scripts: 3 delivered, 0 failed, 0 skipped; ")
    assert "1:23:45.6 of audio in 612.3 s (8.2 audio-seconds per second)" in summary_line(
        long, 612.3
    )
    assert summary_line(long[:1], 0.0) == (
        "1 script: 1 delivered, 0 failed, 0 skipped; 27:55.2 of audio in 0.0 s"
    )


@pytest.mark.slow
@given(st.lists(st.sampled_from(["ok", "failed", "skipped"]), max_size=30))
def test_summary_counts_add_up(statuses):
    outcomes = [
        Outcome(Path(f"{i}.txt"), status, audio_seconds=1.0) for i, status in enumerate(statuses)
    ]
    line = summary_line(outcomes, 2.0)
    assert line.startswith(f"{len(statuses)} script")
    assert f"{statuses.count('ok')} delivered, {statuses.count('failed')} failed, " in line
    assert f"{statuses.count('skipped')} skipped;" in line


def test_an_unknown_status_is_refused():
    with pytest.raises(ValueError, match="status"):
        Outcome(Path("a.txt"), "done")


def test_write_report_writes_json_and_text_and_nothing_else(tmp_path):
    out = tmp_path / "new" / "out"
    write_report(OUTCOMES, out, 10.0)
    assert sorted(path.name for path in out.iterdir()) == ["report.json", "report.txt"]
    assert json.loads((out / "report.json").read_text(encoding="utf-8")) == json.loads(
        report_json(OUTCOMES, out)
    )
    text = (out / "report.txt").read_text(encoding="utf-8")
    assert text == report_table(OUTCOMES) + "\n\n" + summary_line(OUTCOMES, 10.0) + "\n"


def test_write_report_replaces_an_earlier_report(tmp_path):
    write_report(OUTCOMES, tmp_path, 10.0)
    write_report(OUTCOMES[:1], tmp_path, 5.0)
    assert len(json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))) == 1
    assert "1 script: 1 delivered" in (tmp_path / "report.txt").read_text(encoding="utf-8")


def test_a_report_that_cannot_be_written_is_one_output_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(OutputError, match=r"cannot write .*out/report\.json \(Not a directory\)"):
        write_report(OUTCOMES, blocker / "out", 1.0)
