"""Mandarin readings as a newsreader says them: pinyin for every Han character, tones after
sandhi.

The offline engine speaks the phonemes it is given, so what is decided here is what the
listener hears. A text is cut into words with their parts of speech (jieba), each word gets
its dictionary reading (pypinyin, whose phrase table settles most polyphones), and then the
rules of the spoken language are applied, in this order:

0. polyphones the dictionary gets wrong: a short table of phrases of speeches (还款, 朝鲜…)
   and readings the part of speech decides (为 after a verb is wéi, 长 the adjective cháng);
1. neutral tones: particles by part of speech (的/地/得/了/着/过, 吗/呢/吧…), 们, reduplicated
   nouns and verbs (妈妈, 看看), 子 as a suffix, complements of direction (走过去), and a
   list of common words (东西, 先生, 喜欢…) less the words a newsreader says with full tones
   (:data:`NEWS_FULL_TONES`);
2. 不: bú before a 4th tone, neutral inside A不A and V不C (是不是, 看不懂);
3. 一: yī where it is a digit, an ordinal or the end of a word (一九四九, 第一, 十一月, 一月,
   统一, 一是…), neutral in 看一看, otherwise yí before a 4th tone and yì before the others,
   before 万/千/亿/百 too;
4. third tone: 3+3 becomes 2+3 within prosodic words (你好), then across their boundaries,
   left to right, so 展览馆 is 2+2+3 and 小老虎 (小+老虎) is 3+2+3.

Syllables are written with a tone number, 1 to 4, and 5 for the neutral tone (``hang2``,
``ma5``); ü is ``v``. One syllable per Han character, always, so word marks, counted by
character, never move. Readings the user gives (:class:`Override`) are said exactly.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from voicer.model import Override  # a reading the user gives, as sentences carry it

__all__ = ["NEWS_FULL_TONES", "Override", "Word", "read", "rules_version", "syllables"]

_HAN = re.compile("[\u4e00-\u9fff]+")
_DIGITS = set("零〇一二三四五六七八九")
_UNITS = set("百千万亿")
_NUMERALS = _DIGITS | _UNITS | set("十两点第")
_PARTICLES = {"uj": "的", "uv": "地", "ud": "得", "ul": "了", "uz": "着", "ug": "过"}
_PARTICLE_READINGS = {
    "的": "de5",
    "地": "de5",
    "得": "de5",
    "了": "le5",
    "着": "zhe5",
    "过": "guo5",
}
# one-character complements of result or direction after V得 (引得进, 留得住, 放得下)
_COMPLEMENTS = frozenset("进住起到完动开出来去上下清见懂通成掉")
# verbs whose 过 in a word of two is the particle of experience (去过, 见过), unlike 通过, 经过
_EXPERIENCED = set("看去来做见听吃用说想到写读学住干试遇碰有受走坐演")
_MODAL = set("吗呢吧啊呀嘛啦哇哪呐")
# 一 reads yī before these: ordinals and ranks (一号线, 一等奖, 一季度, 一级响应, 一审)
_ORDINAL_AFTER_YI = set("号等季级线审")
# words ending in 一 whose 一 is not "one" counting what follows: 这一年 is zhè yì nián
_DETERMINERS = set("这那每哪某任另")
# 一 at the start of an enumeration: 一是…二是…, 一要…二要…
_ENUMERATION_AFTER_YI = set("是要")
# reduplications that stay full: "every" (人人, 天天), not the neutral-tone kind (妈妈, 看看)
_EVERY = set("人天年月日家户处事时步层条个件样村县省国代")
# words whose 子 keeps its third tone (a person, a particle, a seed): not the suffix
_FULL_ZI_WORDS = (
    "男子 女子 分子 原子 电子 量子 粒子 质子 中子 光子 离子 因子 算子 学子 弟子 君子 "
    "王子 太子 天子 公子 游子 赤子 孔子 孟子 老子 庄子 墨子 荀子 韩子 瓜子 莲子 鱼子 "
    "棋子 孝子 臣子 才子 士子 舟子 独生子"
)
_FULL_ZI = frozenset(_FULL_ZI_WORDS.split())

# Words that colloquial lists say with a neutral tone but a newsreader says with full tones,
# each with its reason. They win over every neutral-tone rule.
NEWS_FULL_TONES: dict[str, str] = {
    "过去": "the past (过去的五年): a time noun on air, guòqù",
    "分析": "fēnxī in the dictionary; only careless speech weakens it",
    "上下": "上下一心, 上下功夫: both parts carry meaning",
    "部分": "部分地区: a quantity, bùfèn",
    "计划": "jìhuà in the dictionary",
    "精神": "the spirit (会议精神) is jīngshén; jīngshen is 'lively'",
    "熟悉": "shúxī on air",
    "介绍": "jièshào in the dictionary",
    "照顾": "zhàogù in the dictionary",
    "幸福": "xìngfú in the dictionary",
    "费用": "fèiyòng in the dictionary",
    "位置": "wèizhì in the dictionary",
    "刺激": "cìjī in the dictionary",
    "逻辑": "luójí in the dictionary",
    "编辑": "biānjí in the dictionary",
    "报复": "bàofù in the dictionary",
    "意识": "yìshí in the dictionary",
    "将军": "jiāngjūn in the dictionary",
    "冷战": "the Cold War, lěngzhàn (lěngzhan is a shiver)",
    "利害": "利害关系: interests, lìhài (lìhai is 'fierce')",
    "下水": "a ship launched, xiàshuǐ (xiàshui is offal)",
    "大人": "an adult, dàrén (大人和孩子)",
    "千斤": "千斤顶 and weights: qiānjīn",
    "一辈": "一辈子 is yíbèizi: 辈 keeps its tone",
    "不由": "不由得: 由 keeps its tone",
    "温和": "mild, wēnhé in the dictionary (wēnhuo is lukewarm)",
    "东家": "the east household (东家 in 东家西家) is said in full on air",
    "实在": "实实在在, real: shízài",
    "自在": "自由自在: zìzài",
    "关系": "国际关系, 关系到: xì keeps its tone on air",
    "队伍": "干部队伍, 人才队伍: duìwǔ on air",
    "困难": "困难群众, 克服困难: kùnnán on air",
}
# Full tones before a noun, a neutral last syllable elsewhere: 地方政府 (local) but 这个地方
# (a place); 兄弟省份 (fraternal) but 兄弟 (brothers)
_FULL_BEFORE_NOUN = frozenset(["地方", "兄弟"])
# complements of direction, said neutral after a verb (走过去, 站起来, 拿出来)
_DIRECTION_WORDS = "过去 过来 起来 下来 下去 上来 上去 出来 出去 进来 进去 回来 回去"
_DIRECTIONS = frozenset(_DIRECTION_WORDS.split())
# common words said with a neutral last syllable that misaki's list (below) lacks
_MORE_NEUTRAL = frozenset(["知道", "早上", "晚上"])


@dataclass(frozen=True)
class Word:
    """A word of the text and how it is said.

    ``pinyin`` holds one syllable per character of ``text`` when the word is Han characters,
    and is empty for anything else (punctuation, spaces, Latin letters, digits).
    """

    text: str
    start: int  # offset in the text read
    tag: str  # jieba's part of speech; "x" for what is not a Han word, "" for an override
    pinyin: tuple[str, ...]


def read(text: str, overrides: Sequence[Override] = ()) -> list[Word]:
    """``text`` cut into words, each with its reading; ``overrides`` are said exactly.

    >>> [(w.text, " ".join(w.pinyin)) for w in read("不对，一天。")]
    [('不', 'bu2'), ('对', 'dui4'), ('，', ''), ('一天', 'yi4 tian1'), ('。', '')]
    >>> syllables("银行行长说你好")
    ['yin2', 'hang2', 'hang2', 'zhang3', 'shuo1', 'ni2', 'hao3']
    """
    found: list[Word] = []
    at = 0
    runs = list(_HAN.finditer(text))
    for number, run in enumerate(runs):
        if run.start() > at:
            found.append(Word(text[at : run.start()], at, "x", ()))
        inside = [o for o in overrides if run.start() <= o.start and o.end <= run.end()]
        counted = any(later.group().startswith("二") for later in runs[number + 1 :])
        found += _read_run(run.group(), run.start(), inside, counted)
        at = run.end()
    if at < len(text):
        found.append(Word(text[at:], at, "x", ()))
    return found


@cache
def rules_version() -> str:
    """A digest of these rules (this module's source): any change to them, however small, is a
    new version, so the offline engine's clips spoken by the rules before are not reused."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]


def syllables(text: str, overrides: Sequence[Override] = ()) -> list[str]:
    """Every Han character's syllable, in order.

    >>> syllables("你好，世界")
    ['ni2', 'hao3', 'shi4', 'jie4']
    """
    return [syllable for word in read(text, overrides) for syllable in word.pinyin]


# --- one run of Han characters ----------------------------------------------------------------


_Span = tuple[int, int, str, str]  # a word of a run: (start, end, word, tag)
_NO_WORD: _Span = (0, 0, "", "")


@dataclass
class _Run:
    """A run of Han characters being read: its words, each character's dictionary reading
    and the reading said so far."""

    words: list[tuple[str, str]]  # (word, tag)
    base: list[str]  # the dictionary's syllable of each character
    said: list[str]
    fixed: set[int]  # characters whose reading the user gave
    counted: bool = False  # a later run starts with 二 (see _read_run)
    corrected: set[int] = field(default_factory=set)  # read from the phrase table

    @property
    def chars(self) -> str:
        return "".join(word for word, _ in self.words)

    def spans(self) -> list[_Span]:
        """Each word as (start, end, word, tag), offsets in the run."""
        found: list[_Span] = []
        at = 0
        for word, tag in self.words:
            found.append((at, at + len(word), word, tag))
            at += len(word)
        return found

    def set_tone(self, index: int, tone: int) -> None:
        self.set_syllable(index, self.said[index][:-1] + str(tone))

    def set_syllable(self, index: int, syllable: str) -> None:
        if index not in self.fixed:
            self.said[index] = syllable

    def correct(self, index: int, syllable: str) -> None:
        """The dictionary's reading of a character put right: the rules start from it."""
        if index not in self.fixed:
            self.said[index] = self.base[index] = syllable


def _read_run(
    chars: str, offset: int, overrides: Sequence[Override], counted: bool = False
) -> list[Word]:
    """A run of Han characters read; ``counted``: a later run of the text starts with 二, so
    a 一 starting this one heads an enumeration (一不怕苦，二不怕死)."""
    run = _dictionary_readings(chars, offset, overrides)
    run.counted = counted
    _polyphones(run)
    _neutral_tones(run)
    _bu(run)
    _yi(run)
    _third_tones(run)
    return [
        Word(word, offset + start, tag, tuple(run.said[start:end]))
        for start, end, word, tag in run.spans()
    ]


def _dictionary_readings(chars: str, offset: int, overrides: Sequence[Override]) -> _Run:
    """The run cut into words, the user's readings as words of their own, and the
    dictionary's reading of every character."""
    from pypinyin import Style, lazy_pinyin

    words: list[tuple[str, str]] = []
    given: dict[int, tuple[str, ...]] = {}
    at = 0
    for override in sorted(overrides, key=lambda o: o.start):
        start, end = override.start - offset, override.end - offset
        if start < at or len(override.pinyin) != end - start:
            continue
        words += _cut(chars[at:start])
        given[sum(len(w) for w, _ in words)] = override.pinyin
        words.append((chars[start:end], ""))
        at = end
    words += _cut(chars[at:])
    base: list[str] = []
    fixed: set[int] = set()
    for word, _ in words:
        if len(base) in given:
            fixed.update(range(len(base), len(base) + len(word)))
            base += given[len(base)]
        else:
            base += lazy_pinyin(word, style=Style.TONE3, neutral_tone_with_five=True)
    return _Run(words, base, list(base), fixed)


def _cut(chars: str) -> list[tuple[str, str]]:
    """Words and their parts of speech."""
    from voicer.script.sentences import segmenter

    if not chars:
        return []
    segmenter()  # jieba imported and set up as voicer wants it, before its first use
    import jieba.posseg

    return [(pair.word, pair.flag) for pair in jieba.posseg.cut(chars)]


def _tone(syllable: str) -> int:
    return int(syllable[-1]) if syllable[-1:].isdigit() else 5


# A rule for one word of a run, ``spans[number]``: it says whether it holds for the word, and
# if so, what it changes in the run. The first rule that holds is the only one applied.
_WordRule = Callable[[_Run, list[_Span], int], bool]


def _apply_word_rules(run: _Run, rules: Sequence[_WordRule]) -> None:
    """Each word of ``run`` through ``rules``, in order, until one of them holds for it."""
    spans = run.spans()
    for number in range(len(spans)):
        for rule in rules:
            if rule(run, spans, number):
                break


def _before(spans: list[_Span], number: int) -> _Span:
    return spans[number - 1] if number else _NO_WORD


def _tag_after(spans: list[_Span], number: int) -> str:
    return spans[number + 1][3] if number + 1 < len(spans) else ""


# --- polyphones the dictionary reads wrong ------------------------------------------------------

# Phrases of speeches whose reading pypinyin's phrase table gets wrong (checked against the
# 现代汉语词典); each is found anywhere in a run, whatever the word cut.
_PHRASES = {
    "还款": "huan2 kuan3",
    "还贷": "huan2 dai4",
    "还钱": "huan2 qian2",
    "还债": "huan2 zhai4",
    "有借有还": "you3 jie4 you3 huan2",
    "数以": "shu4 yi3",
    "出处": "chu1 chu4",
    "朝鲜": "chao2 xian3",
    "中肯": "zhong4 ken3",
    "全长": "quan2 chang2",
    "接种": "jie1 zhong4",
    "开花结果": "kai1 hua1 jie1 guo3",
    "蒙古": "meng3 gu3",
    "不正当": "bu4 zheng4 dang4",
    "正当权益": "zheng4 dang4 quan2 yi4",
    "正当防卫": "zheng4 dang4 fang2 wei4",
    "正当理由": "zheng4 dang4 li3 you2",
    "久久为功": "jiu3 jiu3 wei2 gong1",
    "不为过": "bu4 wei2 guo4",
    "为官": "wei2 guan1",
    "不切实际": "bu4 qie4 shi2 ji4",
    "褪色": "tui4 se4",
    "少不了": "shao3 bu5 liao3",
    "少不得": "shao3 bu5 de5",
    "东西方": "dong1 xi1 fang1",  # east and west, not "things"
    "东西向": "dong1 xi1 xiang4",
    "东西走向": "dong1 xi1 zou3 xiang4",
    "东西部": "dong1 xi1 bu4",
}
# 场 after a number is chǎng for games, shows and meetings (一场比赛), cháng for events
# that run their course (一场大雨), as the dictionary has it
_SHOW_COUNTED = re.compile(
    "(?<=[一二两三四五六七八九十几每这那])场"
    "(?=比赛|球赛|赛|演出|电影|音乐会|晚会|报告|讲座|发布会|考试|会议|活动)"
)
# readings that the characters around decide, wherever the words are cut
_CONTEXT_READINGS = (
    (_SHOW_COUNTED, "chang3"),  # 一场比赛: chǎng counts shows and matches
    (re.compile("(?<=[不没])还$"), "huan2"),  # 借钱不还: "still" never ends a clause
    (re.compile("(?<=不)为$"), "wei2"),  # 为官不为: "for" never ends a clause
    (re.compile("为(?=.{0,6}所)"), "wei2"),  # 为…所, the passive: 不为所动, 为人民所拥护
)
# adverbs before 不 in words of three that are no verb and complement (决不能, 只不过)
_ADVERBS = frozenset("只决绝并毫也都就还又再更最很太永均皆亦尚仍")
# verbs before which 为 is still "for" (要为人民服务), not "as"
_MODAL_VERBS = frozenset(
    ["要", "会", "能", "应", "该", "应该", "应当", "必须", "需要", "可以", "愿意", "想", "敢", "是"]
)


def _polyphones(run: _Run) -> None:
    """Phrases from :data:`_PHRASES`, and the readings the words around decide: 为 is wéi
    after a verb (成长为, 评为), before a number, in 以…为 and 为…所, and ending a clause after
    不; 长 as an adjective is cháng; 中 as a verb (中了埋伏) is zhòng; 大都 before a verb,
    "mostly", is dàdōu; 场 counting shows is chǎng; 还 ending a clause after 不 is huán; 着 in
    V不着 is zháo; 削 the verb is xiāo."""
    chars = run.chars
    for phrase, said in _PHRASES.items():
        for found in re.finditer(phrase, chars):
            for index, syllable in enumerate(said.split(), found.start()):
                run.correct(index, syllable)
                run.corrected.add(index)
    for pattern, syllable in _CONTEXT_READINGS:
        for found in pattern.finditer(chars):
            run.correct(found.start(), syllable)
    _apply_word_rules(run, _POLYPHONE_RULES)


def _wei_completes(run: _Run, spans: list[_Span], number: int) -> bool:
    """为 alone after a verb, after 以, or before a number: wéi (成长为, 以…为, 比例为二比一)."""
    start, end, word, _ = spans[number]
    if word != "为":
        return False
    chars = run.chars
    if (
        _verb_before(_before(spans, number))
        or "以" in chars[:start]
        or chars[end : end + 1] in _NUMERALS
    ):
        run.correct(start, "wei2")
        return True
    return False


def _wei_in_verb(run: _Run, spans: list[_Span], number: int) -> bool:
    """A verb of two ending in 为: wéi (评为, 成为)."""
    start, _, word, tag = spans[number]
    if len(word) == 2 and word[1] == "为" and tag.startswith("v"):
        run.correct(start + 1, "wei2")
        return True
    return False


def _chang_adjective(run: _Run, spans: list[_Span], number: int) -> bool:
    """长 the adjective: cháng; not before another adjective (长高)."""
    start, _, word, tag = spans[number]
    if word == "长" and tag == "a" and not _tag_after(spans, number).startswith("a"):
        run.correct(start, "chang2")
        return True
    return False


def _zhong_verb(run: _Run, spans: list[_Span], number: int) -> bool:
    """中 before 了 is the verb: zhòng (中了埋伏)."""
    start, _, word, _ = spans[number]
    if word == "中" and _tag_after(spans, number) == "ul":
        run.correct(start, "zhong4")
        return True
    return False


def _zhao_reached(run: _Run, spans: list[_Span], number: int) -> bool:
    """着 in V不着 and V得着: zháo, reaching the aim (睡不着, 用得着)."""
    _, end, word, _ = spans[number]
    if len(word) == 3 and word[1] in "不得" and word[2] == "着":
        run.correct(end - 1, "zhao2")
        return True
    return False


def _dadou_mostly(run: _Run, spans: list[_Span], number: int) -> bool:
    """大都 before a verb is "mostly": dàdōu."""
    _, end, word, _ = spans[number]
    if word == "大都" and _tag_after(spans, number).startswith("v"):
        run.correct(end - 1, "dou1")
        return True
    return False


def _xiao_peel(run: _Run, spans: list[_Span], number: int) -> bool:
    """削 the verb is xiāo (削苹果), but 削减, 削弱 are xuē."""
    start, _, word, tag = spans[number]
    if word.startswith("削") and tag[:1] in "vl" and not _is_word(word[:2]):
        run.correct(start, "xiao1")
        return True
    return False


_POLYPHONE_RULES: tuple[_WordRule, ...] = (
    _wei_completes,
    _wei_in_verb,
    _chang_adjective,
    _zhong_verb,
    _zhao_reached,
    _dadou_mostly,
    _xiao_peel,
)


def _complements(before: _Span, direction: str) -> bool:
    """Whether ``direction`` completes the verb ``before`` (走过去, 发展起来) rather than being
    its object: 过去 after a verb of two is the past (属于过去, 回顾过去)."""
    verb = before[2]
    return _verb_before(before) and (len(verb) == 1 or not direction.startswith("过"))


def _verb_before(word: _Span) -> bool:
    """Whether ``word`` is a verb 为 can complete (成长为), not a modal or a reduplication
    (要为人民, 处处为群众)."""
    text = word[2]
    return word[3].startswith("v") and text not in _MODAL_VERBS and text[:1] != text[1:2]


# --- 1. neutral tones -------------------------------------------------------------------------


def _neutral_tones(run: _Run) -> None:
    """The rules of :data:`_NEUTRAL_RULES` for each word, then 子 kept full where the words
    keep it."""
    _apply_word_rules(run, _NEUTRAL_RULES)
    _zi_reading(run)


def _said_by_phrase(run: _Run, spans: list[_Span], number: int) -> bool:
    """A word the phrase table said (东西方向): no neutral-tone rule changes it."""
    start, end, _, _ = spans[number]
    return not run.corrected.isdisjoint(range(start, end))


def _direction_after_verb(run: _Run, spans: list[_Span], number: int) -> bool:
    """A complement of direction after a verb, neutral throughout (走过去, 站起来)."""
    start, end, word, _ = spans[number]
    if word in _DIRECTIONS and number and _complements(spans[number - 1], word):
        for index in range(start, end):
            run.set_tone(index, 5)
        return True
    return False


def _full_before_noun(run: _Run, spans: list[_Span], number: int) -> bool:
    """地方, 兄弟: full before a noun (地方政府, 兄弟省份), else a neutral end (这个地方)."""
    _, end, word, _ = spans[number]
    if word not in _FULL_BEFORE_NOUN:
        return False
    if not _tag_after(spans, number).startswith("n"):
        run.set_tone(end - 1, 5)
    return True


def _news_full_tones(run: _Run, spans: list[_Span], number: int) -> bool:
    """A word of :data:`NEWS_FULL_TONES`: each neutral syllable the dictionary gave made full."""
    start, end, word, _ = spans[number]
    if word not in NEWS_FULL_TONES:
        return False
    for index in range(start, end):
        if run.said[index].endswith("5"):
            run.said[index] = _full(word, index - start)
    return True


def _particle(run: _Run, spans: list[_Span], number: int) -> bool:
    """A particle or suffix of one character (的, 了, 吗, 们): see :func:`_say_particle`."""
    _, _, word, tag = spans[number]
    if _is_neutral_word(word, tag):
        _say_particle(run, number, spans)
        return True
    return False


def _guo_experienced(run: _Run, spans: list[_Span], number: int) -> bool:
    """过 as the particle of experience inside a word (去过, 从未有过, 吃过饭)."""
    start, _, word, tag = spans[number]
    if tag != "p" and (found := _experienced(word)):
        run.set_syllable(start + found, "guo5")
        return True
    return False


def _de_inside(run: _Run, spans: list[_Span], number: int) -> bool:
    """得 between a verb and its complement in a word of three (跑得快)."""
    start, _, word, tag = spans[number]
    if len(word) == 3 and word[1] == "得" and tag[:1] in "vla":
        run.set_syllable(start + 1, "de5")
        return True
    return False


def _de_ending(run: _Run, spans: list[_Span], number: int) -> bool:
    """得 ending a word of two where it is the particle (引得|进, 开得|很成功)."""
    _, end, word, _ = spans[number]
    if len(word) == 2 and word[1] == "得" and _particle_de(spans, number):
        run.set_syllable(end - 1, "de5")
        return True
    return False


def _reduplicated(run: _Run, spans: list[_Span], number: int) -> bool:
    """A noun or verb said twice in one word (妈妈, 看看), but not "every" (人人, 天天)."""
    _, end, word, tag = spans[number]
    if len(word) == 2 and word[0] == word[1] and tag[:1] in "nv" and word[0] not in _EVERY:
        run.set_tone(end - 1, 5)
        return True
    return False


def _verb_twice(run: _Run, spans: list[_Span], number: int) -> bool:
    """A verb of one character said twice and cut in two (说|说)."""
    _, end, word, tag = spans[number]
    if len(word) == 1 and tag == "v" and number and spans[number - 1][2:] == (word, tag):
        run.set_tone(end - 1, 5)
        return True
    return False


def _zi_suffix(run: _Run, spans: list[_Span], number: int) -> bool:
    """子 as a suffix, neutral in the common words (桌子), but not in :data:`_FULL_ZI`."""
    _, end, word, _ = spans[number]
    if len(word) < 2 or not word.endswith("子") or word in _FULL_ZI:
        return False
    if run.base[end - 1] == "zi3" and _common_neutral(word):
        run.set_tone(end - 1, 5)
    return True


def _common_neutral_ending(run: _Run, spans: list[_Span], number: int) -> bool:
    """A common word said with a neutral last syllable (东西, 喜欢), or ending in one."""
    _, end, word, _ = spans[number]
    if _common_neutral(word) or (len(word) > 2 and _common_neutral(word[-2:])):
        run.set_tone(end - 1, 5)
        return True
    return False


# the neutral-tone rules for one word, the first that holds the only one applied
_NEUTRAL_RULES: tuple[_WordRule, ...] = (
    _said_by_phrase,
    _direction_after_verb,
    _full_before_noun,
    _news_full_tones,
    _particle,
    _guo_experienced,
    _de_inside,
    _de_ending,
    _reduplicated,
    _verb_twice,
    _zi_suffix,
    _common_neutral_ending,
)


def _experienced(word: str) -> int:
    """Where in ``word`` a 过 follows a verb as the particle of experience (去过, 吃过饭), or 0
    where it begins a word of its own (走过场)."""
    at = word.find("过", 1)
    if at < 1 or word[at - 1] not in _EXPERIENCED:
        return 0
    follows = word[at : at + 2]
    return 0 if len(follows) == 2 and _is_word(follows) else at  # not 走过场


def _particle_de(spans: list[_Span], number: int) -> bool:
    """Whether the 得 ending the word ``number`` (a verb and 得) is the particle: before a
    one-character complement (引得进, 留得住), or in a pair the dictionary hardly knows as a
    word (开得很成功), unlike 取得, 获得, 值得."""
    after = spans[number + 1][2] if number + 1 < len(spans) else ""
    return after in _COMPLEMENTS or _frequency(spans[number][2]) < _COMMON_WORD


def _say_particle(run: _Run, number: int, spans: list[_Span]) -> None:
    """A particle of one character: 的/地/得 are de, 了 le…, all neutral; but 得 between a
    subject and a verb is děi, "must" (我们得抓紧)."""
    start, _, word, _ = spans[number]
    if word not in _PARTICLE_READINGS:
        run.set_tone(start, 5)
        return
    before = spans[number - 1][3] if number else ""
    after = spans[number + 1][3] if number + 1 < len(spans) else ""
    if word == "得" and before[:1] in ("r", "n", "d") and after[:1] in ("v", "l", "i", "a"):
        run.set_syllable(start, "dei3")
    else:
        run.set_syllable(start, _PARTICLE_READINGS[word])


def _is_neutral_word(word: str, tag: str) -> bool:
    """A particle or suffix that is said with the neutral tone."""
    if len(word) != 1:
        return False
    return (
        _PARTICLES.get(tag) == word
        or (word in _MODAL and tag in ("y", "e", "x", "zg"))
        or (word == "们" and tag == "k")
    )


def _zi_reading(run: _Run) -> None:
    """子 in the words that keep it: zǐ, even where the dictionary says zi (男子, 电子商务)."""
    chars = run.chars
    for at in (m.start() + 1 for m in re.finditer("(?=.子)", chars)):
        if chars[at - 1 : at + 1] in _FULL_ZI or chars[at - 2 : at + 1] in _FULL_ZI:
            run.correct(at, "zi3")


def _full(word: str, index: int) -> str:
    """The syllable of ``word[index]`` with its full tone, from the single character's
    readings (a neutral tone in the dictionary's phrase table left out)."""
    from pypinyin import Style, pinyin

    readings = pinyin(word[index], style=Style.TONE3, heteronym=True)[0]
    full = [r for r in readings if r[-1:] in "1234"]
    return full[0] if full else readings[0]


@cache
def _common_neutral_words() -> frozenset[str]:
    """Common words said with a neutral last syllable: misaki's list (from PaddleSpeech,
    installed with the engine), less the news register's full-tone words."""
    from misaki.tone_sandhi import ToneSandhi

    words: set[str] = ToneSandhi().must_neural_tone_words
    return frozenset((words | _MORE_NEUTRAL) - set(NEWS_FULL_TONES) - _FULL_BEFORE_NOUN)


def _common_neutral(word: str) -> bool:
    return word in _common_neutral_words()


# --- 2. 不 -------------------------------------------------------------------------------------


def _bu(run: _Run) -> None:
    chars = run.chars
    word_of = _word_index(run)
    spans = run.spans()
    for index, char in enumerate(chars):
        if char != "不" or index + 1 >= len(chars):
            continue
        start, _, word, tag = spans[word_of[index]]
        if _asks_either(chars, index, start < index or len(word) <= 3):
            run.set_tone(index, 5)  # 是不是, 同意不同意; not 纠正|不正之风
        elif len(word) == 3 and index == start + 1 and tag != "c" and word[0] not in _ADVERBS:
            run.set_tone(index, 5)  # 看不懂, 来不及, 对不起; not 只不过, 要不然, 决不能
        elif _tone(run.base[index + 1]) == 4:
            run.set_tone(index, 2)


def _asks_either(chars: str, index: int, inside: bool) -> bool:
    """Whether the 不 at ``index`` stands between a word and itself, A不A or AB不AB (是不是,
    同意不同意); ``inside``: 不 does not begin a longer word (纠正|不正之风)."""
    if not inside:
        return False
    return any(
        index >= size and chars[index - size : index] == chars[index + 1 : index + 1 + size]
        for size in (1, 2)
    )


def _word_index(run: _Run) -> list[int]:
    """For each character of the run, the number of its word."""
    return [number for number, (word, _) in enumerate(run.words) for _ in word]


# --- 3. 一 -------------------------------------------------------------------------------------


def _yi(run: _Run) -> None:
    chars = run.chars
    for index, char in enumerate(chars):
        if char != "一":
            continue
        before = chars[index - 1] if index else ""
        after = chars[index + 1] if index + 1 < len(chars) else ""
        later = chars[index + 2 : index + 4]
        if before and before == after and before not in _NUMERALS and later[:1] != "二":
            run.set_tone(index, 5)  # 看一看, but not 数一数二
        elif _yi_is_one(chars[max(0, index - 2) : index], after, later, _ends_word(run, index)) or (
            index == 0 and run.counted
        ):
            run.set_tone(index, 1)
        elif _tone(run.base[index + 1]) == 4 or after == "个":
            run.set_tone(index, 2)
        else:
            run.set_tone(index, 4)


def _ends_word(run: _Run, index: int) -> bool:
    """Whether the 一 at ``index`` ends a word of more than one character: the word jieba
    cut, or a word of two in its dictionary inside a longer one (统一战线, 同一时间); not
    where a number goes on (第一百)."""
    if run.chars[index + 1 : index + 2] in _UNITS | {"十"}:
        return False
    for start, end, word, _ in run.spans():
        if start <= index < end:
            if index + 1 == end and len(word) > 1:
                return True
            pair = run.chars[index - 1 : index + 1] if index > start else ""
            common = _frequency(pair) >= _COMMON_WORD  # not 国一 in 全国一盘棋
            return bool(pair) and pair[0] not in _DETERMINERS and common
    return False


def _yi_is_one(before: str, after: str, later: str, ends_word: bool) -> bool:
    """Whether 一 is said yī here: the end of a run or of a word, a digit (in a number, a
    ratio or a range), an ordinal, a month or a day, the head of an enumeration.
    ``before``: up to two characters before it; ``later``: up to two after ``after``."""
    return (
        not after
        or ends_word
        or _yi_is_digit(before, after, later)
        or _yi_is_ordinal(before[-1:], after, later)
        or (not before and after in _ENUMERATION_AFTER_YI)
    )


def _yi_is_digit(before: str, after: str, later: str) -> bool:
    """一 as a digit: in a number, a ratio or a range, or counted against a 二."""
    last = before[-1:]
    return (
        (last in _NUMERALS and not (last in _UNITS | {"第", "零"} and after in _UNITS))  # 十一
        or (after in "点比到至" and later[:1] in _NUMERALS)  # 一点五, 1比0, 1-2月: 一到二月
        or after in _DIGITS
        or (later[:1] == "二" and after not in _NUMERALS)  # 一清二楚, 数一数二, 说一不二
        or (last == "比" and before[:1] in _NUMERALS)  # 3∶1: 三比一
    )


def _yi_is_ordinal(last: str, after: str, later: str) -> bool:
    """一 as "first": a rank, a first year or session, a month or a day; ``last``: the
    character before it."""
    return (
        after in _ORDINAL_AFTER_YI
        or (after == "年" and later[:1] == "级")  # 一年级, the first year
        or (after == "中" and later == "全会")  # 一中全会, the first plenary session
        or (after == "月" and last != "个")
        or (after in "日号" and last == "月")
    )


# --- 4. third tone ------------------------------------------------------------------------------


def _third_tones(run: _Run) -> None:
    units = _prosodic_units(run)
    for start, end in units:
        if end - start == 2 and _tone(run.said[start]) == _tone(run.said[start + 1]) == 3:
            run.set_tone(start, 2)
    for (_, left_end), (right_start, _) in zip(units, units[1:], strict=False):
        if _tone(run.said[left_end - 1]) == 3 and _tone(run.said[right_start]) == 3:
            run.set_tone(left_end - 1, 2)


def _prosodic_units(run: _Run) -> list[tuple[int, int]]:
    """The run cut into units of one or two syllables, as a reader groups them: a word of
    three as 2+1 or 1+2 (:func:`_first_two_bind`); longer words in twos."""
    units = []
    for start, end, word, _ in _three_tone_triples(run):
        if len(word) <= 2:
            units.append((start, end))
        elif len(word) == 3:
            cut = start + (2 if _first_two_bind(word) else 1)
            units += [(start, cut), (cut, end)]
        else:
            units += [(at, min(at + 2, end)) for at in range(start, end, 2)]
    return units


def _three_tone_triples(run: _Run) -> list[_Span]:
    """The run's words, with a word of two and a word of one that are three third tones
    together joined into one (补短|板 -> 补短板), so that they are grouped as one word of
    three is."""
    joined: list[_Span] = []
    for span in run.spans():
        start, end, word, tag = span
        if joined and len(word) == 1 and len(joined[-1][2]) == 2:
            first = joined[-1][0]
            if all(_tone(run.said[i]) == 3 for i in range(first, end)):
                joined[-1] = (first, end, joined[-1][2] + word, tag)
                continue
        joined.append(span)
    return joined


# a pair of characters jieba counts at least this often is a word a reader keeps together
_COMMON_WORD = 100


def _first_two_bind(word: str) -> bool:
    """Whether a word of three is read 2+1 (水产+品, 展览+馆) rather than 1+2 (小+老虎,
    补+短板): its first two are a common word, or its last two are no word at all."""
    return _frequency(word[:2]) >= _COMMON_WORD or not _is_word(word[1:])


def _is_word(chars: str) -> bool:
    """Whether jieba's dictionary has ``chars`` as a word."""
    return _frequency(chars) > 0


def _frequency(chars: str) -> int:
    """How often jieba's dictionary counts ``chars`` as a word (0: not a word)."""
    from voicer.script.sentences import segmenter

    tokenizer = segmenter()
    tokenizer.check_initialized()
    return int(tokenizer.FREQ.get(chars) or 0)
