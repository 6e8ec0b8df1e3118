"""`inknotes bench`: the speed numbers we quote, printed, never asserted in tests.

Medians over several runs because these machines are shared and noisy.
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from .errors import InputError

SAMPLE_PAGE = Path(__file__).resolve().parents[1] / "resources" / "samples" / "bench_page.jpg"


def run_bench(args: argparse.Namespace) -> int:
    from . import imaging, segment
    from .cli import engine_options, resolve_engine_name
    from .derender import get_engine
    from .pipeline import _crop, convert_page

    page_path = Path(args.page) if args.page else SAMPLE_PAGE
    if not page_path.exists():
        raise InputError("The benchmark page is missing; pass one with --page IMAGE.", page_path)
    engine = get_engine(resolve_engine_name(args), **engine_options(args))
    page = imaging.load_pages(page_path)[0]
    runs = max(1, args.runs)

    convert_page(page, engine)  # warm-up: imports, caches, model load
    t_page, t_ocr, t_prep, t_raw = [], [], [], []
    for _ in range(runs):
        t = time.perf_counter()
        result = convert_page(page, engine)
        t_page.append(time.perf_counter() - t)
        t = time.perf_counter()
        prepared = imaging.prepare(page)
        regions = segment.ink_regions(prepared)
        t_prep.append(time.perf_counter() - t)
        t = time.perf_counter()
        words = segment.ocr_words(prepared)
        t_ocr.append(time.perf_counter() - t)
        t = time.perf_counter()
        _tesseract_on_image(page.rgb)
        t_raw.append(time.perf_counter() - t)

    crops = [_crop(prepared, [r], "")[0] for r in regions]
    per_word = []
    for _ in range(max(1, runs // 2)):
        for c in crops:
            t = time.perf_counter()
            engine.derender([c])
            per_word.append((time.perf_counter() - t) * 1000)

    med_page, med_ocr, med_raw = statistics.median(t_page), statistics.median(t_ocr), statistics.median(t_raw)
    print(f"page: {page_path.name} {page.rgb.shape[1]}x{page.rgb.shape[0]}, engine {engine.name}, "
          f"{len(regions)} ink regions, {len(words)} Tesseract words, {len(result.strokes)} strokes, "
          f"{runs} runs")
    print(f"end to end per page     median {med_page:7.3f} s")
    print(f"Tesseract alone (image) median {med_raw:7.3f} s   (tesseract on the page as given)")
    print(f"OCR step in pipeline    median {med_ocr:7.3f} s   (tesseract on our cleaned ink image)")
    print(f"imaging + regions       median {statistics.median(t_prep):7.3f} s")
    print(f"derender per word       median {statistics.median(per_word):7.2f} ms "
          f"(p90 {sorted(per_word)[int(0.9 * (len(per_word) - 1))]:.2f} ms)")
    print(f"page / Tesseract alone  {med_page / med_raw:7.2f}")
    print(f"page / OCR step         {med_page / med_ocr:7.2f}")
    return 0


def _tesseract_on_image(rgb) -> None:
    """What running Tesseract by itself on the page costs: same engine, same settings, one thread."""
    import os

    import pytesseract

    from .segment import TESSERACT_CONFIG
    os.environ["OMP_THREAD_LIMIT"] = "1"
    pytesseract.image_to_data(rgb, config=TESSERACT_CONFIG, output_type=pytesseract.Output.DICT)
