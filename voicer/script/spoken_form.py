"""Speakable text: the written form of a sentence turned into what a newsreader would say.

Both engines get digits wrong in their own ways (kokoro's misaki G2P reads some digit strings
digit by digit and others as numbers), so numbers, percentages, dates, times, units and
symbols are spelled out in Chinese characters before synthesis. Everything here is pure text:
no I/O (apart from :func:`load_lexicon`) and no knowledge of the engines.

>>> spoken_form("2024年3月5日，全年GDP增长5.2%，居全省第2位。")
'二零二四年三月五日，全年GDP增长百分之五点二，居全省第二位。'
>>> spoken_form("Growth was 3-5% in 2024.", language="en")
'Growth was 3 to 5 percent in 2024.'

Choices, the way a Mandarin newsreader says it:

- 两 or 二: 两 for a 2 spoken right before 千 in a quantity (两千零二十四, 一万两千), for
  a leading 2 right before 万 or 亿 (两万, 两亿), and for the bare number 2 before a measure
  word or unit (两个, 两年, 两公里); 二 everywhere else (十二, 二百, 百分之二, 第二, 二月,
  二点五, 二零二四年, 三分之二, 零二万).
- Phone-like numbers are read digit by digit with 一 as 幺; groups written with a hyphen
  are joined by a single space (010-12345678 -> 零幺零 幺二三四五六七八), and so is every
  number of a list after a phone cue (拨打110、119或120 -> 拨打幺幺零、幺幺九或幺二零).
  Other digit strings (years, model numbers such as C919, numbers with a leading zero,
  event dates such as 5·12 -> 五一二, cohorts such as 90后 -> 九零后) keep 一.
- Years (four digits from 1000 to 2199 before 年, 赛季, 学年 or 财年, not after 近/约/超...)
  are read digit by digit with 零 (二零二四年); 2024名 or 2024 alone is a quantity.
  A document number's year in 〔〕 or [] is a year too (国发〔2024〕1号 -> 国发〔二零二四〕一号).
  Dates (2024-03-05, 2024/3/5, 2024.3.5) become 二零二四年三月五日; another a/b is a fraction
  (1/3 -> 三分之一); a:b or a∶b between numbers that is not a time is a ratio (2.39∶1 ->
  二点三九比一). Ranges between numbers (- – — ~ ～) are read with 到; a written 至 or
  到 is kept (3至5年 -> 三至五年). 3-5% means 百分之三到百分之五; exactly 100% is 百分之百.
- A minus sign is 负, but 零下 before a temperature (-5℃ -> 零下五摄氏度). Roman numerals
  Ⅰ to Ⅻ are numbers (Ⅱ类 -> 二类); ASCII I to VIII only as a grade (IV级 -> 四级).
- Left to the engine: Latin words and acronyms (GDP, AI, GB, the G of 5G), the Chinese
  words between numbers (至, 到, 亿元, 平方米, 个百分点), signs such as + and /, and
  placeholders (*, ＊, X, XX, ××, Ｘ, and any digits touching one, such as 20XX): a number
  joined to a placeholder is not read, so 增长*% stays as written for the module that
  reports placeholders. A single × between two numbers is 乘 (7×24小时 -> 七乘二十四小时).
- A lexicon (written form -> spoken form) is applied first: leftmost, then longest written
  form; a written form starting or ending with a Latin letter or digit does not match inside
  a word or number there (AI is not replaced inside SAID). The rules never rewrite inside a
  lexicon replacement, and run around it. A lexicon entry may instead give Han characters a
  pinyin reading (``行长<TAB>hang2 zhang3``, :class:`Lexicon`): the text stays as it is, and
  the offline engine says that reading (see :mod:`voicer.script.overrides`).

Rule names in :func:`explain`: lexicon, fullwidth, date, year, time, range, percent, unit,
money, number, decimal, negative, ordinal, digits (phone numbers and numbers with a leading
zero), abbreviation, fraction, ratio, multiplication, version, roman (Ⅱ类, IV级).
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from voicer.errors import InputError
from voicer.files import read_input, toml_error
from voicer.script.overrides import is_han, looks_like_pinyin, parse_pinyin

__all__ = ["Lexicon", "Reading", "explain", "load_lexicon", "origins", "spoken_form"]


@dataclass(frozen=True)
class Reading:
    """One rewrite: ``written`` at ``text[start:end]`` is said as ``spoken`` (by ``rule``)."""

    start: int
    end: int
    written: str
    spoken: str
    rule: str


def spoken_form(text: str, language: str = "zh", lexicon: Mapping[str, str] | None = None) -> str:
    """What the engine should read for ``text``: the lexicon first, then the rules.

    >>> spoken_form("拨打12345热线，或在14:30前登录。")
    '拨打幺二三四五热线，或在十四点三十分前登录。'
    >>> spoken_form("GDP增长5%", lexicon={"GDP": "国内生产总值"})
    '国内生产总值增长百分之五'
    >>> spoken_form("没有数字的句子。")
    '没有数字的句子。'
    """
    pieces = []
    position = 0
    for reading in explain(text, language, lexicon):
        pieces += [text[position : reading.start], reading.spoken]
        position = reading.end
    return "".join(pieces) + text[position:]


def origins(written: str, spoken: str) -> list[tuple[int, int]]:
    """For each character of ``spoken``, the span of ``written`` it says: itself where the two
    agree, the whole rewritten stretch where they differ.

    >>> said = "增长百分之五，好"
    >>> [(c, "增长5%，好"[slice(*span)]) for c, span in zip(said, origins("增长5%，好", said))]
    ... # doctest: +NORMALIZE_WHITESPACE
    [('增', '增'), ('长', '长'), ('百', '5%'), ('分', '5%'), ('之', '5%'), ('五', '5%'),
     ('，', '，'), ('好', '好')]
    """
    found: list[tuple[int, int]] = []
    matcher = difflib.SequenceMatcher(None, written, spoken, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            found += [(i1 + k, i1 + k + 1) for k in range(j2 - j1)]
        else:
            found += [(i1, i2)] * (j2 - j1)
    return found


def explain(
    text: str, language: str = "zh", lexicon: Mapping[str, str] | None = None
) -> list[Reading]:
    """Every rewrite :func:`spoken_form` makes, in order, with positions in ``text``.

    >>> for r in explain("增长5.2%，3-5年"):
    ...     print(r.start, r.end, r.written, r.spoken, r.rule)
    2 6 5.2% 百分之五点二 percent
    7 10 3-5 三到五 range
    """
    normal = _normalise_width(text) if language == "zh" else text
    readings: list[Reading] = []
    position = 0
    for found in _lexicon_matches(text, lexicon or {}):
        readings += _rule_readings(text, normal, position, found.start, language)
        readings.append(found)
        position = found.end
    return readings + _rule_readings(text, normal, position, len(text), language)


@dataclass(frozen=True, eq=False)
class Lexicon(Mapping[str, str]):
    """A lexicon file's entries. As a mapping: written form -> spoken form, the entries that
    change the text (what :func:`spoken_form` applies).

    ``pinyin`` holds the entries that give Han characters a reading instead (written form ->
    one syllable per character, as :func:`voicer.script.overrides.parse_pinyin` writes them),
    and ``say``, for some of those, the text to speak where an engine cannot take pinyin.
    """

    spoken: Mapping[str, str] = field(default_factory=dict)
    pinyin: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    say: Mapping[str, str] = field(default_factory=dict)

    def __getitem__(self, written: str) -> str:
        return self.spoken[written]

    def __iter__(self) -> Iterator[str]:
        return iter(self.spoken)

    def __len__(self) -> int:
        return len(self.spoken)


def load_lexicon(path: Path) -> Lexicon:
    """Read a lexicon: TOML (``.toml``: a ``[lexicon]`` table or top-level entries) or TSV
    (anything else: ``written<TAB>spoken`` lines, ``#`` comments, blank lines), UTF-8.

    A written form of Han characters may be given pinyin instead, one syllable per character
    (``行长<TAB>hang2 zhang3``, or ``háng zhǎng``), with an optional third field: what to say
    where an engine cannot take pinyin (``行长<TAB>hang2 zhang3<TAB>航长``). In TOML that is
    ``行长 = "hang2 zhang3"`` or ``行长 = {pinyin = "hang2 zhang3", say = "航长"}``.

    Every malformed entry is an :class:`InputError` naming ``path:line`` (and the column, for
    a reading).
    """
    data = read_input(path, "lexicon file")
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path}: a lexicon must be UTF-8") from None
    if path.suffix.lower() == ".toml":
        return _toml_lexicon(content, path)
    return _tsv_lexicon(content, path)


# --- the lexicon ----------------------------------------------------------------------------


def _lexicon_matches(text: str, lexicon: Mapping[str, str]) -> Iterator[Reading]:
    """Leftmost, then longest, occurrences of the written forms, without overlaps.

    >>> [r.spoken for r in _lexicon_matches("AI SAID", {"AI": "A I", "I": "eye"})]
    ['A I']
    """
    keys = sorted((key for key in lexicon if key), key=len, reverse=True)
    if not keys:
        return
    for match in re.finditer("|".join(map(_whole, keys)), text):
        written = match.group()
        yield Reading(match.start(), match.end(), written, lexicon[written], "lexicon")


def _whole(written: str) -> str:
    """A pattern for ``written`` that does not match inside a Latin word or a number."""
    before = "(?<![A-Za-z0-9])" if re.match("[A-Za-z0-9]", written) else ""
    after = "(?![A-Za-z0-9])" if re.search("[A-Za-z0-9]$", written) else ""
    return before + re.escape(written) + after


def _tsv_lexicon(content: str, path: Path) -> Lexicon:
    entries = _Entries(path)
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = [field.strip() for field in line.split("\t")]
        if len(fields) not in (2, 3) or not all(fields):
            raise InputError(
                f"expected 'written<TAB>spoken' (or 'written<TAB>pinyin<TAB>spoken'), got {line!r}",
                source=str(path),
                line=number,
            )
        column = line.index("\t") + 2  # the second field's, as an editor counts
        column += len(line[column - 1 :]) - len(line[column - 1 :].lstrip())
        entries.add(number, column, *fields)
    return entries.lexicon()


def _toml_lexicon(content: str, path: Path) -> Lexicon:
    try:
        document = tomllib.loads(content)
    except tomllib.TOMLDecodeError as exc:
        line = toml_error(exc, path).line or 1
        raise InputError(str(exc), source=str(path), line=line) from None
    table = document.get("lexicon", document)
    if not isinstance(table, dict):
        raise InputError(f"{path}: 'lexicon' must be a table of written = \"spoken\" strings")
    entries = _Entries(path)
    for written, value in table.items():
        line, column = _toml_position(content, written)
        if isinstance(value, dict) and set(value) <= {"pinyin", "say"} and "pinyin" in value:
            reading, say = value["pinyin"], value.get("say", "")
            if isinstance(reading, str) and isinstance(say, str) and written:
                entries.add(line, column, written, reading, *([say] if "say" in value else []))
                continue
        if not isinstance(value, str) or not written or not value.strip():
            raise InputError(
                f"{written!r} must map to a non-empty string, or to a table "
                'such as {pinyin = "hang2 zhang3", say = "航长"}',
                source=str(path),
                line=line,
            )
        entries.add(line, column, written, value)
    return entries.lexicon()


def _toml_position(content: str, written: str) -> tuple[int, int]:
    """The line and column of ``written``'s value in a TOML lexicon, as an editor counts them;
    (0, 0) when it cannot be found (a key spelt with escapes, say)."""
    spellings = "|".join(re.escape(form) for form in (f'"{written}"', f"'{written}'", written))
    pattern = re.compile(rf"^[ \t]*(?:lexicon\.)?(?:{spellings})[ \t]*=[ \t]*", re.MULTILINE)
    match = pattern.search(content)
    if match is None:
        return 0, 0
    return content.count("\n", 0, match.end()) + 1, match.end() - match.start() + 1


@dataclass(frozen=True)
class _At:
    """Where a lexicon entry is: its file, its line (0: unknown) and its value's column."""

    source: str
    line: int
    column: int
    written: str

    def entry_error(self, reason: str) -> InputError:
        """An error about the whole entry, at its line."""
        return InputError(reason, source=self.source, line=self.line or None)

    def value_error(self, reason: str) -> InputError:
        """An error about the entry's value, at its column (or by its written form when its
        line is unknown)."""
        if self.line:
            return InputError(reason, source=self.source, line=self.line, column=self.column)
        return InputError(f"{self.written!r}: {reason}", source=self.source)


class _Entries:
    """A lexicon as its entries are read: each checked, and each written form defined once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.spoken: dict[str, str] = {}
        self.pinyin: dict[str, tuple[str, ...]] = {}
        self.say: dict[str, str] = {}
        self.lines: dict[str, tuple[int, tuple[str, ...]]] = {}

    def add(self, line: int, column: int, written: str, value: str, *say: str) -> None:
        """The entry ``written`` -> ``value`` (and what to say instead, for a reading) found at
        ``line`` (0: unknown), the value starting at ``column``."""
        at = _At(str(self.path), line, column, written)
        reading = self._reading(at, value, bool(say))
        if say and reading is None:
            raise at.entry_error(
                "a third field (what to say instead) is for a pinyin reading "
                f"of Han characters, not {written!r}"
            )
        defined = (value, *say)
        if written in self.lines and self.lines[written][1] != defined:
            first = self.lines[written][0]
            raise at.entry_error(f"{written!r} is already defined on line {first}")
        self.lines[written] = (line, defined)
        if reading is None:
            self.spoken[written] = value
            return
        self.pinyin[written] = reading
        if say and say[0].strip():
            self.say[written] = say[0].strip()
        elif say:
            raise at.value_error(f"{written!r}: the text to say instead is empty")

    def _reading(self, at: _At, value: str, says: bool) -> tuple[str, ...] | None:
        """The syllables ``value`` gives ``at.written``; None for an entry that changes the
        text."""
        written = at.written
        if not is_han(written):
            return None
        try:
            syllables = parse_pinyin(value)
        except ValueError as error:
            if says or looks_like_pinyin(value):
                raise at.value_error(f"{written}: bad pinyin: {error}") from None
            return None
        if len(syllables) != len(written):
            count = f"{len(syllables)} syllable{'s' if len(syllables) != 1 else ''}"
            raise at.value_error(
                f"{written} has {len(written)} characters but the reading "
                f"{value.strip()!r} has {count}"
            )
        return syllables

    def lexicon(self) -> Lexicon:
        return Lexicon(self.spoken, self.pinyin, self.say)


# --- reading numbers --------------------------------------------------------------------------

_DIGITS = "零一二三四五六七八九"
_PLACES = ("千", "百", "十", "")
_SECTIONS = ("", "万", "亿", "万亿")
_MEASURES = (
    *"个名位次项件条家种台辆架艘座所人户天年周倍万亿千点岁份批轮场届支只头张本部篇首处门组层成",
    *"米吨斤元块亩枚颗股笔段片节栋间套对双匹克升",
    *("小时", "分钟", "公里", "公斤", "公顷", "平方", "立方"),
)  # a bare 2 before these is 两; not 月 日 号 级 期 楼 季度 (二月, 二号, 二级)


def _read_integer(digits: str, quantity: bool = True) -> str:
    """Chinese reading of a non-negative integer; ``quantity`` turns some 二 into 两.

    >>> [_read_integer(n) for n in ("10", "15", "110", "1005", "30000", "2024", "22000")]
    ['十', '十五', '一百一十', '一千零五', '三万', '两千零二十四', '两万两千']
    >>> _read_integer("100010"), _read_integer("200000000"), _read_integer("2024", False)
    ('十万零一十', '两亿', '二千零二十四')
    """
    number = int(digits)
    if number >= 10**16:
        return _read_digits(digits)
    groups = [number // 10**power % 10**4 for power in (12, 8, 4, 0)]
    parts: list[str] = []
    gap = False
    for group, section in zip(groups, reversed(_SECTIONS), strict=True):
        if not group:
            gap = bool(parts)
            continue
        if parts and (gap or group < 1000):
            parts.append("零")
        parts.append(_read_group(group, not parts, quantity, section) + section)
        gap = False
    return "".join(parts) or "零"


def _read_group(group: int, leading: bool, quantity: bool, section: str) -> str:
    """One group of four digits, followed by ``section`` (万, 亿, ...)."""
    words: list[str] = []
    zero = False
    for place, digit in zip(_PLACES, f"{group:04d}", strict=True):
        if digit == "0":
            zero = bool(words)
            continue
        if zero:
            words.append("零")
            zero = False
        two = quantity and (place == "千" or (group == 2 and leading and section != ""))
        words.append(_digit_word(int(digit), place, leading and not words, two) + place)
    return "".join(words)


def _digit_word(digit: int, place: str, first: bool, two: bool) -> str:
    if digit == 1 and place == "十" and first:
        return ""  # 十五, not 一十五 (but 一百一十五)
    return "两" if digit == 2 and two else _DIGITS[digit]


def _read_digits(digits: str, yao: bool = False) -> str:
    """Digit by digit; ``yao``: 一 as 幺, the way phone numbers are read.

    >>> _read_digits("2024"), _read_digits("110", yao=True)
    ('二零二四', '幺幺零')
    """
    said = "".join(_DIGITS[int(d)] for d in digits)
    return said.replace("一", "幺") if yao else said


def _read_number(written: str, quantity: bool = True, measure: bool = False) -> str:
    """A number as written (thousands separators, a decimal part); ``measure``: a measure
    word follows, so a bare 2 is 两.

    >>> _read_number("1,234,567"), _read_number("0.35"), _read_number("3.05")
    ('一百二十三万四千五百六十七', '零点三五', '三点零五')
    >>> _read_number("2", measure=True), _read_number("2"), _read_number("2000", False)
    ('两', '二', '二千')
    """
    whole, _, fraction = written.replace(",", "").partition(".")
    if fraction:
        return _read_integer(whole, quantity) + "点" + _read_digits(fraction)
    if whole == "2" and measure and quantity:
        return "两"
    if len(whole) > 1 and whole.startswith("0"):
        return _read_digits(whole)
    return _read_integer(whole, quantity)


def _signed(sign: str | None, reading: str, unit: str | None = None) -> str:
    """负 before a number, 零下 before a temperature (-5℃ is 零下五摄氏度)."""
    if not sign:
        return reading
    return ("零下" if unit in _TEMPERATURES else "负") + reading


# --- the Mandarin rules -------------------------------------------------------------------------

_NUM = r"(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?"
_SIGN = "[-−－]"
_FREE_SIGN = rf"(?:(?<![0-9A-Za-z%)）\]]){_SIGN})"  # a minus sign, not a hyphen or a range
_SEPARATORS = "-–—−~～至到"  # − (U+2212) too: 1−2天
_PERCENT = {"%": "百分之", "‰": "千分之", "‱": "万分之"}
_UNITS = {
    "km/h": "公里每小时", "m/s": "米每秒", "km²": "平方公里", "㎢": "平方公里",
    "m²": "平方米", "㎡": "平方米", "m³": "立方米", "km": "公里", "㎞": "公里", "kg": "公斤",
    "㎏": "公斤", "cm": "厘米", "mm": "毫米", "nm": "纳米", "μm": "微米", "m": "米", "t": "吨",
    "g": "克", "mg": "毫克", "mL": "毫升", "ml": "毫升", "L": "升", "kW·h": "千瓦时",
    "kWh": "千瓦时", "kW": "千瓦", "MW": "兆瓦", "GW": "吉瓦", "kV": "千伏", "Hz": "赫兹",
    "kHz": "千赫", "MHz": "兆赫", "GHz": "吉赫", "h": "小时", "min": "分钟", "dB": "分贝",
    "℃": "摄氏度", "°C": "摄氏度", "℉": "华氏度", "°F": "华氏度", "°": "度",
}  # fmt: skip
_TEMPERATURES = {"℃", "°C", "℉", "°F"}
_NOT_COUNTED = {"摄氏度", "华氏度", "度", "分贝"}  # 二摄氏度, not 两摄氏度
_UNIT = (
    "(?:"
    + "|".join(
        ("" if re.fullmatch("[A-Za-z]", unit) else " ?") + re.escape(unit)
        for unit in sorted(_UNITS, key=len, reverse=True)
    )
    + ")(?![A-Za-z])"
)  # 5 km and 25 ℃ are units; 5 m and 5 t are not
_UNIT_RE = re.compile(_UNIT)
_SUFFIX = rf"(?: ?[%‰‱]|{_UNIT})"
_CURRENCIES = {"¥": "元", "￥": "元", "$": "美元", "＄": "美元", "€": "欧元", "£": "英镑"}
_YEAR_WORDS = ("年", "赛季", "学年", "财年")
_NOT_YEAR_CUES = ("近", "约", "逾", "超", "达", "历时", "历经")
_PHONE_CUES = (
    "电话",
    "热线",
    "拨打",
    "致电",
    "手机",
    "号码",
    "传真",
    "短信",
    "报警",
    "匪警",
    "火警",
)
_PLACEHOLDER = "*＊×XＸ"

# Each rule: a pattern tried where a token may start, and a reader that returns the spoken
# form, _KEEP (leave the match as written: a placeholder) or None (the rule does not apply).
_KEEP = ""
_Reader = Callable[[re.Match[str]], str | None]


def _placeholder(match: re.Match[str]) -> str | None:
    return _KEEP


def _abbreviation(match: re.Match[str]) -> str | None:
    """Latin letters with digits: PM2.5, H7N9, G20, C919 (three or more digits: one by one)."""

    def digits(number: re.Match[str]) -> str:
        written = number.group()
        if "." in written or len(written) < 3:
            return _read_number(written, quantity=False)
        return _read_digits(written)

    return re.sub(r"\d+(?:\.\d+)?", digits, match.group())


def _numbered_abbreviation(match: re.Match[str]) -> str | None:
    """Digits then capitals: 5G, 3D, 4K (but 5GHz and 10MW are units)."""
    if _UNIT_RE.fullmatch(match["letters"]):
        return None
    return _read_integer(match["number"], quantity=False) + match["letters"]


def _date(match: re.Match[str]) -> str | None:
    year, month, day = match["year"], match["month"], match["day"]
    if not 1 <= int(month) <= 12 or (day and not 1 <= int(day) <= 31):
        return None
    said = (_read_digits(year) + "年" if year else "") + _read_integer(month, False) + "月"
    return said + (_read_integer(day, False) + (match["day_word"] or "日") if day else "")


def _dotted_date(match: re.Match[str]) -> str | None:
    """An event named by its date, 5·12, 12·9 or 911事件: said digit by digit (五一二,
    一二九, 九一一)."""
    if not (1 <= int(match["month"]) <= 12 and 1 <= int(match["day"]) <= 31):
        return None
    return _read_digits(match["month"] + match["day"])


def _year(match: re.Match[str]) -> str | None:
    if not 1000 <= int(match["year"]) <= 2199 or _preceded_by(match, _NOT_YEAR_CUES):
        return None
    return _read_digits(match["year"])


def _year_range(match: re.Match[str]) -> str | None:
    first, last = match["first"], match["last"]
    if not 1000 <= int(first) < int(last) <= 2199:
        return None
    bare = not match.string.startswith(_YEAR_WORDS, match.end())
    if bare and (int(first) < 1900 or _counts(match)):
        return None
    return _read_digits(first) + _spoken_separator(match["sep"]) + _read_digits(last)


def _phone(match: re.Match[str]) -> str | None:
    """Phone-like: a hyphenated number with an area code, 7+ digits that do not count
    anything, or 3+ digits after 电话/热线/拨打... or before 热线."""
    groups = match.group().split("-")
    if len(groups) == 1:
        looks = len(groups[0]) >= 7 and not _counts(match)
    else:
        looks = groups[0].startswith("0") or max(map(len, groups)) >= 7 or len(groups) >= 3
    cued = _phone_cued(match.string, match.start(), match.end())
    if not (looks or (cued and len(match.group()) >= 3)):
        return None
    return " ".join(_read_digits(group, yao=True) for group in groups)


_LISTED_BEFORE = re.compile(r"(?:\d{3,}(?:[、和及与]|或者?))+$")
_LISTED_AFTER = re.compile(r"(?:(?:[、和及与]|或者?)\d{3,})*[\u4e00-\u9fff]{0,8}热线")


def _phone_cued(text: str, start: int, end: int) -> bool:
    """After 电话/热线/拨打... or before 热线, alone or in a list of such numbers
    (拨打110、119或120: all three); or in a list of service numbers alone (110、119或120)."""
    listed = _LISTED_BEFORE.search(text, 0, start)
    first = listed.start() if listed else start
    before = text[:first].rstrip("：: 为是")
    return (
        before.endswith(_PHONE_CUES)
        or bool(_LISTED_AFTER.match(text, end))
        or _service_numbers(text, start, end)
    )


# Emergency and public service numbers everyone knows; a list of nothing but these is read
# digit by digit even with no cue (110、119或120), since no one counts 110 of something that way.
_SERVICE = frozenset(
    [
        "110",
        "119",
        "120",
        "122",
        "999",
        "12345",
        "12315",
        "12306",
        "12333",
        "12348",
        "12366",
        "12369",
    ]
)
_NUMBER_LIST = re.compile(r"\d+(?:(?:[、和及与]|或者?)\d+)+")
_COUNTED = set("人个名位户家所项次件元万亿千百十年月日天岁米吨%％")


def _service_numbers(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` is in a list of two or more service numbers that count
    nothing."""
    for listed in _NUMBER_LIST.finditer(text):
        if listed.start() <= start and end <= listed.end():
            numbers = re.findall(r"\d+", listed.group())
            counts = text[listed.end() : listed.end() + 1] in _COUNTED
            return not counts and all(number in _SERVICE for number in numbers)
    return False


def _cohort(match: re.Match[str]) -> str | None:
    """A decade cohort, 90后 or 00后: 九零后, 零零后."""
    return _read_digits(match.group())


_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6, "VII": 7, "VIII": 8}
_ROMAN_GRADE = "(?:" + "|".join(sorted(_ROMAN, key=len, reverse=True)) + ")"


def _roman(match: re.Match[str]) -> str | None:
    """Ⅳ (U+2160 to U+216B, Ⅰ to Ⅻ) or a grade in ASCII (IV级): 四."""
    written = match.group()
    value = _ROMAN.get(written) or ord(written) - ord("Ⅰ") + 1
    return _read_integer(str(value), quantity=False)


def _time(match: re.Match[str]) -> str | None:
    hour, minute, second = int(match["hour"]), int(match["minute"]), match["second"]
    if hour > 24 or minute > 59 or (second and int(second) > 59):
        return None
    if _preceded_by(match, ("比分", "比例")):
        return None  # a score: 比分3:10 is 三比十
    said = ("两" if hour == 2 else _read_integer(str(hour), False)) + "点"
    if minute or second:
        said += ("零" if 0 < minute < 10 else "") + _read_integer(str(minute), False) + "分"
    if second and int(second):
        said += ("零" if int(second) < 10 else "") + _read_integer(second, False) + "秒"
    return said


def _ratio(match: re.Match[str]) -> str | None:
    return _read_number(match["a"], False) + "比" + _read_number(match["b"], False)


def _multiplication(match: re.Match[str]) -> str | None:
    return _read_number(match["a"]) + "乘" + _read_number(match["b"])


def _version(match: re.Match[str]) -> str | None:
    return "点".join(_read_number(part, False) for part in match.group().split("."))


def _fraction(match: re.Match[str]) -> str | None:
    if not int(match["denominator"]):
        return None
    return _read_integer(match["denominator"], False) + "分之" + _read_number(match["numerator"])


def _money(match: re.Match[str]) -> str | None:
    amount = _read_number(match["a"], measure=True)
    if match["b"]:
        if _value(match["a"]) >= _value(match["b"]):
            return None
        amount += _spoken_separator(match["sep"]) + _read_number(match["b"], measure=True)
    return amount + (match["magnitude"] or "") + _CURRENCIES[match["currency"]]


def _range(match: re.Match[str]) -> str | None:
    """3-5 -> 三到五, 3%-5% and 3-5% -> 百分之三到百分之五, 3-5km -> 三到五公里."""
    first, last = _suffix(match["ua"]), _suffix(match["ub"])
    if _value(match["a"], match["sa"]) >= _value(match["b"], match["sb"]) or (
        first and last and first != last
    ):
        return None
    unit = last or first
    cardinal, measure = not _preceded_by(match, ("第",)), _counted(match, unit)
    say_first = bool(first) or unit in _PERCENT  # 3-5% is 3% to 5%; 3-5km is 3 to 5km
    return (
        _quantity(match["sa"], match["a"], unit, cardinal, measure, say_unit=say_first)
        + _spoken_separator(match["sep"])
        + _quantity(match["sb"], match["b"], unit, cardinal, measure)
    )


def _single(match: re.Match[str]) -> str | None:
    unit = _suffix(match["ua"])
    cardinal = not _preceded_by(match, ("第",))
    return _quantity(match["sa"], match["a"], unit, cardinal, _counted(match, unit))


def _quantity(
    sign: str | None,
    number: str,
    unit: str | None,
    cardinal: bool,
    measure: bool,
    say_unit: bool = True,
) -> str:
    """A signed number with its unit or percent sign (``say_unit``: said after it, not only
    after the last number of a range): -3.5 -> 负三点五, -5℃ -> 零下五摄氏度."""
    if unit in _PERCENT:
        whole = unit == "%" and number == "100"
        return _signed(sign, _PERCENT[unit] + ("百" if whole else _read_number(number, False)))
    said = _signed(sign, _read_number(number, cardinal, measure and cardinal), unit)
    return said + (_UNITS[unit] if unit and say_unit else "")


def _suffix(written: str | None) -> str | None:
    """A unit or percent sign as written after a number, without the space before it."""
    return written.strip() if written else None


def _counted(match: re.Match[str], unit: str | None) -> bool:
    """Whether a bare 2 is 两 here: before a measure word or a unit (not ℃ or %)."""
    return _before_measure(match) or _UNITS.get(unit or "") not in (None, *_NOT_COUNTED)


def _single_rule(match: re.Match[str]) -> str:
    unit, number = match["ua"], match["a"]
    if _preceded_by(match, ("第",)):
        return "ordinal"
    if unit:
        return "percent" if unit.strip() in _PERCENT else "unit"
    if match["sa"]:
        return "negative"
    if "." in number:
        return "decimal"
    return "digits" if len(number) > 1 and number.startswith("0") else "number"


def _value(number: str, sign: str | None = None) -> float:
    return (-1 if sign else 1) * float(number.replace(",", ""))


def _spoken_separator(separator: str) -> str:
    return separator if separator in "至到" else "到"


def _preceded_by(match: re.Match[str], cues: tuple[str, ...], skip: str = "") -> bool:
    return match.string[: match.start()].rstrip(skip).endswith(cues)


def _before_measure(match: re.Match[str]) -> bool:
    return match.string.startswith(_MEASURES, match.end())


def _counts(match: re.Match[str]) -> bool:
    """A measure word or a unit follows: the number counts something."""
    return _before_measure(match) or bool(_UNIT_RE.match(match.string, match.end()))


@dataclass(frozen=True)
class _Rule:
    name: str | Callable[[re.Match[str]], str]
    pattern: re.Pattern[str]
    read: _Reader


def _rule(name: str | Callable[[re.Match[str]], str], pattern: str, read: _Reader) -> _Rule:
    return _Rule(name, re.compile(pattern), read)


_START = r"(?<!\d)"  # never inside a number
_ZH_RULES = (
    _rule("multiplication", rf"{_START}(?P<a>{_NUM})×(?P<b>{_NUM})(?![\d×])", _multiplication),
    _rule(
        "placeholder",
        rf"(?<![A-Za-z0-9.])[0-9.]*[{_PLACEHOLDER}](?:[0-9.]*[{_PLACEHOLDER}])*[0-9]*"
        r"(?:\.[0-9]+)*(?![A-Za-z])",
        _placeholder,
    ),
    _rule("roman", "[Ⅰ-Ⅻ]", _roman),
    _rule("roman", rf"(?<![A-Za-z]){_ROMAN_GRADE}(?=[级类期型])", _roman),  # not X: a placeholder
    _rule("abbreviation", r"(?<![A-Za-z0-9])[A-Za-z]+(?:\d+(?:\.\d+)?[A-Za-z]*)+", _abbreviation),
    _rule(
        "date",
        rf"{_START}(?P<year>\d{{4}})(?P<s>[-/.])(?P<month>\d{{1,2}})(?P=s)(?P<day>\d{{1,2}})"
        r"(?P<day_word>)(?![\d.])",
        _date,
    ),
    _rule(
        "date",
        rf"{_START}(?:(?P<year>\d{{4}})年)?(?P<month>\d{{1,2}})月"
        r"(?:(?P<day>\d{1,2})(?P<day_word>[日号]))?",
        _date,
    ),
    _rule(
        "date",
        rf"{_START}(?P<month>\d{{1,2}})[·・•](?P<day>\d{{1,2}})(?![\d·・•])",
        _dotted_date,
    ),
    # an event named by its date without the dot: 911事件, 918事变
    _rule(
        "date",
        rf"{_START}(?P<month>1[0-2]|[1-9])(?P<day>[0-3]\d|[1-9])(?=事件|事变|惨案)",
        _dotted_date,
    ),
    # a rate after an amount: 400元/月 is 四百元每月
    _rule("unit", r"(?<=\d[元吨斤件台个])/(?=[年月周日天人次吨斤件台个])", lambda match: "每"),
    # between two amounts with 万 or 亿, a tilde or dash is "to": 5万~10万
    _rule("range", r"(?<=\d[万亿])[~～—–−](?=\d)", lambda match: "到"),
    _rule(
        "year",
        rf"{_START}(?P<first>\d{{4}})(?P<sep>[{_SEPARATORS}])(?P<last>\d{{4}})(?![\d.])",
        _year_range,
    ),
    _rule("year", rf"{_START}(?P<year>\d{{4}})(?=年|赛季|学年|财年)", _year),
    # a list of years: 2024、2025年 and 2023年、2024年
    _rule("year", rf"{_START}(?P<year>\d{{4}})(?=(?:[、和及与]|或者?)\d{{4}}年)", _year),
    _rule("year", r"(?<=[〔［\[])(?P<year>\d{4})(?=[〕］\]])", _year),  # 国发〔2024〕1号
    _rule("digits", r"(?<![\d.])\d\d(?=后)", _cohort),
    _rule("digits", rf"{_START}\d+(?:-\d+)*(?![\d.,%‰‱])", _phone),
    _rule(
        "time", rf"{_START}(?P<hour>\d{{1,2}}):(?P<minute>\d\d)(?::(?P<second>\d\d))?(?!\d)", _time
    ),
    _rule("ratio", rf"{_START}(?P<a>\d+(?:\.\d+)?)[:∶](?P<b>\d+(?:\.\d+)?)(?![\d.])", _ratio),
    _rule("version", rf"{_START}\d+(?:\.\d+){{2,}}(?![\d.])", _version),
    _rule("fraction", rf"{_START}(?P<numerator>\d+)/(?P<denominator>\d+)(?![\d/])", _fraction),
    _rule(
        "money",
        rf"(?P<currency>[{''.join(_CURRENCIES)}])(?P<a>{_NUM})"
        rf"(?:(?P<sep>[-–~～至到])(?P<b>{_NUM}))?(?P<magnitude>万亿|亿|万|千)?",
        _money,
    ),
    _rule(
        "abbreviation",
        rf"{_START}(?P<number>\d+)(?P<letters>[A-Z][A-Za-z0-9]*)",
        _numbered_abbreviation,
    ),
    _rule(
        "range",
        rf"{_START}(?P<sa>{_FREE_SIGN})?(?P<a>{_NUM})(?P<ua>{_SUFFIX})?(?P<sep>[{_SEPARATORS}])"
        rf"(?P<sb>{_SIGN})?(?P<b>{_NUM})(?P<ub>{_SUFFIX})?(?![\d.])",
        _range,
    ),
    _rule(_single_rule, rf"{_START}(?P<sa>{_FREE_SIGN})?(?P<a>{_NUM})(?P<ua>{_SUFFIX})?", _single),
)


# --- the English rules ----------------------------------------------------------------------------

_EN_NUM = r"\d+(?:,\d{3})*(?:\.\d+)?"


def _english_range(match: re.Match[str]) -> str | None:
    a, b = match["a"], match["b"]
    if _value(a) >= _value(b) or (len(a), len(b)) == (3, 4):  # 555-1234 is a phone number
        return None
    first = a + (" percent" if match["pa"] else "")
    return f"{first} to {b}" + (" percent" if match["pb"] or match["pa"] else "")


def _english_percent(match: re.Match[str]) -> str | None:
    return match["a"] + " percent"


_EN_RULES = (
    _rule(
        "range",
        rf"(?<![\d.,-])(?P<a>{_EN_NUM})(?P<pa>%)?\s?[-–—]\s?(?P<b>{_EN_NUM})(?P<pb>%)?(?![\d.-])",
        _english_range,
    ),
    _rule("percent", rf"(?<![\d.,])(?P<a>{_EN_NUM})\s?%", _english_percent),
)


# --- applying the rules -------------------------------------------------------------------------


def _rule_readings(text: str, normal: str, start: int, end: int, language: str) -> list[Reading]:
    """The readings of the rules within ``text[start:end]`` (``normal``: full width
    normalised), in order."""
    if language != "zh":
        return [_reading(text, *found) for found in _scan(text, start, end, _EN_RULES)]
    readings = []
    covered = start
    for found in _scan(normal, start, end, _ZH_RULES):
        readings += _width_readings(text, normal, covered, found[0])
        covered = found[1]
        if found[2] != _KEEP:
            readings.append(_reading(text, *found))
    return readings + _width_readings(text, normal, covered, end)


def _scan(text: str, start: int, end: int, rules: tuple[_Rule, ...]) -> Iterator[_Found]:
    """Leftmost matches of the first rule that applies at each position; _KEEP is yielded too."""
    position = start
    while position < end:
        found = _first_applying(text, position, end, rules)
        if found is None:
            position += 1
            continue
        yield found
        position = found[1]


_Found = tuple[int, int, str, str]


def _first_applying(text: str, position: int, end: int, rules: tuple[_Rule, ...]) -> _Found | None:
    if "\u4e00" <= text[position] <= "\u9fff":
        return None
    for rule in rules:
        match = rule.pattern.match(text, position, end)
        if match is None or match.end() == position:
            continue
        spoken = rule.read(match)
        if spoken is not None:
            name = rule.name if isinstance(rule.name, str) else rule.name(match)
            return position, match.end(), spoken, name
    return None


def _reading(text: str, start: int, end: int, spoken: str, rule: str) -> Reading:
    return Reading(start, end, text[start:end], spoken, rule)


# --- full-width characters ----------------------------------------------------------------------

_WIDE_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_WIDE_LETTERS = re.compile(r"[Ａ-Ｚａ-ｚ]+")
_WIDE_BETWEEN_DIGITS = re.compile(r"(?<=\d)[．：／－](?=\d)|(?<=\d)％")


def _normalise_width(text: str) -> str:
    """Full-width digits, letters and ％ (after a digit) to ASCII, one character for one, so
    positions do not move; a run of Ｘ stays (a placeholder).

    >>> _normalise_width("增长５．２％，ＧＤＰ２０ＸＸ年：")
    '增长5.2%，GDP20ＸＸ年：'
    """
    text = text.translate(_WIDE_DIGITS)
    text = _WIDE_LETTERS.sub(
        lambda m: m.group() if set(m.group()) <= {"Ｘ", "ｘ"} else _narrow(m.group()), text
    )
    return _WIDE_BETWEEN_DIGITS.sub(lambda m: _narrow(m.group()), text)


def _narrow(text: str) -> str:
    return "".join(chr(ord(c) - 0xFEE0) for c in text)


def _width_readings(text: str, normal: str, start: int, end: int) -> list[Reading]:
    """A "fullwidth" reading for each run of characters only the normalisation changed."""
    runs: list[list[int]] = []
    for position in range(start, end):
        if text[position] == normal[position]:
            continue
        if runs and runs[-1][1] == position:
            runs[-1][1] = position + 1
        else:
            runs.append([position, position + 1])
    return [Reading(a, b, text[a:b], normal[a:b], "fullwidth") for a, b in runs]
