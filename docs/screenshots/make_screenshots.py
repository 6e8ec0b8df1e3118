"""Regenerates docs/screenshots: python docs/screenshots/make_screenshots.py OUTDIR

Expects dev-set images (p000.png, l0001.png, w0000.png from ../shared/tools/devset.py) in /tmp/devgui.
Settings, data and logs go to a fresh temp folder so the user's own library is never touched.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path


def main(out_dir: str) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="inkshots-"))
    for n in ("config", "data", "log"):
        os.environ[f"INKNOTES_{n.upper()}_DIR"] = str(tmp / n)
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    from inknotes.gui.main_window import MainWindow
    from inknotes.store import Library

    out = Path(out_dir)
    out.mkdir(exist_ok=True)
    lib = Library.open(tmp / "Lecture notes.inknotes")
    win = MainWindow(lib)
    win.resize(1400, 880)
    win.show()

    def wait(cond, t=300):
        end = time.time() + t
        while not cond() and time.time() < end:
            app.processEvents(QEventLoop.AllEvents, 50)
            time.sleep(0.02)

    win.library_panel.new_notebook("Physics")
    jobs = win.import_paths(["/tmp/devgui/p000.png", "/tmp/devgui/l0001.png", "/tmp/devgui/w0000.png"])
    wait(lambda: all(j.state in ("done", "failed", "cancelled") for j in jobs))
    for j in jobs:
        print(j.name, j.state, j.error)
    wait(lambda: False, 1)
    pages = sorted(win.library_panel.page_ids(), key=lambda i: -lib.page_info(i).stroke_count)
    win.show_page(pages[0])
    win.library_panel.select("page", pages[0], emit=False)
    scan = [layer for layer in lib.layers(pages[0]) if layer.kind == "image"][0]
    win.layers_panel.select(scan.id)
    win.layers_panel.set_opacity(0.35)
    wait(lambda: False, 1)
    win.grab().save(str(out / "main_window.png"))
    win.library_panel.search_box.setText("alot")
    hits = win.library_panel.run_search()
    print("hits", [(h.text, h.page_id) for h in hits])
    wait(lambda: False, 0.5)
    win.library_panel.parentWidget().grab().save(str(out / "library_panel.png"))
    win.grab().save(str(out / "search_highlight.png"))
    win.library_panel.search_box.clear()
    # zoomed in, with a selection
    win.set_tool("select")
    ids = lib.strokes_in_rect(pages[0], (0, 0, 2000, 2000))[:12]
    win.canvas.set_selection(ids)
    win.canvas.set_zoom(1.6)
    win.canvas.centerOn(win.canvas.selection_rect().center())
    wait(lambda: False, 1)
    win.grab().save(str(out / "canvas_zoom_selection.png"))
    win.canvas.set_selection([])
    win.canvas.fit_width()
    win.replay.start()
    win.replay.seek(0.45)
    wait(lambda: False, 0.5)
    win.grab().save(str(out / "replay.png"))
    win.replay.stop()
    dlg = win.make_export_dialog()
    dlg.show()
    wait(lambda: False, 0.5)
    dlg.grab().save(str(out / "export_dialog.png"))
    dlg.close()
    win.close()
    lib.close()


if __name__ == "__main__":
    main(sys.argv[1])
