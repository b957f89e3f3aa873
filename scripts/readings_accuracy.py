"""How many hand-labelled Mandarin readings voicer gets right, per category.

    python scripts/readings_accuracy.py tests/data/readings.tsv [tests/data/polyphones.tsv]
    python scripts/readings_accuracy.py --wrong tests/data/readings.tsv

Each file is a labelled set (tab-separated ``category, text, pinyin[, note]``, ``#`` starts
a comment; several readings of one item are separated by `` | ``). What voicer says for an
item is the syllables of its spoken form. An item is right when its syllables equal one of
its readings; a syllable's tone is right when letters and tone match the closest reading of
the same length.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

CATEGORIES = ("bu", "yi", "third", "neutral", "polyphone", "number", "news")


class LabelError(Exception):
    """A labelled set that cannot be read: missing file or a malformed line."""


@dataclass(frozen=True)
class Item:
    category: str
    text: str
    readings: tuple[tuple[str, ...], ...]
    line: int


@dataclass
class Score:
    items: int = 0
    right: int = 0
    syllables: int = 0
    tones: int = 0

    def add(self, other: Score) -> None:
        self.items += other.items
        self.right += other.right
        self.syllables += other.syllables
        self.tones += other.tones

    @property
    def item_accuracy(self) -> float:
        return self.right / self.items if self.items else 0.0

    @property
    def tone_accuracy(self) -> float:
        return self.tones / self.syllables if self.syllables else 0.0


@dataclass(frozen=True)
class Miss:
    item: Item
    got: tuple[str, ...]


def load(path: Path) -> list[Item]:
    """The items of a labelled set; :class:`LabelError` names the file and line of a fault."""
    try:
        content = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise LabelError(f"{path}: cannot read ({error})") from error
    items = []
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        items.append(_parse(line, path, number))
    return items


def _parse(line: str, path: Path, number: int) -> Item:
    fields = line.split("\t")
    if len(fields) not in (3, 4):
        raise LabelError(f"{path}:{number}: expected 3 or 4 tab-separated fields")
    category, text, pinyin = fields[:3]
    if category not in CATEGORIES:
        raise LabelError(f"{path}:{number}: unknown category {category!r}")
    if not text.strip():
        raise LabelError(f"{path}:{number}: empty text")
    readings = tuple(tuple(part.split()) for part in pinyin.split("|"))
    if any(not reading for reading in readings):
        raise LabelError(f"{path}:{number}: empty reading")
    return Item(category, text, readings, number)


def said(text: str) -> tuple[str, ...]:
    """The syllables voicer says for ``text``."""
    from voicer.script import pinyin
    from voicer.script.spoken_form import spoken_form

    return tuple(pinyin.syllables(spoken_form(text)))


def judge(item: Item, got: tuple[str, ...]) -> Score:
    """One item's score: fully right or not, and its syllables with the right tone."""
    best = max(
        (sum(a == b for a, b in zip(reading, got, strict=True)) if len(reading) == len(got) else 0)
        for reading in item.readings
    )
    return Score(
        items=1,
        right=int(got in item.readings),
        syllables=len(item.readings[0]),
        tones=best,
    )


def evaluate(paths: list[Path]) -> tuple[dict[str, Score], list[Miss]]:
    """Per-category scores over all ``paths``, and the items voicer got wrong."""
    scores: dict[str, Score] = {}
    misses = []
    for path in paths:
        for item in load(path):
            got = said(item.text)
            result = judge(item, got)
            scores.setdefault(item.category, Score()).add(result)
            if not result.right:
                misses.append(Miss(item, got))
    return scores, misses


def score(path: str | Path) -> dict[str, Score]:
    """Per-category scores of one labelled set."""
    return evaluate([Path(path)])[0]


def table(scores: dict[str, Score]) -> str:
    rows = [f"{'category':<10} {'items':>6} {'right':>6} {'item %':>7} {'syll':>6} {'tone %':>7}"]
    total = Score()
    ordered = sorted(scores, key=lambda c: CATEGORIES.index(c))
    for category in ordered:
        rows.append(_row(category, scores[category]))
        total.add(scores[category])
    rows.append(_row("overall", total))
    return "\n".join(rows)


def _row(name: str, s: Score) -> str:
    return (
        f"{name:<10} {s.items:>6} {s.right:>6} {100 * s.item_accuracy:>6.1f}% "
        f"{s.syllables:>6} {100 * s.tone_accuracy:>6.1f}%"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path, help="labelled sets (TSV)")
    parser.add_argument("--wrong", action="store_true", help="list every item said wrong")
    args = parser.parse_args(argv)
    try:
        scores, misses = evaluate(args.files)
    except LabelError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(table(scores))
    if args.wrong:
        print()
        for miss in misses:
            expected = " | ".join(" ".join(reading) for reading in miss.item.readings)
            print(
                f"{miss.item.category:<10} {miss.item.text}: expected {expected}; "
                f"got {' '.join(miss.got)}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
