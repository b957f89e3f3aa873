"""Markdown drafts: what is read, one paragraph per line, and every position reported at the
place in the .md file where the author wrote it."""

from __future__ import annotations

import json

import pytest
import srt
from hypothesis import given, settings
from hypothesis import strategies as st
from speech_audio import invoke_voicer, run_voicer

from voicer.errors import InputError
from voicer.script import lint, prepare
from voicer.script.markdown import read_markdown, to_plain
from voicer.script.reading import read_script, script_from_bytes
from voicer.script.sentences import segments

DRAFT = """\
<!-- 内部稿 -->
# 一、总体情况

今年以来，全市经济**稳中向好**，
主要指标增长5.2%。

## 二、重点工作

1. 推动科技创新；
2. 优化营商环境。

- 加强[基础研究](https://example.org/research)
- 扩大开放

> 引用的一段话。

![图表](chart.png)

```
print("不读代码")
```

---

Keep _calm_ and read `on`.
"""


def test_a_markdown_draft_reads_as_paragraphs():
    assert to_plain(DRAFT).splitlines() == [
        "一、总体情况",
        "今年以来，全市经济稳中向好，主要指标增长5.2%。",
        "二、重点工作",
        "1、推动科技创新；",
        "2、优化营商环境。",
        "加强基础研究",
        "扩大开放",
        "引用的一段话。",
        "Keep calm and read on.",
    ]


CONSTRUCTS = {
    "ATX headings": (
        "# 一、总体情况 #\n正文。\n###### 小标题",
        ["一、总体情况", "正文。", "小标题"],
    ),
    "setext headings": (
        "一、总体情况\n======\n\n二、重点\n---\n正文。",
        ["一、总体情况", "二、重点", "正文。"],
    ),
    "emphasis": (
        "Keep _calm_ and carry on, 今年_经济_运行。",
        ["Keep calm and carry on, 今年_经济_运行。"],
    ),
    "strong": ("今年**经济**运行，__稳中向好__。", ["今年经济运行，稳中向好。"]),
    "strong and emphasis": ("***Very*** good.", ["Very good."]),
    "lone * placeholders": ("*市GDP增长*%，居全省第*位。", ["*市GDP增长*%，居全省第*位。"]),
    "a single * is no emphasis": ("Keep *calm* on.", ["Keep *calm* on."]),
    "escaped characters": ("5\\*3，\\[注\\]，\\_x\\_，a\\\\b", ["5*3，[[注]，_x_，a\\b"]),
    "entities": ("A &amp; B &copy;", ["A & B ©"]),
    "inline code": ("运行 `voicer check` 与 ``a[0]`` 即可", ["运行 voicer check 与 a[[0] 即可"]),
    "links": ('加强[基础研究](https://example.org/r "研究")工作', ["加强基础研究工作"]),
    "reference links": (
        "见[报告][1]、[附件][]和[图表]。\n\n[1]: http://example.org/1\n[附件]: /a\n[图表]: /b 'x'",
        ["见报告、附件和图表。"],
    ),
    "autolinks": (
        "详见 <https://example.org/a> 和 <info@example.org>",
        ["详见 https://example.org/a 和 info@example.org"],
    ),
    "images": ('前面![图表](chart.png "t")后面\n\n![只有图](a.png)', ["前面后面"]),
    "HTML comments": ("<!-- 内部稿\n第二行 -->\n正<!-- 注 -->文", ["正文"]),
    "inline HTML": ("这是<b>重点</b>内容", ["这是重点内容"]),
    "fenced code blocks": ("正文\n\n```python\nprint(1)\n```\n~~~\nx\n~~~\n结尾", ["正文", "结尾"]),
    "indented code blocks": ("正文\n\n    print(1)\n\n结尾", ["正文", "结尾"]),
    "block quotes": ("> 引用\n> 第二行\n懒惰行\n\n> > 嵌套", ["引用第二行懒惰行", "嵌套"]),
    "ordered lists": (
        "1. 第一项\n2. 第二项\n\n3) Third item",
        ["1、第一项", "2、第二项", "3. Third item"],
    ),
    "unordered lists": ("- 甲\n* 乙\n+ 丙", ["甲", "乙", "丙"]),
    "nested lists": (
        "1. 甲\n   - 乙\n     1. 丙\n2. 丁\n\n   戊",
        ["1、甲", "乙", "1、丙", "2、丁", "戊"],
    ),
    "tables": (
        "| 指标 | 数值 |\n|:---|---:|\n| GDP | 5.2% |\n| 投资 | |",
        ["指标，数值", "GDP，5.2%", "投资"],
    ),
    "tables in English": (
        "Metric | Value\n--- | ---\nGDP | 5.2% \\| 6%",
        ["Metric, Value", "GDP, 5.2% | 6%"],
    ),
    "thematic breaks": ("甲\n\n***\n\n乙\n\n- - -\n\n___\n丙", ["甲", "乙", "丙"]),
    "hard line breaks": ("第一行\\\n第二行  \n第三行", ["第一行", "第二行", "第三行"]),
    "soft line breaks": (
        "The first line\nand the second.\n\n第一行，\n第二行",
        ["The first line and the second.", "第一行，第二行"],
    ),
    "strikethrough": ("~~删除~~保留", ["删除保留"]),
    # the CJK-friendly amendment: CommonMark leaves these stars and tildes in the text
    "bold next to Chinese": (
        "增长**5.2%**左右，要**“稳”**字当头，~~约3%~~以上",
        ["增长5.2%左右，要“稳”字当头，约3%以上"],
    ),
    "bold next to English, as CommonMark": ('a**"b"**c', ['a**"b"**c']),
    "voicer markup": (
        "[voice zh-CN-YunxiNeural]\n同志们：[pause 1.5s]大家好！[# 鼓掌]\n\n- [pause 1s]继续",
        ["[voice zh-CN-YunxiNeural]同志们：[pause 1.5s]大家好！[# 鼓掌]", "[pause 1s]继续"],
    ),
}


@pytest.mark.parametrize(("markdown", "expected"), CONSTRUCTS.values(), ids=CONSTRUCTS.keys())
def test_commonmark_constructs(markdown, expected):
    assert to_plain(markdown + "\n").splitlines() == expected


@pytest.mark.parametrize("markdown", [m for m, _ in CONSTRUCTS.values()], ids=CONSTRUCTS.keys())
def test_every_letter_and_digit_read_is_mapped_to_where_it_was_written(markdown):
    assert _misplaced(markdown) == []


def _misplaced(markdown: str) -> list[tuple[int, int, str]]:
    """Letters and digits of the plain text whose mapped place in ``markdown`` holds another
    character (the rest may be made up: a table's ，, the 、 after a list number)."""
    plain = read_markdown(markdown)
    source = markdown.split("\n")
    wrong = []
    for number, line in enumerate(plain.text.split("\n"), start=1):
        for column, character in enumerate(line, start=1):
            at_line, at_column = plain.positions.locate(number, column)
            if character.isalnum() and source[at_line - 1][at_column - 1 : at_column] != character:
                wrong.append((number, column, character))
    return wrong


@pytest.mark.parametrize(
    "line", ["*市GDP增长*%，居全省第*位。", "增长＊%，排名第XX位。", "[pause 1.5s]我们继续。"]
)
def test_placeholders_and_voicer_markup_pass_through(line):
    assert to_plain(line + "\n") == line + "\n"


@given(st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), min_size=1))
def test_plain_chinese_lines_are_unchanged(text):
    assert to_plain(text + "\n") == text + "\n"


def test_an_md_file_is_read_as_markdown(tmp_path):
    path = tmp_path / "draft.md"
    path.write_text(DRAFT, encoding="utf-8")
    found = segments(read_script(path))
    assert [s.shown for s in found][:3] == [
        "一、总体情况",
        "今年以来，全市经济稳中向好，主要指标增长5.2%。",
        "二、重点工作",
    ]
    assert found[0].ends_paragraph


def markdown_script(text: str):
    return script_from_bytes(text.encode(), "draft.md", markdown=True)


def test_sentences_of_a_markdown_draft_are_where_the_author_wrote_them():
    script = markdown_script(
        "<!-- x -->\n# 一、总体情况\n\n今年**经济**运行，\n稳中向好。再接再厉！\n"
    )
    found = prepare.prepare(script).segments
    assert [(s.line, s.column, s.shown) for s in found] == [
        (2, 3, "一、总体情况"),
        (4, 1, "今年经济运行，稳中向好。"),
        (5, 6, "再接再厉！"),
    ]


def test_escaped_stars_and_code_are_no_placeholders():
    script = markdown_script("\\*注：5\\*3，`a*`，第*位。\n")
    assert script.text == "*注：5*3，a*，第*位。\n"
    assert [(p.line, p.column) for p in prepare.find_placeholders(script)] == [(1, 12)]
    with pytest.raises(InputError, match=r"^1 unfilled placeholder: 1:16 \* in"):
        prepare.prepare(script)


@pytest.mark.slow
def test_bold_next_to_chinese_is_no_placeholder_and_stars_in_a_text_file_are(tmp_path):
    draft = "今年经济增长**5.2%**左右。\n"
    (tmp_path / "draft.md").write_text(draft, encoding="utf-8")
    (tmp_path / "draft.txt").write_text("*市经济增长*%左右。\n", encoding="utf-8")
    result = run_voicer("render", "draft.md", "--engine", "tone", "-o", "talk.wav", cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    (cue,) = srt.parse((tmp_path / "talk.srt").read_text(encoding="utf-8"))
    assert cue.content == "今年经济增长5.2%左右"
    refused = run_voicer("render", "draft.txt", "--engine", "tone", cwd=tmp_path)
    assert refused.returncode == 2
    assert "2 unfilled placeholders: 1:1 * in" in refused.stderr.decode()
    assert "; 1:7 * in" in refused.stderr.decode()


def test_fill_takes_the_position_reported_in_the_markdown_file():
    script = markdown_script("# 标题\n\n- 增长*%，第*位\n")
    left = prepare.find_placeholders(script)
    assert [prepare.source_position(script, p) for p in left] == ["3:5", "3:9"]
    filled = prepare.prepare(script, {"3:9": ["3"], "*": ["5.2"]}).segments
    assert filled[1].shown == "增长5.2%，第3位"
    with pytest.raises(InputError, match="no placeholder starts at 1:5"):
        prepare.prepare(script, {"1:5": ["3"]})


@pytest.mark.parametrize("markdown", [False, True])
def test_a_sentence_after_a_filled_placeholder_stays_where_it_was_written(markdown):
    script = script_from_bytes("增长*%。[pause 1s]下一句。\n".encode(), "draft", markdown)
    filled = prepare.prepare(script, {"*": ["5.2"]}).segments
    assert [(s.line, s.column, s.shown) for s in filled] == [
        (1, 1, "增长5.2%。"),
        (1, 16, "下一句。"),
    ]


def test_a_markup_error_names_its_place_in_the_markdown_file():
    script = markdown_script("# 标题\n\n> 1. 今年**经济**[paws 1s]运行\n")
    with pytest.raises(InputError, match=r"^3:14: unknown markup \[paws 1s\]"):
        prepare.prepare(script)


def test_an_escaped_bracket_is_text_not_markup():
    script = markdown_script("见\\[附件一\\]。\n")
    assert [s.shown for s in prepare.prepare(script).segments] == ["见[附件一]。"]


MARKDOWN_DRAFT = """\
<!-- 第二稿 -->
一、总体情况
==========

今年以来，**全市**GDP增长*%,
居全省第X位。[pause 1s]详见[报告][1]。

| 指标 | 数值 |
|---|---|
| 投资 | 3-5亿元 |

> 1. 第一项：★重点

[1]: https://example.org/report
"""


def test_voicer_check_reports_positions_in_the_markdown_file(tmp_path):
    (tmp_path / "draft.md").write_text(MARKDOWN_DRAFT, encoding="utf-8")
    result = invoke_voicer("check", "draft.md", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    found = {
        (f["line"], f["column"], f["kind"], f["text"])
        for f in json.loads(result.stdout)["findings"]
    }
    assert found == {
        (5, 17, "placeholder", "*"),
        (5, 19, "punctuation", ","),
        (6, 5, "placeholder", "X"),
        (10, 8, "reading", "3-5"),
        (12, 3, "reading", "1"),
        (12, 10, "unspeakable", "★"),
    }  # fmt: skip
    text = invoke_voicer("check", "draft.md", cwd=tmp_path).stdout.decode()
    assert "draft.md:5:17: error: unfilled placeholder * in “" in text


def test_voicer_render_places_sentences_and_placeholder_errors_in_the_markdown_file(tmp_path):
    (tmp_path / "draft.md").write_text(MARKDOWN_DRAFT, encoding="utf-8")
    refused = invoke_voicer("render", "--engine", "tone", "draft.md", cwd=tmp_path)
    assert refused.returncode == 2
    assert b"2 unfilled placeholders: 5:17 * in" in refused.stderr
    assert b"; 6:5 X in" in refused.stderr
    result = invoke_voicer(
        *("render", "--engine", "tone", "draft.md", "-o", "talk.wav", "--timeline", "t.json"),
        *("--fill", "5:17=5.2", "--fill", "6:5=3"),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    sentences = json.loads((tmp_path / "t.json").read_text(encoding="utf-8"))["sentences"]
    assert [(s["line"], s["column"], s["text"]) for s in sentences] == [
        (2, 1, "一、总体情况"),
        (5, 1, "今年以来，全市GDP增长5.2%,居全省第3位。"),
        (6, 18, "详见报告。"),
        (8, 3, "指标，数值"),
        (10, 3, "投资，3-5亿元"),
        (12, 3, "1、第一项：★重点"),
    ]


# --- every position reported for generated drafts ----------------------------------------------

_HAN = st.text(st.sampled_from("今年经济运行稳中向好全市增长居省第位报告"), min_size=1, max_size=6)
_LATIN = st.text(st.sampled_from("abcdeGDP"), min_size=1, max_size=5)
_PIECES = st.one_of(
    _HAN,
    _LATIN,
    st.sampled_from(
        ["5.2%", "2024年", "3-5", "12:30", "*", "XX", "某某", "★", "→", ",", "(", "&amp;"]
    ),
    _HAN.map(lambda t: f"**{t}**"),
    _LATIN.map(lambda t: f" _{t}_ "),
    _LATIN.map(lambda t: f"`{t}`"),
    _HAN.map(lambda t: f"[{t}](https://example.org/{len(t)} 'x')"),
    _HAN.map(lambda t: f"[{t}][ref]"),
    st.sampled_from(["\\*", "\\[", "\\_", "![图](a.png)", "<!-- 注 -->", "[pause 1s]", "[# 注]"]),
    st.sampled_from(["<https://example.org>", "<b>", "。", "，", "！"]),
)
_INLINE = st.lists(_PIECES, min_size=1, max_size=6).map("".join)
_LINES = st.lists(_INLINE, min_size=1, max_size=3).map("\n".join)
_BLOCKS = st.one_of(
    _LINES,
    _INLINE.map(lambda t: f"## {t}"),
    _INLINE.map(lambda t: f"{t}\n===="),
    st.lists(_INLINE, min_size=1, max_size=3).map(lambda items: "\n".join(f"- {i}" for i in items)),
    st.lists(_INLINE, min_size=1, max_size=3).map(
        lambda items: "\n".join(f"{n}. {i}" for n, i in enumerate(items, start=1))
    ),
    _LINES.map(lambda t: "> " + t.replace("\n", "\n> ")),
    st.lists(st.tuples(_INLINE, _INLINE), min_size=1, max_size=3).map(
        lambda rows: (
            "| a | b |\n|---|---|\n"
            + "\n".join(f"| {x.replace('|', '')} | {y.replace('|', '')} |" for x, y in rows)
        )
    ),
    st.sampled_from(["```\nx = [1]\n```", "    code *", "---", "<!-- 注 -->"]),
)
_DOCUMENTS = st.lists(_BLOCKS, min_size=1, max_size=5).map(
    lambda blocks: "\n\n".join([*blocks, "[ref]: https://example.org"]) + "\n"
)


_MADE_UP = "，、,"  # between table cells, after a list number: maybe not in the source


def _cues(text: str) -> int:
    return len(text) // 12 + 1


def _at(source: list[str], line: int, column: int) -> str:
    """The source from ``line``:``column`` on."""
    if not 0 < line <= len(source):
        return ""
    return "\n".join([source[line - 1][column - 1 :], *source[line:]])


def _names(found: str, written: str) -> bool:
    """``written`` starts with ``found``'s first character, and its others follow in order
    (bar spaces and the punctuation the reading may have made up)."""
    if found[:1] not in _MADE_UP and not written.startswith(found[:1]):
        return False
    rest = iter(written)
    return all(c in rest for c in found if not c.isspace() and c not in _MADE_UP)


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(_DOCUMENTS)
def test_every_position_reported_for_a_markdown_draft_points_at_what_it_names(markdown):
    script = markdown_script(markdown) if any(c.isalnum() for c in to_plain(markdown)) else None
    if script is None:
        return
    source = markdown.split("\n")
    prepared = prepare.prepare(script, allow_placeholders=True)
    for segment in prepared.segments:
        assert _names(segment.shown, _at(source, segment.line, segment.column)), segment
        for offset, character in enumerate(segment.shown):
            if not character.isspace() and character not in _MADE_UP:
                assert _at(source, *prepared.locate(segment, offset))[:1] == character
    for finding in lint.script_findings(script, _cues):
        assert _names(finding.text, _at(source, finding.line, finding.column)), finding
