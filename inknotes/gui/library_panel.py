"""Library panel: notebooks and their pages with thumbnails, notebook management, and a
search box over recognised text that jumps to the page and highlights the word."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..errors import InknotesError
from .page_tree import ID, KIND, PageTree, step_target
from .paths import render_strokes

log = logging.getLogger(__name__)
THUMB = 72


def thumbnail(size_wh: tuple[int, int], image: np.ndarray | None, strokes: Any,
              size: int = THUMB) -> np.ndarray:
    """The scan shrunk to ``size`` pixels (RGB), or the ink drawn small on white when there is
    no scan. Plain numpy and OpenCV, so it runs on a worker thread."""
    w, h = max(1, int(size_wh[0])), max(1, int(size_wh[1]))
    scale = size / max(w, h)
    tw, th = max(1, round(w * scale)), max(1, round(h * scale))
    if image is not None:
        return np.ascontiguousarray(cv2.resize(image[..., :3], (tw, th), interpolation=cv2.INTER_AREA))
    ink = render_strokes(list(strokes), scale, (tw, th))
    a = ink[..., 3:4].astype(np.uint16)
    return (ink[..., :3] + (255 * (255 - a)) // 255).astype(np.uint8)


def page_thumbnail(library: Any, page_id: int, size: int = THUMB) -> np.ndarray:
    """A stored page's thumbnail (see ``thumbnail``)."""
    info = library.page_info(page_id)
    image = library.page_image(page_id)
    strokes = [] if image is not None else [st.stroke for st in library.strokes(page_id)]
    return thumbnail((info.width, info.height), image, strokes, size)


def rgb_icon(rgb: np.ndarray) -> QIcon:
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    return QIcon(QPixmap.fromImage(QImage(rgb.data, w, h, 3 * w, QImage.Format_RGB888).copy()))


class LibraryPanel(QWidget):
    """Emits ``pageActivated(page_id)`` and ``searchHit(page_id, box)``."""

    pageActivated = Signal(int)
    _thumbs_ready = Signal(object)
    searchHit = Signal(int, object)
    searchCleared = Signal()
    message = Signal(str)
    changed = Signal()

    def __init__(self, pool: Any = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.pool = pool  # thumbnails are made on the background pool, never on the UI thread
        self._pending: set[int] = set()
        # thumbnails made by import jobs as they store a page (plain arrays; read on the UI thread)
        self.made: dict[int, np.ndarray] = {}
        self._thumbs_ready.connect(self._on_thumbs)
        self.library: Any = None
        self.editor: Any = None
        self._thumbs: dict[int, QIcon] = {}
        self._filling = False
        self.search_box = QLineEdit(placeholderText="Search recognised text…")
        self.search_box.setClearButtonEnabled(True)
        self.results = QListWidget()
        self.results.setVisible(False)
        self.results.setMaximumHeight(160)
        self.tree = PageTree()
        self.tree.moveRequested.connect(self.move_page)
        self.tree.setContextMenuPolicy(Qt.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        self.tree.setHeaderHidden(True)
        self.tree.setIconSize(QSize(THUMB, THUMB))
        self.tree.setEditTriggers(QTreeWidget.EditKeyPressed | QTreeWidget.SelectedClicked)
        self.new_button = QPushButton("New")
        self.new_button.setToolTip("New notebook")
        self.rename_button = QPushButton("Rename")
        self.delete_button = QPushButton("Delete")
        buttons = QHBoxLayout()
        for b in (self.new_button, self.rename_button, self.delete_button):
            buttons.addWidget(b)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.search_box)
        lay.addWidget(self.results)
        lay.addWidget(self.tree, 1)
        lay.addLayout(buttons)
        self.search_box.returnPressed.connect(self.run_search)
        self.search_box.textChanged.connect(self._on_search_text)
        self.results.itemActivated.connect(self._on_result)
        self.results.itemClicked.connect(self._on_result)
        self.tree.currentItemChanged.connect(self._on_current)
        self.tree.itemChanged.connect(self._on_renamed)
        self.new_button.clicked.connect(lambda: self.new_notebook())
        self.rename_button.clicked.connect(self._rename_current)
        rename_key = QShortcut(QKeySequence(Qt.Key_F2), self.tree, context=Qt.WidgetShortcut)
        rename_key.activated.connect(self._rename_current)  # pages too, not only editable notebooks
        self.delete_button.clicked.connect(lambda: self.delete_current())
        for keys, step in (("Alt+Up", -1), ("Alt+Down", 1)):
            key = QShortcut(QKeySequence(keys), self.tree, context=Qt.WidgetShortcut)
            key.activated.connect(lambda step=step: self.step_current(step))

    # ---- contents ------------------------------------------------------------------------
    def set_library(self, library: Any, editor: Any) -> None:
        """``editor`` runs the changes, so deleting or renaming can be undone."""
        self.library, self.editor = library, editor
        self._thumbs.clear()
        self.refresh()

    def refresh(self) -> None:
        """Rebuild the tree from the library, keeping the current item."""
        if self.library is None:
            return
        kind, ident = self.current()
        self._filling = True
        self.tree.clear()
        nodes: dict[Any, QTreeWidgetItem] = {}
        missing: list[int] = []
        for nb in self.library.notebooks():
            item = QTreeWidgetItem([f"{nb.name}"])
            item.setData(0, KIND, "notebook")
            item.setData(0, ID, nb.id)
            item.setFlags(item.flags() | Qt.ItemIsEditable)
            self.tree.addTopLevelItem(item)
            nodes[nb.id] = item
        for n, page in enumerate(self.library.pages(), 1):
            parent = nodes.get(page.notebook_id)
            if parent is None:
                parent = nodes[page.notebook_id] = QTreeWidgetItem(["Unfiled"])
                parent.setData(0, KIND, "notebook")
                parent.setData(0, ID, None)
                self.tree.addTopLevelItem(parent)
            name = page.source_name or f"Page {n}"
            if page.page_count > 1:  # the pages of one multi-page scan, told apart
                name += f" p{page.page_index + 1}"
            label = f"{name}\n{page.stroke_count} strokes"
            item = QTreeWidgetItem(parent, [label])
            item.setData(0, KIND, "page")
            item.setData(0, ID, page.id)
            item.setToolTip(0, f"{page.source_name} — {page.width}×{page.height} px")
            if page.id not in self._thumbs and page.id in self.made:
                self._thumbs[page.id] = rgb_icon(self.made.pop(page.id))
            if page.id in self._thumbs:
                item.setIcon(0, self._thumbs[page.id])
            else:
                missing.append(page.id)
        self.tree.expandAll()
        self._filling = False
        if kind:
            self.select(kind, ident, emit=False)
        self._request_thumbs(missing)

    def _request_thumbs(self, ids: list[int]) -> None:
        ids = [i for i in ids if i not in self._pending]
        if not ids or self.pool is None:
            return
        self._pending.update(ids)
        library = self.library

        def make(ctx: Any) -> list[tuple[int, np.ndarray | None]]:
            out = []
            for pid in ids:
                try:
                    out.append((pid, page_thumbnail(library, pid)))
                except Exception:  # a page deleted meanwhile, a broken image: no thumbnail
                    log.exception("thumbnail failed for page %s", pid)
                    out.append((pid, None))
            return out

        try:
            job = self.pool.submit(make, name="thumbnails")
        except InknotesError:  # the pool is shutting down with the app
            return
        job.future.add_done_callback(lambda f: self._thumbs_ready.emit(f.result() if not f.exception()
                                                                       else [(i, None) for i in ids]))

    def _on_thumbs(self, results: list[tuple[int, np.ndarray | None]]) -> None:
        for pid, rgb in results:
            self._pending.discard(pid)
            self._thumbs[pid] = rgb_icon(rgb) if rgb is not None else QIcon()
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            for j in range(top.childCount()):
                item = top.child(j)
                icon = self._thumbs.get(item.data(0, ID))
                if icon is not None:
                    item.setIcon(0, icon)

    def forget_thumbnail(self, page_id: int | None) -> None:
        self._thumbs.pop(page_id, None)  # type: ignore[arg-type]

    def current(self) -> tuple[str | None, Any]:
        item = self.tree.currentItem()
        return (item.data(0, KIND), item.data(0, ID)) if item else (None, None)

    def current_notebook_id(self) -> int | None:
        item = self.tree.currentItem()
        if item is None:
            return None
        if item.data(0, KIND) == "page" and item.parent() is not None:
            item = item.parent()
        return item.data(0, ID)

    def _items(self) -> Iterator[QTreeWidgetItem]:
        """Every row of the list, top to bottom: each notebook, then its pages."""
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            yield top
            yield from (top.child(j) for j in range(top.childCount()))

    def select(self, kind: str, ident: Any, emit: bool = True) -> bool:
        for item in self._items():
            if item.data(0, KIND) == kind and item.data(0, ID) == ident:
                self.tree.blockSignals(not emit)
                self.tree.setCurrentItem(item)
                self.tree.blockSignals(False)
                self._update_buttons(item)
                return True
        return False

    def listed_page_ids(self) -> list[int]:
        """The pages in the order the list shows them, notebook by notebook."""
        return [int(item.data(0, ID)) for item in self._items() if item.data(0, KIND) == "page"]

    def page_ids(self) -> list[int]:
        return [p.id for p in self.library.pages()] if self.library is not None else []

    def _update_buttons(self, item: QTreeWidgetItem | None) -> None:
        kind = item.data(0, KIND) if item is not None and item.data(0, ID) is not None else None
        self.rename_button.setEnabled(kind is not None)
        self.rename_button.setToolTip(f"Rename the {kind}" if kind else "Choose a notebook or page to rename")

    def _on_current(self, item: QTreeWidgetItem | None, _prev: Any) -> None:
        self._update_buttons(item)
        if item is not None and item.data(0, KIND) == "page" and not self._filling:
            self.pageActivated.emit(int(item.data(0, ID)))

    # ---- notebooks -----------------------------------------------------------------------
    def new_notebook(self, name: str | None = None) -> int:
        names = {nb.name for nb in self.library.notebooks()}
        if name is None:
            name, k = "New notebook", 2
            while name in names:
                name, k = f"New notebook {k}", k + 1
        nid = self.editor.apply(self.library.create_notebook, name)
        self.refresh()
        self.select("notebook", nid, emit=False)
        self.changed.emit()
        return nid

    # ---- moving pages --------------------------------------------------------------------
    def move_page(self, page_id: int, notebook_id: int, before: int | None = None) -> None:
        """Move a page (a drop, Alt+Up/Down or the menu) through the library, one undo step."""
        self.editor.apply(self.library.move_page, page_id, notebook_id, before)
        self.refresh()
        self.select("page", page_id, emit=False)
        self.changed.emit()

    def step_current(self, step: int) -> None:
        item = self.tree.currentItem()
        if item is None or item.data(0, KIND) != "page":
            return
        where = step_target(item, step)
        if where is None:
            self.message.emit(f"This page is already {'first' if step < 0 else 'last'} in its notebook.")
            return
        self.move_page(int(item.data(0, ID)), *where)

    def _context_menu(self, pos: Any) -> None:
        item = self.tree.itemAt(pos)
        if item is None:
            return
        self.tree.setCurrentItem(item)
        menu = QMenu(self)
        if item.data(0, KIND) == "page":
            page = int(item.data(0, ID))
            into = menu.addMenu("Move to notebook")
            here = item.parent().data(0, ID) if item.parent() is not None else None
            for nb in self.library.notebooks():
                a = into.addAction(nb.name, lambda nb=nb.id: self.move_page(page, nb))
                a.setEnabled(nb.id != here)
            menu.addAction("Move up", lambda: self.step_current(-1), QKeySequence("Alt+Up"))
            menu.addAction("Move down", lambda: self.step_current(1), QKeySequence("Alt+Down"))
            menu.addSeparator()
        if item.data(0, ID) is not None:
            menu.addAction("Rename", self._rename_current, QKeySequence(Qt.Key_F2))
            menu.addAction("Delete", lambda: self.delete_current(), QKeySequence(QKeySequence.Delete))
        menu.exec(self.tree.viewport().mapToGlobal(pos))

    def _rename_current(self) -> None:
        item = self.tree.currentItem()
        if item is None or item.data(0, ID) is None:
            return
        if item.data(0, KIND) == "notebook":
            self.tree.editItem(item, 0)
            return
        page = self.library.page_info(item.data(0, ID))  # two-line label: ask for the name alone
        name, ok = QInputDialog.getText(self, "Rename page", "Page name:", text=page.source_name)
        if ok and name.strip():
            self.editor.apply(self.library.rename_page, page.id, name)
            self.refresh()
            self.changed.emit()

    def _on_renamed(self, item: QTreeWidgetItem, _col: int) -> None:
        if self._filling or item.data(0, KIND) != "notebook" or item.data(0, ID) is None:
            return
        name = item.text(0).strip()
        if name:
            self.editor.apply(self.library.rename_notebook, item.data(0, ID), name)
            self.changed.emit()

    def delete_current(self, confirm: bool = True) -> bool:
        """Delete the current page or notebook after asking (Undo brings it back)."""
        kind, ident = self.current()
        if kind is None or ident is None:
            return False
        what = "this page" if kind == "page" else "this notebook and all its pages"
        if confirm and QMessageBox.question(self, "Delete", f"Delete {what}? (Edit → Undo brings it back.)") \
                != QMessageBox.Yes:
            return False
        if kind == "page":
            self.editor.apply(self.library.delete_page, ident)
            self.forget_thumbnail(ident)
        else:
            self.editor.apply(self.library.delete_notebook, ident)
        self.refresh()
        self.changed.emit()
        return True

    # ---- search --------------------------------------------------------------------------
    def _on_search_text(self, text: str) -> None:
        if not text:
            self.results.setVisible(False)
            self.searchCleared.emit()

    def run_search(self) -> list[Any]:
        text = self.search_box.text().strip()
        self.results.clear()
        if not text or self.library is None:
            self.results.setVisible(False)
            return []
        hits = self.library.search(text)
        for hit in hits:
            item = QListWidgetItem(f"“{hit.text}” — {hit.notebook or 'Unfiled'} / {hit.source_name}")
            item.setData(Qt.UserRole, (hit.page_id, tuple(hit.box)))
            self.results.addItem(item)
        if not hits:
            self.results.addItem(QListWidgetItem("No matches."))
        rows = max(1, self.results.count())
        self.results.setFixedHeight(min(160, rows * self.results.sizeHintForRow(0) + 6))
        self.results.setVisible(True)
        if hits:
            self.results.setCurrentRow(0)
            self._on_result(self.results.item(0))
        return hits

    def _on_result(self, item: QListWidgetItem) -> None:
        data = item.data(Qt.UserRole)
        if data:
            page_id, box = data
            self.select("page", page_id, emit=False)
            self.searchHit.emit(int(page_id), box)
