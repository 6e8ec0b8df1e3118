"""Undo/redo: a QUndoStack mirrored onto the library's persisted, library-wide history.

Every edit is one library call, which records one library command; the GUI then pushes a
``LibraryCommand`` whose first redo is skipped (the library already did it) and whose later
undo/redo call ``library.undo()``/``library.redo()``. Because the truth lives in the library,
undo also survives closing the app: on open the stack is rebuilt from ``library.history()``.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from ..errors import InknotesError

log = logging.getLogger(__name__)


class LibraryCommand(QUndoCommand):
    """One step of the library's history, seen by Qt's undo machinery."""

    def __init__(self, editor: Editor, text: str, cmd_id: Any = None):
        super().__init__(text)
        self.editor = editor
        self.cmd_id = cmd_id
        self._skip_first_redo = True

    def redo(self) -> None:
        if self._skip_first_redo:
            self._skip_first_redo = False
            return
        self.editor._step(self.editor.library.redo, undoing=False)

    def undo(self) -> None:
        if self.editor._rebuilding:
            return  # rewinding the rebuilt stack onto the library's redo list, not a real undo
        self.editor._step(self.editor.library.undo, undoing=True)


class Editor(QObject):
    """Runs edits against the library and keeps the undo stack in step with it."""

    changed = Signal()          # strokes or layers changed: views reload
    failed = Signal(str)        # a user sentence
    stepped = Signal(object, str)  # after an undo or redo: the page it changed (or None), "Undid …"

    def __init__(self, library: Any, parent: QObject | None = None):
        super().__init__(parent)
        self.library = library
        self._rebuilding = False
        self.stack = QUndoStack(self)
        self.sync()

    def _last_id(self) -> Any:
        hist = self.library.history()
        return hist[-1][0] if hist else None

    def sync(self) -> None:
        """Rebuild the stack from the library's history (on open, or after background imports)."""
        hist, ahead = self.library.history(), self.library.redo_history()
        ids = [c.cmd_id for c in self._commands()]
        if ids == [h[0] for h in hist + ahead] and self.stack.index() == len(hist):
            return
        self.stack.clear()
        for cmd_id, text in hist + ahead:
            self.stack.push(LibraryCommand(self, text, cmd_id))
        self._rebuilding = True  # what the library can redo stays redoable after reopening
        try:
            self.stack.setIndex(len(hist))
        finally:
            self._rebuilding = False

    def _commands(self) -> list[LibraryCommand]:
        return [self.stack.command(i) for i in range(self.stack.count())]  # type: ignore[misc]

    def apply(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run one library edit; push an undo step when the library recorded one."""
        before = self._last_id()
        try:
            result = fn(*args, **kwargs)
        except InknotesError as e:
            log.info("edit failed: %s", e)
            self.failed.emit(str(e))
            return None
        after = self._last_id()
        if after is not None and after != before:
            self.stack.push(LibraryCommand(self, self.library.undo_text() or "Edit", after))
        self.changed.emit()
        return result

    def _step(self, fn: Callable[[], Any], undoing: bool) -> None:
        """Undo or redo one library command, then say which page it changed: the history is
        library-wide, so the step may be on a page other than the one in view."""
        desc = None
        try:
            page = self.library.undo_page() if undoing else self.library.redo_page()
            desc = fn()
        except InknotesError as e:
            self.failed.emit(str(e))
        self.changed.emit()
        if desc:
            self.stepped.emit(page, f"{'Undid' if undoing else 'Redid'} {desc[:1].lower()}{desc[1:]}")
