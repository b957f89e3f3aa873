"""What a render reports as it goes: every sentence, then mastering, timed from synthesis."""

from __future__ import annotations

from pathlib import Path

import pytest
from speech_audio import invoke_voicer

from voicer.pipeline import Listener, Progress, RenderOptions, render

SPEECH = "".join(f"第{n}句话在这里。" for n in range(1, 13)) + "\n"


@pytest.mark.slow
def test_progress_covers_every_sentence_then_mastering(tmp_path: Path):
    (tmp_path / "talk.txt").write_text(SPEECH, encoding="utf-8")
    heard: list[Progress] = []
    options = RenderOptions(engine="tone", use_cache=False)
    result = render(
        tmp_path / "talk.txt", tmp_path / "talk.wav", options, Listener(progress=heard.append)
    )

    sentences = [p for p in heard if p.mastering is None]
    mastering = [p.mastering for p in heard if p.mastering is not None]
    assert [p.done for p in sentences] == list(range(1, result.sentences + 1))
    assert heard.index(next(p for p in heard if p.mastering is not None)) == len(sentences)
    assert len(mastering) > 2 and mastering[0] == 0.0
    assert mastering == sorted(mastering) and mastering[-1] <= 1.0
    assert mastering[-1] >= 0.9  # the bar does not stall far short of the end
    elapsed = [p.elapsed for p in heard]
    assert elapsed == sorted(elapsed)
    # elapsed counts from the start of synthesis, so it is never behind the engine's time
    assert sentences[-1].elapsed >= result.synthesis_seconds * 0.5
    assert sentences[-1].audio_seconds <= result.duration


def test_the_closing_lines_count_in_words(tmp_path: Path):
    (tmp_path / "one.txt").write_text("你好。\n", encoding="utf-8")
    args = ["render", "one.txt", "--engine", "tone", "--vtt", "--timeline", "one.json"]
    result = invoke_voicer(*args, "--no-cache", cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    lines = result.stdout.decode().splitlines()
    assert lines[-2] == (
        "wrote audio/one.mp3, audio/one.srt, audio/one.vtt and one.json (1 cue) with tone tone"
    )
    assert lines[-1].endswith(
        "; 1 sentence, 1 at a time: 1 clip synthesised, 0 from the cache, 0 retries"
    )
    assert "0 subtitle rule violations" in lines[0]
