"""What length_ratio a perfect but smooth derendering can reach on a benchmark folder.

usage: python benchmarks/length_ceiling.py BENCH_DIR [BENCH_DIR ...] [--shared ../shared]
           [--sigma 0.5 1.0 1.5]

A rendered pen line cannot show detail finer than the pen (1.6-4.5 px wide in these sets), so
no derenderer can give back the pen tablet's own jitter or the coarse sampling grid some UNIPEN
writers were recorded on (hpb: about half of his pen moves are exactly horizontal or vertical,
a staircase 3-4 px a step). This script scores the truth itself, smoothed along its length by a
Gaussian of SIGMA px, as if it were a prediction: perfect strokes, order and direction, only the
sub-pen detail gone. Where that scores under the length target (0.95), the target asks for
jitter, not ink. It also prints, per UNIPEN contributor, the share of pen moves that are exactly
axis-aligned (the grid's signature; about 0.1 for a fine tablet).
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter1d

STEP = 0.5  # px between resampled truth points before smoothing


def smoothed(stroke: np.ndarray, sigma_px: float, resample) -> np.ndarray:
    r = resample(stroke, STEP)
    if len(r) < 4 or sigma_px <= 0:
        return r
    s = sigma_px / STEP
    return np.column_stack([gaussian_filter1d(r[:, 0], s, mode="nearest"),
                            gaussian_filter1d(r[:, 1], s, mode="nearest")])


def axis_share(ink: list[np.ndarray]) -> tuple[int, int]:
    """(axis-aligned moves, all moves) of one drawing's pen samples."""
    aligned = total = 0
    for s in ink:
        d = np.diff(np.asarray(s, float).reshape(-1, 2), axis=0)
        d = d[np.hypot(d[:, 0], d[:, 1]) > 1e-6]
        aligned += int((np.isclose(d[:, 0], 0) | np.isclose(d[:, 1], 0)).sum())
        total += len(d)
    return aligned, total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bench", nargs="+", type=Path)
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared",
                    help="the shared folder holding tools/metrics.py (default: ../shared)")
    ap.add_argument("--sigma", type=float, nargs="+", default=[0.5, 1.0, 1.5])
    a = ap.parse_args()
    sys.path.insert(0, str(a.shared / "tools"))
    import inkml_io  # noqa: PLC0415 - the shared scorer, not project code
    from metrics import aggregate, compare, resample  # noqa: PLC0415

    for bench in a.bench:
        man = json.loads((bench / "manifest.json").read_text())
        truths = [(m, inkml_io.read(bench / m["truth"])) for m in man]
        print(f"== {bench} ({len(man)} drawings)")
        for sigma in a.sigma:
            rows = [compare([smoothed(s, sigma, resample) for s in gt], gt, tol=m["tol"]) for m, gt in truths]
            agg = aggregate(rows)
            print(f"  truth smoothed by {sigma:.1f} px: "
                  f"length_ratio={agg['length_ratio']:.3f} f1={agg['f1']:.3f}")
        grid: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(2))
        for m, gt in truths:
            grid[m.get("source", "page/").split("/")[0]] += axis_share(gt)
        print("  axis-aligned pen moves: " + " ".join(f"{w}={v[0] / max(v[1], 1):.2f}"
                                                     for w, v in sorted(grid.items())))


if __name__ == "__main__":
    main()
