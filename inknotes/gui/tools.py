"""Canvas tools. A tool collects a drag on the canvas (drawing a live preview) and makes ONE
library call on release, so one drag is one undo step."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainterPath, QPen, QTransform

from ..ink import PEN_UP_MS, Stroke, resample
from .paths import make_pen, polylines_path

PICK_PX = 6.0  # click tolerance in screen pixels


@dataclass
class ToolOptions:
    """What the toolbar sets and the tools read."""

    color: str = "#d62728"
    width: float = 3.0
    eraser_px: float = 10.0  # eraser radius in screen pixels


def _xy(p: QPointF) -> tuple[float, float]:
    return (float(p.x()), float(p.y()))


class Tool:
    name = ""
    label = ""
    shortcut = ""
    tip = ""
    cursor = Qt.CrossCursor

    def __init__(self, options: ToolOptions):
        self.options = options
        self.points: list[tuple[float, float]] = []

    def press(self, canvas: Any, pos: QPointF, mods: Any) -> None:
        self.points = [_xy(pos)]

    def move(self, canvas: Any, pos: QPointF, mods: Any) -> None:
        self.points.append(_xy(pos))
        self.preview(canvas)

    def release(self, canvas: Any, pos: QPointF, mods: Any) -> None:
        self.points.append(_xy(pos))
        canvas.set_preview(None)
        try:
            self.finish(canvas, np.asarray(self.points, np.float32), mods)
        finally:
            self.points = []

    def cancel(self, canvas: Any) -> None:
        self.points = []
        canvas.set_preview(None)

    def preview(self, canvas: Any) -> None:
        pass

    def finish(self, canvas: Any, path: np.ndarray, mods: Any) -> None:
        pass

    @staticmethod
    def pick_radius(canvas: Any) -> float:
        return PICK_PX / max(canvas.zoom, 1e-3)

    @staticmethod
    def is_click(canvas: Any, path: np.ndarray) -> bool:
        return float(np.abs(path - path[0]).max()) * canvas.zoom < 4


class SelectTool(Tool):
    name, label, shortcut = "select", "Select", "V"
    tip = "Click a stroke, or drag a rectangle; Shift adds to the selection"
    cursor = Qt.ArrowCursor

    def preview(self, canvas: Any) -> None:
        (x0, y0), (x1, y1) = self.points[0], self.points[-1]
        path = QPainterPath()
        path.addRect(QRectF(QPointF(x0, y0), QPointF(x1, y1)).normalized())
        pen = QPen(QColor(40, 120, 255), 0, Qt.DashLine)
        pen.setCosmetic(True)
        canvas.set_preview(path, pen, QBrush(QColor(40, 120, 255, 30)))

    def finish(self, canvas: Any, path: np.ndarray, mods: Any) -> None:
        lib, page = canvas.library, canvas.page_id
        if self.is_click(canvas, path):
            ids = lib.strokes_at(page, float(path[-1, 0]), float(path[-1, 1]), self.pick_radius(canvas))
            ids = ids[:1]  # the topmost one
        else:
            (x0, y0), (x1, y1) = path.min(0), path.max(0)
            ids = lib.strokes_in_rect(page, (float(x0), float(y0), float(x1), float(y1)))
        self.select(canvas, ids, mods)

    @staticmethod
    def select(canvas: Any, ids: Any, mods: Any) -> None:
        """Select the editable ones of ``ids``; Shift adds them to the current selection."""
        ids = canvas.editable_ids(list(ids))
        if mods & Qt.ShiftModifier:
            ids = canvas.selection + ids
        canvas.set_selection(ids)


class LassoTool(SelectTool):
    name, label, shortcut = "lasso", "Lasso", "L"
    tip = "Draw around strokes; a stroke partly inside is selected whole"

    def preview(self, canvas: Any) -> None:
        path = polylines_path([np.asarray(self.points + self.points[:1])])
        pen = QPen(QColor(40, 120, 255), 0, Qt.DashLine)
        pen.setCosmetic(True)
        canvas.set_preview(path, pen, QBrush(QColor(40, 120, 255, 30)))

    def finish(self, canvas: Any, path: np.ndarray, mods: Any) -> None:
        if len(path) < 3 or self.is_click(canvas, path):
            return SelectTool.finish(self, canvas, path, mods)
        self.select(canvas, canvas.library.strokes_in_lasso(canvas.page_id, path), mods)


class StrokeEraserTool(Tool):
    name, label, shortcut = "stroke_eraser", "Stroke eraser", "E"
    tip = "Removes every stroke the eraser touches"
    mode = "whole"

    def radius(self, canvas: Any) -> float:
        return self.options.eraser_px / max(canvas.zoom, 1e-3)

    def preview(self, canvas: Any) -> None:
        pen = make_pen(QColor(255, 80, 80, 90), 2 * self.radius(canvas))
        canvas.set_preview(polylines_path([np.asarray(self.points)]), pen)

    def finish(self, canvas: Any, path: np.ndarray, mods: Any) -> None:
        r = self.radius(canvas)
        before = canvas.library.undo_text()
        canvas.editor.apply(canvas.library.erase, canvas.page_id, path, r, mode=self.mode)
        if canvas.library.undo_text() == before:  # nothing erased: say so when a lock is why
            locked = _locked_layer_under(canvas, np.asarray(path, np.float64).reshape(-1, 2), r)
            if locked:
                canvas.editor.failed.emit(f"The layer {locked} is locked; unlock it to erase there.")


def _locked_layer_under(canvas: Any, path: np.ndarray, r: float) -> str | None:
    """The name of a visible, locked layer with a stroke within ``r`` of the eraser's path."""
    names = {lay.id: lay.name for lay in canvas.layers if lay.visible and lay.locked}
    if names and len(path) > 1:  # the eraser's path, not only its corners (a quick drag has few)
        path = resample(path, max(r / 2, 0.5))
    for sid, lid in canvas.stroke_layer.items():
        if lid in names and sid in canvas.strokes and len(path):
            pts = np.asarray(canvas.strokes[sid].points, np.float64)
            d2 = ((pts[:, None, :] - path[None, :, :]) ** 2).sum(-1)
            if float(d2.min()) <= r * r:
                return names[lid]
    return None


class PointEraserTool(StrokeEraserTool):
    name, label, shortcut = "point_eraser", "Point eraser", "X"
    tip = "Cuts away only what the eraser covers, splitting strokes"
    mode = "split"


class RecolorTool(Tool):
    name, label, shortcut = "recolor", "Recolour", "C"
    tip = "Click strokes to give them the current colour"
    cursor = Qt.PointingHandCursor

    def finish(self, canvas: Any, path: np.ndarray, mods: Any) -> None:
        r = self.pick_radius(canvas)
        ids: list[int] = []
        for x, y in path[:: max(1, len(path) // 50)]:
            ids += canvas.library.strokes_at(canvas.page_id, float(x), float(y), r)
        ids = canvas.editable_ids(list(dict.fromkeys(ids)))
        if ids and set(ids) & set(canvas.selection):
            ids = canvas.selection
        if ids:
            canvas.editor.apply(canvas.library.recolor, ids, self.options.color)


class MoveTool(Tool):
    name, label, shortcut = "move", "Move / scale", "M"
    tip = "Drag the selection to move it; Shift+drag up/down scales it"
    cursor = Qt.SizeAllCursor

    def _matrix(self, canvas: Any, mods: Any) -> np.ndarray:
        (x0, y0), (x1, y1) = self.points[0], self.points[-1]
        if mods & Qt.ShiftModifier:
            s = float(2.0 ** (-(y1 - y0) * canvas.zoom / 200.0))
            c = canvas.selection_rect().center()
            cx, cy = c.x(), c.y()
            return np.array([[s, 0, cx - s * cx], [0, s, cy - s * cy]], np.float64)
        return np.array([[1, 0, x1 - x0], [0, 1, y1 - y0]], np.float64)

    def move(self, canvas: Any, pos: QPointF, mods: Any) -> None:
        self.points.append(_xy(pos))
        m = self._matrix(canvas, mods)
        t = QTransform(m[0, 0], m[1, 0], m[0, 1], m[1, 1], m[0, 2], m[1, 2])
        for item in (canvas._sel_item, canvas._sel_box):
            if item is not None:
                item.setTransform(t)

    def release(self, canvas: Any, pos: QPointF, mods: Any) -> None:
        self.points.append(_xy(pos))
        if canvas.selection and not self.is_click(canvas, np.asarray(self.points)):
            m = self._matrix(canvas, mods)
            canvas.editor.apply(canvas.library.transform, list(canvas.selection), m)
        else:
            canvas._draw_selection()  # a click: put the selection back where it was
        self.points = []


class PenTool(Tool):
    name, label, shortcut = "pen", "Pen", "P"
    tip = "Draw a stroke by hand on the current layer"

    def preview(self, canvas: Any) -> None:
        canvas.set_preview(polylines_path([np.asarray(self.points)]),
                           make_pen(self.options.color, self.options.width))

    def finish(self, canvas: Any, path: np.ndarray, mods: Any) -> None:
        chosen = next((lay for lay in canvas.layers if lay.id == canvas.active_layer_id), None)
        if chosen is not None and chosen.locked:  # never slip the ink onto another layer
            canvas.editor.failed.emit(f"The layer {chosen.name} is locked; unlock it to draw on it.")
            return
        layer = canvas.active_layer()
        if layer is None:
            canvas.editor.failed.emit("Add or unlock an ink layer before drawing.")
            return
        # new ink is written after everything already on the page, so replay shows it last
        t0 = max((float(s.time[-1]) for s in canvas.strokes.values() if len(s.time)), default=-PEN_UP_MS)
        stroke = Stroke.from_points(path, self.options.width, self.options.color, t0=t0 + PEN_UP_MS)
        canvas.editor.apply(canvas.library.add_stroke, canvas.page_id, layer, stroke)


TOOLS = [SelectTool, LassoTool, StrokeEraserTool, PointEraserTool, RecolorTool, MoveTool, PenTool]
