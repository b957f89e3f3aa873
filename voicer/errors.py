"""The errors voicer reports to its users, as data: what went wrong, where, and while doing what.

The message a user reads is built from those attributes in one place, ``VoicerError.__str__``;
nothing reads a position back out of a message. Which exit code an error gives is the CLI's
business (``voicer.cli.EXIT_CODES``), not the error's.
"""

from __future__ import annotations

import copy
from typing import Any, Self


class VoicerError(Exception):
    """A failure explained in one line.

    ``reason`` says what went wrong. ``source`` (a file), ``line`` and ``column`` (1-based),
    when known, say where, and ``context`` what was being done, outermost first. Wrap an error
    with :meth:`within` to keep its class, flags and position.

    >>> error = InputError("unknown markup [x]", line=3, column=12)
    >>> str(error), error.reason, error.line, error.column
    ('3:12: unknown markup [x]', 'unknown markup [x]', 3, 12)
    >>> str(InputError("expected KEY=VALUE", source="fills.txt", line=4))
    'fills.txt:4: expected KEY=VALUE'
    >>> str(error.within("script.txt"))
    'script.txt: 3:12: unknown markup [x]'
    """

    def __init__(
        self,
        reason: str = "",
        *,
        source: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.source = source
        self.line = line
        self.column = column
        self.context: tuple[str, ...] = ()

    @property
    def position(self) -> str:
        """``SOURCE:LINE:COLUMN``, with only the parts that are known ("" for none)."""
        parts: list[object] = [self.source] if self.source else []
        if self.line is not None:
            parts.append(self.line)
            if self.column is not None:
                parts.append(self.column)
        return ":".join(map(str, parts))

    def __str__(self) -> str:
        located = f"{self.position}: {self.reason}" if self.position else self.reason
        return ": ".join((*self.context, located))

    def within(self, context: str) -> Self:
        """A copy of this error (same class, flags and position) whose message starts with
        ``context``, as in ``line 3 (“…”): edge: no answer within 20 s``."""
        return self.replaced(context=(context, *self.context))

    def replaced(self, **attributes: Any) -> Self:
        """A copy of this error with some attributes changed (``reason``, ``line``, ...)."""
        unknown = set(attributes) - set(vars(self))
        if unknown:
            raise AttributeError(f"{type(self).__name__} has no {', '.join(sorted(unknown))}")
        changed = copy.copy(self)
        vars(changed).update(attributes)
        changed.args = (changed.reason,)
        return changed


class InputError(VoicerError):
    """Bad input or usage, found before any synthesis starts."""


class SynthesisError(VoicerError):
    """An engine failed to produce audio for a segment.

    ``transient``: the same request may well succeed if tried again (a timeout, a dropped
    connection, HTTP 503). ``throttled``: the service asked us to slow down (HTTP 429); a
    throttled error is always transient. Both survive :meth:`within`.

    >>> error = SynthesisError("edge: HTTP 429", throttled=True)
    >>> error.transient, error.throttled, str(error)
    (True, True, 'edge: HTTP 429')
    >>> wrapped = error.within("line 3")
    >>> str(wrapped), wrapped.transient, wrapped.throttled
    ('line 3: edge: HTTP 429', True, True)
    >>> SynthesisError("edge: bad voice").transient
    False
    """

    def __init__(
        self, reason: str = "", *, transient: bool = False, throttled: bool = False
    ) -> None:
        super().__init__(reason)
        self.throttled = throttled
        self.transient = transient or throttled


class EngineUnavailable(SynthesisError):
    """An engine cannot be used at all here (no network, missing model, ...)."""


class OutputError(VoicerError):
    """Encoding or writing an output file failed."""
