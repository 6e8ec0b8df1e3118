"""The library list's tree: notebooks with their pages, where pages are dragged to another
place or notebook. Qt never moves a row itself: a drop only asks for the move
(``moveRequested``), the library makes it (one undo step) and the list is rebuilt from it."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QTreeWidget, QTreeWidgetItem

KIND, ID = Qt.UserRole, Qt.UserRole + 1


def _pages_of(notebook: QTreeWidgetItem) -> list[QTreeWidgetItem]:
    return [notebook.child(j) for j in range(notebook.childCount())]


def drop_target(target: QTreeWidgetItem | None, where: Any) -> tuple[int, int | None] | None:
    """(notebook id, id of the page to go before, or None for last) for a drop onto ``target``
    at ``where`` (a drop indicator position), or None where a page cannot go."""
    if target is None:
        return None
    if target.data(0, KIND) == "notebook":
        nb = target.data(0, ID)
        return None if nb is None else (int(nb), None)
    notebook = target.parent()
    if notebook is None or notebook.data(0, ID) is None:
        return None
    below = 1 if where == QAbstractItemView.BelowItem else 0
    return _slot(notebook, _pages_of(notebook).index(target) + below)


def step_target(page: QTreeWidgetItem, step: int) -> tuple[int, int | None] | None:
    """Where a page goes when moved one place up (``step`` -1) or down (1) in its notebook;
    None at the notebook's edge."""
    notebook = page.parent()
    if notebook is None or notebook.data(0, ID) is None:
        return None
    siblings = _pages_of(notebook)
    k = siblings.index(page)
    if not 0 <= k + step < len(siblings):
        return None
    return _slot(notebook, k + step + (1 if step > 0 else 0))  # in front of the page there


def _slot(notebook: QTreeWidgetItem, k: int) -> tuple[int, int | None]:
    """(notebook id, id of its k-th page, or None past the last): a place to move a page to."""
    siblings = _pages_of(notebook)
    return int(notebook.data(0, ID)), int(siblings[k].data(0, ID)) if k < len(siblings) else None


class PageTree(QTreeWidget):
    moveRequested = Signal(int, int, object)  # page id, notebook id, page id to go before (or None)

    def __init__(self, parent: Any = None):
        super().__init__(parent)
        self.setDragEnabled(True)
        self.setAcceptDrops(True)
        self.setDropIndicatorShown(True)
        self.setDragDropMode(QAbstractItemView.InternalMove)
        self.setDefaultDropAction(Qt.MoveAction)

    def dropEvent(self, event: Any) -> None:
        source = self.currentItem()
        where = drop_target(self.itemAt(event.position().toPoint()), self.dropIndicatorPosition())
        event.setDropAction(Qt.IgnoreAction)  # the rows are rebuilt from the library instead
        event.accept()
        if source is not None and source.data(0, KIND) == "page" and where is not None:
            if where[1] != source.data(0, ID):
                self.moveRequested.emit(int(source.data(0, ID)), where[0], where[1])
