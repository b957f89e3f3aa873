"""A content-addressed cache of synthesised clips, so that a re-render only synthesises what
changed.

The key covers everything that changes the audio: engine and its version, voice, prosody and the
text spoken. Entries are written atomically (temporary file, then rename) and verified on read
(a checksum over the payload): a truncated or corrupt entry is discarded, never used.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voicer.model import Clip, Mark

MAGIC = b"VOICERC1"
ENV = "VOICER_CACHE_DIR"


def default_directory() -> Path:
    """The platform's cache folder for voicer ($VOICER_CACHE_DIR overrides it)."""
    if os.environ.get(ENV):
        return Path(os.environ[ENV])
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local"
        return Path(base) / "voicer" / "cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "voicer"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "voicer"


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
class ClipCache:
    """Clips stored under ``directory``, one file per key."""

    directory: Path

    def path(self, name: str) -> Path:
        return self.directory / name[:2] / f"{name}.clip"

    def get(self, name: str) -> Clip | None:
        """The clip stored under ``name``, or None if missing or damaged (then removed)."""
        path = self.path(name)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        clip = _decode(data)
        if clip is None:
            path.unlink(missing_ok=True)
        return clip

    def put(self, name: str, clip: Clip) -> None:
        """Store a clip atomically; a cache that cannot be written is simply not used."""
        path = self.path(name)
        temporary: Path | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, created = tempfile.mkstemp(dir=path.parent, suffix=".part")
            temporary = Path(created)
            with os.fdopen(handle, "wb") as file:
                file.write(_encode(clip))
            os.replace(temporary, path)
        except OSError:
            pass  # a read-only or full disk only costs the next render time
        finally:
            if temporary is not None:
                temporary.unlink(missing_ok=True)

    def info(self) -> tuple[int, int]:
        """(entries, bytes) in the cache."""
        sizes = [p.stat().st_size for p in self.directory.glob("*/*.clip")]
        return len(sizes), sum(sizes)

    def clear(self) -> int:
        """Remove every entry; return how many there were."""
        entries = list(self.directory.glob("*/*.clip"))
        for entry in entries:
            entry.unlink(missing_ok=True)
        return len(entries)


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
