"""The hand-labelled Mandarin readings: the sets are well-formed, and voicer reads them at least
as well as it did (the floors rise as the tone rules land)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from voicer.script.spoken_form import spoken_form

ROOT = Path(__file__).resolve().parent.parent
SETS = [
    ROOT / "tests" / "data" / name for name in ("readings.tsv", "polyphones.tsv", "plain_news.tsv")
]

# Share of items fully right, per category, a little under what the readings reach (measured
# with scripts/readings_accuracy.py), so a rule that breaks a few items fails here.
FLOORS = {
    "bu": 1.0,
    "yi": 0.97,
    "third": 0.98,
    "neutral": 0.97,
    "polyphone": 0.97,
    "number": 0.97,
    "news": 1.0,
}
TONE_FLOOR = 0.99  # share of syllables with the right tone, over every set present

HAN = re.compile("[\u4e00-\u9fff]")
SYLLABLE = re.compile(r"([a-z]+)([1-5])")


def _script() -> ModuleType:
    path = ROOT / "scripts" / "readings_accuracy.py"
    spec = importlib.util.spec_from_file_location("readings_accuracy", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


accuracy = _script()


def _present() -> list[Path]:
    return [path for path in SETS if path.exists()]


@pytest.fixture(scope="module")
def scores() -> dict:
    found: dict = {}
    for path in _present():
        for category, score in accuracy.score(path).items():
            found.setdefault(category, accuracy.Score()).add(score)
    return found


@pytest.fixture(scope="module")
def letters() -> set[str]:
    """Every toneless syllable pypinyin knows (ü written v)."""
    from pypinyin.contrib.tone_convert import to_normal
    from pypinyin.pinyin_dict import pinyin_dict

    return {to_normal(p) for value in pinyin_dict.values() for p in value.split(",")}


@pytest.mark.slow
@pytest.mark.parametrize("category", sorted(FLOORS))
def test_item_accuracy_keeps_its_floor(scores, category):
    if category not in scores:
        pytest.skip(f"no {category} items yet")
    assert scores[category].item_accuracy >= FLOORS[category]


@pytest.mark.slow
def test_tone_accuracy_keeps_its_floor(scores):
    total = accuracy.Score()
    for score in scores.values():
        total.add(score)
    assert total.tone_accuracy >= TONE_FLOOR


def test_news_register_keeps_full_tones():
    news = [item for path in _present() for item in accuracy.load(path) if item.category == "news"]
    said = {item.text: accuracy.said(item.text) for item in news}
    wrong = {item.text: said[item.text] for item in news if said[item.text] not in item.readings}
    assert news
    assert wrong == {}


@pytest.mark.slow
@pytest.mark.parametrize("path", _present(), ids=lambda path: path.name)
def test_the_set_is_well_formed(path, letters):
    items = accuracy.load(path)
    assert items
    faults = []
    for item in items:
        characters = len(HAN.findall(spoken_form(item.text)))
        for reading in item.readings:
            if len(reading) != characters:
                faults.append(
                    f"line {item.line}: {len(reading)} syllables, {characters} characters"
                )
            for syllable in reading:
                match = SYLLABLE.fullmatch(syllable)
                if match is None or match.group(1) not in letters:
                    faults.append(f"line {item.line}: {syllable!r} is not pinyin with a tone")
    texts = [item.text for item in items]
    assert sorted({t for t in texts if texts.count(t) > 1}) == []
    assert faults == []


def test_judging_an_item():
    item = accuracy.Item("yi", "一个", (("yi2", "ge4"), ("yi2", "ge5")), 1)
    assert accuracy.judge(item, ("yi2", "ge5")) == accuracy.Score(1, 1, 2, 2)
    assert accuracy.judge(item, ("yi1", "ge4")) == accuracy.Score(1, 0, 2, 1)
    assert accuracy.judge(item, ("yi1",)) == accuracy.Score(1, 0, 2, 0)


def test_a_bad_line_is_reported_with_its_number(tmp_path, capsys):
    labelled = tmp_path / "set.tsv"
    labelled.write_text("# comment\nbu\t不对\tbu2 dui4\nbu\t不是\n", encoding="utf-8")
    assert accuracy.main([str(labelled)]) == 2
    assert f"{labelled}:3:" in capsys.readouterr().err
    assert accuracy.main([str(tmp_path / "missing.tsv")]) == 2
