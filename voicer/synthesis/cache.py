"""A content-addressed cache of synthesised clips, so that a re-render only synthesises what
changed.

The key covers everything that changes the audio: engine and its version, voice, prosody and the
text spoken. Entries are written atomically (temporary file, then rename) and verified on read
(a checksum over the payload): a truncated or corrupt entry is discarded, never used.

The cache holds at most ``limit`` bytes (2 GB unless told otherwise, about six hours of 24 kHz
speech). A read marks an entry as used by setting its modification time; when a write takes the
folder past the limit, the entries used least recently are removed until it is back under 90 %
of the limit. Each process keeps a running estimate of the folder's size (one scan, then what it
wrote itself) and only rescans when that estimate passes the limit, so several processes sharing
a folder may overshoot it by what the others wrote since their last scan, until the next
eviction. Files may vanish under any of this: another process can evict or clear at any time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voicer import files
from voicer.defaults import CACHE_LIMIT_ENV
from voicer.errors import OutputError
from voicer.model import Clip, Mark
from voicer.options import parse_size as parse_size

MAGIC = b"VOICERC1"
LIMIT_ENV = CACHE_LIMIT_ENV
DEFAULT_LIMIT = 2_000_000_000  # bytes; 0 means no limit
LOW_WATER = 0.9  # eviction frees this much below the limit, so a full cache is not rescanned
# on every write
MAX_ENTRY_BYTES = 1 << 28  # some 45 minutes of audio at 24 kHz: far more than any sentence
ENTRY_NAME = re.compile(r"[0-9a-f]{64}\.clip")  # only files voicer wrote are ever removed


def default_limit() -> int:
    """The size limit in bytes: $VOICER_CACHE_MAX if set, else 2 GB."""
    given = os.environ.get(LIMIT_ENV, "").strip()
    return parse_size(given) if given else DEFAULT_LIMIT


def format_size(size: int) -> str:
    """``size`` bytes for people, in the units :func:`parse_size` reads.

    >>> format_size(2_000_000_000), format_size(1_234_567), format_size(999)
    ('2 GB', '1.23 MB', '999 B')
    """
    for unit, scale in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size} B"


def key(engine: str, version: str, voice: str, settings: str, text: str) -> str:
    """The entry name for one synthesis request.

    >>> key("kokoro", "1", "zm_yunxi", "+0%", "你好")[:12]
    '2b6a2ff360a5'
    """
    fields = {"engine": engine, "version": version, "voice": voice, "settings": settings}
    fields["text"] = text
    return hashlib.sha256(
        json.dumps(fields, ensure_ascii=False, sort_keys=True).encode()
    ).hexdigest()


@dataclass(frozen=True)
class Entry:
    """One stored clip as a scan found it."""

    path: Path
    size: int
    used: float  # modification time, set on every read


@dataclass(frozen=True)
class Usage:
    """What a cache folder holds, for ``voicer cache info``."""

    directory: Path
    entries: int
    size: int
    limit: int
    oldest_use: float | None
    newest_use: float | None

    def report(self, now: float | None = None) -> str:
        """Two lines a producer can act on: how full the cache is, and how old its clips are."""
        clips = f"{self.entries} clip{'' if self.entries == 1 else 's'}"
        lines = [f"{self.directory}: {clips}, {format_size(self.size)}; {self._of_limit()}"]
        if self.oldest_use is not None and self.newest_use is not None:
            now = time.time() if now is None else now
            lines.append(
                f"least recently used {_when(self.oldest_use, now)}, "
                f"most recently {_when(self.newest_use, now)}"
            )
        return "\n".join(lines)

    def _of_limit(self) -> str:
        if not self.limit:
            return f"no limit (set one with --cache-max or {LIMIT_ENV})"
        used = f"limit {format_size(self.limit)} ({100 * self.size / self.limit:.0f}% used"
        if self.size > self.limit:
            return used + "; the least recently used go at the next clip written)"
        return used + ")"


class ClipCache:
    """Clips stored under ``directory``, one file per key, at most ``limit`` bytes (0: no
    limit). Safe to share between threads; other processes may use the same folder."""

    def __init__(self, directory: Path, limit: int = DEFAULT_LIMIT) -> None:
        self.directory = Path(directory)
        self.limit = limit
        self._lock = threading.Lock()
        self._estimate: int | None = None  # bytes in the folder: last scan + own writes since

    @classmethod
    def open(cls, directory: Path | None = None, limit: int | None = None) -> ClipCache:
        """The cache in ``directory`` (default: :func:`voicer.files.cache_folder`) with ``limit``
        (default: :func:`default_limit`)."""
        return cls(directory or files.cache_folder(), default_limit() if limit is None else limit)

    def path(self, name: str) -> Path:
        return self.directory / name[:2] / f"{name}.clip"

    def holds(self, name: str) -> bool:
        """Whether a clip is stored under ``name`` (it may still prove damaged when read)."""
        return self.path(name).is_file()

    def get(self, name: str) -> Clip | None:
        """The clip stored under ``name``, or None if missing or damaged (then removed).
        A hit marks the entry as just used."""
        path = self.path(name)
        data = files.read_own_file(path, MAX_ENTRY_BYTES)
        if data is None:
            return None  # written anew by put, even where something else lay at its name
        clip = _decode(data)
        if clip is None:
            _remove(path)
        else:
            _touch(path)
        return clip

    def put(self, name: str, clip: Clip) -> None:
        """Store a clip atomically, then keep the folder under the limit; a cache that cannot
        be written is simply not used."""
        data = _encode(clip)
        try:
            files.write_atomically(self.path(name), data)
        except OutputError:
            return  # a read-only or full disk only costs the next render time
        self._grew(len(data), keep=name)

    def usage(self) -> Usage:
        """What the folder holds, scanned now."""
        entries = list(_entries(self.directory))
        uses = [entry.used for entry in entries]
        size = sum(entry.size for entry in entries)
        oldest, newest = (min(uses), max(uses)) if uses else (None, None)
        return Usage(self.directory, len(entries), size, self.limit, oldest, newest)

    def clear(self) -> int:
        """Remove every entry; return how many there were."""
        entries = list(_entries(self.directory))
        for entry in entries:
            _remove(entry.path)
        with self._lock:
            self._estimate = None
        return len(entries)

    def _grew(self, size: int, keep: str) -> None:
        if not self.limit:
            return
        with self._lock:
            if self._estimate is None:
                self._estimate = sum(entry.size for entry in _entries(self.directory))
            else:
                self._estimate += size
            if self._estimate > self.limit:
                self._estimate = self._evict(keep)

    def _evict(self, keep: str) -> int:
        """Remove the least recently used entries (never ``keep``) until the folder is under
        the low-water mark; return the bytes left."""
        entries = sorted(_entries(self.directory), key=lambda entry: entry.used)
        total = sum(entry.size for entry in entries)
        for entry in entries:
            if total <= self.limit * LOW_WATER:
                break
            if entry.path.stem != keep and _remove(entry.path):
                total -= entry.size
        return total


def _entries(directory: Path) -> Iterator[Entry]:
    """Every entry in ``directory``, skipping whatever vanishes during the scan."""
    for shard in _listing(directory):
        if len(shard.name) != 2 or not shard.is_dir(follow_symlinks=False):
            continue
        for file in _listing(Path(shard.path)):
            if not ENTRY_NAME.fullmatch(file.name):
                continue
            try:
                stat = file.stat(follow_symlinks=False)
            except OSError:
                continue
            yield Entry(Path(file.path), stat.st_size, stat.st_mtime)


def _listing(directory: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(directory) as found:
            return list(found)
    except OSError:
        return []


def _touch(path: Path) -> None:
    with contextlib.suppress(OSError):  # evicted meanwhile, or read-only: recency is a hint
        os.utime(path)


def _remove(path: Path) -> bool:
    """Whether ``path`` is gone (it may already have been removed by another process)."""
    try:
        path.unlink(missing_ok=True)
        return True
    except OSError:
        return False  # e.g. open in another process on Windows


def _when(moment: float, now: float) -> str:
    days = int((now - moment) // 86400)
    ago = "today" if days <= 0 else "1 day ago" if days == 1 else f"{days} days ago"
    return f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(moment))} ({ago})"


def _encode(clip: Clip) -> bytes:
    header = {
        "rate": clip.sample_rate,
        "marks": [[m.start, m.end, m.text] for m in clip.marks],
    }
    payload = json.dumps(header, ensure_ascii=False).encode() + b"\n"
    payload += np.ascontiguousarray(clip.samples, dtype="<f4").tobytes()
    return MAGIC + hashlib.sha256(payload).digest() + payload


def _decode(data: bytes) -> Clip | None:
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + 32:
        return None
    digest, payload = data[len(MAGIC) : len(MAGIC) + 32], data[len(MAGIC) + 32 :]
    if hashlib.sha256(payload).digest() != digest:
        return None
    header, _, pcm = payload.partition(b"\n")
    try:
        fields = json.loads(header)
        marks = tuple(Mark(int(a), int(b), str(t)) for a, b, t in fields["marks"])
        samples = np.frombuffer(pcm, dtype="<f4").copy()
        return Clip(samples=samples, sample_rate=int(fields["rate"]), marks=marks)
    except (ValueError, KeyError, TypeError):
        return None
