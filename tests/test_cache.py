"""The sentence cache: re-renders synthesise only what changed; damaged entries are replaced;
the folder stays under its size limit, the least recently used entries going first."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from speech_audio import decode, invoke_voicer, run_voicer

from voicer import RenderOptions, render
from voicer.model import Clip, Mark
from voicer.synthesis import cache
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


@pytest.mark.parametrize("planted", ["/dev/zero", "fifo", "a link to an entry"])
def test_an_entry_that_is_no_file_is_not_read_and_is_replaced(tmp_path: Path, planted: str):
    """A cache folder may be shared (VOICER_CACHE_DIR, a manifest's cache_dir): an entry
    found as a link to /dev/zero (read until memory runs out), a FIFO (waits forever) or a link
    is a miss, and the next put makes a file of its own there."""
    clips = ClipCache(tmp_path / "cache")
    clip = Clip(np.linspace(-1, 1, 480, dtype=np.float32), 24000, ())
    name = key("tone", "v", "x", "+0%", "词")
    entry = clips.path(name)
    entry.parent.mkdir(parents=True)
    if planted == "fifo":
        os.mkfifo(entry)
    elif planted == "/dev/zero":
        entry.symlink_to("/dev/zero")
    else:
        elsewhere = ClipCache(tmp_path / "elsewhere")
        elsewhere.put(name, clip)
        entry.symlink_to(elsewhere.path(name))

    assert clips.get(name) is None
    clips.put(name, clip)

    assert entry.is_file() and not entry.is_symlink()
    again = clips.get(name)
    assert again is not None and np.array_equal(again.samples, clip.samples)


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
    # what is synthesised and what is taken from the cache is the subject, whatever the engine:
    # the fast tone engine
    options = RenderOptions(engine="tone", cache_dir=cache_dir)
    source = tmp_path / "talk.txt"
    source.write_text(SPEECH, encoding="utf-8")
    first = render(source, tmp_path / "a.wav", options)
    assert first.cache_hits == 0 and first.synthesised >= 3

    again = render(source, tmp_path / "b.wav", options)
    assert (again.cache_hits, again.synthesised) == (first.synthesised, 0)
    a = decode(tmp_path / "a.wav", 48000)
    b = decode(tmp_path / "b.wav", 48000)
    assert np.array_equal(a, b)  # the same audio, bit for bit
    assert (tmp_path / "a.srt").read_text() == (tmp_path / "b.srt").read_text()

    source.write_text(SPEECH.replace("谢谢。", "谢谢大家。"), encoding="utf-8")
    edited = render(source, tmp_path / "c.wav", options)
    assert edited.synthesised == 1 and edited.cache_hits == first.synthesised - 1


def test_a_corrupt_entry_is_replaced_and_the_render_is_unchanged(tmp_path: Path):
    cache_dir = tmp_path / "cache"
    # the cache's handling of damage is the subject: the fast tone engine speaks (that kokoro
    # makes the same clip again, to the bit, is tests/test_kokoro_workers.py's)
    options = RenderOptions(engine="tone", cache_dir=cache_dir)
    source = tmp_path / "talk.txt"
    source.write_text(SPEECH, encoding="utf-8")
    render(source, tmp_path / "a.wav", options)
    victim = sorted(cache_dir.rglob("*.clip"))[0]
    damaged = bytearray(victim.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF  # one flipped byte in the PCM
    victim.write_bytes(bytes(damaged))
    again = render(source, tmp_path / "b.wav", options)
    assert again.synthesised == 1
    a = decode(tmp_path / "a.wav", 48000)
    b = decode(tmp_path / "b.wav", 48000)
    assert np.array_equal(a, b)


@pytest.mark.slow
def test_cli_no_cache_info_and_clear(tmp_path: Path):
    (tmp_path / "talk.txt").write_text("你好。", encoding="utf-8")
    env = {"VOICER_CACHE_DIR": str(tmp_path / "cache")}
    # the cache's commands are the subject, not the engine: the fast tone engine fills it
    args = ["render", "talk.txt", "--engine", "tone"]
    assert invoke_voicer(*args, cwd=tmp_path, env=env).returncode == 0
    second = invoke_voicer(*args, cwd=tmp_path, env=env)
    assert "0 clips synthesised, 1 from the cache" in second.stdout.decode()
    uncached = invoke_voicer(*args, "--no-cache", cwd=tmp_path, env=env)
    assert "1 clip synthesised, 0 from the cache" in uncached.stdout.decode()
    info = run_voicer("cache", "info", cwd=tmp_path, env=env).stdout.decode()
    assert ": 1 clip," in info
    cleared = run_voicer("cache", "clear", cwd=tmp_path, env=env).stdout.decode()
    assert cleared.startswith("removed 1 clip ")
    assert ": 0 clips," in run_voicer("cache", "info", cwd=tmp_path, env=env).stdout.decode()


TONE_SPEECH = SPEECH.replace("谢谢。", "明天继续讨论预算。\n最后一件事是安全。\n谢谢大家。")


def tiny_clip(seed: int) -> Clip:
    samples = np.random.default_rng(seed).uniform(-1, 1, 1000).astype(np.float32)
    return Clip(samples, 24000, (Mark(0, 1000, "词"),))


def folder_bytes(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*.clip"))


def entry_size(tmp_path: Path) -> int:
    probe = ClipCache(tmp_path / "probe")
    probe.put(key("t", "1", "v", "", "probe"), tiny_clip(0))
    return folder_bytes(tmp_path / "probe")


def test_the_limit_holds_after_many_puts(tmp_path: Path):
    limit = 10 * entry_size(tmp_path)
    clips = ClipCache(tmp_path / "cache", limit=limit)
    for n in range(60):
        name = key("t", "1", "v", "", f"sentence {n}")
        clips.put(name, tiny_clip(n))
        assert folder_bytes(clips.directory) <= limit
        assert clips.get(name) is not None  # the entry just written is never the one evicted
    assert 5 <= clips.usage().entries <= 10


def test_the_least_recently_used_entry_goes_first(tmp_path: Path):
    clips = ClipCache(tmp_path / "cache", limit=int(3.5 * entry_size(tmp_path)))
    names = [key("t", "1", "v", "", word) for word in ("a", "b", "c", "d")]
    for age, name in zip((300, 200, 100), names[:3], strict=False):
        clips.put(name, tiny_clip(age))
        then = time.time() - age
        os.utime(clips.path(name), (then, then))  # a: used longest ago, then b, then c
    assert clips.get(names[0]) is not None  # reading a makes it the most recently used
    clips.put(names[3], tiny_clip(4))
    survivors = [name for name in names if clips.path(name).exists()]
    assert survivors == [names[0], names[2], names[3]]  # b, now the oldest use, went


def test_entries_vanishing_during_a_scan_are_skipped(tmp_path: Path, monkeypatch):
    clips = ClipCache(tmp_path / "cache", limit=3 * entry_size(tmp_path))
    for n in range(3):
        clips.put(key("t", "1", "v", "", str(n)), tiny_clip(n))
    listing = cache._listing

    def listing_then_another_process_clears(directory: Path) -> list[os.DirEntry[str]]:
        found = listing(directory)
        for entry in found:
            if entry.name.endswith(".clip"):
                os.unlink(entry.path)
        return found

    monkeypatch.setattr(cache, "_listing", listing_then_another_process_clears)
    clips.put(key("t", "1", "v", "", "new"), tiny_clip(9))  # past the limit: evicts, finds none
    assert clips.usage().entries == 0


WORKER = """
import sys, threading
import numpy as np
from pathlib import Path
from voicer.model import Clip
from voicer.synthesis.cache import ClipCache, key

clips = ClipCache(Path(sys.argv[1]), limit=int(sys.argv[2]))
failures = []

def work(thread):
    for n in range(40):
        name = key("t", "1", "v", "", str(n % 25))
        found = clips.get(name)
        if found is not None and not np.all(found.samples == n % 25):
            failures.append(name)
        clips.put(name, Clip(np.full(1000, n % 25, dtype=np.float32), 24000, ()))

threads = [threading.Thread(target=work, args=(t,)) for t in range(3)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
sys.exit(1 if failures else 0)
"""


@pytest.mark.slow
def test_threads_and_processes_share_a_folder_safely(tmp_path: Path):
    limit = 8 * entry_size(tmp_path)
    folder = tmp_path / "cache"
    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER, str(folder), str(limit)]) for _ in range(2)
    ]
    assert [worker.wait(timeout=300) for worker in workers] == [0, 0]
    assert not list(folder.rglob("*.part"))
    ClipCache(folder, limit).put(key("t", "1", "v", "", "last"), tiny_clip(1))
    assert folder_bytes(folder) <= limit  # whatever the others left, the next write trims


@pytest.mark.parametrize(
    ("text", "size"),
    [("0", 0), ("500M", 500 * 10**6), ("2G", 2 * 10**9), ("2GB", 2 * 10**9), ("1.5 GiB", 3 << 29)],
)
def test_sizes_are_read_in_the_documented_forms(text: str, size: int):
    assert cache.parse_size(text) == size


def render_tone(tmp_path: Path, *args: str, env: dict | None = None) -> str:
    result = invoke_voicer("render", "talk.txt", "--engine", "tone", *args, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode()


@pytest.mark.parametrize("how", ["option", "env"])
def test_the_limit_holds_on_a_real_render_and_info_reports_it(tmp_path: Path, how: str):
    (tmp_path / "talk.txt").write_text(TONE_SPEECH, encoding="utf-8")
    folder = tmp_path / "cache"
    env = {"VOICER_CACHE_DIR": str(folder)}
    if how == "env":
        render_tone(tmp_path, env={**env, "VOICER_CACHE_MAX": "400k"})
    else:
        render_tone(tmp_path, "--cache-max", "400k", env=env)
    entries = list(folder.rglob("*.clip"))
    size = sum(p.stat().st_size for p in entries)
    assert 0 < size <= 400_000 and 1 <= len(entries) < 5  # five sentences do not all fit

    info = invoke_voicer("cache", "info", "--cache-max", "400k", cwd=tmp_path, env=env)
    first_line = info.stdout.decode().splitlines()[0]
    assert first_line.startswith(f"{folder}: {len(entries)} clip")
    assert f"{cache.format_size(size)}; limit 400 kB (" in first_line
    assert "least recently used" in info.stdout.decode()


def test_a_second_render_under_the_limit_takes_every_sentence_from_the_cache(tmp_path: Path):
    (tmp_path / "talk.txt").write_text(TONE_SPEECH, encoding="utf-8")
    env = {"VOICER_CACHE_DIR": str(tmp_path / "cache")}
    first = render_tone(tmp_path, "--cache-max", "2G", env=env)
    assert "5 clips synthesised, 0 from the cache" in first
    second = render_tone(tmp_path, "--cache-max", "2G", env=env)
    assert "0 clips synthesised, 5 from the cache" in second
    info = invoke_voicer("cache", "info", cwd=tmp_path, env=env).stdout.decode()
    assert ": 5 clips," in info and "limit 2 GB (0% used)" in info


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "env"),
    [(["--cache-max", "lots"], {}), (["--cache-max", "-5G"], {}), ([], {"VOICER_CACHE_MAX": "2X"})],
)
def test_a_bad_cache_size_is_one_line_and_exit_2(tmp_path: Path, args: list[str], env: dict):
    (tmp_path / "talk.txt").write_text("你好。", encoding="utf-8")
    env = {**env, "VOICER_CACHE_DIR": str(tmp_path / "cache")}
    result = run_voicer("render", "talk.txt", "--engine", "tone", *args, cwd=tmp_path, env=env)
    stderr = result.stderr.decode()
    assert result.returncode == 2
    assert stderr.startswith("voicer: error: invalid cache size") and len(stderr.splitlines()) == 1
    assert not (tmp_path / "audio").exists() and not (tmp_path / "cache").exists()
