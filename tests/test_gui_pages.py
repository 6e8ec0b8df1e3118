"""Pages in the desktop app (real Qt, offscreen): printing, going page to page, moving pages
between and within notebooks, and the Help menu's shortcut list."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("pytestqt")
from PySide6.QtCore import QRectF, Qt  # noqa: E402
from PySide6.QtGui import QImage, QPageLayout, QPainter  # noqa: E402
from PySide6.QtPrintSupport import QPrinter  # noqa: E402

from inknotes.ink import PageResult, Stroke  # noqa: E402
from tests.test_gui import add_lines_page, user_dirs, window  # noqa: E402, F401 - fixtures

__all__ = ["user_dirs", "window"]


def scan_page(win) -> int:
    """A 400 x 200 page whose scan is a red band across the left half, with one blue stroke
    along the bottom right."""
    img = np.full((200, 400, 3), 255, np.uint8)
    img[:, :200] = (220, 30, 30)
    ink = Stroke.from_points([[220, 170], [380, 170]], 8.0, color="#1f3fd0")
    pid = win.library.add_page(PageResult(size=(400, 200), strokes=[ink], words=[], image=img,
                                          source=Path("scan.png")))
    win.library_panel.refresh()
    win.show_page(pid)
    return pid


def painted(win, pid) -> np.ndarray:
    from inknotes.gui.printing import paint_page
    img = QImage(800, 800, QImage.Format_RGB888)
    img.fill(0xFFFFFF)
    p = QPainter(img)
    paint_page(p, win.library, pid, QRectF(0, 0, 800, 800))
    p.end()
    ptr = img.constBits()
    return np.frombuffer(ptr, np.uint8).reshape(800, img.bytesPerLine())[:, :2400].reshape(800, 800, 3).copy()


def test_print_draws_the_page_as_shown_fitted_and_centred(window):
    pid = scan_page(window)
    a = painted(window, pid)  # 400 x 200 into 800 x 800: scale 2, centred at y 200..600
    assert tuple(a[400, 100]) == pytest.approx((220, 30, 30), abs=3)  # the scan's red half
    assert tuple(a[100, 100]) == (255, 255, 255)  # above the page: paper
    assert a[540, 600, 2] > 150 and a[540, 600, 0] < 80  # the blue stroke at y 170 -> 200 + 340
    scan = next(lay for lay in window.library.layers(pid) if lay.kind == "image")
    window.library.set_layer_visible(scan.id, False)
    b = painted(window, pid)
    assert tuple(b[400, 100]) == (255, 255, 255)  # a hidden scan does not print
    assert b[540, 600, 2] > 150
    ink = next(lay for lay in window.library.layers(pid) if lay.kind == "ink")
    window.library.set_layer_visible(ink.id, False)
    assert (painted(window, pid) == 255).all()  # nothing visible, nothing printed


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) is not installed")
def test_print_to_a_pdf_printer_gives_one_landscape_page_with_the_ink(window, tmp_path):
    from inknotes.gui.printing import print_page, suggested_orientation
    pid = scan_page(window)
    printer = QPrinter(QPrinter.HighResolution)
    printer.setOutputFormat(QPrinter.PdfFormat)
    printer.setOutputFileName(str(tmp_path / "out.pdf"))
    printer.setPageOrientation(suggested_orientation(window.library, pid))
    assert suggested_orientation(window.library, pid) == QPageLayout.Landscape  # wider than tall
    print_page(printer, window.library, pid)
    info = subprocess.run(["pdfinfo", str(tmp_path / "out.pdf")], capture_output=True, text=True).stdout
    assert re.search(r"^Pages:\s+1$", info, re.M)
    w, h = map(float, next(x for x in info.splitlines() if x.startswith("Page size")).split()[2:5:2])
    assert w > h
    pdf = str(tmp_path / "out.pdf")
    subprocess.run(["pdftoppm", "-r", "20", "-png", pdf, str(tmp_path / "r")], check=True)
    img = QImage(str(next(tmp_path.glob("r*.png")))).convertToFormat(QImage.Format_RGB888)
    arr = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())
    arr = arr[:, :3 * img.width()].reshape(img.height(), img.width(), 3)
    red = (arr[:, :, 0] > 180) & (arr[:, :, 1] < 90)
    blue = (arr[:, :, 2] > 150) & (arr[:, :, 0] < 100)
    assert red.sum() > 0.15 * red.size and blue.sum() > 0  # the scan and the ink both on paper
    assert np.nonzero(blue)[1].mean() > np.nonzero(red)[1].mean()  # ink right of the red half


def test_print_with_no_page_says_so(window):
    window.print_action.trigger()
    assert window.statusBar().currentMessage() == "Open a page to print it."


def test_next_and_previous_page_walk_the_library_list_and_stop_at_the_ends(window):
    first = add_lines_page(window, 1)
    second = add_lines_page(window, 2)
    third = add_lines_page(window, 3)
    order = window.library_panel.listed_page_ids()
    assert sorted(order) == sorted([first, second, third])
    window.show_page(order[0])
    seen = [window.canvas.page_id]
    for _ in range(3):
        window.next_page_action.trigger()
        seen.append(window.canvas.page_id)
    assert seen == order + [order[-1]]
    assert window.statusBar().currentMessage() == "This is the last page."
    assert window.library_panel.current() == ("page", order[-1])  # the list follows
    window.prev_page_action.trigger()
    assert window.canvas.page_id == order[1]


def test_help_lists_every_shortcut_once_and_no_two_actions_share_keys(window):
    from inknotes.gui.help_dialogs import ShortcutsDialog, shortcut_rows
    menus = [a.menu() for a in window.menuBar().actions() if a.menu() is not None]
    assert [m.title().replace("&", "") for m in menus][-1] == "Help"
    actions = [a for m in menus for a in m.actions()]
    rows = dict(shortcut_rows(actions))
    assert rows["Copy"] == "Ctrl+C" and rows["Paste"] == "Ctrl+V" and rows["Print"] == "Ctrl+P"
    assert rows["Next page"] == "Ctrl+PgDown"
    for tool in window.tools.values():  # every tool's key is listed
        assert tool.label in rows
    keys = [k.toString() for a in window.findChildren(type(actions[0])) for k in a.shortcuts()
            if not k.isEmpty() and a.isEnabled()]
    clash = {k for k in keys if keys.count(k) > 1}
    assert not clash, f"keys bound twice (Qt then runs neither): {clash}"
    dlg = ShortcutsDialog(actions, window)
    assert dlg.table.rowCount() == len(rows)
    dlg.deleteLater()


def test_pages_move_by_drop_by_keys_and_by_menu_and_undo(window, qtbot):
    from PySide6.QtWidgets import QAbstractItemView

    from inknotes.gui.page_tree import ID, KIND, drop_target
    lib, panel = window.library, window.library_panel
    a, b, c = (lib.add_page(PageResult(size=(100, 100), strokes=[], words=[], source=Path(f"{n}.png")),
                            "Physics", created=t) for n, t in (("a", 1.0), ("b", 2.0), ("c", 3.0)))
    maths = panel.new_notebook("Maths")
    panel.refresh()

    def names():
        return [lib.page_info(p).source_name for p in panel.listed_page_ids()]

    assert names() == ["a.png", "b.png", "c.png"]
    items = {it.data(0, ID): it for it in panel._items() if it.data(0, KIND) == "page"}
    # dropping c above a puts it first; dropping onto a notebook puts it last there
    assert drop_target(items[a], QAbstractItemView.AboveItem)[1] == a
    assert drop_target(items[a], QAbstractItemView.BelowItem)[1] == b
    nb_item = next(it for it in panel._items() if it.data(0, KIND) == "notebook" and it.data(0, ID) == maths)
    assert drop_target(nb_item, QAbstractItemView.OnItem) == (maths, None)
    panel.tree.moveRequested.emit(c, *drop_target(items[a], QAbstractItemView.AboveItem))
    assert names() == ["c.png", "a.png", "b.png"]
    panel.select("page", a)
    window.activateWindow()
    qtbot.waitActive(window)
    panel.tree.setFocus()
    qtbot.keyClick(panel.tree, Qt.Key_Up, Qt.AltModifier)
    assert names() == ["a.png", "c.png", "b.png"] and panel.current() == ("page", a)
    qtbot.keyClick(panel.tree, Qt.Key_Up, Qt.AltModifier)  # already first: says so
    assert "already first" in window.statusBar().currentMessage()
    panel.move_page(b, maths)
    assert lib.page_info(b).notebook == "Maths" and names() == ["a.png", "c.png", "b.png"]
    assert [p.id for p in lib.pages(maths)] == [b]
    window.undo_action.trigger()
    window.undo_action.trigger()
    window.undo_action.trigger()
    panel.refresh()
    assert names() == ["a.png", "b.png", "c.png"] and lib.page_info(b).notebook == "Physics"


def test_a_page_dropped_on_another_goes_before_it_and_qt_moves_no_row_itself(window, qtbot):
    from PySide6.QtCore import QMimeData, QPointF
    from PySide6.QtGui import QDropEvent

    from inknotes.gui.page_tree import ID, KIND
    lib, panel = window.library, window.library_panel
    a, b = (lib.add_page(PageResult(size=(100, 100), strokes=[], words=[], source=Path(f"{n}.png")),
                         "Physics", created=t) for n, t in (("a", 1.0), ("b", 2.0)))
    panel.refresh()
    items = {it.data(0, ID): it for it in panel._items() if it.data(0, KIND) == "page"}
    panel.tree.setCurrentItem(items[b])  # the row being dragged
    centre = QPointF(panel.tree.visualItemRect(items[a]).center())
    with qtbot.waitSignal(panel.tree.moveRequested) as sig:
        panel.tree.dropEvent(QDropEvent(centre, Qt.MoveAction, QMimeData(), Qt.LeftButton, Qt.NoModifier))
    assert sig.args[0] == b and sig.args[2] == a
    assert [lib.page_info(p).source_name for p in panel.listed_page_ids()] == ["b.png", "a.png"]


@pytest.mark.skipif(shutil.which("pdfinfo") is None, reason="pdfinfo (poppler-utils) is not installed")
def test_export_of_the_notebook_makes_one_pdf_of_its_pages_only(window, tmp_path):
    lib = window.library
    for n in range(2):
        lib.add_page(PageResult(size=(200, 100), strokes=[Stroke.from_points([[10, 50], [190, 50]], 3.0)],
                                words=[], source=Path(f"phys{n}.png")), "Physics", created=float(n))
    other = lib.add_page(PageResult(size=(200, 100), strokes=[], words=[], source=Path("m.png")), "Maths")
    window.library_panel.refresh()
    window.show_page(lib.pages(lib.page_info(other).notebook_id)[0].id)
    dlg = window.make_export_dialog()
    assert dlg.scope_notebook.text() == "Notebook Maths (1)"
    window.show_page(next(p.id for p in lib.pages() if p.notebook == "Physics"))
    dlg = window.make_export_dialog()
    assert dlg.scope_notebook.text() == "Notebook Physics (2)"
    dlg.scope_notebook.setChecked(True)
    dlg.folder.setText(str(tmp_path))
    dlg.format.setCurrentIndex(dlg.format.findData("pdf"))
    (pdf,) = dlg.export_now()
    assert pdf.name == "Physics.pdf"
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    assert re.search(r"^Pages:\s+2$", info, re.M)
    dlg.deleteLater()
