"""Our strokes and InkSight's strokes over the same real photo, one image per sample.

usage: python benchmarks/inksight_side_by_side.py REF_DIR OUT_DIR [--engine tracer]
REF_DIR comes from `python ../shared/tools/inksight_ref.py REF_DIR` (photos + InkSight's own
strokes as NAME.inksight.inkml). Writes OUT_DIR/NAME.png (left: inknotes, right: InkSight,
both coloured by drawing order) and prints f1 / stroke counts / length ratio against InkSight.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from inknotes import imaging  # noqa: E402
from inknotes.derender import get_engine  # noqa: E402
from inknotes.errors import InknotesError  # noqa: E402
from inknotes.ink import Stroke  # noqa: E402
from inknotes.pipeline import convert_page  # noqa: E402
from inknotes.replay import dimmed, draw  # noqa: E402
from tests.inkcheck import f1, read_traces  # noqa: E402


def panel(rgb: np.ndarray, strokes: list[Stroke], title: str) -> np.ndarray:
    h, w = rgb.shape[:2]
    img = draw(dimmed(rgb, (w, h)), strokes, thickness=2)
    bar = np.full((28, w, 3), 255, np.uint8)
    cv2.putText(bar, title, (8, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([bar, img])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("ref")
    ap.add_argument("out")
    ap.add_argument("--engine", default="tracer")
    a = ap.parse_args()
    ref, out = Path(a.ref), Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    engine = get_engine(a.engine)
    for name in ["danke", "multilingual", "unsplash_frame"]:
        page = imaging.load_pages(ref / f"{name}.png")[0]
        try:
            ours = convert_page(page, engine).strokes
        except InknotesError as e:
            print(f"{name:15s} inknotes: {e}")
            ours = []
        theirs_xy = read_traces(ref / f"{name}.inksight.inkml")
        theirs = [Stroke.from_points(t, 2.0) for t in theirs_xy]
        ours_xy = [s.points for s in ours]
        lr = sum(s.length for s in ours) / max(1e-6, sum(s.length for s in theirs))
        score = f1(ours_xy, theirs_xy, tol=4.0)
        print(f"{name:15s} ours {len(ours):4d} strokes  inksight {len(theirs):4d} strokes  "
              f"f1 vs inksight {score:.3f}  length ratio {lr:.2f}")
        gap = np.full((page.rgb.shape[0] + 28, 12, 3), 255, np.uint8)
        img = np.hstack([panel(page.rgb, ours, f"inknotes ({a.engine}): {len(ours)} strokes"), gap,
                         panel(page.rgb, theirs, f"InkSight Small-p: {len(theirs)} strokes")])
        cv2.imwrite(str(out / f"{name}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))


if __name__ == "__main__":
    main()
