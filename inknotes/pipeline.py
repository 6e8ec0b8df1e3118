"""Page image -> PageResult: prepare, find words, derender each crop, map strokes back.

For engines that do not need the recognised text (the built-in tracer), Tesseract runs in a
background thread while the ink regions are derendered, so a page costs little more than
OCR alone. Engines that want the text (InkSight's derender-with-text mode) or that batch on
a GPU get OCR first and one crop per recognised word.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from . import imaging, segment
from .derender import Crop, Derendered, Engine, get_engine
from .errors import Cancelled, InputError
from .fileio import file_sha256  # noqa: F401  (re-exported: callers use pipeline.file_sha256)
from .ink import PageResult, Stroke, Word, apply_homography, retime_in_order

log = logging.getLogger(__name__)
ProgressFn = Callable[[int, int], None]
CancelFn = Callable[[], bool]


def convert_file(path: str | Path, engine_name: str = "tracer", engine_options: dict | None = None, *,
                 engine: Engine | None = None, progress: ProgressFn | None = None,
                 cancel: CancelFn | None = None, errors: list[InputError] | None = None) -> list[PageResult]:
    """Every page of one input file, converted. Raises InknotesError subclasses naming the file.

    With ``errors``, a page of a multi-page file that cannot be read or holds no writing (the
    blank back of a duplex scan) is appended there ("Page 2: ...", in page order) and the other
    pages still convert; the file fails only when no page converts."""
    path = Path(path)
    pages = imaging.load_pages(path, errors)
    engine = engine or get_engine(engine_name, **(engine_options or {}))
    results = []
    n = len(pages)
    for i, page in enumerate(pages):
        if cancel and cancel():
            raise Cancelled(path=path)

        def page_progress(done: int, total: int, _i: int = i) -> None:
            if progress:
                progress(_i * 1000 + int(1000 * done / max(total, 1)), n * 1000)

        try:
            results.append(convert_page(page, engine, progress=page_progress, cancel=cancel))
        except InputError as e:
            if e.path is None:
                e.path = str(path)
            if page.page_count > 1:
                e.for_page(page.page_index + 1)
            if errors is None:
                raise
            errors.append(e)
    if errors:
        errors.sort(key=lambda e: e.page or 0)  # unreadable and blank pages in page order
    if not results and errors:  # no page converted: the file failed (one sentence, not one per page)
        first = errors[0]
        if len(errors) > 1:
            first.message += f" No other page converted either ({len(errors)} pages)."
        del errors[:]
        raise first
    if progress:
        progress(n * 1000, n * 1000)
    return results


def convert_image(rgb: np.ndarray, engine: Engine, *, source: str | Path | None = None,
                  dpi: float | None = None, progress: ProgressFn | None = None,
                  cancel: CancelFn | None = None) -> PageResult:
    """Convert an RGB uint8 image already in memory (one page)."""
    page = imaging.LoadedPage(rgb=np.ascontiguousarray(rgb[..., :3]), source=Path(source or "page.png"),
                              page_index=0, page_count=1, dpi=dpi)
    return convert_page(page, engine, progress=progress, cancel=cancel)


def convert_page(page: imaging.LoadedPage, engine: Engine, *, progress: ProgressFn | None = None,
                 cancel: CancelFn | None = None) -> PageResult:
    prepared = imaging.prepare(page)
    if not prepared.mask.any():
        raise InputError("No handwriting was found on this page (it looks blank).", page.source)
    regions = segment.ink_regions(prepared)
    ocr_first = bool(getattr(engine, "wants_text", False) or getattr(engine, "uses_gpu", False))
    with ThreadPoolExecutor(1, thread_name_prefix="inknotes-ocr") as ex:
        ocr = ex.submit(segment.ocr_words, prepared)
        if ocr_first:
            groups = segment.group_words(regions, ocr.result())
            crops = [_crop(prepared, [regions[i] for i in g.region_ids], g.text) for g in groups]
            outs = engine.derender([c for c, _ in crops], progress=progress, cancel=cancel)
            per_group = [_place(out, off) for out, (_, off) in zip(outs, crops, strict=True)]
            texts = [o.text for o in outs]
        else:
            crops = [_crop(prepared, [r], "") for r in regions]
            outs = engine.derender([c for c, _ in crops], progress=progress, cancel=cancel)
            per_region = [_place(out, off) for out, (_, off) in zip(outs, crops, strict=True)]
            groups = segment.group_words(regions, ocr.result())
            per_group = [[s for i in g.region_ids for s in per_region[i]] for g in groups]
            texts = [None] * len(groups)
    return _assemble(page, prepared, regions, groups, per_group, texts, engine.name)


def _crop(prepared: imaging.PreparedPage, regions: Sequence[segment.Region],
          text: str) -> tuple[Crop, tuple[int, int]]:
    """A crop around ``regions`` holding only their ink, with a small margin."""
    H, W = prepared.mask.shape
    x0 = min(r.box[0] for r in regions)
    y0 = min(r.box[1] for r in regions)
    x1 = max(r.box[0] + r.box[2] for r in regions)
    y1 = max(r.box[1] + r.box[3] for r in regions)
    pad = int(max(2, round(prepared.pen_width or 2)))
    cx0, cy0 = max(0, x0 - pad), max(0, y0 - pad)
    cx1, cy1 = min(W, x1 + pad), min(H, y1 + pad)
    mask = np.zeros((cy1 - cy0, cx1 - cx0), bool)
    for r in regions:
        x, y, w, h = r.box
        mask[y - cy0:y - cy0 + h, x - cx0:x - cx0 + w] |= r.mask
    rgb = prepared.rgb[cy0:cy1, cx0:cx1]
    return Crop(rgb=rgb, mask=mask, text=text, pen_width=float(prepared.pen_width)), (cx0, cy0)


def _place(out: Derendered, offset: tuple[int, int]) -> list[Stroke]:
    dx, dy = offset
    return [s.translated(dx, dy) for s in out.strokes if len(s)]


def _stroke_color(rgb: np.ndarray, pts: np.ndarray) -> str:
    """The ink's colour: the darkest third of the pixels under the stroke, averaged."""
    H, W = rgb.shape[:2]
    xi = np.clip(np.round(pts[:, 0]).astype(int), 0, W - 1)
    yi = np.clip(np.round(pts[:, 1]).astype(int), 0, H - 1)
    px = rgb[yi, xi].astype(np.float32)
    lum = px @ np.float32([0.299, 0.587, 0.114])
    k = max(1, len(px) // 3)
    c = px[np.argsort(lum)[:k]].mean(0)
    return "#{:02x}{:02x}{:02x}".format(*(int(round(v)) for v in np.clip(c, 0, 255)))


def _assemble(page: imaging.LoadedPage, prepared: imaging.PreparedPage, regions: list[segment.Region],
              groups: list[segment.WordGroup], per_group: list[list[Stroke]], texts: list[str | None],
              engine_name: str) -> PageResult:
    Hm = np.asarray(prepared.homography, np.float64)
    warped = not np.allclose(Hm, np.eye(3))
    strokes: list[Stroke] = []
    words: list[Word] = []
    for g, group_strokes, text in zip(groups, per_group, texts, strict=True):
        ids = []
        for s in group_strokes:
            color = _stroke_color(prepared.rgb, s.points)
            if warped:
                scale = _local_scale(Hm, s.points.mean(0))
                s = s.transformed(lambda p: apply_homography(p, Hm), width_scale=scale)
            ids.append(len(strokes))
            strokes.append(s.with_color(color))
        box = _group_box([regions[i] for i in g.region_ids], Hm if warped else None)
        words.append(Word(box=box, text=text if text is not None else g.text,
                          confidence=g.confidence, line=g.line, stroke_ids=ids, source=g.source))
    strokes = retime_in_order(strokes)
    h, w = page.rgb.shape[:2]
    return PageResult(size=(w, h), strokes=strokes, words=words, dpi=page.dpi, source=page.source,
                      page_index=page.page_index, page_count=page.page_count, engine=engine_name,
                      transform=Hm if warped else None, image=page.rgb)


def _group_box(regions: Sequence[segment.Region], Hm: np.ndarray | None) -> tuple[float, float, float, float]:
    x0 = min(r.box[0] for r in regions)
    y0 = min(r.box[1] for r in regions)
    x1 = max(r.box[0] + r.box[2] for r in regions)
    y1 = max(r.box[1] + r.box[3] for r in regions)
    if Hm is not None:
        c = apply_homography(np.float32([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]), Hm)
        x0, y0 = c.min(0)
        x1, y1 = c.max(0)
    return (float(x0), float(y0), float(x1 - x0), float(y1 - y0))


def _local_scale(Hm: np.ndarray, p: np.ndarray) -> float:
    """How much the homography stretches lengths near ``p`` (for pen widths)."""
    q = apply_homography(np.float32([p, p + [1, 0], p + [0, 1]]), Hm)
    return float(np.sqrt(abs(np.linalg.det(np.stack([q[1] - q[0], q[2] - q[0]]).astype(np.float64)))))

