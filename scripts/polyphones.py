"""How well each offline Mandarin G2P option reads polyphones in context.

Usage:
    python scripts/polyphones.py [--option NAME ...] [--plain FILE] [--runs N] [--show-errors]
    python scripts/polyphones.py --changed phrase_pinyin_data.large_pinyin [--top N]

Each option runs in a process of its own (some of them load data into pypinyin's global
dictionaries, and the load time and memory are measured), on tests/data/polyphones.tsv and,
if given, a second labelled file of plain news sentences that looks for regressions.

Scoring:
- a polyphone is right when its syllable has the base reading noted for it in the file (letters
  and tone; letters only when the base reading is neutral: 的/地/得/了/着 are told apart by their
  letters), or the spoken reading of the file;
- an item is fully right when every syllable's letters are right, and its tone too, except
  where a rule the option may not apply changes it: 不 and 一, a 2 written for a 3 before
  another third tone, and a neutral tone.
Options that are not installed are reported as such.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
POLYPHONES = ROOT / "tests" / "data" / "polyphones.tsv"
HAN = re.compile("[\u4e00-\u9fff]+")

# name -> what it is
OPTIONS = {
    "voicer": "voicer.script.pinyin.read now (jieba words, pypinyin per word)",
    "voicer+large": "the same, pypinyin-dict large_pinyin loaded",
    "voicer+cedict": "the same, pypinyin-dict cc_cedict loaded",
    "voicer+cedict+large": "the same, cc_cedict then large_pinyin loaded",
    "voicer+large+kxhc": "the same, large_pinyin and kxhc1983 single characters",
    "pypinyin": "pypinyin on the whole text, its own segmentation",
    "pypinyin+large": "the same, large_pinyin loaded",
    "pypinyin+cedict+large": "the same, cc_cedict then large_pinyin loaded",
    "misaki-zh": "misaki.zh_frontend.ZHFrontend (large_pinyin, jieba, PaddleSpeech sandhi)",
    "g2pM": "g2pM (its bundled model, per run of Han characters)",
}


@dataclass(frozen=True)
class Item:
    text: str
    readings: tuple[tuple[str, ...], ...]  # the alternatives, one syllable per Han character
    targets: tuple[tuple[int, str], ...]  # (index among the Han characters, base syllable)


def load_items(path: Path) -> list[Item]:
    """The labelled items of ``path``; targets come from the note (``字:syllable`` ...)."""
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        text, pinyin = fields[1], fields[2]
        note = fields[3] if len(fields) > 3 else ""
        readings = tuple(tuple(alt.split()) for alt in pinyin.split("|"))
        chars = "".join(HAN.findall(text))
        for reading in readings:
            if len(reading) != len(chars):
                raise ValueError(f"{text}: {len(reading)} syllables for {len(chars)} characters")
        items.append(Item(text, readings, _targets(chars, note.split(" — ")[0])))
    return items


def _targets(chars: str, spec: str) -> tuple[tuple[int, str], ...]:
    found = []
    after: dict[str, int] = {}
    for token in spec.split():
        if ":" not in token:
            continue
        char, syllable = token.split(":")
        at = chars.index(char, after.get(char, 0))
        after[char] = at + 1
        found.append((at, syllable))
    return tuple(found)


def _split(syllable: str) -> tuple[str, str]:
    syllable = syllable.lower().replace("u:", "v").replace("ü", "v")
    if syllable[-1:].isdigit():
        return syllable[:-1], syllable[-1]
    return syllable, "5"


def polyphone_right(said: str, base: str, spoken: list[str]) -> bool:
    letters, tone = _split(said)
    base_letters, base_tone = _split(base)
    if letters != base_letters:
        return False
    return (
        base_tone == "5" or tone == base_tone or any(_split(s) == (letters, tone) for s in spoken)
    )


def syllable_right(chars: str, said: list[str], reference: tuple[str, ...], at: int) -> bool:
    letters, tone = _split(said[at])
    ref_letters, ref_tone = _split(reference[at])
    if letters != ref_letters:
        return False
    if tone == ref_tone or chars[at] in "一不" or ref_tone == "5":
        return True
    next_tone = _split(reference[at + 1])[1] if at + 1 < len(reference) else ""
    return ref_tone == "2" and tone == "3" and next_tone in ("2", "3")


@dataclass
class Score:
    targets: int = 0
    targets_right: int = 0
    items: int = 0
    items_right: int = 0
    syllables: int = 0
    syllables_right: int = 0


def score(items: list[Item], said: list[list[str]], errors: list[str]) -> Score:
    total = Score()
    for item, syllables in zip(items, said, strict=True):
        chars = "".join(HAN.findall(item.text))
        aligned = len(syllables) == len(chars)
        total.items += 1
        total.syllables += len(chars)
        total.targets += len(item.targets)
        if not aligned:
            errors.append(f"{item.text}: {len(syllables)} syllables for {len(chars)} characters")
            continue
        for at, base in item.targets:
            if polyphone_right(syllables[at], base, [r[at] for r in item.readings]):
                total.targets_right += 1
        best = max(
            sum(syllable_right(chars, syllables, r, at) for at in range(len(chars)))
            for r in item.readings
        )
        total.syllables_right += best
        if best == len(chars):
            total.items_right += 1
        else:
            errors.append(
                f"{item.text}: {' '.join(syllables)}  (want {' '.join(item.readings[0])})"
            )
    return total


def _rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


Reader = Callable[[str], list[str]]


def _voicer(*loads: str) -> Reader:
    _load_dicts(*loads)
    from voicer.script.pinyin import syllables

    return syllables


def _load_dicts(*loads: str) -> None:
    import importlib

    for name in loads:
        importlib.import_module(f"pypinyin_dict.{name}").load()


def _pypinyin(*loads: str) -> Reader:
    from pypinyin import Style, lazy_pinyin

    _load_dicts(*loads)

    def read(text: str) -> list[str]:
        said = []
        for run in HAN.findall(text):
            said += lazy_pinyin(run, style=Style.TONE3, neutral_tone_with_five=True)
        return said

    return read


def _misaki() -> Reader:
    import jieba.posseg
    from misaki.zh_frontend import ZHFrontend
    from pypinyin import Style, lazy_pinyin

    frontend = ZHFrontend()

    def read(text: str) -> list[str]:
        said = []
        words = frontend.tone_modifier.pre_merge_for_modify(jieba.posseg.lcut(text))
        for word, pos in words:
            if not HAN.fullmatch(word):
                said += [_one(c) for c in word if HAN.match(c)]
                continue
            base = lazy_pinyin(word, style=Style.TONE3, neutral_tone_with_five=True)
            _, finals = frontend._get_initials_finals(word)
            finals = frontend.tone_modifier.modified_tone(word, pos, finals)
            said += [
                b[:-1] + f[-1] if b[-1:].isdigit() else b for b, f in zip(base, finals, strict=True)
            ]
        return said

    def _one(char: str) -> str:
        return lazy_pinyin(char, style=Style.TONE3, neutral_tone_with_five=True)[0]

    return read


def _g2pm() -> Reader:
    from g2pM import G2pM  # type: ignore[import-not-found]

    model = G2pM()

    def read(text: str) -> list[str]:
        said = []
        for run in HAN.findall(text):
            said += model(run, tone=True, char_split=False)
        return said

    return read


READERS: dict[str, Callable[[], Reader]] = {
    "voicer": _voicer,
    "voicer+large": lambda: _voicer("phrase_pinyin_data.large_pinyin"),
    "voicer+cedict": lambda: _voicer("phrase_pinyin_data.cc_cedict"),
    "voicer+cedict+large": lambda: _voicer(
        "phrase_pinyin_data.cc_cedict", "phrase_pinyin_data.large_pinyin"
    ),
    "voicer+large+kxhc": lambda: _voicer("pinyin_data.kxhc1983", "phrase_pinyin_data.large_pinyin"),
    "pypinyin": _pypinyin,
    "pypinyin+large": lambda: _pypinyin("phrase_pinyin_data.large_pinyin"),
    "pypinyin+cedict+large": lambda: _pypinyin(
        "phrase_pinyin_data.cc_cedict", "phrase_pinyin_data.large_pinyin"
    ),
    "misaki-zh": _misaki,
    "g2pM": _g2pm,
}


def run_option(name: str, files: list[Path]) -> dict[str, object]:
    """Measure one option in this process: load, first result, accuracy, time per item."""
    sets = [load_items(path) for path in files]
    rss = _rss_kib()
    start = time.perf_counter()
    try:
        reader = READERS[name]()
    except ImportError as error:
        return {"name": name, "missing": str(error)}
    reader(sets[0][0].text)
    first = time.perf_counter() - start
    extra = _rss_kib() - rss
    report: dict[str, object] = {"name": name, "first_s": first, "rss_mib": extra / 1024}
    count, spent = 0, 0.0
    for path, items in zip(files, sets, strict=True):
        errors: list[str] = []
        said = []
        for item in items:
            began = time.perf_counter()
            said.append(reader(item.text))
            spent += time.perf_counter() - began
            count += 1
        report[path.name] = {"score": score(items, said, errors).__dict__, "errors": errors}
    report["per_item_ms"] = 1000 * spent / count
    return report


def _measure(names: list[str], files: list[Path], runs: int) -> Iterator[dict[str, object]]:
    """Each option in ``runs`` fresh processes; the timings and memory are the medians."""
    for name in names:
        command = [sys.executable, __file__, "--child", name, *(str(f) for f in files)]
        reports: list[dict[str, Any]] = []
        for _ in range(runs):
            done = subprocess.run(command, capture_output=True, text=True, env=os.environ.copy())
            if done.returncode != 0:
                reports.append({"name": name, "failed": done.stderr.strip().splitlines()[-1:]})
                break
            reports.append(json.loads(done.stdout.strip().splitlines()[-1]))
        report = reports[-1]
        for key in ("first_s", "rss_mib", "per_item_ms"):
            if key in report:
                report[key] = statistics.median(float(r[key]) for r in reports)
        yield report


def _percent(part: object, whole: object) -> str:
    assert isinstance(part, int) and isinstance(whole, int)
    return f"{100 * part / whole:5.1f}%" if whole else "   - "


def table(reports: list[dict[str, object]], files: list[Path], show_errors: bool) -> str:
    heads = ["option", "polyphones", "items"]
    if len(files) > 1:
        heads += ["plain syll.", "plain sent."]
    heads += ["first result", "extra RSS", "per item"]
    rows = [heads] + [_row(report, files) for report in reports]
    widths = [max(len(r[i]) for r in rows if i < len(r)) for i in range(len(heads))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)) for r in rows]
    if show_errors:
        lines += _errors(reports, files)
    return "\n".join(lines)


def _row(report: dict[str, object], files: list[Path]) -> list[str]:
    """An option's row: its scores on each file (the labelled polyphones first, then the
    plain sentences), its start, memory and speed; or why it has none."""
    row = [str(report["name"])]
    if "missing" in report or "failed" in report:
        why = "not installed" if "missing" in report else f"failed: {report['failed']}"
        return row + [why]
    for index, path in enumerate(files):
        result = report[path.name]
        assert isinstance(result, dict)
        got = result["score"]
        # the polyphones of the labelled file, the syllables of the plain one
        right, total = (
            ("targets_right", "targets") if index == 0 else ("syllables_right", "syllables")
        )
        row += [
            _percent(got[right], got[total]),
            _percent(got["items_right"], got["items"]),
        ]
    return row + [
        f"{report['first_s']:.2f} s",
        f"{report['rss_mib']:.0f} MiB",
        f"{report['per_item_ms']:.2f} ms",
    ]


def _errors(reports: list[dict[str, object]], files: list[Path]) -> list[str]:
    """Each option's errors on each file, under a heading."""
    lines = []
    for report in reports:
        for path in files:
            result = report.get(path.name)
            if isinstance(result, dict):
                lines.append(f"\n{report['name']} on {path.name}:")
                lines += [f"  {e}" for e in result["errors"]]
    return lines


def changed_words(data: list[str], top: int) -> list[tuple[str, str, str]]:
    """jieba's ``top`` most frequent words whose pypinyin reading loading ``data`` changes."""
    import importlib

    import jieba
    from pypinyin import Style, lazy_pinyin

    ranked = []
    for line in (Path(jieba.__file__).parent / "dict.txt").read_text(encoding="utf-8").splitlines():
        word, frequency = line.split()[:2]
        if len(word) > 1 and HAN.fullmatch(word):
            ranked.append((-int(frequency), word))
    words = [word for _, word in sorted(ranked)[:top]]

    def read(word: str) -> str:
        return " ".join(lazy_pinyin(word, style=Style.TONE3, neutral_tone_with_five=True))

    before = {word: read(word) for word in words}
    for name in data:
        importlib.import_module(f"pypinyin_dict.{name}").load()
    return [(w, before[w], read(w)) for w in words if read(w) != before[w]]


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        print(json.dumps(run_option(sys.argv[2], [Path(p) for p in sys.argv[3:]])))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--option", action="append", choices=list(OPTIONS))
    parser.add_argument("--plain", type=Path, help="a labelled file of plain news sentences")
    parser.add_argument("--show-errors", action="store_true")
    parser.add_argument("--runs", type=int, default=3, help="processes per option (medians)")
    parser.add_argument(
        "--changed",
        metavar="DATA",
        help="instead: list the frequent words whose reading pypinyin-dict data changes "
        "(e.g. phrase_pinyin_data.large_pinyin; several joined by commas)",
    )
    parser.add_argument("--top", type=int, default=5000, help="with --changed: how many words")
    args = parser.parse_args()
    if args.changed:
        changed = changed_words(args.changed.split(","), args.top)
        print(f"{args.changed}: {len(changed)} of jieba's {args.top} most frequent words change")
        for word, before, after in changed:
            print(f"  {word}\t{before}\t-> {after}")
        return
    files = [POLYPHONES] + ([args.plain] if args.plain else [])
    names = args.option or list(OPTIONS)
    reports = list(_measure(names, files, args.runs))
    print(table(reports, files, args.show_errors))
    print()
    for name in names:
        print(f"{name}: {OPTIONS[name]}")


if __name__ == "__main__":
    main()
