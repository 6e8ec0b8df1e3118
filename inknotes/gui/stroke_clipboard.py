"""Cut, copy and paste of strokes through the system clipboard.

Copy puts the selected strokes on the clipboard twice: as inknotes strokes (``clipboard.MIME``,
pasted back as editable ink on any page, in this window or another) and as a picture of the
ink for other programs. Paste goes onto the layer new ink goes to, as one undo step, and
selects what it pasted. Where the copied strokes are still on the page (copy, then paste on
the same page), each paste lands a little further down and right so it is seen; after a cut,
or on another page, the ink lands where it was.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np
from PySide6.QtCore import QMimeData
from PySide6.QtGui import QGuiApplication, QImage

from .. import clipboard
from ..errors import InknotesError
from ..ink import Stroke
from .paths import render_strokes, rgba_to_pixmap

IMAGE_MARGIN = 4  # px of transparent edge around the picture of the ink
MAX_IMAGE_SIDE = 8000  # px: a picture larger than this is scaled down


def ink_image(strokes: list[Stroke]) -> QImage:
    """The strokes drawn at page scale on a transparent picture just large enough for them."""
    boxes = np.array([s.bbox() for s in strokes])
    x0, y0 = boxes[:, :2].min(0) - IMAGE_MARGIN
    x1, y1 = boxes[:, 2:].max(0) + IMAGE_MARGIN
    scale = min(1.0, MAX_IMAGE_SIDE / max(x1 - x0, y1 - y0, 1.0))
    size = (int(np.ceil((x1 - x0) * scale)), int(np.ceil((y1 - y0) * scale)))
    return rgba_to_pixmap(render_strokes(strokes, scale, size, origin=(float(x0), float(y0)))).toImage()


class StrokeClipboard:
    """The Edit menu's Cut, Copy and Paste for a window's canvas."""

    def __init__(self, canvas: Any, editor: Any, say: Any):
        self.canvas = canvas
        self.editor = editor
        self.say = say  # (sentence) -> None: the status bar
        self._repeat: tuple[bytes, int, int] | None = None  # (payload digest, page, pastes so far)

    def copy(self) -> bool:
        ids = list(self.canvas.selection)
        if not ids:
            self.say("Select strokes to copy first.")
            return False
        strokes = [self.canvas.strokes[i] for i in ids if i in self.canvas.strokes]
        data = QMimeData()
        origin = json.dumps([str(self.editor.library.path), self.canvas.page_id, ids])
        data.setData(clipboard.MIME, clipboard.encode(strokes, origin))
        data.setImageData(ink_image(strokes))
        QGuiApplication.clipboard().setMimeData(data)
        self._repeat = None
        self.say(f"Copied {len(strokes)} stroke{'s' if len(strokes) != 1 else ''}.")
        return True

    def cut(self) -> None:
        ids = list(self.canvas.selection)
        if ids and self.copy():
            self.editor.apply(self.editor.library.delete_strokes, ids, verb="Cut")

    def paste(self) -> None:
        page = self.canvas.page_id
        if page is None:
            self.say("Open a page to paste onto.")
            return
        mime = QGuiApplication.clipboard().mimeData()
        if mime is None or not mime.hasFormat(clipboard.MIME):
            self.say("The clipboard holds no strokes to paste.")
            return
        raw = bytes(mime.data(clipboard.MIME).data())
        try:
            strokes, origin = clipboard.decode(raw)
        except InknotesError as e:
            self.say(str(e))
            return
        layer = self.canvas.active_layer()
        if layer is None:
            self.say("Every ink layer of this page is locked; unlock one to paste onto it.")
            return
        digest = hashlib.sha256(raw).digest()
        count = self._repeat[2] + 1 if self._repeat and self._repeat[:2] == (digest, page) else 1
        offset = clipboard.PASTE_OFFSET * count if self._originals_here(origin) else 0.0
        moved = clipboard.placed(strokes, self.canvas.page_size, offset)
        ids = self.editor.apply(self.editor.library.add_strokes, page, layer, moved, tool="paste")
        if ids:
            self._repeat = (digest, page, count)
            self.canvas.set_selection(ids)
            self.say(f"Pasted {len(ids)} stroke{'s' if len(ids) != 1 else ''}.")

    def _originals_here(self, origin: str | None) -> bool:
        """Whether some of the copied strokes are still on the page in view."""
        try:
            lib, page, ids = json.loads(origin or "null")
        except (ValueError, TypeError):
            return False
        return (lib == str(self.editor.library.path) and page == self.canvas.page_id
                and any(i in self.canvas.strokes for i in ids if isinstance(i, int)))
