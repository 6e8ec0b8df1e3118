"""The main window: library panel, canvas, layers and jobs panels, tools, menus, import by
menu or drag-and-drop (one code path), export, settings and replay."""
from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from concurrent import futures
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QColor, QIcon, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QColorDialog,
    QDockWidget,
    QDoubleSpinBox,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QToolButton,
)

from .. import settings
from ..errors import InknotesError
from .canvas import PageCanvas
from .editor import Editor
from .export_dialog import ExportDialog, export_pages
from .help_dialogs import ShortcutsDialog, show_about
from .jobs_panel import JobsPanel
from .layers_panel import LayersPanel
from .library_panel import LibraryPanel, thumbnail
from .qt_jobs import QtJobs
from .replay import Replay
from .settings_dialog import SettingsDialog
from .stroke_clipboard import StrokeClipboard
from .tools import TOOLS, ToolOptions

log = logging.getLogger(__name__)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp", ".gif", ".pdf", ".heic"}
PALETTE = ["#1a1a1a", "#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2"]


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given, and the image files inside any folder (sorted, not recursive into hidden)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES
                          and not any(part.startswith(".") for part in f.relative_to(p).parts))
        else:
            out.append(p)
    return out


def _swatch(color: str) -> QIcon:
    pix = QPixmap(16, 16)
    pix.fill(QColor(color))
    return QIcon(pix)


class MainWindow(QMainWindow):
    """``import_paths`` is the one way pages get in from the UI (menu and drag-and-drop)."""

    pagesAdded = Signal(list)
    _watch_event = Signal(object)

    def __init__(self, library: Any, pool: Any = None, parent: Any = None):
        super().__init__(parent)
        self.library = library
        self.owns_library = False  # set by app.open_window: close the library with the window
        self.settings = settings.load()
        self.editor = Editor(library, self)
        self.jobs = QtJobs(pool, self)
        self.watcher: Any = None
        self.options = ToolOptions()
        self.canvas = PageCanvas(self)
        self.canvas.set_library(library, self.editor)
        self.setCentralWidget(self.canvas)
        self.replay = Replay(self.canvas, self)
        self.library_panel = LibraryPanel(self.jobs.pool)
        self.layers_panel = LayersPanel()
        self.jobs_panel = JobsPanel(self.jobs)
        docks = [self._dock("Library", self.library_panel, Qt.LeftDockWidgetArea),
                 self._dock("Layers", self.layers_panel, Qt.RightDockWidgetArea)]
        jobs_dock = self._dock("Jobs", self.jobs_panel, Qt.BottomDockWidgetArea)
        self.docks = {d.windowTitle(): d for d in (*docks, jobs_dock)}
        self.canvas.setMinimumSize(320, 200)  # the page keeps some room; the docks give way first
        self.clip = StrokeClipboard(self.canvas, self.editor, lambda m: self.statusBar().showMessage(m, 6000))
        self._build_actions()
        self._build_menus()
        self._build_toolbars()
        self.setAcceptDrops(True)
        self.resize(1300, 850)
        self.resizeDocks(docks, [280, 230], Qt.Horizontal)
        self.resizeDocks([jobs_dock], [190], Qt.Vertical)
        self.setWindowTitle(f"inknotes — {library.name}")
        self._refresh_timer = QTimer(self, singleShot=True, interval=400)
        self._refresh_timer.timeout.connect(self.library_panel.refresh)
        self.library_panel.pageActivated.connect(lambda pid: self.show_page(pid, background=True))
        self.library_panel.searchHit.connect(self._on_search_hit)
        self.library_panel.searchCleared.connect(self.canvas.clear_highlight)
        self.library_panel.changed.connect(self._on_library_changed)
        self.library_panel.message.connect(lambda m: self.statusBar().showMessage(m, 6000))
        self.layers_panel.activeLayerChanged.connect(lambda lid: setattr(self.canvas, "active_layer_id", lid))
        self.editor.changed.connect(self._on_edited)
        self.editor.failed.connect(lambda msg: self.statusBar().showMessage(msg, 8000))
        self.editor.stepped.connect(self._on_stepped)
        self.canvas.selectionChanged.connect(self._on_selection)
        self.canvas.zoomChanged.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f}%"))
        self.jobs.finished.connect(self._on_job_finished)
        self._watch_event.connect(self._on_watch_event)
        self.library_panel.set_library(library, self.editor)
        self.layers_panel.set_page(self.editor, None)
        self.set_tool("select")
        pages = self.library_panel.page_ids()
        if pages:  # read and drawn on the pool, so the window is usable at once
            self.show_page(pages[0], background=True)
            self.library_panel.select("page", pages[0], emit=False)
        self.apply_settings()

    def _dock(self, title: str, widget: Any, area: Any) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable
                         | QDockWidget.DockWidgetClosable)  # View menu brings a closed one back
        self.addDockWidget(area, dock)
        return dock

    # ---- actions -------------------------------------------------------------------------
    def _act(self, text: str, slot: Any, shortcut: Any = None, tip: str = "") -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        a.setStatusTip(tip)
        a.setToolTip(f"{text} ({QKeySequence(shortcut).toString()})" if shortcut else text)
        a.triggered.connect(slot)
        return a

    def _build_actions(self) -> None:
        self.undo_action = self.editor.stack.createUndoAction(self, "Undo")
        self.undo_action.setShortcut(QKeySequence.Undo)
        self.redo_action = self.editor.stack.createRedoAction(self, "Redo")
        self.redo_action.setShortcut(QKeySequence.Redo)
        self.import_action = self._act("Import…", self.import_dialog, QKeySequence.Open,
                                       "Convert image files into pages")
        self.open_library_action = self._act("Open library…", self.open_library_dialog, "Ctrl+Shift+O")
        self.export_action = self._act("Export…", self.export_dialog, "Ctrl+E")
        self.print_action = self._act("Print…", self.print_page, QKeySequence.Print,
                                      "Print the page as it is shown: the scan if visible, then the ink")
        self.next_page_action = self._act("Next page", lambda: self.step_page(1), "Ctrl+PgDown")
        self.prev_page_action = self._act("Previous page", lambda: self.step_page(-1), "Ctrl+PgUp")
        self.settings_action = self._act("Settings…", self.settings_dialog, QKeySequence.Preferences)
        self.quit_action = self._act("Quit", self.close, QKeySequence.Quit)
        self.cut_action = self._act("Cut", self.clip.cut, QKeySequence.Cut,
                                    "Copy the selected strokes, then delete them")
        self.copy_action = self._act("Copy", self.clip.copy, QKeySequence.Copy,
                                     "Copy the selected strokes: ink for inknotes, a picture elsewhere")
        self.paste_action = self._act("Paste", self.clip.paste, QKeySequence.Paste,
                                      "Paste copied strokes onto this page's current ink layer")
        self.delete_action = self._act("Delete strokes", self.delete_selection, QKeySequence.Delete)
        self.delete_action.setShortcuts([QKeySequence(QKeySequence.Delete), QKeySequence(Qt.Key_Backspace)])
        self.select_all_action = self._act("Select all", self.select_all, QKeySequence.SelectAll)
        self.deselect_action = self._act("Deselect", self.escape, Qt.Key_Escape,
                                         "Clear the selection, or stop the replay")
        # Ctrl+W closes a window in most programs: not a shortcut for an edit
        self.width_action = self._act("Apply width", self.apply_width, "Ctrl+Shift+W",
                                      "Give the selected strokes the width in the box")
        self.recolor_sel_action = self._act("Recolour selection", self.recolor_selection, "Ctrl+Shift+C")
        self.merge_action = self._act("Merge strokes", self.merge_selection, "Ctrl+J")
        self.fit_action = self._act("Fit width", lambda: self.canvas.fit_width(), "Ctrl+0")
        self.zoom100_action = self._act("100%", lambda: self.canvas.zoom_100(), "Ctrl+1")
        self.zoom_in_action = self._act("Zoom in", lambda: self.canvas.zoom_by(1.25), QKeySequence.ZoomIn)
        self.zoom_in_action.setShortcuts([QKeySequence(QKeySequence.ZoomIn), QKeySequence("Ctrl+=")])
        self.zoom_out_action = self._act("Zoom out", lambda: self.canvas.zoom_by(0.8), QKeySequence.ZoomOut)
        self.replay_action = self._act("Replay strokes", self.toggle_replay, "R",
                                       "Animate the page's strokes in drawing order")
        self.tool_actions: dict[str, QAction] = {}
        self.tools = {cls.name: cls(self.options) for cls in TOOLS}
        group = QActionGroup(self)
        for name, tool in self.tools.items():
            a = self._act(tool.label, lambda _=False, n=name: self.set_tool(n), tool.shortcut, tool.tip)
            a.setCheckable(True)
            group.addAction(a)
            self.tool_actions[name] = a

    def _build_menus(self) -> None:
        m = self.menuBar()
        f = m.addMenu("&File")
        for a in (self.open_library_action, self.import_action, self.export_action, self.print_action, None,
                  self.settings_action, None, self.quit_action):
            f.addSeparator() if a is None else f.addAction(a)
        e = m.addMenu("&Edit")
        for a in (self.undo_action, self.redo_action, None,
                  self.cut_action, self.copy_action, self.paste_action, None,
                  self.select_all_action, self.deselect_action,
                  self.delete_action,
                  self.recolor_sel_action, self.width_action, self.merge_action):
            e.addSeparator() if a is None else e.addAction(a)
        v = m.addMenu("&View")
        for a in (self.prev_page_action, self.next_page_action, None,
                  self.fit_action, self.zoom100_action, self.zoom_in_action, self.zoom_out_action, None,
                  self.replay_action, None):
            v.addSeparator() if a is None else v.addAction(a)
        for dock in self.docks.values():  # show or hide each panel (no Ctrl+Alt keys: AltGr is that)
            toggle = dock.toggleViewAction()
            toggle.setText(f"{dock.windowTitle()} panel")
            v.addAction(toggle)
        t = m.addMenu("&Tools")
        for a in self.tool_actions.values():
            t.addAction(a)
        h = m.addMenu("&Help")
        h.addAction(self._act("Keyboard shortcuts", self.shortcuts_dialog, QKeySequence.HelpContents))
        h.addAction(self._act("About inknotes", lambda: show_about(self)))

    def _build_toolbars(self) -> None:
        tb = self.addToolBar("Tools")
        tb.setObjectName("tools")
        tb.setToolButtonStyle(Qt.ToolButtonTextOnly)
        tb.setIconSize(QSize(16, 16))
        # short fixed labels on the toolbar; the Edit menu shows "Undo <what>"
        stack = self.editor.stack
        for label, slot, can, txt in (("Undo", stack.undo, stack.canUndoChanged, stack.undoText),
                                      ("Redo", stack.redo, stack.canRedoChanged, stack.redoText)):
            a = tb.addAction(label, slot)
            can.connect(a.setEnabled)
            a.setEnabled(stack.canUndo() if label == "Undo" else stack.canRedo())
            a.hovered.connect(lambda a=a, label=label, txt=txt: a.setToolTip(f"{label} {txt()}".strip()))
        tb.addSeparator()
        for a in self.tool_actions.values():
            tb.addAction(a)
        tb.addSeparator()
        for a in (self.fit_action, self.zoom100_action, self.replay_action, self.export_action):
            tb.addAction(a)
        self.addToolBarBreak()
        tb = self.addToolBar("Ink")
        tb.setObjectName("ink")
        tb.setToolButtonStyle(Qt.ToolButtonTextOnly)
        tb.addWidget(QLabel(" Colour "))
        self.color_button = QToolButton()
        self.color_button.setToolTip("Ink colour for the pen and recolour")
        self.color_button.setPopupMode(QToolButton.InstantPopup)
        menu = QMenu(self.color_button)
        for c in PALETTE:
            menu.addAction(_swatch(c), c, lambda c=c: self.set_color(c))
        menu.addSeparator()
        menu.addAction("Custom…", self._custom_color)
        self.color_button.setMenu(menu)
        tb.addWidget(self.color_button)
        tb.addWidget(QLabel("  Width "))
        self.width_box = QDoubleSpinBox()
        self.width_box.setRange(0.5, 60)
        self.width_box.setSingleStep(0.5)
        self.width_box.setValue(self.options.width)
        self.width_box.setSuffix(" px")
        self.width_box.setToolTip("Pen width; Apply width sets it on the selection")
        self.width_box.valueChanged.connect(lambda v: setattr(self.options, "width", float(v)))
        tb.addWidget(self.width_box)
        for a in (self.width_action, self.recolor_sel_action, self.merge_action, self.delete_action):
            tb.addAction(a)
        self.zoom_label = QLabel("100%")
        self.statusBar().addPermanentWidget(self.zoom_label)
        self.set_color(self.options.color)

    # ---- tools and edits -----------------------------------------------------------------
    def set_tool(self, name: str) -> None:
        self.replay.stop()
        self.tool_actions[name].setChecked(True)
        self.canvas.set_tool(self.tools[name])

    def set_color(self, color: str) -> None:
        self.options.color = color
        self.color_button.setIcon(_swatch(color))
        self.color_button.setText(color)

    def _custom_color(self) -> None:
        c = QColorDialog.getColor(QColor(self.options.color), self, "Ink colour")
        if c.isValid():
            self.set_color(c.name())

    def select_all(self) -> None:
        self.canvas.set_selection(self.canvas.editable_ids(list(self.canvas.strokes)))

    def escape(self) -> None:
        """Escape stops a replay first, else lets go of the selection."""
        if self.replay.running:
            self.replay.stop()
        elif self.canvas.selection:
            self.canvas.set_selection([])

    def delete_selection(self) -> None:
        """Delete (or Backspace) deletes what has the focus: the page or notebook in the library
        list (after asking), else the selected strokes."""
        if self.library_panel.tree.hasFocus():
            self.library_panel.delete_current()
        elif self.canvas.selection:
            self.editor.apply(self.library.delete_strokes, list(self.canvas.selection))

    def recolor_selection(self) -> None:
        if self.canvas.selection:
            self.editor.apply(self.library.recolor, list(self.canvas.selection), self.options.color)

    def apply_width(self) -> None:
        if self.canvas.selection:
            self.editor.apply(self.library.set_width, list(self.canvas.selection), width=self.options.width)

    def merge_selection(self) -> None:
        if len(self.canvas.selection) > 1:
            new = self.editor.apply(self.library.merge_strokes, list(self.canvas.selection))
            if new is not None:
                self.canvas.set_selection([new])

    def _on_selection(self, ids: list[int]) -> None:
        self.statusBar().showMessage(f"{len(ids)} strokes selected" if ids else "", 4000)

    def _on_edited(self) -> None:
        self.replay.stop()
        pages = [p.id for p in self.library.pages()]
        if (self.canvas.page_id is None and pages) or (self.canvas.page_id is not None
                                                       and self.canvas.page_id not in pages):
            self.show_page(pages[0] if pages else None)  # the page was deleted, or came back
            self._refresh_timer.start()
            return
        keep = list(self.canvas.selection)
        self.canvas.refresh_after_edit()
        self.canvas.set_selection([i for i in keep if i in self.canvas.strokes])
        self.layers_panel.refresh()
        self.library_panel.forget_thumbnail(self.canvas.page_id)
        self._refresh_timer.start()

    def _on_stepped(self, page_id: int | None, sentence: str) -> None:
        """After an undo or redo, show the page it changed when that is another (live) page."""
        elsewhere = page_id is not None and page_id != self.canvas.page_id
        if elsewhere and page_id in self.library_panel.page_ids():
            self.show_page(page_id)
            self.library_panel.select("page", page_id, emit=False)
            name = self.library.page_info(page_id).source_name or f"page {page_id}"
            sentence += "" if name in sentence else f" on {name}"
        self.statusBar().showMessage(sentence + ".", 6000)

    def toggle_replay(self) -> None:
        if self.replay.running:
            self.replay.stop()
            return
        if self.canvas.selection:  # the selection box would sit over the animation
            self.canvas.set_selection([])
        if not self.replay.start():
            self.statusBar().showMessage("This page has no strokes to replay.", 4000)

    # ---- pages ---------------------------------------------------------------------------
    def show_page(self, page_id: int | None, background: bool = False) -> None:
        """Show a page; ``background`` reads and rasterises it on the pool (big pages)."""
        self.replay.stop()
        self.canvas.show_page(page_id, pool=self.jobs.pool if background else None)
        self.layers_panel.set_page(self.editor, page_id)
        self.canvas.active_layer_id = self.layers_panel.current_id()

    def step_page(self, step: int) -> None:
        """Show the next (``step`` 1) or previous (-1) page in the library list's order."""
        pages = self.library_panel.listed_page_ids()
        if not pages:
            return
        here = self.canvas.page_id
        k = pages.index(here) + step if here in pages else 0
        if not 0 <= k < len(pages):
            end = "last" if step > 0 else "first"
            self.statusBar().showMessage(f"This is the {end} page.", 4000)
            return
        self.show_page(pages[k], background=True)
        self.library_panel.select("page", pages[k], emit=False)

    def shortcuts_dialog(self) -> None:
        menus = [a.menu() for a in self.menuBar().actions() if a.menu() is not None]
        dlg = ShortcutsDialog([a for menu in menus for a in menu.actions()], self)
        dlg.exec()
        dlg.deleteLater()

    def print_page(self) -> None:
        if self.canvas.page_id is None:
            self.statusBar().showMessage("Open a page to print it.", 4000)
            return
        from .printing import print_dialog
        try:
            if print_dialog(self, self.library, self.canvas.page_id):
                self.statusBar().showMessage("Sent the page to the printer.", 6000)
        except (OSError, InknotesError) as e:
            QMessageBox.warning(self, "Print", str(e))

    def _on_search_hit(self, page_id: int, box: Any) -> None:
        if page_id != self.canvas.page_id:
            self.show_page(page_id)
        self.canvas.highlight_box(box)

    def _on_library_changed(self) -> None:
        if self.canvas.page_id is not None and self.canvas.page_id not in self.library_panel.page_ids():
            pages = self.library_panel.page_ids()
            self.show_page(pages[0] if pages else None)

    # ---- import --------------------------------------------------------------------------
    def import_paths(self, paths: Iterable[str | Path]) -> list[Any]:
        """One background job per file: convert it, then add its pages to the library.

        Used by File → Import and by drag-and-drop. Never waits for a job."""
        engine = self.settings.get("engine") or "tracer"
        notebook = self.library_panel.current_notebook_id()
        files = expand_paths(paths)
        if files:  # said first: a job can finish (and report) before the next is submitted
            self.statusBar().showMessage(f"Converting {len(files)} file(s)…", 4000)
        queued = time.time()  # pages take their place in this order, whichever finishes first
        return [self.jobs.submit(_import_job(self.library, path, engine, notebook, self.library_panel.made,
                                             queued + k * 1e-3),
                                 name=path.name, gpu=engine != "tracer", kind="import")
                for k, path in enumerate(files)]

    def import_dialog(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Import images", "",
                                                "Images (*.png *.jpg *.jpeg *.tif *.tiff *.bmp *.webp);;"
                                                "All files (*)")
        if files:
            self.import_paths(files)

    def _on_job_finished(self, job: Any) -> None:
        kind = self.jobs.kinds.get(job.id)
        if kind == "export" and job.state == "done":
            files = job.future.result()
            where = files[0].parent if files else ""
            self.statusBar().showMessage(f"Exported {len(files)} file(s) to {where}.", 8000)
        elif kind != "import":
            if job.state == "failed":
                self.statusBar().showMessage(f"{job.name}: {job.error}", 8000)
        elif job.state == "done":
            page_ids = job.future.result() or []
            self.editor.sync()
            self.library_panel.refresh()
            if page_ids and (self.canvas.page_id is None or job.note == ALREADY):
                self.show_page(page_ids[0])
                self.library_panel.select("page", page_ids[0], emit=False)
            if job.note == ALREADY and page_ids:
                info = self.library.page_info(page_ids[0])
                self.statusBar().showMessage(
                    f"{job.name} is already in the library (notebook {info.notebook}); showing it.", 8000)
            elif job.note:
                self.statusBar().showMessage(f"{job.name}: {job.note}", 8000)
            self.pagesAdded.emit(list(page_ids))
        elif job.state == "failed":
            self.statusBar().showMessage(f"{job.name}: {job.error}", 8000)

    def dragEnterEvent(self, event: Any) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event: Any) -> None:
        self.dragEnterEvent(event)

    def dropEvent(self, event: Any) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.import_paths(paths)

    # ---- dialogs -------------------------------------------------------------------------
    def export_folder(self) -> Path:
        folder = self.settings.get("export_folder")
        if folder:
            return Path(folder)
        src = self.library.path
        return Path(src).parent if src else Path.home()

    def make_export_dialog(self) -> ExportDialog:
        return ExportDialog(self.library, self.canvas.page_id, list(self.canvas.selection),
                            self.export_folder(), self)

    def export_dialog(self) -> None:
        dlg = self.make_export_dialog()
        if dlg.exec() == ExportDialog.Accepted:
            self.start_export(dlg.options())
        dlg.deleteLater()

    def start_export(self, opts: dict[str, Any]) -> Any:
        """Export with the dialog's choices as a background job (plain data in, files out)."""
        library = self.library
        job = self.jobs.submit(lambda ctx: export_pages(library, progress=ctx.progress, **opts),
                               name=f"Export {opts['scope']} as {opts['fmt']}", kind="export")
        try:
            self.settings = settings.update(export_folder=str(opts["folder"]))
        except InknotesError as e:
            log.warning("export folder not remembered: %s", e)
        return job

    def settings_dialog(self) -> None:
        dlg = SettingsDialog(self)
        if dlg.exec() == SettingsDialog.Accepted:
            try:
                self.settings = dlg.save()
            except InknotesError as e:
                QMessageBox.warning(self, "Settings", str(e))
            self.apply_settings()

    def open_library_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Open or create a library", str(self.library.path),
                                              "inknotes library (*.inknotes);;All files (*)",
                                              options=QFileDialog.DontConfirmOverwrite)
        if path:
            from .app import open_window
            try:
                win = open_window(path, self.jobs.pool)
            except InknotesError as e:
                QMessageBox.warning(self, "Open library", e.user_line())
                return
            win.show()
            self.close()

    def apply_settings(self) -> None:
        """Start or stop the watch folder to match the settings (if the watch module is there)."""
        from .app import apply_theme
        apply_theme(self.settings.get("theme") or "system")
        want = bool(self.settings.get("watch_enabled")) and bool(self.settings.get("watch_folder"))
        if self.watcher is not None and (not want or str(self.watcher.folder) !=
                                         str(Path(self.settings["watch_folder"]).expanduser().absolute())):
            self.watcher.stop()
            self.watcher = None
        if want and self.watcher is None:
            try:
                from ..watch import Watcher
                self.watcher = Watcher(self.settings["watch_folder"], self.library,
                                       engine=self.settings.get("engine") or "tracer",
                                       pool=_ListedPool(self.jobs))
                self.watcher.add_listener(self._watch_event.emit)  # worker thread -> queued signal
                self.watcher.start()
            except (ImportError, InknotesError, OSError) as e:
                log.warning("watch folder not started: %s", e)
                self.watcher = None
                self.statusBar().showMessage(f"Watch folder not started: {e}", 8000)

    def _on_watch_event(self, event: Any) -> None:
        if event.kind == "added":
            self.editor.sync()
            self.library_panel.refresh()
            if self.canvas.page_id is None and event.page_ids:
                self.show_page(event.page_ids[0])
            if event.error:
                self.statusBar().showMessage(f"{event.path.name}: {event.error}", 8000)
        elif event.kind in ("failed", "unreadable"):
            self.statusBar().showMessage(f"{event.path.name}: {event.error}", 8000)
            if event.kind == "failed":  # also a row of the Jobs panel, which the next message cannot cover
                from ..jobs import failed_record
                self.jobs_panel.add_job(failed_record(f"watch: {event.path.name}", event.error or ""))
        elif event.kind == "folder_missing":
            self.statusBar().showMessage(f"The watch folder {event.path} is not there; new files are "
                                         "taken once it is back.", 8000)
        elif event.kind == "folder_back":
            self.statusBar().showMessage(f"The watch folder {event.path} is back.", 8000)

    def closeEvent(self, event: Any) -> None:
        self.replay.stop()
        self._refresh_timer.stop()
        self.canvas._sharpen_timer.stop()
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None
        active = self.jobs.active()
        for job in active:
            job.cancel()
        try:
            settings.update(last_library=str(self.library.path))
        except InknotesError as e:
            log.warning("settings not saved: %s", e)
        super().closeEvent(event)
        if self.owns_library:
            # a cancelled job stops at its next check (an OCR pass can take seconds); let it get
            # there before the library goes, with the window already gone from the screen
            if active:
                self.hide()
                QApplication.processEvents()
            futures.wait([j.future for j in active], timeout=15)
            self.library.close()


class _ListedPool:
    """The job pool as the watch folder sees it: its conversions go through QtJobs, so they show
    in the Jobs panel with their outcome (one line each, not a status message the next covers)."""

    def __init__(self, jobs: QtJobs):
        self._jobs = jobs

    def submit(self, fn: Any, *, name: str = "", gpu: bool = False) -> Any:
        return self._jobs.submit(fn, name=name, gpu=gpu, kind="watch")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._jobs.pool, name)


ALREADY = "Already in the library"  # an import job's note when the file was there before


def _import_job(library: Any, path: Path, engine: str, notebook: Any, thumbs: dict,
                created: float | None = None) -> Any:
    """A plain function of plain data for the pool: convert one file, store its pages, and
    leave each page's thumbnail array in ``thumbs`` (so the panel needs no second pass)."""

    def run(ctx: Any) -> list[int]:
        from ..imaging import check_file
        from ..pipeline import convert_file, file_sha256
        ctx.check()
        check_file(path)  # a pipe or device would block the hash below
        sha = file_sha256(path)
        stored = library.pages_from_file(sha)
        if stored:  # the same file again: show what is there instead of converting it again
            ctx.note(ALREADY)
            return stored
        skipped: list[Any] = []  # pages of a multi-page file that did not convert
        results = convert_file(path, engine, progress=ctx.progress, cancel=ctx.cancelled, errors=skipped)
        if skipped:
            count = results[0].page_count
            ctx.note(f"{len(results)} of {count} pages imported. " + " ".join(e.message for e in skipped))
        ctx.check()
        data = path.read_bytes()
        ids = []
        for r in results:
            pid = library.add_page(r, notebook, source_bytes=data if len(results) == 1 else None, sha256=sha,
                                   created=created)
            thumbs[pid] = thumbnail(r.size, r.image, r.strokes)
            ids.append(pid)
        return ids

    return run
