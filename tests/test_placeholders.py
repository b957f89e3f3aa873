"""Placeholders in drafts: what is found where, the context shown, filling, fill files."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voicer.errors import InputError
from voicer.script.placeholders import (
    context,
    fill,
    find_placeholders,
    load_fill_file,
    parse_fills,
    unfilled,
)

DRAFT = """同志们：
　　今年以来，全市GDP增长*%，居全省第*位。
　　XX区、××县率先完成任务，某某同志作出了突出贡献。
　　全年新增就业【待定】万人，城镇居民人均可支配收入达到___元。
　　20XX年，我们将在{city}举办博览会，由{{organizer}}承办。
　　医院新购置X光机和CT设备，某些指标、某种程度上仍需提高。
　　有同志说，买一部iPhone X不如学好本领；Windows XP早已停止服务。
　　5*3的算术题人人会做，但民生问题没有标准答案（待定）。
***
　　下一步，我们要在某某领域取得突破，排名进入前X名。
Revenue grew XXX percent [TBD].
　　国发〔2024〕1号文件要求，〔数据〕待补。谢谢大家！
"""

EXPECTED = [
    (2, 15, "*"),
    (2, 22, "*"),
    (3, 3, "XX"),
    (3, 7, "××"),
    (3, 17, "某某"),
    (4, 9, "【待定】"),
    (4, 29, "___"),
    (5, 5, "XX"),
    (5, 13, "{city}"),
    (5, 26, "{{organizer}}"),
    (8, 26, "（待定）"),
    (10, 11, "某某"),
    (10, 25, "X"),
    (11, 14, "XXX"),
    (11, 26, "[TBD]"),
    (12, 18, "〔数据〕"),
]


def found(text):
    return [(p.line, p.column, p.text) for p in find_placeholders(text)]


def test_a_draft_reports_exactly_its_placeholders():
    assert found(DRAFT) == EXPECTED


def test_line_column_and_offset_agree():
    lines = DRAFT.split("\n")
    for p in find_placeholders(DRAFT):
        assert DRAFT[p.offset : p.end] == p.text
        assert lines[p.line - 1][p.column - 1 :].startswith(p.text)
        assert p.position == f"{p.line}:{p.column}"


def test_keys_are_the_text_or_the_field_name():
    keys = {p.text: p.key for p in find_placeholders(DRAFT)}
    assert keys["{city}"] == "city"
    assert keys["{{organizer}}"] == "organizer"
    assert keys["【待定】"] == "【待定】"
    assert keys["*"] == "*"


@pytest.mark.parametrize(
    "text",
    [
        "做X光检查",
        "X射线",
        "X轴与Y轴",
        "新款iPhone X发布",
        "Windows XP停止服务",
        "SpaceX发射火箭",
        "XXL码",
        "Chapter XX begins",
        "X-ray",
        "5*3=15",
        "5**3",
        "a*b",
        "* 第一条",
        "a * b",
        "某些地方",
        "某种程度上",
        "某市",
        "3×4",
        "国发〔2024〕1号",
        "（掌声）",
        "（2023年）",
        "***",
        "______",
        "【】",  # alone on a line: a decoration with nothing to speak
    ],
)
def test_false_friends_are_not_placeholders(text):
    assert found(text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("*市", "*"),
        ("增长*%", "*"),
        ("居全省第*位", "*"),
        ("增长＊%", "＊"),
        ("XX市", "XX"),
        ("xx同志", "xx"),
        ("ＸＸ县", "ＸＸ"),
        ("第X名", "X"),
        ("增长X%", "X"),
        ("X", "X"),
        ("20XX年", "XX"),
        ("××县", "××"),
        ("×××同志", "×××"),
        ("□□同志", "□□"),
        ("某某某同志", "某某某"),
        ("【待补充】", "【待补充】"),
        ("共有【】个", "【】"),
        ("〔数据〕", "〔数据〕"),
        ("［待核实］", "［待核实］"),
        ("人数(待定)", "(待定)"),
        ("达到___元", "___"),
        ("{{ name }}", "{{ name }}"),
        ("TODO", "TODO"),
        ("growth of TBD", "TBD"),
    ],
)
def test_each_kind_is_found(text, expected):
    assert [p.text for p in find_placeholders(text)] == [expected]


def test_custom_patterns_replace_the_defaults():
    assert [p.position for p in find_placeholders("甲乙丙", patterns=[r"乙"])] == ["1:2"]
    assert [p.key for p in find_placeholders("<城市>", patterns=[r"<(?P<key>\w+)>"])] == ["城市"]


def test_context_shows_the_line_around_the_placeholder():
    first, second = find_placeholders(DRAFT)[:2]
    assert context(DRAFT, first) == "今年以来，全市GDP增长*%，居全省第*位。"
    assert context(DRAFT, second, width=6) == "…%，居全省第*位。"
    assert context(DRAFT, first, width=4) == "…DP增长*%，居全…"
    organizer = find_placeholders(DRAFT)[9]
    assert context(DRAFT, organizer, width=5) == "…博览会，由{{organizer}}承办。"


def test_fill_per_occurrence_in_order():
    filled = fill(DRAFT, {"*": ["5.2", "3"]}, strict=False)
    assert "全市GDP增长5.2%，居全省第3位。" in filled
    assert "5*3的算术题" in filled


def test_fill_a_single_value_fills_every_occurrence():
    assert fill("*市*县*镇", {"*": "某"}) == "某市某县某镇"


def test_fill_by_line_and_column_takes_that_occurrence_out_of_the_order():
    text = "增长*%\n第*位，第*名"
    assert fill(text, {"2:2": "三"}) == "增长*%\n第三位，第*名"
    assert fill(text, {"2:2": "三", "*": ["5.2", "八"]}) == "增长5.2%\n第三位，第八名"
    assert fill(text, {"1:3": "5.2", "*": "?"}) == "增长5.2%\n第?位，第?名"


def test_fill_what_it_can_and_report_the_rest():
    filled = fill(DRAFT, parse_fills(["*=5.2", "*=3", "city=杭州", "{{organizer}}=市政府"]))
    assert "在杭州举办博览会，由市政府承办" in filled
    left = [p.text for p in find_placeholders(filled)]
    assert "*" not in left and "{city}" not in left
    assert left[:3] == ["XX", "××", "某某"]


def test_unfilled_lists_what_fill_leaves_at_the_original_positions():
    values = parse_fills(["*=5.2", "*=3", "city=杭州", "{{organizer}}=市政府", "XX=东城"])
    left = [(p.line, p.column, p.text) for p in unfilled(DRAFT, values)]
    assert left == [e for e in EXPECTED if e[2] not in ("*", "{city}", "{{organizer}}", "XX")]
    assert [p.text for p in find_placeholders(fill(DRAFT, values))] == [e[2] for e in left]


def test_filled_values_are_not_searched_again():
    assert fill("增长*%", {"*": "XX"}) == "增长XX%"
    assert [p.text for p in find_placeholders("增长XX%")] == ["XX"]


def test_fill_with_nothing_changes_nothing():
    assert fill(DRAFT, {}) == DRAFT


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"Y": "1"}, r"no placeholder 'Y' in the text"),
        ({"9:9": "1"}, r"no placeholder starts at 9:9"),
        ({"1:3": ["1", "2"]}, r"2 values for the one placeholder at 1:3"),
        ({"*": ["1", "2", "3"]}, r"3 values for '\*' but 2 such placeholders"),
        ({"2:2": "1", "*": ["1", "2"]}, r"2 values for '\*' but 1 such placeholders"),
    ],
)
def test_strict_fill_refuses_values_that_fill_nothing(values, message):
    with pytest.raises(InputError, match=message):
        fill("增长*%\n第*位", values)
    fill("增长*%\n第*位", values, strict=False)  # ignored when not strict


def test_parse_fills():
    assert parse_fills(["*=上海", "*=5.2", " XX = 杭州 ", "3:12=a=b", "【待定】="]) == {
        "*": ["上海", "5.2"],
        "XX": ["杭州"],
        "3:12": ["a=b"],
        "【待定】": [""],
    }
    assert parse_fills(["{city}=杭州", "{{ city }}=宁波"]) == {"city": ["杭州", "宁波"]}


@pytest.mark.parametrize("pair", ["上海", "=上海", " =x", ""])
def test_parse_fills_refuses_a_pair_without_a_key(pair):
    with pytest.raises(InputError, match=r"^--fill .*expected KEY=VALUE"):
        parse_fills(["*=1", pair])


def test_load_fill_file_lines(tmp_path):
    path = tmp_path / "fills.txt"
    path.write_text("# 数据来源：统计局\n*=5.2\n\n*\t3\nXX\t杭州=西湖\n{city}= 宁波 \n", "utf-8")
    assert load_fill_file(path) == {"*": ["5.2", "3"], "XX": ["杭州=西湖"], "city": ["宁波"]}


def test_load_fill_file_reads_gbk_and_bom(tmp_path):
    gbk, bom = tmp_path / "gbk.txt", tmp_path / "bom.txt"
    gbk.write_bytes("XX=杭州\n".encode("gbk"))
    bom.write_bytes("XX=杭州\n".encode("utf-8-sig"))
    assert load_fill_file(gbk) == load_fill_file(bom) == {"XX": ["杭州"]}


def test_load_fill_file_names_the_bad_line(tmp_path):
    path = tmp_path / "fills.txt"
    path.write_text("*=5.2\n# ok\n杭州\n", "utf-8")
    with pytest.raises(InputError, match=rf"^{path}:3: expected KEY=VALUE or KEY<tab>VALUE"):
        load_fill_file(path)


def test_load_fill_file_toml(tmp_path):
    path = tmp_path / "fills.toml"
    path.write_text('"*" = ["5.2", "3"]\nXX = "杭州"\n"2:5" = "八"\n"{city}" = "宁波"\n', "utf-8")
    assert load_fill_file(path) == {
        "*": ["5.2", "3"],
        "XX": ["杭州"],
        "2:5": ["八"],
        "city": ["宁波"],
    }


def test_load_fill_file_toml_errors(tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text('XX = "杭州"\n"*" = 5.2.1\n', "utf-8")
    with pytest.raises(InputError, match=rf"^{broken}:2:\d+: "):
        load_fill_file(broken)
    number = tmp_path / "number.toml"
    number.write_text('"*" = 5.2\n', "utf-8")
    with pytest.raises(InputError, match=r"must be a string or a list of strings"):
        load_fill_file(number)


def test_load_fill_file_missing(tmp_path):
    with pytest.raises(InputError, match=r"missing.txt: no such file"):
        load_fill_file(tmp_path / "missing.txt")


def test_load_fill_file_endless():
    with pytest.raises(
        InputError, match=r"^/dev/zero: more than 16 MiB: too large for a fill file"
    ):
        load_fill_file(Path("/dev/zero"))


_HAN = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF).filter(lambda c: c != "某")
_PUNCTUATION = st.sampled_from(list("，。、；：？！“”‘’《》——…·") + [" ", "\n"])


@given(st.text(st.one_of(_HAN, _PUNCTUATION)))
def test_han_text_and_punctuation_hold_no_placeholders(text):
    assert find_placeholders(text) == []
    assert fill(text, {}) == text


@given(st.text())
def test_findings_never_overlap_and_match_the_text(text):
    placeholders = find_placeholders(text)
    for before, after in zip(placeholders, placeholders[1:], strict=False):
        assert before.end <= after.offset
    for p in placeholders:
        assert text[p.offset : p.end] == p.text
    assert fill(text, {}) == text
