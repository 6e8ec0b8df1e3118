"""Stroke-order replay: the page's strokes drawn again in their recorded order and timing,
coloured from cool to warm by order as in InkSight's figures, over a dimmed page."""
from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QRectF, Qt, QVariantAnimation, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPixmapItem

from ..ink import Stroke
from .paths import make_pen, polylines_path, render_strokes, rgba_to_pixmap, stroke_width

MAX_SECONDS = 12.0  # long pages play faster so a replay never drags on
RASTER = 2048  # longest side of the replay raster, pixels


def order_color(i: int, n: int) -> QColor:
    """Stroke ``i`` of ``n``: hue runs from blue (first) through green to red (last)."""
    t = i / max(n - 1, 1)
    return QColor.fromHsvF(0.66 * (1 - t), 0.85, 0.9)


class ReplayItem(QGraphicsItem):
    """Draws every stroke up to time ``t``: finished strokes accumulate in a raster (so a
    page of thousands of strokes replays smoothly), the stroke being written is a vector."""

    def __init__(self, strokes: list[Stroke], page_size: tuple[int, int]):
        super().__init__()
        ordered = sorted((s for s in strokes if len(s)), key=lambda s: float(s.time[0]))
        n = len(ordered)
        self.strokes = [s.with_color(order_color(i, n).name()) for i, s in enumerate(ordered)]
        self.starts = np.array([float(s.time[0]) for s in self.strokes]) if n else np.zeros(0)
        self.ends = np.maximum.accumulate(np.array([float(s.time[-1]) for s in self.strokes])) \
            if n else np.zeros(0)
        w, h = page_size
        self.scale = min(1.0, RASTER / max(w, h, 1))
        self.size = (int(w * self.scale) + 1, int(h * self.scale) + 1)
        self._rect = QRectF(0, 0, w, h)
        self.canvas_img = np.zeros((self.size[1], self.size[0], 4), np.uint8)
        self.drawn = 0
        self.raster = QGraphicsPixmapItem(self)
        self.raster.setScale(1.0 / self.scale)
        self.raster.setTransformationMode(Qt.SmoothTransformation)
        self.t = float(self.starts[0]) if n else 0.0
        self.setZValue(2e5)

    @property
    def duration(self) -> float:
        return float(self.ends[-1] - self.starts[0]) if len(self.ends) else 0.0

    def set_time(self, t: float) -> None:
        self.t = t
        done = int(np.searchsorted(self.ends, t, side="right"))
        if done < self.drawn:
            self.canvas_img[:] = 0
            self.drawn = 0
        if done > self.drawn:
            render_strokes(self.strokes[self.drawn:done], self.scale, self.size, out=self.canvas_img)
            self.drawn = done
            self.raster.setPixmap(rgba_to_pixmap(self.canvas_img))
        self.update()

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter: QPainter, option: Any, widget: Any = None) -> None:
        if self.drawn < len(self.strokes) and self.starts[self.drawn] <= self.t:
            s = self.strokes[self.drawn]
            k = int(np.searchsorted(s.time, self.t, side="right"))
            if k >= 1:
                painter.setRenderHint(QPainter.Antialiasing)
                painter.setPen(make_pen(s.color, stroke_width(s) + 0.5))
                painter.drawPath(polylines_path([s.points[:k]]))


class Replay(QObject):
    """Plays a ReplayItem on a canvas; the canvas's own ink is hidden while it runs."""

    finished = Signal()

    def __init__(self, canvas: Any, parent: QObject | None = None):
        super().__init__(parent)
        self.canvas = canvas
        self.item: ReplayItem | None = None
        self.anim = QVariantAnimation(self)
        self.anim.valueChanged.connect(self._on_value)
        self.anim.finished.connect(self.stop)

    @property
    def running(self) -> bool:
        return self.item is not None

    def start(self, speed: float = 1.0) -> bool:
        self.stop()
        shown = {lay.id for lay in self.canvas.layers if lay.kind == "ink" and lay.visible}
        strokes = [s for sid, s in self.canvas.strokes.items() if self.canvas.stroke_layer.get(sid) in shown]
        if not strokes:
            return False
        self.item = ReplayItem(strokes, self.canvas.page_size)
        self.canvas.scene().addItem(self.item)
        self._set_ink_visible(False)
        seconds = min(self.item.duration / 1000.0 / speed, MAX_SECONDS)
        self.anim.setStartValue(float(self.item.starts[0]))
        self.anim.setEndValue(float(self.item.ends[-1]))
        self.anim.setDuration(max(500, int(seconds * 1000)))
        self.anim.start()
        return True

    def seek(self, fraction: float) -> None:
        """Jump to a point of the replay (0..1), e.g. to show it half written."""
        if self.item is not None:
            self.anim.pause()
            self.item.set_time(float(self.item.starts[0]) + fraction * self.item.duration)

    def _on_value(self, value: Any) -> None:
        if self.item is not None:
            self.item.set_time(float(value))

    def stop(self) -> None:
        if self.anim.state() != QVariantAnimation.Stopped:
            self.anim.stop()
        if self.item is not None:
            if self.item.scene() is not None:
                self.item.scene().removeItem(self.item)
            self.item = None
            self._set_ink_visible(True)
            self.finished.emit()

    def _set_ink_visible(self, visible: bool) -> None:
        for lid, item in self.canvas.layer_items.items():
            layer = next((lay for lay in self.canvas.layers if lay.id == lid), None)
            if layer is None:
                continue
            if layer.kind == "ink":
                item.setVisible(visible and bool(layer.visible))
            else:
                item.setOpacity(float(layer.opacity) * (1.0 if visible else 0.35))
