"""Cut, copy and paste of strokes in the desktop app, through the real (offscreen) clipboard."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("pytestqt")
from PySide6.QtCore import QMimeData  # noqa: E402
from PySide6.QtGui import QGuiApplication  # noqa: E402

from inknotes import clipboard  # noqa: E402
from tests.test_gui import add_lines_page, user_dirs, window  # noqa: E402, F401 - fixtures

__all__ = ["user_dirs", "window"]


def points(win, pid):
    return sorted((tuple(s.stroke.points[0]), tuple(s.stroke.points[-1])) for s in win.library.strokes(pid))


def message(win):
    return win.statusBar().currentMessage()


def test_copy_then_paste_on_another_page_keeps_the_ink_and_undoes_in_one_step(window):
    first = add_lines_page(window, 3)
    window.canvas.set_selection(list(window.canvas.strokes)[:2])
    window.copy_action.trigger()
    assert message(window) == "Copied 2 strokes."
    mime = QGuiApplication.clipboard().mimeData()
    assert mime.hasFormat(clipboard.MIME)
    img = mime.imageData()  # other programs get a picture of the two lines
    assert 400 <= img.width() <= 420 and 100 <= img.height() <= 120
    copied = [window.canvas.strokes[i] for i in window.canvas.selection]

    second = add_lines_page(window, 3)
    before = points(window, second)
    window.paste_action.trigger()
    assert message(window) == "Pasted 2 strokes."
    now = window.library.strokes(second)
    assert len(now) == 5
    pasted = [s.stroke for s in now if s.tool == "paste"]
    assert len(pasted) == 2
    by_y = lambda s: s.points[0, 1]  # noqa: E731
    for a, b in zip(sorted(copied, key=by_y), sorted(pasted, key=by_y), strict=True):
        # another page: same place, same widths and colour
        assert np.allclose(a.points, b.points, atol=1e-3) and np.allclose(a.width, b.width, atol=1e-3)
        assert a.color == b.color
    assert sorted(window.canvas.selection) == sorted(s.id for s in now if s.tool == "paste")
    assert window.library.undo_text() == "Paste 2 strokes"
    window.undo_action.trigger()
    assert points(window, second) == before
    assert len(window.library.strokes(first)) == 3  # the page copied from never changed


def test_paste_on_a_smaller_page_moves_the_ink_onto_it_unscaled(window):
    add_lines_page(window, 3)  # lines at y = 100, 200, 300 on a 600 x 400 page
    window.canvas.set_selection(list(window.canvas.strokes))
    window.copy_action.trigger()
    small = add_lines_page(window, 1)  # 600 x 200
    window.paste_action.trigger()
    pasted = [s.stroke for s in window.library.strokes(small) if s.tool == "paste"]
    boxes = np.array([s.bbox() for s in pasted])
    assert boxes[:, 1].min() >= 0  # all of it on the page: moved up, the top line at the top edge
    assert boxes[:, 1].min() == pytest.approx(0, abs=1e-3)
    ys = sorted(float(s.points[0, 1]) for s in pasted)
    assert np.allclose(np.diff(ys), 100)  # not squeezed


def test_paste_on_the_same_page_lands_beside_the_original_each_time_further(window):
    pid = add_lines_page(window, 1)
    (sid,) = window.canvas.strokes
    x0, y0 = window.canvas.strokes[sid].points[0]
    window.canvas.set_selection([sid])
    window.copy_action.trigger()
    window.paste_action.trigger()
    window.paste_action.trigger()
    starts = sorted(tuple(np.round(s.stroke.points[0], 2)) for s in window.library.strokes(pid))
    step = clipboard.PASTE_OFFSET
    assert starts == [(x0, y0), (x0 + step, y0 + step), (x0 + 2 * step, y0 + 2 * step)]


def test_cut_removes_the_strokes_and_paste_brings_them_back(window):
    pid = add_lines_page(window, 3)
    ids = list(window.canvas.strokes)[:1]
    original = points(window, pid)
    window.canvas.set_selection(ids)
    window.cut_action.trigger()
    assert len(window.library.strokes(pid)) == 2
    assert window.library.undo_text() == "Cut 1 stroke"
    window.paste_action.trigger()  # the original is gone: back where it was
    assert points(window, pid) == original
    window.undo_action.trigger()
    window.undo_action.trigger()
    assert points(window, pid) == original


@pytest.mark.parametrize("payload", [None, b"", b"not json",
                                     b'{"format": "inknotes-strokes", "strokes": [{}]}',
                                     b'{"format": "inknotes-strokes", "strokes": [{"points": [[1, 2]], '
                                     b'"width": [NaN], "time": [0], "color": "#000000"}]}'])
def test_paste_of_something_else_says_so_and_changes_nothing(window, payload):
    pid = add_lines_page(window, 2)
    before = points(window, pid)
    data = QMimeData()
    if payload is None:
        data.setText("a shopping list")
    else:
        data.setData(clipboard.MIME, payload)
    QGuiApplication.clipboard().setMimeData(data)
    window.paste_action.trigger()
    assert points(window, pid) == before
    assert not window.library.can_undo()
    expected = "holds no strokes" if payload is None else "does not hold inknotes strokes"
    assert expected in message(window)


def test_paste_onto_a_locked_layer_page_is_refused_in_one_sentence(window):
    pid = add_lines_page(window, 1)
    window.canvas.set_selection(list(window.canvas.strokes))
    window.copy_action.trigger()
    for layer in window.library.layers(pid):
        window.library.set_layer_locked(layer.id, True)
    window.show_page(pid)
    window.paste_action.trigger()
    assert len(window.library.strokes(pid)) == 1
    assert "locked" in message(window)


def test_copy_with_nothing_selected_leaves_the_clipboard_alone(window):
    add_lines_page(window, 1)
    QGuiApplication.clipboard().setText("keep me")
    window.canvas.set_selection([])
    window.copy_action.trigger()
    assert QGuiApplication.clipboard().text() == "keep me"
    assert message(window) == "Select strokes to copy first."
