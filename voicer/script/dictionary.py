"""jieba's dictionary, read a word at a time from a store in voicer's cache folder.

jieba loads the frequencies of its 498,000 words and prefixes whole before cutting any text:
0.6 s from its own cache at every start, most of ``voicer check``'s time. Cutting a speech
asks about a few thousand of them, so the dictionary is stored once per jieba version as an
SQLite table and each word is read when first asked for (a speech of 1,300 characters: 40 ms).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from voicer import files
from voicer.errors import OutputError

_MISSING = object()


class StoredFrequencies(Mapping[str, int]):
    """A dictionary's words and prefixes (frequency 0) with their frequencies, as jieba's
    ``Tokenizer.FREQ`` holds them, read from ``path`` as they are asked for; words added
    (``jieba.add_word``) are kept in memory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._known: dict[str, int | None] = {}
        self._lock = threading.Lock()
        self._database, self._process = self._open(), os.getpid()
        self.total = int(self._query("SELECT total FROM meta", ()))

    def _open(self) -> sqlite3.Connection:
        # immutable: the store is replaced whole, never written in place, so no locking
        uri = f"{self.path.resolve().as_uri()}?mode=ro&immutable=1"
        return sqlite3.connect(uri, uri=True, check_same_thread=False)

    def _query(self, sql: str, parameters: tuple[str, ...]) -> Any:
        with self._lock:
            if self._process != os.getpid():  # a forked child: a connection of its own
                self._database, self._process = self._open(), os.getpid()
            row = self._database.execute(sql, parameters).fetchone()
        return None if row is None else row[0]

    def get(self, word: str, default: Any = None) -> Any:
        found = self._known.get(word, _MISSING)
        if found is _MISSING:
            found = self._known[word] = self._query("SELECT n FROM words WHERE word = ?", (word,))
        return default if found is None else found

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and self.get(word) is not None

    def __getitem__(self, word: str) -> int:
        found = self.get(word)
        if found is None:
            raise KeyError(word)
        return int(found)

    def __setitem__(self, word: str, frequency: int) -> None:
        self._known[word] = frequency

    def __len__(self) -> int:
        return int(self._query("SELECT count(*) FROM words", ()))

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            words = [row[0] for row in self._database.execute("SELECT word FROM words")]
        return iter(words)


def use_store(tokenizer: Any, store: Path) -> None:
    """Have jieba's ``tokenizer`` read its dictionary from ``store``, written from the
    dictionary it loads itself when there is none yet; when it cannot be written, or is not
    a file voicer wrote, the tokenizer loads its dictionary as it would without voicer."""
    if not _is_own_file(store):
        with contextlib.suppress(OutputError, sqlite3.Error):
            _write(tokenizer, store)
        return  # the tokenizer has its dictionary loaded now
    with contextlib.suppress(sqlite3.Error, OSError, TypeError, ValueError):
        frequencies = StoredFrequencies(store)
        tokenizer.FREQ, tokenizer.total = frequencies, frequencies.total
        tokenizer.initialized = True


def _is_own_file(path: Path) -> bool:
    """A file, not a link or anything else found at its name, written by this user."""
    try:
        found = path.lstat()
    except OSError:
        return False
    getuid = getattr(os, "getuid", None)
    return stat.S_ISREG(found.st_mode) and (getuid is None or found.st_uid == getuid())


def _write(tokenizer: Any, store: Path) -> None:
    tokenizer.check_initialized()  # jieba's own load, from its cache
    with files.atomic_outputs([store]) as (temporary,):
        database = sqlite3.connect(temporary)
        try:
            database.execute("PRAGMA journal_mode = OFF")
            database.execute("CREATE TABLE words (word TEXT PRIMARY KEY, n INTEGER) WITHOUT ROWID")
            database.executemany("INSERT INTO words VALUES (?, ?)", tokenizer.FREQ.items())
            database.execute("CREATE TABLE meta (total INTEGER)")
            database.execute("INSERT INTO meta VALUES (?)", (tokenizer.total,))
            database.commit()
        finally:
            database.close()
