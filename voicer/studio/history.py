"""What undoes the studio's changes: pure data, no I/O.

A change is kept as the stretch of a file it wrote and what was there before, never by
sentence number: a re-take can add or remove sentences, which renumbers the rest. Each
change belongs to the sentences whose start lies in what it wrote (or the one it was made
for), by offset in the script. As later changes shift the text, the offsets move along;
undoing first checks that the file still holds what the change wrote, then puts back
exactly what was there. A later change where an earlier one wrote (or from its sentence's
start on) holds the earlier one, which can be undone again once the later one is: so the
changes that can be undone never overlap, and each moves along with every other.

>>> script = Path("talk.txt")
>>> history = History(script)
>>> history.record(Edit.between(script, "一。二。", "一。甲。乙。"), sentence=2)
>>> history.record(Edit.between(script, "一。甲。乙。", "零。一。甲。乙。"), sentence=0)
>>> change = history.last_for(6)  # 乙, a sentence the first change wrote
>>> change.undone("零。一。甲。乙。")
'零。一。二。'

A change that overlaps an earlier one holds it until it is undone itself:

>>> history.record(Edit.between(script, "零。一。甲。乙。", "零。一。丙。"), sentence=4)
>>> history.last_for(4).edit.written, history.last_for(6)
('丙', None)
>>> history.forget(history.last_for(4))
>>> history.last_for(6).undone("零。一。甲。乙。")
'零。一。二。'
"""

from __future__ import annotations

import difflib
import itertools
import os
from dataclasses import dataclass, replace
from pathlib import Path

from voicer.errors import InputError

_MATCHED_AT_MOST = 2000  # characters of a stretch searched for the text an edit kept in it


@dataclass(frozen=True)
class Edit:
    """``path``'s text, where ``start`` held ``earlier`` and now holds ``written``."""

    path: Path
    start: int
    earlier: str
    written: str

    @classmethod
    def between(cls, path: Path, before: str, after: str) -> Edit:
        """The one stretch that differs between ``before`` and ``after`` (with a character
        beside it if nothing else was written there).

        >>> Edit.between(Path("a"), "一[x]二", "一二")
        Edit(path=PosixPath('a'), start=1, earlier='[x]二', written='二')
        """
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
        # a deletion keeps a character beside it: undoing it then checks that the file still
        # has something where it was, and a later edit right there overlaps it
        if end_after == start < end_before < len(before):
            end_before, end_after = end_before + 1, end_after + 1
        elif end_after == start < end_before and start > 0:
            start -= 1
        return cls(path, start, before[start:end_before], after[start:end_after])

    @property
    def end(self) -> int:
        return self.start + len(self.written)

    def followed(self, offset: int) -> int:
        """Where the text at ``offset`` before this edit is after it, following it inside the
        stretch replaced when the edit kept it there (a setting's markup written on both sides
        of a sentence replaces one stretch that holds the sentence, unchanged).

        >>> Edit(Path("a"), 1, "[x]甲。", "[y]甲。[z]").followed(4)  # 甲
        4
        >>> Edit(Path("a"), 1, "ab", "c").followed(2)  # b, replaced
        1
        """
        inside = offset - self.start
        if not 0 <= inside < len(self.earlier) or len(self.earlier) > _MATCHED_AT_MOST:
            return self.moved(offset)
        kept = len(os.path.commonprefix([self.earlier[::-1], self.written[::-1]]))
        if inside >= len(self.earlier) - kept:  # in the character kept beside a deletion
            return self.end - (len(self.earlier) - inside)
        matcher = difflib.SequenceMatcher(None, self.earlier, self.written, autojunk=False)
        for before, after, size in matcher.get_matching_blocks():
            if before <= inside < before + size:
                return self.start + after + inside - before
        return self.start

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
    """An edit the studio made, with:

    - ``first``, ``last``: the stretch of the script holding the starts of the sentences it
      belongs to;
    - ``covered``: the earlier changes it overlaps, which can be undone only once it is,
      kept as they were when it was made (when its start was ``made_at``);
    - ``zone``: the stretch of its file it and those cover: a later edit there covers it;
    - ``order``: when it was made.
    """

    edit: Edit
    first: int
    last: int
    order: int
    made_at: int
    covered: tuple[Change, ...]
    zone: tuple[int, int]

    @property
    def path(self) -> Path:
        return self.edit.path

    def belongs_to(self, sentence: int) -> bool:
        return self.first <= sentence < self.last

    def within(self, path: Path, start: int, end: int) -> bool:
        """Whether this change (or one it covers) wrote some of ``path`` from ``start`` to
        ``end`` (or right inside a point there)."""
        return self.path == path and self.zone[1] > start and self.zone[0] < end

    def intact(self, content: str) -> bool:
        """Whether ``content`` (the file's text now) still holds what the edit wrote."""
        return content.startswith(self.edit.written, self.edit.start)

    def undone(self, content: str) -> str:
        """``content`` with the edit taken back; an InputError when the file no longer holds
        what it wrote."""
        if not self.intact(content):
            raise InputError("the file was changed there since: edit it in the file")
        edit = self.edit
        return content[: edit.start] + edit.earlier + content[edit.end :]

    def after(self, edit: Edit, script: Path) -> Change:
        """This change as it lies once ``edit``, which does not overlap it, has been made."""
        if edit.path != self.path:
            return self.sentences_after(edit) if edit.path == script else self
        if self.zone[0] < edit.replaced_end:
            return self  # the edit lies after it
        return self.shifted(len(edit.written) - len(edit.earlier), edit.path == script)

    def sentences_after(self, edit: Edit) -> Change:
        """A lexicon change (and those it covers) with its sentence where it is once the
        script edit ``edit`` has been made."""
        first = edit.followed(self.first)
        covered = tuple(change.sentences_after(edit) for change in self.covered)
        return replace(self, first=first, last=first + 1, covered=covered)

    def shifted(self, by: int, sentences: bool) -> Change:
        """This change's stretch ``by`` characters further on in its file, its sentences too
        when that file is the script."""
        edit = replace(self.edit, start=self.edit.start + by)
        moved = replace(self, edit=edit, zone=(self.zone[0] + by, self.zone[1] + by))
        return replace(moved, first=self.first + by, last=self.last + by) if sentences else moved


class History:
    """The changes made to a script (and its lexicon) in a session: those that can be undone
    now, each holding the earlier ones it overlaps."""

    def __init__(self, script: Path) -> None:
        self.script = script
        self._changes: list[Change] = []
        self._made = 0

    def record(self, edit: Edit, sentence: int, begins: int | None = None) -> None:
        """Keep ``edit``, made for the sentence that started at script offset ``sentence``
        before it and starts at ``begins`` after it (when the caller knows: the shortest
        stretch that differs may start inside the sentence, its first ``[`` taken for the
        ``[`` of markup removed before it)."""
        if not edit.earlier and not edit.written:
            return  # nothing changed: nothing to undo
        script = edit.path == self.script
        # before the edit, it covers from its sentence's start (in the script) through what
        # it replaced, and all of every change found there
        start, end = edit.start, edit.replaced_end
        if script:
            start, end = min(start, sentence), max(end, sentence + 1)
        covered, start, end = self._covered(edit.path, start, end)
        self._changes = [c.after(edit, self.script) for c in self._changes if c not in covered]
        at = sentence
        if script:
            at = edit.moved(sentence) if begins is None else begins
        first, last = (min(edit.start, at), max(edit.end, at + 1)) if script else (at, at + 1)
        begin = min(edit.start, edit.moved(start), first if script else edit.start)
        zone = (begin, max(edit.end, edit.moved(end, end=True)))  # in the edit's own file
        self._made += 1
        change = Change(edit, first, last, self._made, edit.start, tuple(covered), zone)
        self._changes.append(change)

    def outside(self, path: Path, before: str, after: str) -> None:
        """Another program made ``path``'s text ``after`` where the studio left ``before``:
        the changes it wrote over (and those they hold) can no longer be undone, and the
        others move along with the file. What it changed is found line by line, so that
        changes at both ends of the file leave the studio's changes between them."""
        for edit in reversed(_line_edits(path, before, after)):  # the last first: no shifts
            touched, _, _ = self._covered(path, edit.start, edit.replaced_end)
            self._changes = [c.after(edit, self.script) for c in self._changes if c not in touched]

    def _covered(self, path: Path, start: int, end: int) -> tuple[list[Change], int, int]:
        """The changes within ``start``-``end`` of ``path``, or within the zones of those
        (and so on), and the stretch they all cover."""
        covered: list[Change] = []
        while found := [
            c for c in self._changes if c not in covered and c.within(path, start, end)
        ]:
            covered += found
            start = min([start] + [change.zone[0] for change in found])
            end = max([end] + [change.zone[1] for change in found])
        return covered, start, end

    def last_for(self, sentence: int) -> Change | None:
        """The newest change that can be undone now and belongs to the sentence starting at
        script offset ``sentence``."""
        found = [c for c in self._changes if c.belongs_to(sentence)]
        return max(found, key=lambda c: c.order, default=None)

    def forget(self, change: Change) -> None:
        """``change`` was undone: it goes, the others move back along with the file, and the
        changes it covered can be undone again, where they now lie."""
        self._changes.remove(change)
        undo = change.edit.inverse()
        self._changes = [other.after(undo, self.script) for other in self._changes]
        by = change.edit.start - change.made_at
        script = change.path == self.script
        self._changes += [covered.shifted(by, script) for covered in change.covered]


def _line_edits(path: Path, before: str, after: str) -> list[Edit]:
    """The stretches that differ between ``before`` and ``after``, by runs of lines, each as
    short as it can be, in file order.

    >>> found = _line_edits(Path("a"), "一\\n二\\n", "零\\n一\\n二\\n三")
    >>> [(edit.start, edit.earlier, edit.written) for edit in found]
    [(0, '', '零\\n'), (4, '', '三')]
    """
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    starts = [0, *itertools.accumulate(len(line) for line in old)]
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    edits = []
    for tag, first, last, new_first, new_last in matcher.get_opcodes():
        if tag != "equal":
            inner = Edit.between(path, "".join(old[first:last]), "".join(new[new_first:new_last]))
            edits.append(replace(inner, start=inner.start + starts[first]))
    return edits
