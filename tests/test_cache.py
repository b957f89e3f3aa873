"""The sentence cache: re-renders synthesise only what changed; damaged entries are replaced."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from speech_audio import run_voicer

from voicer import RenderOptions, ffmpeg, render
from voicer.model import Clip, Mark
from voicer.synthesis.cache import ClipCache, key

SPEECH = "今天我们开会。\n会议很重要，大家要认真听。\n谢谢。\n"


def test_entries_round_trip_and_damage_is_detected(tmp_path: Path):
    clips = ClipCache(tmp_path)
    clip = Clip(np.linspace(-1, 1, 480, dtype=np.float32), 24000, (Mark(3, 9, "词"),))
    name = key("kokoro", "v", "zm_yunxi", "+0%", "词")
    clips.put(name, clip)
    again = clips.get(name)
    assert again is not None and again.marks == clip.marks and again.sample_rate == 24000
    assert np.array_equal(again.samples, clip.samples)
    entry = clips.path(name)
    entry.write_bytes(entry.read_bytes()[:-7])  # truncated, as by a crash or a full disk
    assert clips.get(name) is None
    assert not entry.exists()  # discarded, never used
    assert not list(tmp_path.rglob("*.part"))


def test_keys_cover_everything_that_changes_the_audio():
    base = ("kokoro", "v1", "zm_yunxi", "+0%", "你好")
    variants = [
        ("edge", *base[1:]),
        (base[0], "v2", *base[2:]),
        (*base[:2], "zf_xiaobei", *base[3:]),
        (*base[:3], "+5%", base[4]),
        (*base[:4], "您好"),
    ]
    assert len({key(*base), *(key(*v) for v in variants)}) == 6


def test_rerender_after_an_edit_synthesises_only_the_edited_sentence(tmp_path: Path):
    cache_dir = tmp_path / "cache"
    options = RenderOptions(engine="kokoro", cache_dir=cache_dir)
    source = tmp_path / "talk.txt"
    source.write_text(SPEECH, encoding="utf-8")
    first = render(source, tmp_path / "a.wav", options)
    assert first.cache_hits == 0 and first.synthesized >= 3

    again = render(source, tmp_path / "b.wav", options)
    assert (again.cache_hits, again.synthesized) == (first.synthesized, 0)
    a = ffmpeg.decode_file(tmp_path / "a.wav", 48000)
    b = ffmpeg.decode_file(tmp_path / "b.wav", 48000)
    assert np.array_equal(a, b)  # the same audio, bit for bit
    assert (tmp_path / "a.srt").read_text() == (tmp_path / "b.srt").read_text()

    source.write_text(SPEECH.replace("谢谢。", "谢谢大家。"), encoding="utf-8")
    edited = render(source, tmp_path / "c.wav", options)
    assert edited.synthesized == 1 and edited.cache_hits == first.synthesized - 1


def test_a_corrupt_entry_is_replaced_and_the_render_is_unchanged(tmp_path: Path):
    cache_dir = tmp_path / "cache"
    options = RenderOptions(engine="kokoro", cache_dir=cache_dir)
    source = tmp_path / "talk.txt"
    source.write_text(SPEECH, encoding="utf-8")
    render(source, tmp_path / "a.wav", options)
    victim = sorted(cache_dir.rglob("*.clip"))[0]
    damaged = bytearray(victim.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF  # one flipped byte in the PCM
    victim.write_bytes(bytes(damaged))
    again = render(source, tmp_path / "b.wav", options)
    assert again.synthesized == 1
    a = ffmpeg.decode_file(tmp_path / "a.wav", 48000)
    b = ffmpeg.decode_file(tmp_path / "b.wav", 48000)
    assert np.array_equal(a, b)


def test_cli_no_cache_info_and_clear(tmp_path: Path):
    (tmp_path / "talk.txt").write_text("你好。", encoding="utf-8")
    env = {"VOICER_CACHE_DIR": str(tmp_path / "cache")}
    args = ["render", "talk.txt", "--engine", "kokoro"]
    assert run_voicer(*args, cwd=tmp_path, env=env).returncode == 0
    second = run_voicer(*args, cwd=tmp_path, env=env)
    assert "0 clips synthesised, 1 from the cache" in second.stdout.decode()
    uncached = run_voicer(*args, "--no-cache", cwd=tmp_path, env=env)
    assert "1 clip synthesised, 0 from the cache" in uncached.stdout.decode()
    info = run_voicer("cache", "info", cwd=tmp_path, env=env).stdout.decode()
    assert ": 1 clip," in info
    cleared = run_voicer("cache", "clear", cwd=tmp_path, env=env).stdout.decode()
    assert cleared.startswith("removed 1 clip ")
    assert ": 0 clips," in run_voicer("cache", "info", cwd=tmp_path, env=env).stdout.decode()
