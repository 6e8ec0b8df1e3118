"""The desktop app on a real temporary library, real Tesseract conversion and real Qt
(offscreen). Each test checks something a user would see break."""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("pytestqt")
from PySide6.QtCore import QEvent, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QMouseEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from inknotes.ink import PageResult, Stroke, Word  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "gui" / "handwriting_scan.png"


@pytest.fixture
def user_dirs(tmp_path, monkeypatch):
    for name in ("CONFIG", "DATA", "LOG"):
        d = tmp_path / name.lower()
        d.mkdir()
        monkeypatch.setenv(f"INKNOTES_{name}_DIR", str(d))
    return tmp_path


@pytest.fixture
def window(qtbot, user_dirs):
    """The main window on a fresh library; fails if any top-level window is left open."""
    from inknotes.gui.main_window import MainWindow
    from inknotes.jobs import JobPool
    from inknotes.store import Library

    before = {id(w) for w in QApplication.topLevelWidgets() if w.isVisible()}
    library = Library.open(user_dirs / "Field notes.inknotes", create=True)
    pool = JobPool(cpu_workers=2)
    win = MainWindow(library, pool=pool)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()
    pool.shutdown(wait=True)
    win.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.DeferredDelete)
    QApplication.processEvents()
    library.close()
    leaked = [w for w in QApplication.topLevelWidgets() if w.isVisible() and id(w) not in before]
    assert not leaked, f"windows left open: {[type(w).__name__ for w in leaked]}"


@contextlib.contextmanager
def own_window(library_path: Path, cpu_workers: int = 2):
    """A main window made after the test has changed the settings (the ``window`` fixture is
    made before), closed with its pool and library at the end."""
    from inknotes.gui.main_window import MainWindow
    from inknotes.jobs import JobPool
    from inknotes.store import Library

    library = Library.open(library_path, create=True)
    pool = JobPool(cpu_workers=cpu_workers)
    win = MainWindow(library, pool=pool)
    try:
        yield win
    finally:
        win.close()
        pool.shutdown()
        win.deleteLater()
        QApplication.sendPostedEvents(None, QEvent.DeferredDelete)
        library.close()


def add_lines_page(win, n: int = 3, words: list[Word] | None = None) -> int:
    """A page with ``n`` long horizontal strokes at y = 100, 200, ..., 400 px long."""
    strokes = [Stroke.from_points(np.c_[np.linspace(100, 500, 81), np.full(81, 100.0 * (i + 1))], 4.0,
                                  t0=1000.0 * i) for i in range(n)]
    page = PageResult(size=(600, 100 * n + 100), strokes=strokes, words=words or [], source=Path("lines.png"))
    pid = win.library.add_page(page)
    win.library_panel.refresh()
    win.show_page(pid)
    return pid


def drag(canvas, scene_points, button=Qt.LeftButton, mods=Qt.NoModifier):
    """A real mouse drag on the canvas viewport through the given page coordinates."""
    vp = canvas.viewport()
    pts = [canvas.mapFromScene(QPointF(*p)) for p in scene_points]

    def send(kind, p, buttons):
        pf = QPointF(p)
        ev = QMouseEvent(kind, pf, QPointF(vp.mapToGlobal(p)), button if kind != QEvent.MouseMove
                         else Qt.NoButton, buttons, mods)
        QApplication.sendEvent(vp, ev)

    send(QEvent.MouseButtonPress, pts[0], button)
    for p in pts[1:]:
        send(QEvent.MouseMove, p, button)
    send(QEvent.MouseButtonRelease, pts[-1], Qt.NoButton)


def test_title_names_app_and_library(window):
    assert "inknotes" in window.windowTitle()
    assert "Field notes" in window.windowTitle()


def test_import_real_handwriting_shows_the_page(window, qtbot):
    with qtbot.waitSignal(window.pagesAdded, timeout=90_000) as sig:
        jobs = window.import_paths([FIXTURE])
    assert len(jobs) == 1 and jobs[0].state == "done"
    page_id = sig.args[0][0]
    assert window.canvas.page_id == page_id
    assert len(window.canvas.strokes) > 5  # the phrase came back as ink
    assert page_id in window.library_panel.page_ids()
    row = window.jobs_panel.rows[jobs[0].id]
    assert row.text(2) == "Done"
    page_item = window.library_panel.tree.topLevelItem(0).child(0)
    qtbot.waitUntil(lambda: not page_item.icon(0).isNull(), timeout=30_000)  # thumbnail arrives


def test_dropping_files_and_folders_imports_them(window, qtbot, tmp_path):
    from PySide6.QtCore import QMimeData, QUrl
    from PySide6.QtGui import QDropEvent

    folder = tmp_path / "scans"
    folder.mkdir()
    (folder / "page.png").write_bytes(FIXTURE.read_bytes())
    (folder / "notes.txt").write_text("not a scan")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    ev = QDropEvent(QPointF(200, 200), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    with qtbot.waitSignal(window.pagesAdded, timeout=90_000):
        window.dropEvent(ev)  # Qt only routes drops inside a real drag, so call the handler
    assert ev.isAccepted()
    assert [j.name for j in window.jobs.jobs] == ["page.png"]  # the .txt was not taken
    assert len(window.library.pages()) == 1


def test_failed_import_says_why_and_can_retry(window, qtbot, tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    with qtbot.waitSignal(window.jobs.finished, timeout=30_000):
        (job,) = window.import_paths([bad])
    assert job.state == "failed"
    status = window.jobs_panel.status_text(job)
    assert status and "Traceback" not in status and status == job.error
    with qtbot.waitSignal(window.jobs.finished, timeout=30_000) as sig:
        window.jobs_panel.retry(job)
    assert sig.args[0].id != job.id and sig.args[0].state == "failed"


def test_point_eraser_splits_strokes_and_undo_redo(window):
    pid = add_lines_page(window, 3)
    lib = window.library
    before = {s.id for s in lib.strokes(pid)}
    window.set_tool("point_eraser")
    drag(window.canvas, [(300, 50), (300, 250)])  # across the first two lines only
    after = {s.id for s in lib.strokes(pid)}
    assert len(after) == 5  # two lines cut in two, the third untouched
    assert len(before & after) == 1
    assert len(window.canvas.strokes) == 5
    assert len(after - before) == 4
    for sid in after - before:  # every piece stays on its own side of the cut
        xs = lib.stroke(sid).stroke.points[:, 0]
        assert xs.max() < 300 or xs.min() > 300
    assert window.undo_action.isEnabled()
    window.undo_action.trigger()  # one drag = one undo step
    assert {s.id for s in lib.strokes(pid)} == before
    assert len(window.canvas.strokes) == 3
    window.redo_action.trigger()
    assert {s.id for s in lib.strokes(pid)} == after


def shown_alpha(window, x: float, y: float) -> int:
    """Alpha of the displayed ink pixmap at page point (x, y) (0 = no ink shown there)."""
    from inknotes.gui.canvas import InkLayerItem

    (item,) = [it for it in window.canvas.layer_items.values() if isinstance(it, InkLayerItem)]
    px, py = (x - item.raster.origin[0]) * item.scale, (y - item.raster.origin[1]) * item.scale
    return item.base.pixmap().toImage().pixelColor(int(px), int(py)).alpha()


def test_erased_and_moved_ink_is_redrawn_where_it_changed(window):
    pid = add_lines_page(window, 3)
    assert shown_alpha(window, 300, 100) > 200 and shown_alpha(window, 150, 100) > 200
    window.set_tool("point_eraser")
    drag(window.canvas, [(300, 60), (300, 140)])
    assert shown_alpha(window, 300, 100) == 0  # the gap is visible
    assert shown_alpha(window, 150, 100) > 200 and shown_alpha(window, 300, 200) > 200
    window.set_tool("select")
    drag(window.canvas, [(80, 280), (520, 320)])
    (sid,) = window.canvas.selection
    window.set_tool("move")
    drag(window.canvas, [(300, 300), (300, 330), (300, 350)])
    assert window.library.stroke(sid).stroke.points[:, 1] == pytest.approx(350, abs=2)
    assert shown_alpha(window, 200, 350) > 200 and shown_alpha(window, 200, 300) == 0
    window.undo_action.trigger()
    assert shown_alpha(window, 200, 300) > 200 and shown_alpha(window, 200, 350) == 0
    assert len(window.library.strokes(pid)) == 4  # first line in two pieces, two whole lines


def test_wheel_zooms_and_middle_button_pans(window):
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QWheelEvent

    add_lines_page(window, 3)
    canvas = window.canvas
    window.zoom100_action.trigger()
    assert canvas.zoom == pytest.approx(1.0)
    vp = canvas.viewport()
    centre = QPointF(vp.width() / 2, vp.height() / 2)
    wheel = QWheelEvent(centre, QPointF(vp.mapToGlobal(centre.toPoint())), QPoint(0, 0), QPoint(0, 240),
                        Qt.NoButton, Qt.NoModifier, Qt.NoScrollPhase, False)
    QApplication.sendEvent(vp, wheel)
    assert canvas.zoom == pytest.approx(1.15 ** 2)
    bar = canvas.horizontalScrollBar()
    before = bar.value()
    drag(canvas, [(300, 200), (250, 200), (200, 200)], button=Qt.MiddleButton)
    assert bar.value() > before  # dragging left moves the view right
    from PySide6.QtTest import QTest

    window.set_tool("point_eraser")
    before = bar.value()
    QTest.keyPress(canvas, Qt.Key_Space)
    drag(canvas, [(200, 200), (250, 200), (300, 200)])  # space held: the left button pans
    QTest.keyRelease(canvas, Qt.Key_Space)
    assert bar.value() < before
    assert len(window.library.strokes(window.canvas.page_id)) == 3  # and did not erase
    window.fit_action.trigger()
    assert canvas.zoom * 600 <= vp.width()


def test_shift_drag_scales_the_selection_and_width_applies(window):
    pid = add_lines_page(window, 1)
    window.select_all()
    (sid,) = window.canvas.selection
    window.set_tool("move")
    drag(window.canvas, [(300, 100), (300, 60), (300, 0)], mods=Qt.ShiftModifier)  # up = bigger
    pts = window.library.stroke(sid).stroke.points
    assert pts[:, 0].max() - pts[:, 0].min() > 450  # was 400 px long, scaled about its centre
    assert pts[:, 0].mean() == pytest.approx(300, abs=2)
    window.width_box.setValue(9.0)
    window.width_action.trigger()
    assert np.median(window.library.stroke(sid).stroke.width) == pytest.approx(9.0)
    assert len(window.library.strokes(pid)) == 1


def test_stroke_eraser_removes_whole_strokes(window):
    pid = add_lines_page(window, 3)
    window.set_tool("stroke_eraser")
    drag(window.canvas, [(150, 350), (160, 260)])
    assert len(window.library.strokes(pid)) == 2
    assert all(len(s.stroke) == 81 for s in window.library.strokes(pid))


def test_rectangle_select_recolour_and_undo(window):
    pid = add_lines_page(window, 3)
    lib = window.library
    window.set_tool("select")
    drag(window.canvas, [(80, 150), (520, 320)])  # around lines 2 and 3
    assert len(window.canvas.selection) == 2
    window.set_color("#2ca02c")
    window.recolor_selection()
    colors = sorted(s.stroke.color for s in lib.strokes(pid))
    assert colors.count("#2ca02c") == 2 and len(colors) == 3
    window.undo_action.trigger()
    assert all(s.stroke.color != "#2ca02c" for s in lib.strokes(pid))
    window.redo_action.trigger()
    assert sum(s.stroke.color == "#2ca02c" for s in lib.strokes(pid)) == 2


def test_lasso_selects_strokes_partly_inside_whole(window):
    pid = add_lines_page(window, 3)
    window.set_tool("lasso")
    drag(window.canvas, [(250, 80), (350, 80), (350, 120), (250, 120), (250, 80)])
    assert len(window.canvas.selection) == 1
    (sid,) = window.canvas.selection
    assert window.library.stroke(sid).stroke.points[:, 1].max() == pytest.approx(100)
    window.delete_action.trigger()
    assert len(window.library.strokes(pid)) == 2


def test_undo_survives_reopening(window, user_dirs):
    from inknotes.gui.editor import Editor

    pid = add_lines_page(window, 2)
    window.select_all()
    window.delete_selection()
    assert window.library.strokes(pid) == []
    editor = Editor(window.library)  # a fresh window's undo stack, built from the library
    assert editor.stack.canUndo()
    editor.stack.undo()
    assert len(window.library.strokes(pid)) == 2


def test_export_dialog_writes_files_that_read_back(window, tmp_path):
    from inknotes.formats import read_inkml

    add_lines_page(window, 3)
    out = tmp_path / "out"
    dlg = window.make_export_dialog()
    dlg.folder.setText(str(out))
    dlg.format.setCurrentIndex(dlg.format.findData("inkml"))
    (path,) = dlg.export_now()
    assert len(read_inkml(path).strokes) == 3
    dlg.scope_all.setChecked(True)
    dlg.format.setCurrentIndex(dlg.format.findData("pdf"))
    (pdf,) = dlg.export_now()
    assert pdf.read_bytes()[:5] == b"%PDF-"
    window.set_tool("select")
    drag(window.canvas, [(80, 50), (520, 150)])
    dlg2 = window.make_export_dialog()
    assert dlg2.scope_selection.isChecked()
    dlg2.folder.setText(str(out))
    dlg2.format.setCurrentIndex(dlg2.format.findData("svg"))
    (svg,) = dlg2.export_now()
    assert svg.read_text().count("<path") + svg.read_text().count("<polyline") >= 1
    dlg.deleteLater()
    dlg2.deleteLater()


def test_export_runs_in_the_background_and_reports(window, qtbot, tmp_path):
    from inknotes import settings
    from inknotes.formats import read_inkml

    add_lines_page(window, 2)
    dlg = window.make_export_dialog()
    dlg.format.setCurrentIndex(dlg.format.findData("inkml"))
    dlg.folder.setText(str(tmp_path / "bg"))
    with qtbot.waitSignal(window.jobs.finished, timeout=30_000) as sig:
        window.start_export(dlg.options())
    dlg.deleteLater()
    (path,) = sig.args[0].future.result()
    assert len(read_inkml(path).strokes) == 2
    assert "Exported 1 file" in window.statusBar().currentMessage()
    assert settings.load()["export_folder"] == str(tmp_path / "bg")  # remembered for next time
    assert window.library_panel.page_ids()  # an export is not mistaken for an import


def test_watch_folder_setting_brings_pages_in(qtbot, user_dirs):
    from inknotes import settings

    inbox = user_dirs / "inbox"
    inbox.mkdir()
    settings.update(watch_enabled=True, watch_folder=str(inbox))
    with own_window(user_dirs / "Watched.inknotes") as win:
        assert win.watcher is not None
        (inbox / "page.png").write_bytes(FIXTURE.read_bytes())
        qtbot.waitUntil(lambda: len(win.library_panel.page_ids()) == 1, timeout=90_000)
        qtbot.waitUntil(lambda: win.canvas.page_id is not None and len(win.canvas.strokes) > 5,
                        timeout=30_000)  # the window was told and shows the new page
        (inbox / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"not an image" * 40)
        # each watched file is a row of the Jobs panel, a failure with its sentence
        rows = win.jobs_panel.rows
        qtbot.waitUntil(lambda: any("damaged" in item.text(2) or "not an image" in item.text(2)
                                    for item in rows.values()), timeout=60_000)
        assert any(item.text(0) == "watch: page.png" and item.text(2) == "Done" for item in rows.values())
    assert win.watcher is None  # stopped with the window


def test_search_jumps_to_page_and_highlights_word(window):
    first = add_lines_page(window, 1)
    target = add_lines_page(window, 2, words=[Word((90, 180, 420, 40), "serendipity", 90.0)])
    window.show_page(first)
    window.library_panel.search_box.setText("serendipity")
    hits = window.library_panel.run_search()
    assert hits and hits[0].page_id == target
    assert window.canvas.page_id == target
    assert window.canvas._highlight is not None
    window.library_panel.search_box.clear()
    assert window.canvas._highlight is None


def test_layers_hide_and_pen_draws_on_chosen_layer(window):
    pid = add_lines_page(window, 1)
    lid = window.layers_panel.add_layer("Annotations")
    assert lid is not None
    window.set_tool("pen")
    drag(window.canvas, [(100, 300), (200, 320), (300, 300)])
    mine = window.library.strokes(pid, lid)
    assert len(mine) == 1
    assert mine[0].stroke.time[0] > window.library.strokes(pid)[0].stroke.time[-1]  # replays last
    window.undo_action.trigger()
    assert window.library.strokes(pid, lid) == []
    ink = [lay for lay in window.library.layers(pid) if lay.kind == "ink" and lay.id != lid][0]
    window.library.set_layer_visible(ink.id, False)
    window.canvas.refresh_layers()
    assert not window.canvas.layer_items[ink.id].isVisible()


def test_replay_draws_strokes_in_order_then_restores(window):
    add_lines_page(window, 3)
    assert window.replay.start()
    window.replay.seek(0.5)
    item = window.replay.item
    drawn = int(np.searchsorted(item.ends, item.t, side="right"))
    assert 0 < drawn < 3
    assert not any(it.isVisible() for lid, it in window.canvas.layer_items.items()
                   if any(lay.id == lid and lay.kind == "ink" for lay in window.canvas.layers))
    window.replay.stop()
    assert window.replay.item is None
    assert any(it.isVisible() for it in window.canvas.layer_items.values())


def test_start_up_opens_default_library_without_tensorflow(user_dirs):
    from inknotes import settings

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    r = subprocess.run([sys.executable, str(ROOT / "main.py"), "--quit-after-start"],
                       capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 0, r.stderr
    assert "tensorflow loaded: False" in r.stdout
    assert settings.default_library_path().exists()  # no --library: the default one in the data folder
    assert settings.load()["last_library"] == str(settings.default_library_path())


def test_settings_dialog_persists_choices(qtbot, user_dirs):
    from inknotes import settings
    from inknotes.gui.settings_dialog import SettingsDialog

    dlg = SettingsDialog()
    qtbot.addWidget(dlg)
    dlg.watch_enabled.setChecked(True)
    dlg.watch_folder.setText(str(user_dirs / "inbox"))
    dlg.export_folder.setText(str(user_dirs / "exports"))
    dlg.theme.setCurrentText("dark")
    dlg.save()
    saved = settings.load()
    assert saved["watch_enabled"] is True and saved["watch_folder"] == str(user_dirs / "inbox")
    assert saved["theme"] == "dark" and saved["export_folder"] == str(user_dirs / "exports")
    again = SettingsDialog()
    qtbot.addWidget(again)
    assert again.theme.currentText() == "dark" and again.watch_enabled.isChecked()


def test_settings_offer_inksight_only_once_a_model_is_set(qtbot, user_dirs, tmp_path):
    from inknotes import settings
    from inknotes.gui.settings_dialog import SettingsDialog

    def inksight_enabled() -> bool:
        dlg = SettingsDialog()
        qtbot.addWidget(dlg)
        return dlg.engine.model().item(dlg.engine.findText("inksight")).isEnabled()

    settings.update(engine="tracer", inksight_model=None)
    assert not inksight_enabled()  # greyed out, with a tooltip naming `inknotes model add`
    settings.update(inksight_model=str(tmp_path))
    assert inksight_enabled()
    settings.update(engine="inksight", inksight_model=None)
    assert inksight_enabled()  # chosen earlier: still shown as chosen, not silently changed


def test_gui_subcommand_parses_library():
    import argparse

    from inknotes.gui.cli import register

    ap = argparse.ArgumentParser(prog="inknotes")
    register(ap.add_subparsers(dest="command"))
    args = ap.parse_args(["gui", "--library", "notes.inknotes"])
    assert args.command == "gui" and args.library == "notes.inknotes" and callable(args.func)


def test_a_file_that_is_not_a_library_is_refused_in_plain_words(user_dirs):
    bogus = user_dirs / "notes.inknotes"
    bogus.write_text("my shopping list")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    r = subprocess.run([sys.executable, str(ROOT / "main.py"), "--library", str(bogus), "--quit-after-start"],
                       capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 1
    assert str(bogus) in r.stderr and "Traceback" not in r.stderr
    assert bogus.read_text() == "my shopping list"  # left alone


def test_without_a_display_the_app_says_so_instead_of_crashing(user_dirs):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    r = subprocess.run([sys.executable, str(ROOT / "main.py"), "--library", str(user_dirs / "L.inknotes"),
                        "--quit-after-start"], capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 2  # Qt itself would abort with a core dump (134)
    assert r.stderr.startswith("inknotes: There is no display") and len(r.stderr.splitlines()) == 1


def test_opened_library_window_closes_its_library(qtbot, user_dirs):
    from inknotes.errors import LibraryError
    from inknotes.gui.app import open_window
    from inknotes.jobs import JobPool

    pool = JobPool(cpu_workers=1)
    win = open_window(user_dirs / "new folder" / "Other notes.inknotes", pool)
    library = win.library
    assert "Other notes" in win.windowTitle() and library.path.exists()
    win.show()
    win.close()
    QApplication.sendPostedEvents(None, QEvent.DeferredDelete)
    pool.shutdown()
    with pytest.raises(LibraryError):
        library.pages()


def test_keyboard_shortcuts_pick_tools_and_edit(window, qtbot):
    from PySide6.QtTest import QTest

    pid = add_lines_page(window, 3)
    window.activateWindow()
    qtbot.waitActive(window)
    window.canvas.setFocus()
    for key, tool in (("X", "point_eraser"), ("E", "stroke_eraser"), ("L", "lasso"), ("C", "recolor"),
                      ("M", "move"), ("P", "pen"), ("V", "select")):
        QTest.keyClick(window, key)
        assert window.canvas.tool.name == tool
    QTest.keyClick(window.canvas, Qt.Key_A, Qt.ControlModifier)
    assert len(window.canvas.selection) == 3
    QTest.keyClick(window.canvas, Qt.Key_Delete)
    assert window.library.strokes(pid) == []
    QTest.keyClick(window.canvas, Qt.Key_Z, Qt.ControlModifier)
    assert len(window.library.strokes(pid)) == 3


def test_qt_bindings_do_not_drain_reference_counts(qtbot):
    """PySide6 6.12.0 frees a reference to None on every timer/button callback and to True on
    every emit(); the app then aborts ("none_dealloc") a few thousand events into an import."""
    from PySide6.QtCore import QObject, QTimer, Signal

    class Probe(QObject):
        ping = Signal(int)

    probe, calls = Probe(), []
    probe.ping.connect(calls.append)
    timer = QTimer()
    timer.setInterval(0)
    timer.timeout.connect(lambda: calls.append(0))
    before_none, before_true = sys.getrefcount(None), sys.getrefcount(True)
    for i in range(200):
        probe.ping.emit(i)
    timer.start()
    qtbot.waitUntil(lambda: len(calls) >= 400, timeout=10_000)
    timer.stop()
    assert sys.getrefcount(True) > before_true - 100
    assert sys.getrefcount(None) > before_none - 100


def test_pen_on_a_locked_chosen_layer_is_refused_not_moved(window):
    pid = add_lines_page(window, 1)
    lid = window.layers_panel.add_layer("Top")
    window.layers_panel.lock_button.click()
    assert window.layers_panel.current_id() == lid
    window.set_tool("pen")
    drag(window.canvas, [(100, 300), (200, 320), (300, 300)])
    assert len(window.library.strokes(pid)) == 1  # nothing slipped onto the unlocked Ink layer
    assert "locked" in window.statusBar().currentMessage()


def test_undoing_a_notebook_delete_shows_its_page_again(window):
    pid = add_lines_page(window, 2)
    nb = window.library.notebooks()[0].id
    window.library_panel.select("notebook", nb)
    assert window.library_panel.delete_current(confirm=False)
    assert window.canvas.page_id is None
    window.undo_action.trigger()
    assert window.canvas.page_id == pid and len(window.canvas.strokes) == 2


def test_redo_survives_reopening(window):
    from inknotes.gui.editor import Editor

    pid = add_lines_page(window, 3)
    window.select_all()
    window.delete_selection()
    window.set_tool("pen")
    drag(window.canvas, [(100, 300), (200, 320)])
    window.undo_action.trigger()
    window.undo_action.trigger()  # both undone: the library can redo the delete, then the pen
    assert len(window.library.strokes(pid)) == 3
    editor = Editor(window.library)  # a fresh window's undo stack, built from the library
    assert editor.stack.canRedo() and editor.stack.redoText() == window.library.redo_text()
    editor.stack.redo()
    assert window.library.strokes(pid) == []
    editor.stack.redo()
    assert len(window.library.strokes(pid)) == 1
    editor.stack.undo()
    assert window.library.strokes(pid) == []


def test_undo_of_an_edit_on_another_page_shows_that_page_and_names_it(window):
    first = add_lines_page(window, 2)
    window.set_tool("pen")
    drag(window.canvas, [(100, 300), (200, 320), (300, 300)])
    assert len(window.library.strokes(first)) == 3
    second = add_lines_page(window, 1)
    assert window.canvas.page_id == second
    window.undo_action.trigger()  # the last edit is the pen stroke on the first page
    assert len(window.library.strokes(first)) == 2
    assert window.canvas.page_id == first and len(window.canvas.strokes) == 2
    assert window.statusBar().currentMessage() == "Undid draw stroke on lines.png."
    window.redo_action.trigger()
    assert window.canvas.page_id == first and len(window.canvas.strokes) == 3


def test_undo_after_new_notebook_keeps_the_pages_imported_into_it(window):
    nid = window.library_panel.new_notebook("Physics")
    pid = add_lines_page(window, 1)
    window.editor.apply(window.library.delete_page, pid)  # an edit made before the import below
    blank = PageResult(size=(200, 100), strokes=[], words=[], source=Path("p.png"))
    page = window.library.add_page(blank, nid)
    window.undo_action.trigger()  # undoes the delete, not the notebook: the import stays
    assert {p.id for p in window.library.pages()} == {pid, page}
    assert "Physics" in [n.name for n in window.library.notebooks()]


def test_importing_a_file_already_in_the_library_shows_it_without_converting(window, qtbot, tmp_path):
    with qtbot.waitSignal(window.pagesAdded, timeout=90_000) as sig:
        window.import_paths([FIXTURE])
    (pid,) = sig.args[0]
    other = add_lines_page(window, 1)
    copy = tmp_path / "same page.png"
    copy.write_bytes(FIXTURE.read_bytes())
    with qtbot.waitSignal(window.pagesAdded, timeout=30_000) as sig:
        (job,) = window.import_paths([copy])
    assert sig.args[0] == [pid] and job.progress == (0, 0)  # nothing was converted
    assert sorted(p.id for p in window.library.pages()) == sorted([pid, other])
    assert window.canvas.page_id == pid
    assert window.jobs_panel.status_text(job) == "Already in the library"
    assert "already in the library" in window.statusBar().currentMessage()


def test_escape_backspace_and_ctrl_equals(window, qtbot):
    from PySide6.QtTest import QTest

    pid = add_lines_page(window, 3)
    window.activateWindow()
    qtbot.waitActive(window)
    window.canvas.setFocus()
    window.select_all()
    QTest.keyClick(window.canvas, Qt.Key_Escape)
    assert window.canvas.selection == []
    window.select_all()
    QTest.keyClick(window.canvas, Qt.Key_Backspace)
    assert window.library.strokes(pid) == []
    window.undo_action.trigger()
    zoom = window.canvas.transform().m11()
    QTest.keyClick(window.canvas, Qt.Key_Equal, Qt.ControlModifier)
    assert window.canvas.transform().m11() > zoom
    assert window.width_action.shortcut().toString() != "Ctrl+W"


def test_a_small_window_keeps_room_for_the_page_and_panels_can_be_hidden(window, qtbot):
    window.resize(800, 600)
    QApplication.processEvents()
    assert window.canvas.width() >= 320  # the docks gave way, the page did not become a sliver
    toggle = window.docks["Library"].toggleViewAction()
    assert toggle in window.menuBar().actions()[2].menu().actions()  # View menu
    wide = window.canvas.width()
    toggle.trigger()
    QApplication.processEvents()
    assert not window.docks["Library"].isVisible() and window.canvas.width() > wide
    toggle.trigger()
    assert window.docks["Library"].isVisible()


def test_pages_imported_together_keep_the_files_order_not_the_finishing_order(window, qtbot, tmp_path):
    import cv2

    fix = Path(__file__).parent / "fixtures" / "convert"
    big = np.vstack([cv2.imread(str(fix / "line_scan.png"))] * 6)  # slowest, and first by name
    cv2.imwrite(str(tmp_path / "p1.png"), big)
    for k in (2, 3, 4):
        img = cv2.imread(str(fix / "word_photo.png"))
        img[0, 0, 0] = k  # other bytes, so not a duplicate
        cv2.imwrite(str(tmp_path / f"p{k}.png"), img)
    jobs = window.import_paths(sorted(tmp_path.glob("p*.png")))
    qtbot.waitUntil(lambda: all(j.state == "done" for j in jobs), timeout=120_000)
    assert [p.source_name for p in window.library.pages()] == ["p1.png", "p2.png", "p3.png", "p4.png"]


def test_delete_in_the_page_list_deletes_the_page_not_the_strokes(window, monkeypatch, qtbot):
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QMessageBox

    keep = add_lines_page(window, 2)
    pid = add_lines_page(window, 3)
    window.select_all()
    window.library_panel.select("page", pid, emit=False)
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a) or QMessageBox.Yes)
    window.activateWindow()
    qtbot.waitActive(window)
    window.library_panel.tree.setFocus()
    QTest.keyClick(window.library_panel.tree, Qt.Key_Delete)
    assert asked and [p.id for p in window.library.pages()] == [keep]
    assert len(window.library.strokes(keep)) == 2
    window.undo_action.trigger()
    assert len(window.library.strokes(pid)) == 3  # the page came back whole


def test_multipage_scan_with_a_bad_page_says_which_and_how_many(window, qtbot, tmp_path):
    from tests.test_convert_cli import _duplex_tiff

    scan = _duplex_tiff(tmp_path / "duplex.tif", damage_page_2=True)
    with qtbot.waitSignal(window.pagesAdded, timeout=90_000):
        (job,) = window.import_paths([scan])
    assert window.jobs_panel.status_text(job).startswith("2 of 3 pages imported. Page 2: The image file is")
    window.library_panel.refresh()
    top = window.library_panel.tree.topLevelItem(0)
    labels = [top.child(i).text(0).splitlines()[0] for i in range(top.childCount())]
    assert labels == ["duplex.tif p1", "duplex.tif p3"]


def test_layer_opacity_follows_the_keys_and_ink_stays_above_the_scan(window, qtbot):
    from PySide6.QtTest import QTest

    pid = add_lines_page(window, 1)
    panel = window.layers_panel
    ink = next(lay for lay in window.library.layers(pid) if lay.kind == "ink")
    panel.select(ink.id)
    QTest.keyClick(panel.opacity, Qt.Key_PageDown)
    QTest.keyClick(panel.opacity, Qt.Key_PageDown)
    qtbot.waitUntil(lambda: next(lay for lay in window.library.layers(pid) if lay.id == ink.id).opacity < 1,
                    timeout=5000)
    assert "opacity" in window.library.undo_text().lower()
    window.undo_action.trigger()  # the two presses were one step
    assert next(lay for lay in window.library.layers(pid) if lay.id == ink.id).opacity == 1.0
    panel.select(ink.id)
    for _ in range(3):
        panel.move_current(-1)  # down, past the scan: it stops just above it
    scan = next(lay for lay in window.library.layers(pid) if lay.kind == "image")
    assert next(lay for lay in window.library.layers(pid) if lay.id == ink.id).order > scan.order


def test_erasing_on_a_locked_layer_says_why_nothing_happened(window):
    pid = add_lines_page(window, 2)
    ink = next(lay for lay in window.library.layers(pid) if lay.kind == "ink")
    window.layers_panel.select(ink.id)
    window.layers_panel.lock_button.click()
    window.set_tool("stroke_eraser")
    drag(window.canvas, [(300, 80), (300, 120)])  # across the first line
    assert len(window.library.strokes(pid)) == 2
    assert window.statusBar().currentMessage() == "The layer Ink is locked; unlock it to erase there."
    window.statusBar().clearMessage()
    drag(window.canvas, [(300, 500), (310, 520)])  # over nothing: nothing to say
    assert window.statusBar().currentMessage() == ""


def test_a_page_can_be_renamed_and_the_name_undone(window, monkeypatch):
    from PySide6.QtWidgets import QInputDialog

    pid = add_lines_page(window, 1)
    window.library_panel.select("page", pid, emit=False)
    assert window.library_panel.rename_button.isEnabled()
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("Lecture 3", True))
    window.library_panel.rename_button.click()
    assert window.library.page_info(pid).source_name == "Lecture 3"
    top = window.library_panel.tree.topLevelItem(0)
    assert top.child(0).text(0).startswith("Lecture 3\n")
    window.undo_action.trigger()
    assert window.library.page_info(pid).source_name == "lines.png"


def test_inksight_chosen_without_a_model_fails_the_import_in_one_sentence(qtbot, user_dirs):
    from inknotes import settings

    settings.update(engine="inksight", inksight_model=None)
    with own_window(user_dirs / "NoModel.inknotes", cpu_workers=1) as win:
        with qtbot.waitSignal(win.jobs.finished, timeout=120_000):
            (job,) = win.import_paths([FIXTURE])
        assert job.state == "failed" and "No InkSight model is set" in job.error
        assert win.jobs_panel.status_text(job) == job.error and win.library.pages() == []
