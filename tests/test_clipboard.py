"""Strokes as clipboard bytes: what another program may have put there must not become ink."""
from __future__ import annotations

import json

import numpy as np
import pytest

from inknotes import clipboard
from inknotes.errors import InknotesError
from inknotes.ink import Stroke


def test_strokes_come_back_as_they_were_copied():
    a = Stroke.from_points([[10, 20], [30, 40], [35, 60]], 3.5, color="#d62728")
    b = Stroke(np.float32([[5, 5]]), np.float32([2]), np.float32([0]), "#1f77b4cc")
    strokes, origin = clipboard.decode(clipboard.encode([a, b], "lib page 3"))
    assert origin == "lib page 3"
    assert [s.color for s in strokes] == ["#d62728", "#1f77b4cc"]
    assert np.allclose(strokes[0].points, a.points) and np.allclose(strokes[0].time, a.time, atol=1e-3)
    assert np.allclose(strokes[1].width, [2])


def payload(**stroke):
    base = {"points": [[1, 2], [3, 4]], "width": [2, 2], "time": [0, 1], "color": "#000000"}
    base.update(stroke)
    return json.dumps({"format": "inknotes-strokes", "strokes": [base]}).encode()


@pytest.mark.parametrize("data", [
    b"", b"\xff\xfe", b"[]", b'{"strokes": []}', json.dumps({"format": "other", "strokes": []}).encode(),
    payload(points=[]), payload(width=[2]), payload(width=[0, 2]), payload(width=[2, 1e9]),
    payload(points=[[1, 2], [float("inf"), 4]]), payload(color="red; drop table"), payload(color=7),
    payload(time="soon"), json.dumps({"format": "inknotes-strokes", "strokes": []}).encode(),
])
def test_anything_else_is_one_sentence(data):
    with pytest.raises(InknotesError, match="does not hold inknotes strokes"):
        clipboard.decode(data)


def test_a_huge_payload_is_refused_before_it_is_read(monkeypatch):
    monkeypatch.setattr(clipboard, "MAX_POINTS", 3)
    with pytest.raises(InknotesError, match="too many"):
        clipboard.decode(payload(points=[[0, 0]] * 4, width=[1] * 4, time=[0] * 4))


def test_placed_keeps_ink_on_the_page_without_scaling():
    s = Stroke.from_points([[550, 10], [620, 10]], 2.0)  # runs off the right edge of 600 px
    (moved,) = clipboard.placed([s], (600, 400))
    assert moved.bbox()[2] == pytest.approx(600) and moved.length == pytest.approx(s.length)
    (beside,) = clipboard.placed([Stroke.from_points([[10, 10], [20, 10]], 2.0)], (600, 400), offset=16)
    assert np.allclose(beside.points[0], [26, 26])
    (wide,) = clipboard.placed([Stroke.from_points([[-50, 10], [900, 10]], 2.0)], (600, 400))
    assert wide.bbox()[0] == pytest.approx(0)  # wider than the page: its left edge on the page's
