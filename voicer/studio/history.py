"""What undoes the studio's changes: pure data, no I/O.

A change is kept as the stretch of a file it wrote and what was there before, never by
sentence number: a re-take can add or remove sentences, which renumbers the rest. Each
change belongs to the sentences whose start lies in what it wrote (or the one it was made
for), by offset in the script. As later changes shift the text, the offsets move along;
undoing first checks that the file still holds what the change wrote, then puts back
exactly what was there.

>>> script = Path("talk.txt")
>>> history = History(script)
>>> history.record(Edit.between(script, "一。二。", "一。甲。乙。"), sentence=2)
>>> history.record(Edit.between(script, "一。甲。乙。", "零。一。甲。乙。"), sentence=0)
>>> change = history.last_for(6)  # 乙, a sentence the first change wrote
>>> change.undone("零。一。甲。乙。")
'零。一。二。'
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from voicer.errors import InputError


@dataclass(frozen=True)
class Edit:
    """``path``'s text, where ``start`` held ``earlier`` and now holds ``written``."""

    path: Path
    start: int
    earlier: str
    written: str

    @classmethod
    def between(cls, path: Path, before: str, after: str) -> Edit:
        """The one stretch that differs between ``before`` and ``after``."""
        start = 0
        while start < min(len(before), len(after)) and before[start] == after[start]:
            start += 1
        end_before, end_after = len(before), len(after)
        while (
            end_before > start
            and end_after > start
            and before[end_before - 1] == after[end_after - 1]
        ):
            end_before, end_after = end_before - 1, end_after - 1
        return cls(path, start, before[start:end_before], after[start:end_after])

    @property
    def end(self) -> int:
        return self.start + len(self.written)

    def inverse(self) -> Edit:
        return Edit(self.path, self.start, self.written, self.earlier)

    @property
    def replaced_end(self) -> int:
        """Where the stretch replaced ended, before the edit."""
        return self.start + len(self.earlier)

    def moved(self, offset: int, end: bool = False) -> int:
        """Where the text at ``offset`` before this edit is after it; inside the stretch
        replaced: the start of what was written (the end, for the ``end`` of a range)."""
        if offset < self.start:
            return offset
        if offset >= self.replaced_end:
            return offset + len(self.written) - len(self.earlier)
        return self.end if end else self.start


@dataclass(frozen=True)
class Change:
    """An edit the studio made, and the stretch of the script, ``[first, last)``, holding the
    starts of the sentences it belongs to."""

    edit: Edit
    first: int
    last: int

    @property
    def path(self) -> Path:
        return self.edit.path

    def belongs_to(self, sentence: int) -> bool:
        return self.first <= sentence < self.last

    def intact(self, content: str) -> bool:
        """Whether ``content`` (the file's text now) still holds what the edit wrote."""
        return content.startswith(self.edit.written, self.edit.start)

    def undone(self, content: str) -> str:
        """``content`` with the edit taken back; an InputError when the file no longer holds
        what it wrote."""
        if not self.intact(content):
            raise InputError(
                "the file was changed there since: undo the later change first, or edit the file"
            )
        edit = self.edit
        return content[: edit.start] + edit.earlier + content[edit.end :]

    def after(self, edit: Edit, script: Path) -> Change:
        """This change as it lies once ``edit`` (a later one, or an undo) has been made: moved
        along when the edit lies before it; where the two overlap, left where it was, for
        ``intact`` to tell whether it can still be undone."""
        own = self.edit
        if own.path == edit.path and own.end > edit.start and own.start >= edit.replaced_end:
            own = replace(own, start=edit.moved(own.start))
        if edit.path != script:
            return replace(self, edit=own)
        return Change(own, edit.moved(self.first), edit.moved(self.last, end=True))


class History:
    """The changes made to a script (and its lexicon) in a session, newest last."""

    def __init__(self, script: Path) -> None:
        self.script = script
        self._changes: list[Change] = []

    def record(self, edit: Edit, sentence: int) -> None:
        """Keep ``edit``, made for the sentence that started at script offset ``sentence``
        before it."""
        self._changes = [change.after(edit, self.script) for change in self._changes]
        if not edit.earlier and not edit.written:
            return  # nothing changed: nothing to undo
        at = edit.moved(sentence) if edit.path == self.script else sentence
        if edit.path == self.script:
            first, last = min(edit.start, at), max(edit.end, at + 1)
        else:
            first, last = at, at + 1
        self._changes.append(Change(edit, first, last))

    def last_for(self, sentence: int) -> Change | None:
        """The newest change that belongs to the sentence starting at script offset
        ``sentence``."""
        return next((c for c in reversed(self._changes) if c.belongs_to(sentence)), None)

    def forget(self, change: Change) -> None:
        """``change`` was undone: it goes, and the others move back along with the file."""
        self._changes.remove(change)
        undo = change.edit.inverse()
        self._changes = [other.after(undo, self.script) for other in self._changes]
