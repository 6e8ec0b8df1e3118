"""Value types and geometry that every exporter and the library rely on."""
from __future__ import annotations

import numpy as np
import pytest

from inknotes.ink import PageResult, Stroke, apply_homography, rdp_keep, resample, retime_in_order


def test_stroke_arrays_are_float32_and_checked():
    s = Stroke(np.array([[0, 0], [3, 4]]), [2, 2], [0, 10])
    assert s.points.dtype == np.float32 and s.width.dtype == np.float32
    assert s.length == pytest.approx(5.0)
    with pytest.raises(ValueError):
        Stroke(np.zeros((3, 2)), np.ones(2), np.arange(3))


def test_retime_in_order_is_strictly_increasing_across_strokes():
    a = Stroke.from_points([[0, 0], [10, 0], [20, 0]], 2.0)
    b = Stroke.from_points([[0, 5], [0, 5]], 2.0)  # a dot: zero length
    out = retime_in_order([a, b, a])
    t = np.concatenate([s.time for s in out])
    assert np.all(np.diff(t) > 0)


def test_rdp_keeps_corners_and_drops_collinear_points():
    pts = np.array([[0, 0], [1, 0], [2, 0], [3, 0], [3, 1], [3, 2]], np.float32)
    keep = rdp_keep(pts, 0.1)
    assert list(keep) == [0, 3, 5]


def test_resample_spacing():
    r = resample(np.array([[0, 0], [10, 0]], np.float32), 1.0)
    assert len(r) == 11 and np.allclose(np.diff(r[:, 0]), 1.0)


def test_homography_round_trip():
    H = np.array([[1.2, 0.1, 5], [0.05, 0.9, -3], [1e-4, 2e-4, 1]])
    p = np.array([[10, 20], [300, 40]], np.float32)
    q = apply_homography(apply_homography(p, H), np.linalg.inv(H))
    assert np.allclose(p, q, atol=1e-3)


def test_output_stem_for_multipage():
    from pathlib import Path
    page = PageResult(size=(1, 1), source=Path("a/scan.tif"), page_index=1, page_count=3)
    assert page.output_stem() == "scan-p2"
    assert PageResult(size=(1, 1), source=Path("a/photo.jpg")).output_stem() == "photo"
