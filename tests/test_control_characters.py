"""Control characters in otherwise valid text (Word's field marks, stray ^A): read, left out
with a warning at the author's line and column, and every later position unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
from speech_audio import invoke_voicer, run_voicer

from voicer.errors import InputError
from voicer.script import prepare
from voicer.script.reading import decode, script_from_bytes

# line 1: U+0001 at column 3; line 2: U+0007 at column 3 and U+0001 at column 6, the line's end
DRAFT = "今天\x01开会。明天休息。\n第二\x07行。\x01\n"


def test_control_characters_are_left_out_with_a_warning_naming_where():
    script = script_from_bytes(DRAFT.encode(), "in.txt")
    assert "\x01" not in script.text and "\x07" not in script.text
    assert script.text == "今天 开会。明天休息。\n第二 行。\n"
    assert script.notices == (
        "warning: in.txt: 3 control characters left out, at 1:3 (U+0001), 2:3 (U+0007) "
        "and 2:6 (U+0001)",
    )


def test_positions_after_a_left_out_character_still_point_at_the_authors_text():
    script = script_from_bytes("\x01今天开会。\x02明天休息。".encode(), "in.txt")
    found = prepare.prepare(script).segments
    assert [(s.line, s.column, s.shown) for s in found] == [
        (1, 2, "今天开会。"),
        (1, 8, "明天休息。"),
    ]


def test_many_control_characters_name_the_first_few_and_count_the_rest():
    text = "".join(f"第{n}句\x01话。\n" for n in range(1, 10))
    (notice,) = script_from_bytes(text.encode(), "in.txt").notices
    assert notice.startswith("warning: in.txt: 9 control characters left out, at 1:4 (U+0001), ")
    assert notice.endswith("5:4 (U+0001) and 4 more")


def test_word_line_and_page_breaks_are_spaces_without_a_warning():
    script = script_from_bytes("第一行\x0b第二行\x0c第三行。\n".encode(), "in.txt")
    assert script.text == "第一行 第二行 第三行。\n"
    assert script.notices == ()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "gb18030"])
def test_every_encoding_takes_control_characters(encoding):
    assert decode("今天\x01开会。".encode(encoding), "in.txt") == "今天 开会。"


@pytest.mark.parametrize(
    "data",
    [
        "Hello world".encode("utf-16-le"),  # NUL bytes: UTF-16 without a BOM, or not text
        b"caf\xe9 \xff\xfe\x00 bar \x80",
        b"\x00\x01\x02\x03binary",
    ],
)
def test_undecodable_bytes_still_fail(data):
    with pytest.raises(InputError, match=r"^in\.txt: cannot decode the text"):
        decode(data, "in.txt")


@pytest.mark.slow
def test_render_and_check_tell_the_user(tmp_path: Path):
    (tmp_path / "in.txt").write_bytes(DRAFT.encode())
    warning = "voicer: warning: in.txt: 3 control characters left out, at 1:3 (U+0001)"
    rendered = invoke_voicer("render", "in.txt", "--engine", "tone", "-o", "out.wav", cwd=tmp_path)
    assert rendered.returncode == 0, rendered.stderr.decode()
    assert warning in rendered.stderr.decode()
    assert "\x01" not in (tmp_path / "out.srt").read_text(encoding="utf-8")
    checked = run_voicer("check", "in.txt", cwd=tmp_path)
    assert checked.returncode in (0, 1), checked.stderr.decode()
    assert warning in checked.stderr.decode()
    assert "Traceback" not in checked.stderr.decode()
