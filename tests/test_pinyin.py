"""The Mandarin readings: one syllable per Han character, the rules, overrides said as given,
and the news register's full tones guarded."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voicer.script import pinyin

HAN = re.compile("[\u4e00-\u9fff]")
SYLLABLE = re.compile(r"[a-z]+[1-5]")

texts = st.text(
    st.sampled_from(list("不一二十百千万个天对是看好你我很展览馆的地得了着过们子东西，。、 1a")),
    max_size=24,
)


@pytest.mark.slow
@given(texts)
@settings(max_examples=200, deadline=None)
def test_every_han_character_has_one_syllable_and_words_tile_the_text(text):
    words = pinyin.read(text)
    assert "".join(word.text for word in words) == text
    at = 0
    for word in words:
        assert word.start == at
        at += len(word.text)
        han = HAN.findall(word.text)
        assert len(word.pinyin) == (len(word.text) if han else 0)
        assert all(SYLLABLE.fullmatch(s) for s in word.pinyin)
    assert len(pinyin.syllables(text)) == len(HAN.findall(text))


@pytest.mark.parametrize("word", sorted(pinyin.NEWS_FULL_TONES))
def test_news_register_words_keep_their_full_tones(word):
    assert not [s for s in pinyin.syllables(word) if s.endswith("5")], word


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("过去的五年", "guo4 qu4 de5 wu3 nian2"),  # the past, not guò qu
        ("地方政府", "di4 fang1 zheng4 fu3"),  # local
        ("这个地方", "zhe4 ge5 di4 fang5"),  # a place
        ("土地", "tu3 di4"),  # 地 ending a word is no particle
        ("认真地学习", "ren4 zhen1 de5 xue2 xi2"),
        ("我们得抓紧", "wo3 men5 dei3 zhua1 jin3"),
        ("一月一日", "yi1 yue4 yi1 ri4"),
        ("一九四九年", "yi1 jiu3 si4 jiu3 nian2"),
        ("一万元", "yi2 wan4 yuan2"),
        ("一千元", "yi4 qian1 yuan2"),
        ("数一数二", "shu3 yi1 shu3 er4"),
        ("看一看", "kan4 yi5 kan4"),
        ("男子", "nan2 zi3"),
        ("展览馆", "zhan2 lan2 guan3"),
        ("水产品", "shui2 chan2 pin3"),  # 水产+品
        ("第一百位", "di4 yi4 bai3 wei4"),  # a number goes on after 第一
        ("统一战线", "tong3 yi1 zhan4 xian4"),  # 统一 ends inside a longer word
        ("这一年", "zhe4 yi4 nian2"),
        ("能不能", "neng2 bu5 neng2"),
        ("纠正不正之风", "jiu1 zheng4 bu2 zheng4 zhi1 feng1"),  # no A不A across words
        ("走过去", "zou3 guo5 qu5"),
        ("成绩属于过去", "cheng2 ji4 shu3 yu2 guo4 qu4"),
        ("百分之一点八", "bai3 fen1 zhi1 yi1 dian3 ba1"),
        ("引得进，留得住", "yin3 de5 jin4 liu2 de5 zhu4"),  # can be done: 得 is de
        ("久久为功", "jiu2 jiu3 wei2 gong1"),
        ("不为所动", "bu4 wei2 suo3 dong4"),  # 为…所: wéi, so 不 stays bù
        ("一不怕苦，二不怕死", "yi1 bu2 pa4 ku3 er4 bu2 pa4 si3"),  # an enumeration
        ("说说", "shuo1 shuo5"),
        ("会议开得很成功", "hui4 yi4 kai1 de5 hen3 cheng2 gong1"),
        ("取得很大进展", "qu3 de2 hen3 da4 jin4 zhan3"),
        ("东西方向", "dong1 xi1 fang1 xiang4"),
        ("加快补短板", "jia1 kuai4 bu3 duan2 ban3"),
        ("全国一盘棋", "quan2 guo2 yi4 pan2 qi2"),  # 国一 is no common word
        ("比例为二比一", "bi3 li4 wei2 er4 bi3 yi1"),  # 为 before a number: "is"
        ("这场发布会", "zhe4 chang3 fa1 bu4 hui4"),
        ("只不过", "zhi3 bu2 guo4"),  # an adverb, not a verb and its complement
        ("要不然", "yao4 bu4 ran2"),
        ("决不能", "jue2 bu4 neng2"),
        ("同意不同意", "tong2 yi4 bu5 tong2 yi4"),  # AB不AB
        ("借钱不还", "jie4 qian2 bu4 huan2"),
        ("不为过", "bu4 wei2 guo4"),
        ("吃过饭了", "chi1 guo5 fan4 le5"),
        ("不走过场", "bu4 zou3 guo4 chang3"),
        ("合理不合理", "he2 li3 bu5 he2 li3"),  # though cut 合理|不合理
        ("为官不为", "wei2 guan1 bu4 wei2"),
        ("不为任何干扰所惑", "bu4 wei2 ren4 he2 gan1 rao2 suo3 huo4"),
        ("退休不褪色", "tui4 xiu1 bu2 tui4 se4"),
        ("睡不着", "shui4 bu5 zhao2"),
        ("一万零一百", "yi2 wan4 ling2 yi4 bai3"),
        ("一年级新生", "yi1 nian2 ji2 xin1 sheng1"),
        ("二十届一中全会", "er4 shi2 jie4 yi1 zhong1 quan2 hui4"),  # 补+短板, though cut 补短|板
        ("小老虎", "xiao3 lao2 hu3"),
    ],
)
def test_readings_a_newsreader_gives(text, said):
    assert " ".join(pinyin.syllables(text)) == said


def test_an_override_is_said_exactly_and_leaves_its_neighbours_to_the_rules():
    text = "他是银行行长，不对。"
    given = pinyin.Override(4, 6, ("xing2", "zhang3"))
    words = pinyin.read(text, [given])
    assert [w.pinyin for w in words if w.text == "行长"] == [("xing2", "zhang3")]
    assert pinyin.syllables(text, [given])[-2:] == ["bu2", "dui4"]
    # an override whose count does not match its characters is not applied
    wrong = pinyin.Override(4, 6, ("xing2",))
    assert pinyin.syllables(text, [wrong]) == pinyin.syllables(text)
