"""Median milliseconds per word for the tracer engine over the dev-set words.

usage: python benchmarks/tracer_bench.py DEV_DIR   (built by ../shared/tools/devset.py)
Masks come from inknotes.imaging, so this times the tracer alone, not loading or OCR.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from inknotes import imaging
from inknotes.derender.base import Crop
from inknotes.derender.tracer import TracerEngine


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dev", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    manifest = json.loads((a.dev / "manifest.json").read_text())
    crops = []
    for m in manifest:
        if m["kind"] != "word":
            continue
        page = imaging.load_pages(a.dev / m["image"])[0]
        prep = imaging.prepare(page)
        crops.append(Crop(rgb=prep.rgb, mask=prep.mask, pen_width=float(prep.pen_width)))
    eng = TracerEngine()
    times = []
    for crop in crops:
        best = min(_timed(eng, crop) for _ in range(a.repeat))
        times.append(best)
    ms = 1000 * np.array(times)
    print(f"tracer: {len(ms)} words, median {np.median(ms):.2f} ms/word, p90 {np.percentile(ms, 90):.2f} ms, "
          f"max {ms.max():.2f} ms")


def _timed(eng: TracerEngine, crop: Crop) -> float:
    t = time.perf_counter()
    eng.derender([crop])
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
