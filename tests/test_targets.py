"""A render's targets are resolved once, before synthesis: the mastering of its sound, each
subtitle file with its format and, for a video, what it shows; its result is built from what
was delivered, with the engine's work counted in one snapshot."""

from __future__ import annotations

from pathlib import Path

import pytest

from voicer import pipeline
from voicer.synthesis.pool import Counts


def test_an_audio_file_is_mastered_as_its_format_says(tmp_path: Path):
    outputs = pipeline.Outputs.beside(
        tmp_path / "talk.mp3", extra_subtitles=(tmp_path / "talk.ass",), vtt=True
    )
    targets = pipeline.check_outputs(outputs, pipeline.RenderOptions(engine="tone"))

    assert targets.outputs == outputs and targets.picture is None
    assert targets.mastering.delivery.format.codec == "libmp3lame"
    # the podcast preset, for a mono programme
    assert targets.mastering.target == (-19.0, -1.0)
    assert [(path.name, form.name) for path, form in targets.subtitles] == [
        ("talk.srt", "SubRip"),
        ("talk.vtt", "WebVTT"),
        ("talk.ass", "Advanced SubStation Alpha"),
    ]


def test_a_video_has_its_sound_mastered_for_broadcast_and_a_picture(tmp_path: Path):
    options = pipeline.RenderOptions(engine="tone")
    targets = pipeline.check_outputs(pipeline.Outputs.beside(tmp_path / "talk.mp4"), options)

    assert targets.picture is not None and targets.picture.container.name == "MP4"
    assert targets.mastering == pipeline.sound_mastering(tmp_path / "talk.mp4", options)
    assert targets.mastering.target is not None and targets.mastering.target[0] == -23.0
    elsewhere = pipeline.Outputs.beside(tmp_path / "ray" / "talk.mp4")
    moved = targets.moved(elsewhere)
    assert moved.outputs == elsewhere and moved.mastering == targets.mastering
    assert [path for path, _ in moved.subtitles] == list(elsewhere.subtitles)


def test_the_result_counts_the_engines_work(tmp_path: Path):
    script = tmp_path / "talk.txt"
    script.write_text("今天开会。明天放假。\n", encoding="utf-8")
    options = pipeline.RenderOptions(engine="tone", cache_dir=tmp_path / "cache")

    first = pipeline.render(script, tmp_path / "talk.wav", options)
    again = pipeline.render(script, tmp_path / "again.wav", options)

    assert first.counts == Counts(synthesised=2, cached=0, retries=0)
    assert again.counts == Counts(synthesised=0, cached=2, retries=0)
    assert (again.sentences, len(again.cues)) == (2, len(first.cues))
    assert again.duration == first.duration and again.loudness is not None


def test_the_old_american_spellings_still_work_and_say_they_are_deprecated(tmp_path: Path):
    import voicer

    with pytest.warns(DeprecationWarning, match="synthesise"):
        old = voicer.synthesize
    assert old is voicer.synthesise
    source = tmp_path / "speech.txt"
    source.write_text("你好。", encoding="utf-8")
    options = voicer.RenderOptions(engine="tone", cache_dir=tmp_path / "cache")
    result = voicer.render(source, tmp_path / "out.wav", options)
    with pytest.warns(DeprecationWarning, match="synthesised"):
        assert result.synthesized == result.synthesised == 1
