"""Speakable text: numbers, dates, units and symbols as a Mandarin newsreader says them."""

from __future__ import annotations

import cn2an
import pytest
from hypothesis import given
from hypothesis import strategies as st

from voicer.errors import InputError
from voicer.script.spoken_form import Reading, explain, load_lexicon, spoken_form

# (written, spoken): sentences in the style of government work reports and news bulletins.
MANDARIN = [
    # integers, 两 and 二, 零, 万 and 亿
    ("城镇新增就业1244万人。", "城镇新增就业一千二百四十四万人。"),
    ("全年粮食产量13908亿斤。", "全年粮食产量一万三千九百零八亿斤。"),
    ("国内生产总值超过126万亿元。", "国内生产总值超过一百二十六万亿元。"),
    ("表彰2024名个人、2024个集体。", "表彰两千零二十四名个人、两千零二十四个集体。"),
    ("全市共有10个区、15个县。", "全市共有十个区、十五个县。"),
    ("开通110条公交线路，建成1005个服务站。", "开通一百一十条公交线路，建成一千零五个服务站。"),
    ("新增停车位30000个。", "新增停车位三万个。"),
    ("改造老旧小区12万户。", "改造老旧小区十二万户。"),
    ("完成投资3.5亿元。", "完成投资三点五亿元。"),
    ("常住人口1,234,567人。", "常住人口一百二十三万四千五百六十七人。"),
    ("近2000年来，这里一直是交通要道。", "近两千年来，这里一直是交通要道。"),
    ("帮扶2万名困难群众，惠及22000户。", "帮扶两万名困难群众，惠及两万两千户。"),
    ("安排200个项目，其中2个已完工。", "安排二百个项目，其中两个已完工。"),
    ("乡村公路延伸10010公里。", "乡村公路延伸一万零一十公里。"),
    ("财政收入达2亿元，连续2年增长。", "财政收入达两亿元，连续两年增长。"),
    # decimals
    ("人均住房面积12.5平方米。", "人均住房面积十二点五平方米。"),
    ("基尼系数为0.35。", "基尼系数为零点三五。"),
    ("平均水位上升3.05米。", "平均水位上升三点零五米。"),
    # percentages
    ("国内生产总值增长5.2%。", "国内生产总值增长百分之五点二。"),
    ("单位能耗同比下降0.3个百分点。", "单位能耗同比下降零点三个百分点。"),
    ("人口自然增长率为5‰。", "人口自然增长率为千分之五。"),
    ("预计增速保持在3%-5%。", "预计增速保持在百分之三到百分之五。"),
    ("利率区间为3%～5%。", "利率区间为百分之三到百分之五。"),
    ("居民消费价格涨幅控制在3-5%。", "居民消费价格涨幅控制在百分之三到百分之五。"),
    ("赤字率拟按3%安排，物价涨幅2%左右。", "赤字率拟按百分之三安排，物价涨幅百分之二左右。"),
    ("覆盖率达100%，完成计划的100.5%。", "覆盖率达百分之百，完成计划的百分之一百点五。"),
    # years
    ("2024年是实现“十四五”规划目标的关键一年。", "二零二四年是实现“十四五”规划目标的关键一年。"),
    ("1990年代以来，城市面貌发生巨大变化。", "一九九零年代以来，城市面貌发生巨大变化。"),
    ("实施2023—2025年行动计划。", "实施二零二三到二零二五年行动计划。"),
    ("印发《2021-2025规划》。", "印发《二零二一到二零二五规划》。"),
    ("见国发〔2024〕1号、国办发[2023]12号。", "见国发〔二零二四〕一号、国办发[二零二三]十二号。"),
    # dates
    ("2024年3月5日，全国人大会议开幕。", "二零二四年三月五日，全国人大会议开幕。"),
    ("3月15日是国际消费者权益日。", "三月十五日是国际消费者权益日。"),
    ("会议定于2024-03-05召开。", "会议定于二零二四年三月五日召开。"),
    ("截至2024/3/5，已受理申请。", "截至二零二四年三月五日，已受理申请。"),
    ("2月起实施，12月底完成。", "二月起实施，十二月底完成。"),
    ("纪念5·12地震、12·9运动、9·11事件。", "纪念五一二地震、一二九运动、九一一事件。"),
    # times
    ("发布会于14:30开始。", "发布会于十四点三十分开始。"),
    ("列车9:05发车，8:00前到达。", "列车九点零五分发车，八点前到达。"),
    ("下午2:30举行签约仪式。", "下午两点三十分举行签约仪式。"),
    ("火箭于21:37:05点火升空。", "火箭于二十一点三十七分零五秒点火升空。"),
    # ranges
    ("用3-5年时间基本建成。", "用三到五年时间基本建成。"),
    ("每年举办10～20个培训班。", "每年举办十到二十个培训班。"),
    ("每期选派2-3名干部。", "每期选派两到三名干部。"),
    ("工期为3至5年。", "工期为三至五年。"),
    ("1-11月，全省进出口总额增长6.8%。", "一到十一月，全省进出口总额增长百分之六点八。"),
    # ordinals and ranks
    ("经济总量居全国第3位。", "经济总量居全国第三位。"),
    ("第1季度实现开门红。", "第一季度实现开门红。"),
    ("综合排名居全省第2位。", "综合排名居全省第二位。"),
    ("荣获第1-3名的代表队。", "荣获第一到三名的代表队。"),
    ("80后、90后和00后成为创业主力。", "八零后、九零后和零零后成为创业主力。"),
    ("启动Ⅰ级响应，Ⅱ类水质，降为Ⅳ。", "启动一级响应，二类水质，降为四。"),
    ("发布IV级预警，III类水体。", "发布四级预警，三类水体。"),
    # phone-like digit strings
    ("拨打12345政务服务便民热线反映问题。", "拨打幺二三四五政务服务便民热线反映问题。"),
    ("群众可通过12345热线咨询。", "群众可通过幺二三四五热线咨询。"),
    ("咨询电话：010-12345678。", "咨询电话：零幺零 幺二三四五六七八。"),
    ("联系人手机12345678901。", "联系人手机幺二三四五六七八九零幺。"),
    ("遇到紧急情况请拨打110。", "遇到紧急情况请拨打幺幺零。"),
    ("遇到险情请拨打110、119或120。", "遇到险情请拨打幺幺零、幺幺九或幺二零。"),
    ("2024、2025年连续增长", "二零二四、二零二五年连续增长"),
    ("投资5万~10万元", "投资五万到十万元"),  # a tilde between amounts is 到
    ("需要1−2天", "需要一到两天"),  # U+2212 between numbers: a range
    ("911事件以后", "九一一事件以后"),  # an event named by its date
    ("补贴400元/月", "补贴四百元每月"),  # a rate
    ("牢记110、119或120。", "牢记幺幺零、幺幺九或幺二零。"),  # service numbers, no cue
    ("分别有110、119或120人。", "分别有一百一十、一百一十九或一百二十人。"),  # counted
    ("110、119、120热线全天候值守。", "幺幺零、幺幺九、幺二零热线全天候值守。"),
    ("拨打12345，受理120件、办结110件。", "拨打幺二三四五，受理一百二十件、办结一百一十件。"),
    ("服务热线400-123-4567。", "服务热线四零零 幺二三 四五六七。"),
    # units
    ("新建高速公路120km。", "新建高速公路一百二十公里。"),
    ("人均粮食占有量493kg。", "人均粮食占有量四百九十三公斤。"),
    ("每户新增住房面积100㎡。", "每户新增住房面积一百平方米。"),
    ("公园占地50m²。", "公园占地五十平方米。"),
    ("最高气温25℃，最低气温零下5℃。", "最高气温二十五摄氏度，最低气温零下五摄氏度。"),
    ("最低气温-3°C，高原−5℃。", "最低气温零下三摄氏度，高原零下五摄氏度。"),
    ("山顶－12℃，夜间-10～-5℃。", "山顶零下十二摄氏度，夜间零下十到零下五摄氏度。"),
    ("设计时速350km/h。", "设计时速三百五十公里每小时。"),
    ("单卡容量64GB。", "单卡容量六十四GB。"),
    ("线路全长100 km，气温25 ℃。", "线路全长一百公里，气温二十五摄氏度。"),
    ("新增装机容量2km线路与10MW光伏。", "新增装机容量两公里线路与十兆瓦光伏。"),
    # money
    ("门票¥100，学生票￥50。", "门票一百元，学生票五十元。"),
    ("每人补贴$5。", "每人补贴五美元。"),
    ("吸引外资$2亿。", "吸引外资两亿美元。"),
    # Latin abbreviations
    ("GDP、CPU和AI产业快速发展。", "GDP、CPU和AI产业快速发展。"),
    ("5G基站总数达337.7万个。", "五G基站总数达三百三十七点七万个。"),
    ("PM2.5平均浓度下降3.1%。", "PM二点五平均浓度下降百分之三点一。"),
    ("C919大飞机投入商业运营。", "C九一九大飞机投入商业运营。"),
    ("成功举办G20峰会，有效防控H7N9疫情。", "成功举办G二十峰会，有效防控H七N九疫情。"),
    # negative numbers, fractions, ratios
    ("净出口对经济增长的贡献率为-3.5。", "净出口对经济增长的贡献率为负三点五。"),
    ("约1/3的企业实现盈利，2/3的县达标。", "约三分之一的企业实现盈利，三分之二的县达标。"),
    ("主队以3:1获胜，最终比分3:10。", "主队以三比一获胜，最终比分三比十。"),
    ("画面宽高比为2.39∶1。", "画面宽高比为二点三九比一。"),
    ("实行7×24小时值守。", "实行七乘二十四小时值守。"),
    # placeholders are left for the module that reports them
    ("全年增长*%。", "全年增长*%。"),
    ("居全省第*位。", "居全省第*位。"),
    ("20XX年，××同志获评先进，增长X.X%。", "20XX年，××同志获评先进，增长X.X%。"),
    ("ＸＸ市第＊位。", "ＸＸ市第＊位。"),
    # full-width digits, letters and ％
    ("增长５．２％。", "增长百分之五点二。"),
    ("共１２３个项目，ＧＤＰ稳步增长。", "共一百二十三个项目，GDP稳步增长。"),
    ("会议于１４：３０开始。", "会议于十四点三十分开始。"),
]  # fmt: skip

ENGLISH = [
    ("Growth reached 5% last year.", "Growth reached 5 percent last year."),
    ("Prices rose 2.5% to 3.5%.", "Prices rose 2.5 percent to 3.5 percent."),
    ("We expect 3-5 new plants.", "We expect 3 to 5 new plants."),
    ("A rise of 3%-5% is likely.", "A rise of 3 percent to 5 percent is likely."),
    ("Inflation of 3-5% in 2024.", "Inflation of 3 to 5 percent in 2024."),
    ("Call 555-1234 before 2030.", "Call 555-1234 before 2030."),
]


@pytest.mark.parametrize(("written", "spoken"), MANDARIN)
def test_mandarin_sentences_are_spoken_as_a_newsreader_says_them(written, spoken):
    assert spoken_form(written) == spoken


@pytest.mark.parametrize(("written", "spoken"), ENGLISH)
def test_english_reads_percent_and_ranges_and_leaves_other_numbers(written, spoken):
    assert spoken_form(written, language="en") == spoken


def test_explain_lists_every_rewrite_with_its_position_and_rule():
    text = "2024年3月5日，ＧＤＰ增长5.2%，3-5年，居第2位，拨打12345。"
    readings = explain(text)
    assert [(r.written, r.spoken, r.rule) for r in readings] == [
        ("2024年3月5日", "二零二四年三月五日", "date"),
        ("ＧＤＰ", "GDP", "fullwidth"),
        ("5.2%", "百分之五点二", "percent"),
        ("3-5", "三到五", "range"),
        ("2", "二", "ordinal"),
        ("12345", "幺二三四五", "digits"),
    ]
    assert all(text[r.start : r.end] == r.written for r in readings)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("2024年", "year"),
        ("12.5", "decimal"),
        ("14:30", "time"),
        ("5G", "abbreviation"),
        ("120km", "unit"),
        ("-3.5", "negative"),
        ("¥100", "money"),
        ("1/3", "fraction"),
        ("12万", "number"),
        ("007", "digits"),
    ],
)
def test_explain_names_the_rule(text, rule):
    assert [r.rule for r in explain(text)] == [rule]


def test_placeholders_are_not_reported_as_rewrites():
    assert explain("增长*%，居全省第*位，20XX年") == []


def test_lexicon_comes_first_longest_written_form_first():
    lexicon = {"GDP": "国内生产总值", "GDP增速": "经济增速", "COVID-19": "新冠"}
    assert (
        spoken_form("GDP增速5%，GDP总量", lexicon=lexicon) == "经济增速百分之五，国内生产总值总量"
    )
    assert spoken_form("COVID-19疫情", lexicon=lexicon) == "新冠疫情"
    assert explain("GDP增速5%", lexicon=lexicon)[0] == Reading(
        0, 5, "GDP增速", "经济增速", "lexicon"
    )


def test_a_latin_written_form_matches_whole_words_only():
    lexicon = {"AI": "人工智能", "12": "十二"}
    assert spoken_form("AI与SAID，2012年", lexicon=lexicon) == "人工智能与SAID，二零一二年"


def test_rules_never_rewrite_inside_a_lexicon_replacement():
    assert spoken_form("热线12345", lexicon={"12345": "一二三四五"}) == "热线一二三四五"
    assert spoken_form("3-5 days, 12345", "en", {"12345": "one two three"}) == (
        "3 to 5 days, one two three"
    )


def test_only_the_lexicon_and_english_rules_apply_to_other_languages():
    assert spoken_form("2024年增长5%", language="en") == "2024年增长5 percent"


# --- lexicon files --------------------------------------------------------------------------------


def test_tsv_lexicon_with_comments_and_blank_lines(tmp_path):
    path = tmp_path / "words.tsv"
    path.write_text("# pronunciations\n\nGDP\t国内生产总值\n  # indented comment\n重庆\t崇庆\n")
    assert load_lexicon(path) == {"GDP": "国内生产总值", "重庆": "崇庆"}


@pytest.mark.parametrize(
    "body",
    ["GDP\t国内生产总值\nno tab here\n", "GDP\t国内生产总值\n\tempty\n", "a\tb\nGDP\tx\ty\n"],
)
def test_a_malformed_tsv_line_is_reported_with_path_and_line(tmp_path, body):
    path = tmp_path / "words.tsv"
    path.write_text(body)
    with pytest.raises(InputError, match=rf"^{path}:2: "):
        load_lexicon(path)


def test_a_tsv_entry_defined_twice_differently_is_an_error(tmp_path):
    path = tmp_path / "words.tsv"
    path.write_text("GDP\t国内生产总值\n\nGDP\t经济总量\n")
    with pytest.raises(InputError, match=rf"^{path}:3: 'GDP' is already defined on line 1"):
        load_lexicon(path)


def test_toml_lexicon_table_or_top_level_strings(tmp_path):
    table = tmp_path / "a.toml"
    table.write_text('[lexicon]\nGDP = "国内生产总值"\n"5G" = "五鸡"\n')
    top = tmp_path / "b.toml"
    top.write_text('"重庆" = "崇庆"\n')
    assert load_lexicon(table) == {"GDP": "国内生产总值", "5G": "五鸡"}
    assert load_lexicon(top) == {"重庆": "崇庆"}


def test_a_malformed_toml_lexicon_is_reported_with_path_and_line(tmp_path):
    path = tmp_path / "words.toml"
    path.write_text('[lexicon]\nGDP = "国内生产总值"\nCPU = \n')
    with pytest.raises(InputError, match=rf"^{path}:3: "):
        load_lexicon(path)
    path.write_text("[lexicon]\nGDP = 5\n")
    with pytest.raises(InputError, match="'GDP' must map to a non-empty string"):
        load_lexicon(path)


def test_a_lexicon_that_is_not_utf8_or_missing_is_an_input_error(tmp_path):
    path = tmp_path / "words.tsv"
    path.write_bytes("重庆\t崇庆\n".encode("gbk"))
    with pytest.raises(InputError, match="must be UTF-8"):
        load_lexicon(path)
    with pytest.raises(InputError, match="no such file"):
        load_lexicon(tmp_path / "missing.tsv")


# --- properties -----------------------------------------------------------------------------------

HAN = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
CJK_PUNCTUATION = st.sampled_from("，。、；：？！“”‘’（）《》〈〉【】「」『』…—～·〔〕﹏　")
DIGIT_TEXT = st.sampled_from("0123456789.,%-:/年月日第个万亿元号点")


def parse_chinese(said: str) -> int:
    """A small reference reader of Chinese numerals (零 to 万亿, with 两)."""
    digits = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"两": 2}
    places = {"十": 10, "百": 100, "千": 1000}
    total = section = group = digit = 0
    for c in said:
        if c in digits:
            digit = digits[c]
        elif c in places:
            group, digit = group + (digit or 1) * places[c], 0
        elif c == "万":
            section, group, digit = section + (group + digit) * 10**4, 0, 0
        elif c == "亿":
            total, section, group, digit = (total + section + group + digit) * 10**8, 0, 0, 0
        else:
            raise ValueError(f"not a numeral: {c!r} in {said!r}")
    return total + section + group + digit


@given(st.text(st.one_of(HAN, CJK_PUNCTUATION)))
def test_text_without_numbers_or_symbols_is_unchanged(text):
    assert spoken_form(text) == text
    assert explain(text) == []


@given(st.integers(min_value=0, max_value=10**12 - 1))
def test_every_integer_reads_back_to_itself(n):
    said = spoken_form(f"{n}个")
    assert said.endswith("个")
    assert parse_chinese(said[:-1]) == n
    assert cn2an.cn2an(said[:-1], "smart") == n


@given(st.integers(min_value=1000, max_value=10**12 - 1))
def test_thousands_separators_read_as_the_same_number(n):
    assert spoken_form(f"{n:,}人") == spoken_form(f"{n}人")


@given(st.text(st.one_of(HAN, DIGIT_TEXT)))
def test_every_digit_is_spoken_and_readings_rebuild_the_spoken_form(text):
    said = spoken_form(text)
    assert not any(c.isdigit() for c in said)
    readings = explain(text)
    assert all(text[r.start : r.end] == r.written for r in readings)
    assert all(a.end <= b.start for a, b in zip(readings, readings[1:], strict=False))
