"""Every syllable of a speech that voicer's readings say differently from misaki's own G2P.

misaki's legacy Mandarin path (what the offline engine said before voicer's readings) cuts
each run of Han characters with jieba and gives each word pypinyin's tones, with no sandhi.
This lists, sentence by sentence, each syllable where voicer's readings differ, with the word
around it, so each change can be judged by ear or against a dictionary.

    python scripts/readings_change.py examples/long-speech.txt
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path


def misaki_syllables(text: str) -> list[str]:
    """One syllable per Han character of ``text`` as misaki's legacy G2P reads it."""
    import re

    import jieba
    from pypinyin import Style, lazy_pinyin

    found: list[str] = []
    for run in re.findall("[\u4e00-\u9fff]+", text):
        for word in jieba.lcut(run, cut_all=False):
            found += lazy_pinyin(word, style=Style.TONE3, neutral_tone_with_five=True)
    return found


def changes(path: Path) -> list[tuple[int, str, str, str, str]]:
    """(line, word, character, misaki's syllable, voicer's syllable) for every difference."""
    from voicer.pipeline import RenderOptions, prepare
    from voicer.script.reading import read_script
    from voicer.synthesis.engines import kokoro_words

    plan = prepare(read_script(path), RenderOptions(engine="tone"))
    found = []
    for segment in plan.segments:
        words = kokoro_words.readings(segment.spoken)
        text = "".join(word.text for word in words)
        before = misaki_syllables(text)
        at = 0
        for word in words:
            for character, syllable in zip(word.text, word.pinyin, strict=False):
                if before[at] != syllable:
                    found.append((segment.line, word.text, character, before[at], syllable))
                at += 1
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("script", type=Path)
    found = changes(parser.parse_args().script)
    for line, word, character, before, after in found:
        print(f"{line}\t{word}\t{character}\t{before} -> {after}")
    kinds = Counter(f"{before} -> {after}" for _, _, _, before, after in found)
    print(f"{len(found)} syllables changed; most common: {kinds.most_common(8)}", file=sys.stderr)


if __name__ == "__main__":
    main()
