"""Help menu: the keyboard shortcuts (read off the window's own actions, so the list cannot
drift from what the keys do) and About inknotes (version, licence, credits)."""
from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .. import __version__

ABOUT = f"""<h3>inknotes {__version__}</h3>
<p>Photos and scans of paper notes turned into editable digital ink.</p>
<p>Licensed under the Apache License 2.0 (the LICENSE file beside the program).</p>
<p>The method follows InkSight (Mitrevski et al., TMLR 2025). The built-in engine's small
learned parts were trained on, and the sample page rendered from, the UNIPEN train_r01_v07
online handwriting set (CC BY 4.0; Guyon et al., ICPR 1994). Text recognition by Tesseract OCR
(Apache License 2.0); windows by Qt (LGPL 3).</p>"""


# keys that belong to one widget, not to a menu action
WIDGET_KEYS = [
    ("Pan the page (hold, then drag)", "Space"),
    ("Zoom around the pointer (on the page)", "Wheel"),
    ("Scroll the page sideways", "Shift+Wheel"),
    ("Rename the page or notebook (library list)", "F2"),
    ("Move the page up / down (library list)", "Alt+Up, Alt+Down"),
]


def shortcut_rows(actions: Iterable[QAction]) -> list[tuple[str, str]]:
    """(what, keys) for each action that has keys, in menu order, without duplicates, then the
    keys of single widgets."""
    rows: list[tuple[str, str]] = []
    for a in actions:
        keys = ", ".join(k.toString(QKeySequence.NativeText) for k in a.shortcuts() if not k.isEmpty())
        what = a.text().replace("&", "").rstrip("…")
        if keys and (what, keys) not in rows:
            rows.append((what, keys))
    return rows + WIDGET_KEYS


class ShortcutsDialog(QDialog):
    def __init__(self, actions: Iterable[QAction], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        rows = shortcut_rows(actions)
        self.table = QTableWidget(len(rows), 2, self)
        self.table.setHorizontalHeaderLabels(["Action", "Keys"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        for r, (what, keys) in enumerate(rows):
            self.table.setItem(r, 0, QTableWidgetItem(what))
            self.table.setItem(r, 1, QTableWidgetItem(keys))
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeToContents)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.table)
        lay.addWidget(buttons)
        self.resize(440, 560)


def show_about(parent: QWidget | None) -> None:
    QMessageBox.about(parent, "About inknotes", ABOUT)
