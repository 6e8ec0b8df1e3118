"""The page canvas: the scan under its ink layers, zoom and pan, and a place for tools.

Each ink layer is rasterised once with OpenCV (antialiased, at up to 4096 px per side), so
panning and zooming a page of 20,000 strokes only moves a pixmap; once the view settles
beyond the raster's resolution, the visible strokes are re-rendered sharp at screen
resolution. The canvas never owns the truth: it re-reads the library after every edit.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsView,
    QPinchGesture,
)

from ..ink import Stroke
from .paths import make_pen, median_widths, polylines_path, render_strokes, rgba_to_pixmap, stroke_boxes

log = logging.getLogger(__name__)
MAX_RASTER = 4096  # longest side of a layer's base raster, pixels
SELECT_COLOR = QColor(40, 120, 255, 110)


class BatchItem(QGraphicsItem):
    """A few (pen, path) pairs drawn as vectors: the selection, nothing large."""

    def __init__(self, groups: list[tuple[QPen, QPainterPath]], parent: QGraphicsItem | None = None):
        super().__init__(parent)
        self.groups = groups
        rect = QRectF()
        for pen, path in groups:
            m = pen.widthF()
            rect = rect.united(path.controlPointRect().adjusted(-m, -m, m, m))
        self._rect = rect

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter: QPainter, option: Any, widget: Any = None) -> None:
        painter.setRenderHint(QPainter.Antialiasing, True)
        painter.setBrush(Qt.NoBrush)
        for pen, path in self.groups:
            painter.setPen(pen)
            painter.drawPath(path)


class LayerItem(QGraphicsItem):
    """An empty parent whose visibility, opacity and z apply to one layer's pixmaps."""

    def boundingRect(self) -> QRectF:
        return QRectF()

    def paint(self, painter: QPainter, option: Any, widget: Any = None) -> None:
        pass


@dataclass
class InkRaster:
    """One ink layer rendered to pixels: plain numpy, so it is made on a worker thread."""

    strokes: list[Stroke]
    boxes: np.ndarray  # (N, 4) x0, y0, x1, y1 per stroke, for picking what to sharpen
    image: np.ndarray | None  # premultiplied RGBA
    origin: tuple[float, float]
    scale: float

    @classmethod
    def render(cls, strokes: list[Stroke], page_size: tuple[int, int]) -> InkRaster:
        strokes = [s for s in strokes if len(s)]
        boxes = stroke_boxes(strokes)
        w, h = page_size
        x0 = min(0.0, float(boxes[:, 0].min())) if len(boxes) else 0.0
        y0 = min(0.0, float(boxes[:, 1].min())) if len(boxes) else 0.0
        x1 = max(float(w), float(boxes[:, 2].max())) if len(boxes) else float(w)
        y1 = max(float(h), float(boxes[:, 3].max())) if len(boxes) else float(h)
        scale = min(2.0, MAX_RASTER / max(x1 - x0, y1 - y0, 1.0))
        size = (int(np.ceil((x1 - x0) * scale)) + 1, int(np.ceil((y1 - y0) * scale)) + 1)
        image = render_strokes(strokes, scale, size, (x0, y0)) if strokes else None
        return cls(strokes, boxes, image, (x0, y0), scale)


@dataclass
class PageData:
    """Everything the canvas shows for one page, read and rasterised off the UI thread."""

    page_id: int
    size: tuple[int, int]
    layers: list[Any]
    stored: list[Any]
    image: np.ndarray | None
    rasters: dict[int, InkRaster] = field(default_factory=dict)


def load_page(library: Any, page_id: int) -> PageData:
    """Read a page's layers, strokes and scan and rasterise its ink layers (worker-safe)."""
    info = library.page_info(page_id)
    size = (int(info.width), int(info.height))
    layers = sorted(library.layers(page_id), key=lambda lay: lay.order)
    stored = library.strokes(page_id)
    by_layer: dict[int, list[Stroke]] = defaultdict(list)
    for st in stored:
        by_layer[st.layer_id].append(st.stroke)
    image = library.page_image(page_id) if any(lay.kind == "image" for lay in layers) else None
    rasters = {lay.id: InkRaster.render(by_layer.get(lay.id, []), size)
               for lay in layers if lay.kind == "ink"}
    return PageData(page_id, size, layers, stored, image, rasters)


class InkLayerItem(LayerItem):
    """One ink layer: a base raster of all its strokes, plus a sharp screen-resolution
    raster of the visible strokes when zoomed in beyond the base."""

    def __init__(self, raster: InkRaster):
        super().__init__()
        self.strokes, self.boxes, self.scale = raster.strokes, raster.boxes, raster.scale
        self.raster = raster
        self.base = QGraphicsPixmapItem(self)
        self.base.setTransformationMode(Qt.SmoothTransformation)
        self.base.setShapeMode(QGraphicsPixmapItem.BoundingRectShape)
        if raster.image is not None:
            self.base.setPixmap(rgba_to_pixmap(raster.image))
        self.base.setPos(*raster.origin)
        self.base.setScale(1.0 / self.scale)
        self.sharp = QGraphicsPixmapItem(self)
        self.sharp.setTransformationMode(Qt.SmoothTransformation)
        self.sharp.hide()

    def patch(self, strokes: list[Stroke], dirty: tuple[float, float, float, float]) -> bool:
        """Take the layer's new strokes and redraw only the ``dirty`` page rectangle of the
        base raster. False when the change does not fit the raster (caller rebuilds)."""
        img = self.raster.image
        if img is None:
            return False
        strokes = [s for s in strokes if len(s)]
        boxes = stroke_boxes(strokes)
        ox, oy = self.raster.origin
        sc = self.scale
        h, w = img.shape[:2]
        if len(boxes) and (boxes[:, 0].min() < ox or boxes[:, 1].min() < oy or
                           (boxes[:, 2].max() - ox) * sc >= w or (boxes[:, 3].max() - oy) * sc >= h):
            return False  # ink moved off the raster
        x0, y0, x1, y1 = dirty
        ix0, iy0 = max(0, int((x0 - ox) * sc) - 2), max(0, int((y0 - oy) * sc) - 2)
        ix1, iy1 = min(w, int(np.ceil((x1 - ox) * sc)) + 3), min(h, int(np.ceil((y1 - oy) * sc)) + 3)
        if ix1 <= ix0 or iy1 <= iy0:
            self.strokes, self.boxes, self.raster.strokes, self.raster.boxes = strokes, boxes, strokes, boxes
            return True
        px0, py0 = ox + ix0 / sc, oy + iy0 / sc
        px1, py1 = ox + ix1 / sc, oy + iy1 / sc
        near = (boxes[:, 2] >= px0) & (boxes[:, 0] <= px1) & (boxes[:, 3] >= py0) & (boxes[:, 1] <= py1)
        chosen = [strokes[i] for i in np.nonzero(near)[0]]
        part = render_strokes(chosen, sc, (ix1 - ix0, iy1 - iy0), (px0, py0))
        img[iy0:iy1, ix0:ix1] = part
        pix = self.base.pixmap()
        painter = QPainter(pix)
        painter.setCompositionMode(QPainter.CompositionMode_Source)
        part = np.ascontiguousarray(part)
        painter.drawImage(ix0, iy0, QImage(part.data, part.shape[1], part.shape[0], 4 * part.shape[1],
                                           QImage.Format_RGBA8888_Premultiplied))
        painter.end()
        self.base.setPixmap(pix)
        self.strokes, self.boxes, self.raster.strokes, self.raster.boxes = strokes, boxes, strokes, boxes
        return True

    def sharpen(self, rect: QRectF, zoom: float) -> None:
        """Render the strokes inside ``rect`` (page coords) at ``zoom`` screen px per page px."""
        b = self.boxes
        near = (b[:, 2] >= rect.left()) & (b[:, 0] <= rect.right()) & \
            (b[:, 3] >= rect.top()) & (b[:, 1] <= rect.bottom())
        chosen = [self.strokes[i] for i in np.nonzero(near)[0]]
        size = (int(rect.width() * zoom) + 2, int(rect.height() * zoom) + 2)
        self.sharp.setPixmap(rgba_to_pixmap(render_strokes(chosen, zoom, size, (rect.x(), rect.y()))))
        self.sharp.setPos(rect.topLeft())
        self.sharp.setScale(1.0 / zoom)
        self.sharp.show()
        self.base.hide()

    def blur(self) -> None:
        if self.sharp.isVisible():
            self.sharp.hide()
            self.base.show()


def rgb_to_pixmap(rgb: np.ndarray) -> QPixmap:
    rgb = np.ascontiguousarray(rgb[..., :3], np.uint8)
    h, w = rgb.shape[:2]
    img = QImage(rgb.data, w, h, 3 * w, QImage.Format_RGB888)
    return QPixmap.fromImage(img.copy())


def _same(a: Stroke, b: Stroke) -> bool:
    """Same look on the page (bytes compare: far cheaper than array_equal 20,000 times)."""
    return a.color == b.color and a.points.tobytes() == b.points.tobytes() and \
        a.width.tobytes() == b.width.tobytes()


class PageCanvas(QGraphicsView):
    """Shows one library page; hands mouse input to the current tool."""

    selectionChanged = Signal(list)
    _loaded = Signal(object, object)
    pageShown = Signal(object)
    zoomChanged = Signal(float)

    def __init__(self, parent: Any = None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHints(QPainter.Antialiasing | QPainter.SmoothPixmapTransform)
        self.setTransformationAnchor(QGraphicsView.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.SmartViewportUpdate)
        self.setOptimizationFlags(QGraphicsView.DontSavePainterState)
        self.setBackgroundBrush(QColor(0x60, 0x63, 0x68))
        self.setMouseTracking(True)
        self.viewport().grabGesture(Qt.PinchGesture)
        self.library: Any = None
        self.editor: Any = None
        self.page_id: int | None = None
        self.page_size = (0, 0)
        self.strokes: dict[int, Stroke] = {}
        self.stroke_layer: dict[int, int] = {}
        self.layers: list[Any] = []
        self.layer_items: dict[int, LayerItem] = {}
        self.selection: list[int] = []
        self.active_layer_id: int | None = None
        self.tool: Any = None
        self._sel_item: BatchItem | None = None
        self._sel_box: QGraphicsRectItem | None = None
        self._image_item: QGraphicsPixmapItem | None = None
        self._paper: QGraphicsRectItem | None = None
        self._highlight: QGraphicsRectItem | None = None
        self._space = False
        self._panning: QPointF | None = None
        self._loaded.connect(self._on_loaded)
        self._sharp_on = False
        self._sharpen_timer = QTimer(self, singleShot=True, interval=150)
        self._sharpen_timer.timeout.connect(self.sharpen)
        self.preview = QGraphicsPathItem()
        self.preview.setZValue(1e6)

    # ---- page loading -------------------------------------------------------------------
    def set_library(self, library: Any, editor: Any) -> None:
        self.library, self.editor = library, editor
        self.show_page(None)

    def show_page(self, page_id: int | None, pool: Any = None) -> None:
        """Load a page (or clear the canvas) and fit it to the window width; with ``pool``
        the page is read and rasterised there and appears when ready."""
        first = page_id != self.page_id
        self.page_id = page_id
        had_selection, self.selection = bool(self.selection), []
        self._highlight = None
        if had_selection:  # what shows the selection (the status bar) lets go of it too
            self.selectionChanged.emit([])
        if pool is not None:
            self.load_in_background(pool)
            return
        self.reload()
        if first:
            self.fit_width()
        self.pageShown.emit(page_id)

    def reload(self) -> None:
        """Re-read the page from the library and rebuild the scene (on the UI thread)."""
        data = load_page(self.library, self.page_id) if self.library is not None and \
            self.page_id is not None else None
        self._build(data)

    def refresh_after_edit(self) -> None:
        """Bring the view up to date after an edit, redrawing only what changed when the
        layers are the same (a full rebuild otherwise): edits stay quick on huge pages."""
        if self.library is None or self.page_id is None:
            return self.reload()
        layers = sorted(self.library.layers(self.page_id), key=lambda lay: lay.order)
        if [(lay.id, lay.kind) for lay in layers] != [(lay.id, lay.kind) for lay in self.layers]:
            return self.reload()
        stored = self.library.strokes(self.page_id)
        new = {st.id: st for st in stored}
        dirty: dict[int, list[tuple[float, float, float, float]]] = defaultdict(list)
        for sid, stroke in self.strokes.items():
            st = new.get(sid)
            if st is None or st.layer_id != self.stroke_layer[sid] or not _same(st.stroke, stroke):
                dirty[self.stroke_layer[sid]].append(stroke.bbox())
                if st is not None:
                    dirty[st.layer_id].append(st.stroke.bbox())
        for sid, st in new.items():
            if sid not in self.strokes:
                dirty[st.layer_id].append(st.stroke.bbox())
        by_layer: dict[int, list[Stroke]] = defaultdict(list)
        for st in stored:
            by_layer[st.layer_id].append(st.stroke)
        for lid, boxes in dirty.items():
            item = self.layer_items.get(lid)
            b = np.array(boxes, np.float32)
            rect = (float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max()))
            if not isinstance(item, InkLayerItem) or not item.patch(by_layer.get(lid, []), rect):
                return self.reload()
        self.strokes = {st.id: st.stroke for st in stored}
        self.stroke_layer = {st.id: st.layer_id for st in stored}
        self.refresh_layers()
        self.selection = [i for i in self.selection if i in self.strokes]
        self._draw_selection()
        if self._sharp_on:
            self.sharpen()

    def load_in_background(self, pool: Any) -> None:
        """Read and rasterise the current page on ``pool``; the view stays responsive meanwhile."""
        page_id, library = self.page_id, self.library
        self._build(None)
        self.page_id = page_id
        if page_id is None:
            return
        self._loading_text = self.scene().addText("Loading page…")
        self._loading_text.setDefaultTextColor(Qt.white)
        job = pool.submit(lambda ctx: load_page(library, page_id), name="load page")
        job.future.add_done_callback(
            lambda f: self._loaded.emit(page_id, None if f.exception() else f.result()))

    def _on_loaded(self, page_id: int, data: PageData | None) -> None:
        if page_id != self.page_id:
            return  # the user moved on to another page meanwhile
        if data is None:
            self.reload()  # let the error surface here, on the UI thread
        else:
            self._build(data)
        self.fit_width()
        self.pageShown.emit(page_id)

    def _build(self, data: PageData | None) -> None:
        scene = self.scene()
        if self.preview.scene():
            scene.removeItem(self.preview)
        highlight = self._highlight.rect() if self._highlight is not None else None
        scene.clear()
        self._sharp_on = False
        self.layer_items.clear()
        self._sel_item = self._sel_box = self._image_item = self._paper = self._highlight = None
        self.strokes, self.stroke_layer, self.layers = {}, {}, []
        scene.addItem(self.preview)
        if data is None:
            if self.library is not None and self.page_id is None:
                hint = scene.addText("Drop photos or scans of\nhandwritten pages here,\n"
                                     "or use File → Import.")
                hint.setDefaultTextColor(QColor(235, 235, 235))
                font = hint.font()
                font.setPointSize(12)
                hint.setFont(font)
                scene.setSceneRect(hint.boundingRect())
                self.resetTransform()
            else:
                scene.setSceneRect(QRectF(0, 0, 1, 1))
            return
        w, h = data.size
        self.page_size = (w, h)
        self._paper = scene.addRect(QRectF(0, 0, w, h), QPen(Qt.NoPen), QBrush(Qt.white))
        self._paper.setZValue(-2)
        self.layers = data.layers
        for st in data.stored:
            self.strokes[st.id] = st.stroke
            self.stroke_layer[st.id] = st.layer_id
        for z, layer in enumerate(self.layers):
            if layer.kind == "image":
                if data.image is None:
                    continue
                item = QGraphicsPixmapItem(rgb_to_pixmap(data.image))
                item.setTransformationMode(Qt.SmoothTransformation)
                item.setZValue(z)
                scene.addItem(item)
                self._image_item = item
                self.layer_items[layer.id] = item  # type: ignore[assignment]
            else:
                ink = InkLayerItem(data.rasters[layer.id])
                ink.setZValue(z)
                scene.addItem(ink)
                self.layer_items[layer.id] = ink
        self.refresh_layers()
        margin = max(w, h) * 0.05
        scene.setSceneRect(QRectF(-margin, -margin, w + 2 * margin, h + 2 * margin))
        self.selection = [i for i in self.selection if i in self.strokes]
        self._draw_selection()
        if highlight is not None:
            self.highlight_box((highlight.x(), highlight.y(), highlight.width(), highlight.height()))
        self._sharpen_timer.start()

    def refresh_layers(self) -> None:
        """Apply each layer's visible flag and opacity without re-reading strokes."""
        if self.library is None or self.page_id is None:
            return
        for layer in self.library.layers(self.page_id):
            item = self.layer_items.get(layer.id)
            if item is not None:
                item.setVisible(bool(layer.visible))
                item.setOpacity(float(layer.opacity))
        self.layers = sorted(self.library.layers(self.page_id), key=lambda lay: lay.order)

    # ---- selection and highlights --------------------------------------------------------
    def editable_ids(self, ids: list[int]) -> list[int]:
        """Ids on visible, unlocked layers (locked layers are never edited)."""
        ok = {lay.id for lay in self.layers if lay.visible and not lay.locked}
        return [i for i in ids if self.stroke_layer.get(i) in ok]

    def active_layer(self) -> int | None:
        """The layer new ink goes to: the chosen one, else the top unlocked ink layer."""
        ink = [lay for lay in self.layers if lay.kind == "ink" and not lay.locked]
        for lay in ink:
            if lay.id == self.active_layer_id:
                return lay.id
        return ink[-1].id if ink else None

    def set_selection(self, ids: list[int]) -> None:
        self.selection = [i for i in dict.fromkeys(ids) if i in self.strokes]
        self._draw_selection()
        self.selectionChanged.emit(list(self.selection))

    def _draw_selection(self) -> None:
        for item in (self._sel_item, self._sel_box):
            if item is not None and item.scene():
                self.scene().removeItem(item)
        self._sel_item = self._sel_box = None
        if not self.selection:
            return
        polys = [self.strokes[i].points for i in self.selection]
        width = float(median_widths([self.strokes[i] for i in self.selection]).max()) + 6
        path = polylines_path(polys)
        self._sel_item = BatchItem([(make_pen(SELECT_COLOR, width), path)])
        self._sel_item.setZValue(1e5)
        self.scene().addItem(self._sel_item)
        box = self.selection_rect()
        pen = QPen(QColor(40, 120, 255), 0, Qt.DashLine)
        pen.setCosmetic(True)
        self._sel_box = self.scene().addRect(box, pen)
        self._sel_box.setZValue(1e5)

    def selection_rect(self) -> QRectF:
        rect = QRectF()
        for i in self.selection:
            x0, y0, x1, y1 = self.strokes[i].bbox()
            rect = rect.united(QRectF(x0, y0, x1 - x0, y1 - y0))
        return rect

    def clear_highlight(self) -> None:
        if self._highlight is not None and self._highlight.scene():
            self.scene().removeItem(self._highlight)
        self._highlight = None

    def highlight_box(self, box: tuple[float, float, float, float]) -> None:
        """Outline a search hit and bring it into view."""
        if self._highlight is not None and self._highlight.scene():
            self.scene().removeItem(self._highlight)
        x, y, w, h = box
        rect = QRectF(x, y, w, h).adjusted(-6, -6, 6, 6)
        self._highlight = self.scene().addRect(rect, QPen(QColor(255, 170, 0), 4),
                                               QBrush(QColor(255, 220, 0, 70)))
        self._highlight.setZValue(9e4)
        self.centerOn(rect.center())

    # ---- zoom and pan --------------------------------------------------------------------
    @property
    def zoom(self) -> float:
        return float(self.transform().m11())

    def set_zoom(self, z: float) -> None:
        z = min(max(z, 0.02), 32.0)
        self._view_moved()
        self.setTransform(self.transform().fromScale(z, z))
        self.zoomChanged.emit(z)

    def _view_moved(self) -> None:
        """Drop sharp rasters while the view moves; re-sharpen once it has settled."""
        if self._sharp_on:
            self._sharp_on = False
            for item in self.layer_items.values():
                if isinstance(item, InkLayerItem):
                    item.blur()
        self._sharpen_timer.start()

    def sharpen(self) -> None:
        """Re-render visible ink at screen resolution when zoomed past the base raster."""
        rect = self.mapToScene(self.viewport().rect()).boundingRect()
        z = self.zoom
        for item in self.layer_items.values():
            if isinstance(item, InkLayerItem) and item.isVisible() and z > item.scale * 1.05:
                item.sharpen(rect, z)
                self._sharp_on = True

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        self._view_moved()
        super().scrollContentsBy(dx, dy)

    def resizeEvent(self, event: Any) -> None:
        self._view_moved()
        super().resizeEvent(event)

    def zoom_by(self, factor: float) -> None:
        self.set_zoom(self.zoom * factor)

    def zoom_100(self) -> None:
        self.set_zoom(1.0)

    def fit_width(self) -> None:
        w = self.page_size[0] if self.page_id is not None else 0
        if w <= 0:
            return
        avail = self.viewport().width() - 24
        self.set_zoom(max(avail, 50) / w)
        self.centerOn(w / 2, 0)
        self.verticalScrollBar().setValue(self.verticalScrollBar().minimum())

    def wheelEvent(self, event: Any) -> None:
        """Wheel zooms around the cursor; Shift+wheel (or a touchpad's pixel scroll) pans."""
        steps = event.angleDelta().y() / 120.0
        if steps and not event.modifiers() & Qt.ShiftModifier and \
                (event.pixelDelta().isNull() or event.modifiers() & Qt.ControlModifier):
            self.zoom_by(1.15 ** steps)
            return
        super().wheelEvent(event)

    def viewportEvent(self, event: Any) -> bool:
        if event.type() == QEvent.Gesture:
            pinch = event.gesture(Qt.PinchGesture)
            if isinstance(pinch, QPinchGesture):
                self.zoom_by(pinch.scaleFactor())
                return True
        return super().viewportEvent(event)

    def keyPressEvent(self, event: Any) -> None:
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.OpenHandCursor)
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: Any) -> None:
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.viewport().unsetCursor()
            if self.tool is not None:
                self.viewport().setCursor(self.tool.cursor)
            return
        super().keyReleaseEvent(event)

    def pan_by(self, dx: float, dy: float) -> None:
        self.horizontalScrollBar().setValue(int(self.horizontalScrollBar().value() - dx))
        self.verticalScrollBar().setValue(int(self.verticalScrollBar().value() - dy))

    # ---- mouse -> tool -------------------------------------------------------------------
    def mousePressEvent(self, event: Any) -> None:
        if event.button() == Qt.MiddleButton or (self._space and event.button() == Qt.LeftButton):
            self._panning = event.position()
            self.viewport().setCursor(Qt.ClosedHandCursor)
            return
        if self.tool is not None and self.page_id is not None and event.button() == Qt.LeftButton:
            self.tool.press(self, self.mapToScene(event.position().toPoint()), event.modifiers())
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: Any) -> None:
        if self._panning is not None:
            d = event.position() - self._panning
            self._panning = event.position()
            self.pan_by(d.x(), d.y())
            return
        if self.tool is not None and self.page_id is not None and event.buttons() & Qt.LeftButton:
            self.tool.move(self, self.mapToScene(event.position().toPoint()), event.modifiers())
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: Any) -> None:
        if self._panning is not None and event.button() in (Qt.MiddleButton, Qt.LeftButton):
            self._panning = None
            self.viewport().setCursor(Qt.OpenHandCursor if self._space else
                                      (self.tool.cursor if self.tool else Qt.ArrowCursor))
            return
        if self.tool is not None and self.page_id is not None and event.button() == Qt.LeftButton:
            self.tool.release(self, self.mapToScene(event.position().toPoint()), event.modifiers())
            return
        super().mouseReleaseEvent(event)

    def set_tool(self, tool: Any) -> None:
        if self.tool is not None:
            self.tool.cancel(self)
        self.tool = tool
        self.viewport().setCursor(tool.cursor if tool else Qt.ArrowCursor)

    def set_preview(self, path: QPainterPath | None, pen: QPen | None = None,
                    brush: QBrush | None = None) -> None:
        """The live drawing of a drag in progress (eraser path, lasso, rectangle, pen)."""
        self.preview.setPath(path or QPainterPath())
        if pen is not None:
            self.preview.setPen(pen)
        self.preview.setBrush(brush or QBrush(Qt.NoBrush))
