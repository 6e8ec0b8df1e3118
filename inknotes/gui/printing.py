"""File → Print: the page as it is seen, on paper or into a PDF through the system's printing.

What prints is what the canvas shows: the scan when its layer is visible (with that layer's
opacity), then each visible ink layer's strokes as vector lines (sharp at any printer
resolution) with the layer's opacity. The page is fitted into the printable area, centred,
its proportions kept; a page wider than tall turns the paper to landscape unless the user
chose otherwise in the dialog.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPageLayout, QPainter
from PySide6.QtPrintSupport import QPrintDialog, QPrinter

from .paths import batch


def _layers(library: Any, page_id: int) -> list[Any]:
    return sorted((lay for lay in library.layers(page_id) if lay.visible), key=lambda lay: lay.order)


def paint_page(painter: QPainter, library: Any, page_id: int, target: QRectF) -> None:
    """Draw the visible layers of a page into ``target``, fitted and centred."""
    info = library.page_info(page_id)
    w, h = max(1, info.width), max(1, info.height)
    scale = min(target.width() / w, target.height() / h)
    painter.save()
    painter.translate(target.x() + (target.width() - w * scale) / 2,
                      target.y() + (target.height() - h * scale) / 2)
    painter.scale(scale, scale)
    painter.setRenderHint(QPainter.Antialiasing)
    painter.setRenderHint(QPainter.SmoothPixmapTransform)
    for layer in _layers(library, page_id):
        painter.setOpacity(float(layer.opacity))
        if layer.kind == "image":
            rgb = library.page_image(page_id)
            if rgb is not None:
                rgb = np.repeat(rgb[:, :, None], 3, 2) if rgb.ndim == 2 else rgb[:, :, :3]
                rgb = np.ascontiguousarray(rgb, np.uint8)
                img = QImage(rgb.data, rgb.shape[1], rgb.shape[0], 3 * rgb.shape[1], QImage.Format_RGB888)
                painter.drawImage(QRectF(0, 0, w, h), img)
        else:
            for pen, path in batch(s.stroke for s in library.strokes(page_id, layer.id)):
                painter.setPen(pen)
                painter.drawPath(path)
    painter.restore()


def print_page(printer: QPrinter, library: Any, page_id: int) -> None:
    """Print one page on ``printer`` (already set up by the dialog or a caller)."""
    painter = QPainter()
    if not painter.begin(printer):
        raise OSError("The printer could not be started.")
    try:
        area = printer.pageRect(QPrinter.DevicePixel)  # the painter's origin is its top left
        paint_page(painter, library, page_id, QRectF(0, 0, area.width(), area.height()))
    finally:
        painter.end()


def suggested_orientation(library: Any, page_id: int) -> QPageLayout.Orientation:
    info = library.page_info(page_id)
    return QPageLayout.Landscape if info.width > info.height else QPageLayout.Portrait


def print_dialog(parent: Any, library: Any, page_id: int) -> bool:
    """Ask for a printer and print the page; False when the user cancelled."""
    printer = QPrinter(QPrinter.HighResolution)
    printer.setPageOrientation(suggested_orientation(library, page_id))
    name = library.page_info(page_id).source_name or f"page {page_id}"
    printer.setDocName(f"inknotes — {name}")
    dlg = QPrintDialog(printer, parent)
    dlg.setWindowTitle("Print page")
    if dlg.exec() != QPrintDialog.Accepted:
        return False
    print_page(printer, library, page_id)
    return True
