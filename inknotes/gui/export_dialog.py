"""Export dialog: this page, the selection, the page's notebook or all pages, as PDF, InkML,
SVG, PNG or .xopp, with or without the scan underneath. ``export_pages`` is plain code (no widgets), so the
dialog can run it as a background job and tests can call the same path."""
from __future__ import annotations

import logging
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from ..errors import OutputError
from ..fileio import check_writable_dir
from ..formats import FORMATS, write_page, write_pdf_pages
from ..ink import PageResult

log = logging.getLogger(__name__)
FORMAT_LABELS = {"pdf": "PDF", "inkml": "InkML", "svg": "SVG", "png": "PNG",
                 "xopp": "Xournal++ (.xopp)"}


def _safe(name: str) -> str:
    return re.sub(r"[^\w.\- ]+", "_", name).strip() or "page"


def selection_result(library: Any, page_id: int, ids: list[int]) -> PageResult:
    """The page with only the selected strokes, in drawing order."""
    page = library.page_result(page_id)
    chosen = [library.stroke(i).stroke for i in ids]
    chosen.sort(key=lambda s: float(s.time[0]) if len(s.time) else 0.0)
    return replace(page, strokes=chosen, words=[])


def export_pages(library: Any, fmt: str, folder: str | Path, *, scope: str = "page",
                 page_id: int | None = None, selection: list[int] | None = None,
                 background: bool = False, progress: Any = None) -> list[Path]:
    """Write the chosen pages into ``folder``; returns the files written.

    ``scope`` is "page", "selection", "notebook" (the page's notebook) or "all". All pages, or a
    notebook's, as PDF make one multi-page file named after the library or the notebook.
    """
    folder = check_writable_dir(folder)
    ext = "xopp" if fmt == "xopp" else fmt
    book = None
    if scope == "all":
        ids = [p.id for p in library.pages()]
    elif scope == "notebook" and page_id is not None:
        info = library.page_info(page_id)
        book = info.notebook
        ids = [p.id for p in library.pages(info.notebook_id)]
    elif page_id is None:
        raise OutputError("Open a page before exporting it.", folder)
    else:
        ids = [page_id]
    if scope == "selection" and not selection:
        raise OutputError("Select some strokes before exporting the selection.", folder)
    results = []
    for n, pid in enumerate(ids):
        res = selection_result(library, pid, selection or []) if scope == "selection" \
            else library.page_result(pid)
        results.append((pid, res))
        if progress:
            progress(n + 1, len(ids) + 1)
    if scope in ("all", "notebook") and fmt == "pdf":
        out = folder / f"{_safe(library.name if book is None else book)}.pdf"
        return [write_pdf_pages([r for _, r in results], out, background=background)]
    written: list[Path] = []
    used: set[str] = set()
    for pid, res in results:
        stem = _safe(res.output_stem() if res.source else f"page-{pid}")
        if scope == "selection":
            stem += "-selection"
        if stem in used:
            stem = f"{stem}-{pid}"
        used.add(stem)
        written.append(write_page(res, fmt, folder / f"{stem}.{ext}", background=background,
                                  transparent=not background))
    return written


class ExportDialog(QDialog):
    """Pick scope, format, scan underneath and folder; ``export_now()`` writes the files."""

    def __init__(self, library: Any, page_id: int | None, selection: list[int], folder: str | Path,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.library, self.page_id, self.selection = library, page_id, list(selection)
        self.scope_page = QRadioButton("This page")
        self.scope_selection = QRadioButton(f"Selection ({len(self.selection)} strokes)")
        self.scope_all = QRadioButton(f"All pages ({len(library.pages())})")
        info = library.page_info(page_id) if page_id is not None else None
        count = len(library.pages(info.notebook_id)) if info is not None else 0
        self.scope_notebook = QRadioButton(f"Notebook {info.notebook} ({count})" if info else "Notebook")
        self.scopes = QButtonGroup(self)
        for b in (self.scope_page, self.scope_selection, self.scope_notebook, self.scope_all):
            self.scopes.addButton(b)
        self.scope_page.setEnabled(page_id is not None)
        self.scope_notebook.setEnabled(page_id is not None)
        self.scope_selection.setEnabled(bool(self.selection))
        (self.scope_selection if self.selection else self.scope_page if page_id is not None
         else self.scope_all).setChecked(True)
        self.format = QComboBox()
        for f in FORMATS:
            self.format.addItem(FORMAT_LABELS.get(f, f), f)
        self.format.setCurrentIndex(self.format.findData("pdf"))
        self.background = QCheckBox("Scan underneath the ink")
        self.folder = QLineEdit(str(folder))
        self.folder.setMinimumWidth(360)
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        scope_box = QVBoxLayout()
        for b in (self.scope_page, self.scope_selection, self.scope_notebook, self.scope_all):
            scope_box.addWidget(b)
        form = QFormLayout()
        form.addRow("Export", scope_box)
        form.addRow("Format", self.format)
        form.addRow("", self.background)
        form.addRow("Folder", row)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.button(QDialogButtonBox.Ok).setText("Export")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(buttons)

    def _browse(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Export to folder", self.folder.text())
        if d:
            self.folder.setText(d)

    def scope(self) -> str:
        if self.scope_all.isChecked():
            return "all"
        if self.scope_notebook.isChecked():
            return "notebook"
        return "selection" if self.scope_selection.isChecked() else "page"

    def options(self) -> dict[str, Any]:
        return dict(fmt=self.format.currentData(), folder=self.folder.text(), scope=self.scope(),
                    page_id=self.page_id, selection=self.selection,
                    background=self.background.isChecked())

    def export_now(self, progress: Any = None) -> list[Path]:
        """Write the files with the dialog's current choices (what the Export button runs)."""
        return export_pages(self.library, progress=progress, **self.options())
