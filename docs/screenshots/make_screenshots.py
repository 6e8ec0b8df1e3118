# Regenerates docs/screenshots: python docs/screenshots/make_screenshots.py OUTDIR
# Expects dev-set images (p000.png, l0001.png, w0000.png from ../shared/tools/devset.py) in /tmp/devgui.
import os, sys, time, tempfile
from pathlib import Path
tmp = Path(tempfile.mkdtemp(prefix="inkshots-"))
for n in ("config", "data", "log"):
    os.environ[f"INKNOTES_{n.upper()}_DIR"] = str(tmp / n)
from PySide6.QtWidgets import QApplication
from PySide6.QtCore import QEventLoop, QTimer
app = QApplication([])
from inknotes.gui.main_window import MainWindow
from inknotes.store import Library
OUT = Path(sys.argv[1]); OUT.mkdir(exist_ok=True)
lib = Library.open(tmp / "Lecture notes.inknotes")
win = MainWindow(lib)
win.resize(1400, 880); win.show()
def wait(cond, t=300):
    end = time.time() + t
    while not cond() and time.time() < end:
        app.processEvents(QEventLoop.AllEvents, 50); time.sleep(0.02)
win.library_panel.new_notebook("Physics")
jobs = win.import_paths(["/tmp/devgui/p000.png", "/tmp/devgui/l0001.png", "/tmp/devgui/w0000.png"])
wait(lambda: all(j.state in ("done", "failed", "cancelled") for j in jobs))
for j in jobs: print(j.name, j.state, j.error)
wait(lambda: False, 1)
pages = sorted(win.library_panel.page_ids(), key=lambda i: -lib.page_info(i).stroke_count)
win.show_page(pages[0]); win.library_panel.select("page", pages[0], emit=False)
scan = [l for l in lib.layers(pages[0]) if l.kind == "image"][0]
win.layers_panel.select(scan.id); win.layers_panel.set_opacity(0.35)
wait(lambda: False, 1)
win.grab().save(str(OUT / "main_window.png"))
win.library_panel.search_box.setText("alot")
hits = win.library_panel.run_search(); print("hits", [(h.text, h.page_id) for h in hits])
wait(lambda: False, 0.5)
win.library_panel.parentWidget().grab().save(str(OUT / "library_panel.png"))
win.grab().save(str(OUT / "search_highlight.png"))
win.library_panel.search_box.clear()
# zoomed in, with a selection
win.set_tool("select")
ids = lib.strokes_in_rect(pages[0], (0, 0, 2000, 2000))[:12]
win.canvas.set_selection(ids)
win.canvas.set_zoom(1.6); win.canvas.centerOn(win.canvas.selection_rect().center())
wait(lambda: False, 1)
win.grab().save(str(OUT / "canvas_zoom_selection.png"))
win.canvas.set_selection([])
win.canvas.fit_width()
win.replay.start(); win.replay.seek(0.45)
wait(lambda: False, 0.5)
win.grab().save(str(OUT / "replay.png"))
win.replay.stop()
dlg = win.make_export_dialog(); dlg.show(); wait(lambda: False, 0.5)
dlg.grab().save(str(OUT / "export_dialog.png")); dlg.close()
win.close(); lib.close()
