"""The built-in tracer: real rendered handwriting keeps its shape, stroke count, direction and
width; simple shapes come out as the strokes a person would draw."""
from __future__ import annotations

import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from scipy.spatial import cKDTree

from inknotes.derender import get_engine
from inknotes.derender.base import Crop
from inknotes.derender.tracer import TracerEngine, trace_mask
from inknotes.errors import Cancelled
from inknotes.ink import resample

FIX = Path(__file__).parent / "fixtures" / "tracer"
SAMPLES = json.loads((FIX / "samples.json").read_text())


def read_inkml(path: Path) -> list[np.ndarray]:
    """Plain X Y traces; enough for the fixture files (no project code involved)."""
    traces = re.findall(r"<trace>(.*?)</trace>", path.read_text(), re.S)
    return [np.array([[float(v) for v in p.split()[:2]] for p in t.split(",")], np.float32) for t in traces]


def f1_score(pred: list[np.ndarray], truth: list[np.ndarray], tol: float) -> float:
    """Share of predicted ink near true ink and of true ink near predicted ink (harmonic mean)."""
    P = np.concatenate([resample(s, 1.0) for s in pred])
    G = np.concatenate([resample(s, 1.0) for s in truth])
    prec = float((cKDTree(G).query(P)[0] <= tol).mean())
    rec = float((cKDTree(P).query(G)[0] <= tol).mean())
    return 2 * prec * rec / (prec + rec)


def ink_mask(rgb: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(rgb, cv2.COLOR_BGR2GRAY)
    _, m = cv2.threshold(grey, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    return m.astype(bool)


def crop_of(mask: np.ndarray, pen_width: float = 0.0) -> Crop:
    rgb = np.where(mask[..., None], 30, 250).astype(np.uint8).repeat(3, 2)
    return Crop(rgb=rgb, mask=mask, pen_width=pen_width)


def drawn(size: tuple[int, int], draw, width: int = 4) -> np.ndarray:
    img = np.zeros(size, np.uint8)
    draw(img, width)
    return img > 0


@pytest.fixture(scope="module")
def traced() -> dict[str, tuple[list, list, dict]]:
    eng = TracerEngine()
    out = {}
    for sid, meta in SAMPLES.items():
        mask = ink_mask(cv2.imread(str(FIX / f"{sid}.png")))
        res = eng.derender([crop_of(mask)])[0]
        out[sid] = (res.strokes, read_inkml(FIX / f"{sid}.gt.inkml"), meta)
    return out


def test_real_handwriting_keeps_its_shape(traced):
    for sid, (strokes, truth, meta) in traced.items():
        f1 = f1_score([s.points for s in strokes], truth, meta["tol"])
        assert f1 >= 0.97, f"{sid} ({meta['text']}): f1 {f1:.3f}"


def test_real_handwriting_is_about_one_stroke_per_pen_down(traced):
    pred = sum(len(s) for s, _, _ in traced.values())
    true = sum(len(t) for _, t, _ in traced.values())
    assert pred <= 1.6 * true, f"{pred} strokes traced for {true} pen-downs"
    for sid, (strokes, truth, _) in traced.items():
        assert len(strokes) <= 2 * len(truth) + 1, sid


def test_real_handwriting_widths_match_the_pen(traced):
    for sid, (strokes, _, meta) in traced.items():
        w = np.median(np.concatenate([s.width for s in strokes]))
        assert abs(w - meta["width"]) <= max(1.0, 0.35 * meta["width"]), f"{sid}: {w:.2f} vs {meta['width']}"


def test_real_handwriting_times_strictly_increase(traced):
    for strokes, _, _ in traced.values():
        t = np.concatenate([s.time for s in strokes])
        assert np.all(np.diff(t) > 0)


def test_words_run_left_to_right(traced):
    """The learned order may put a stroke a little out of left-edge order (as writers do), but
    a word still runs left to right: nearly every pair of strokes keeps its left-edge order
    (80% of the pairs, or all but one in a word of few strokes)."""
    for sid, (strokes, _, _) in traced.items():
        left = np.array([float(s.points[:, 0].min()) for s in strokes])
        sign = np.sign(left[None, :] - left[:, None])[np.triu_indices(len(left), 1)]
        pairs = np.count_nonzero(sign)
        assert sign.sum() >= min(0.8 * pairs, pairs - 2), sid


def test_rules_order_strokes_by_their_left_edge():
    for sid in SAMPLES:
        mask = ink_mask(cv2.imread(str(FIX / f"{sid}.png")))
        left = [float(s.points[:, 0].min()) for s in trace_mask(mask, use_prior=False)]
        assert left == sorted(left), sid


def test_straight_line_is_one_stroke_left_to_right():
    mask = drawn((40, 200), lambda im, w: cv2.line(im, (20, 25), (180, 15), 255, w))
    strokes = trace_mask(mask)
    assert len(strokes) == 1
    p = strokes[0].points
    assert p[0, 0] < 25 and p[-1, 0] > 175
    assert abs(strokes[0].length - 160) < 8


def test_vertical_line_runs_top_to_bottom():
    mask = drawn((200, 40), lambda im, w: cv2.line(im, (20, 20), (22, 180), 255, w))
    (s,) = trace_mask(mask)
    assert s.points[0, 1] < s.points[-1, 1]


def test_x_is_two_strokes_not_four():
    def draw(im, w):
        cv2.line(im, (20, 20), (120, 120), 255, w)
        cv2.line(im, (120, 20), (20, 120), 255, w)
    strokes = trace_mask(drawn((140, 140), draw))
    assert len(strokes) == 2
    for s in strokes:  # each goes straight through the crossing
        assert s.length > 120


def test_plus_crossing_is_two_strokes():
    def draw(im, w):
        cv2.line(im, (15, 70), (125, 70), 255, w)
        cv2.line(im, (70, 15), (70, 125), 255, w)
    strokes = trace_mask(drawn((140, 140), draw, width=6))
    assert len(strokes) == 2


def test_circle_is_one_closed_stroke():
    mask = drawn((120, 120), lambda im, w: cv2.circle(im, (60, 60), 40, 255, w))
    (s,) = trace_mask(mask)
    assert np.hypot(*(s.points[0] - s.points[-1])) < 4
    assert abs(s.length - 2 * np.pi * 40) < 0.08 * 2 * np.pi * 40
    assert s.points[0, 1] < 30  # starts at the top, as people write an 'o'


def test_empty_mask_gives_no_strokes():
    eng = get_engine("tracer", model="ignored", mode="ignored")
    out = eng.derender([crop_of(np.zeros((30, 40), bool))])
    assert len(out) == 1 and out[0].strokes == []


def test_widths_follow_the_pen():
    for w in (3, 7):
        mask = drawn((60, 200), lambda im, _w, w=w: cv2.line(im, (20, 30), (180, 30), 255, w))
        true_width = int(mask[:, 100].sum())
        (s,) = trace_mask(mask)
        assert abs(float(np.median(s.width)) - true_width) <= 1.0


def test_progress_and_cancel():
    eng = TracerEngine()
    mask = drawn((40, 100), lambda im, w: cv2.line(im, (10, 20), (90, 20), 255, w))
    seen = []
    out = eng.derender([crop_of(mask)] * 3, progress=lambda d, t: seen.append((d, t)))
    assert len(out) == 3 and seen[-1] == (3, 3)
    with pytest.raises(Cancelled):
        eng.derender([crop_of(mask)] * 3, cancel=lambda: True)


def test_ink_touching_the_crop_edge_is_traced():
    mask = np.zeros((20, 120), bool)
    mask[8:12, :] = True  # a bar cut off by both sides of the crop
    (s,) = trace_mask(mask)
    assert s.points[0, 0] <= 2 and s.points[-1, 0] >= 117
    assert np.all(np.abs(s.points[:, 1] - 9.5) < 1.5)


def test_a_tracer_bug_becomes_one_plain_engine_error(monkeypatch):
    from inknotes.derender import tracer
    from inknotes.errors import EngineError

    def broken(mask):
        raise IndexError("simulated bug")

    monkeypatch.setattr(tracer, "skeleton_of", broken)
    mask = drawn((40, 100), lambda im, w: cv2.line(im, (10, 20), (90, 20), 255, w))
    with pytest.raises(EngineError) as err:
        TracerEngine().derender([crop_of(mask)])
    assert "\n" not in str(err.value) and str(err.value).endswith(".")


def test_t_is_a_bar_and_a_stem_written_downwards():
    def draw(im, w):
        cv2.line(im, (20, 30), (120, 30), 255, w)
        cv2.line(im, (70, 30), (70, 120), 255, w)
    strokes = trace_mask(drawn((140, 140), draw))
    assert len(strokes) == 2
    stem = min(strokes, key=lambda s: float(np.ptp(s.points[:, 0])))
    assert stem.points[0, 1] < stem.points[-1, 1]


def test_a_leg_drawn_down_and_back_up_stays_one_stroke():
    # an 'n'-like arch whose first leg is retraced: the pen never lifts
    pts = np.array([[20, 30], [20, 100], [20, 90], [35, 50], [55, 40], [75, 50], [85, 100]], np.int32)
    mask = drawn((120, 110), lambda im, w: cv2.polylines(im, [pts.reshape(-1, 1, 2)], False, 255, w))
    (s,) = trace_mask(mask)
    assert s.points[0, 1] < 40  # starts at the top of the leg
    assert s.length > 190  # the retraced part of the leg is drawn twice


def test_hooked_descender_runs_down_its_stem_first():
    """A 'j'-like stroke (stem down, tail hooking back up to the left) is written from the top
    of the stem, though its ends alone point up-left."""
    pts = np.array([[64, 4], [64, 96], [58, 104], [50, 104], [4, 64]], np.int32)
    mask = drawn((120, 80), lambda im, w: cv2.polylines(im, [pts], False, 255, w))
    strokes = trace_mask(mask, use_prior=False)
    assert len(strokes) == 1
    p = strokes[0].points
    assert p[0, 1] < 10 and abs(p[0, 0] - 64) < 4, p[:2]  # starts at the top of the stem
    assert p[-1, 0] < 10  # ends at the tail's tip


def test_a_filled_in_loop_is_drawn_along_both_sides():
    """A leg drawn down and back up a little apart fills in to one ink band two pens wide:
    the retrace's two passes run along its two sides, not on top of each other (which would
    draw the middle twice and leave the edges bare)."""
    down = np.array([[18, 30], [18, 100]], np.int32)
    up_and_arch = np.array([[23, 100], [23, 60], [35, 45], [55, 40], [75, 50], [85, 100]], np.int32)

    def draw(im, w):
        cv2.polylines(im, [down.reshape(-1, 1, 2)], False, 255, w)
        cv2.polylines(im, [up_and_arch.reshape(-1, 1, 2)], False, 255, w)
        cv2.line(im, (18, 100), (23, 100), 255, w)
    strokes = trace_mask(drawn((120, 110), draw))
    leg = np.concatenate([resample(s.points, 1.0) for s in strokes])
    leg = leg[(leg[:, 1] > 65) & (leg[:, 1] < 90) & (leg[:, 0] < 30)]
    assert len(leg), "the leg was not traced"
    # both sides of the band are drawn: points near x=18 and near x=23, not only the centre line
    assert leg[:, 0].min() < 19.5 and leg[:, 0].max() > 21.5, sorted(leg[:, 0].round(1))


def test_a_tall_filled_in_loop_is_drawn_up_and_back_down():
    """An 'l' written as a narrow loop whose eye filled in with ink: however tall, the pen went
    up and came back down, so the loop is one stroke with both passes, not a single stem."""
    # the 'l' then an 'm' and a long tail, so most of the ink is one pen wide
    word = np.array([[4, 110], [18, 108], [18, 10], [23, 10], [23, 108], [45, 110], [45, 80], [60, 75],
                     [70, 110], [70, 80], [85, 75], [95, 110], [160, 110]], np.int32)
    mask = drawn((120, 170), lambda im, w: cv2.polylines(im, [word.reshape(-1, 1, 2)], False, 255, w))
    strokes = trace_mask(mask)
    assert len(strokes) == 1
    loop = resample(strokes[0].points, 1.0)
    loop = loop[(loop[:, 0] < 30) & (loop[:, 1] < 90)]
    assert len(loop) > 2 * 70  # the loop is drawn up and back down, not as one stem


def test_a_t_stem_crossing_a_joining_stroke_is_drawn_once_straight_through():
    # an "l" joined along the baseline to the right; a short "t" stem crosses the joining
    # stroke. Both halves of the stem are short dead ends, but they continue each other
    # straight through the crossing: one pen stroke, not two out-and-back stubs
    def draw(im, w):
        cv2.line(im, (12, 8), (12, 80), 255, w)
        cv2.line(im, (12, 80), (230, 80), 255, w)
        cv2.line(im, (150, 45), (150, 100), 255, w)
    strokes = trace_mask(drawn((110, 240), draw))
    stems = [s for s in strokes if np.ptp(s.points[:, 0]) < 8 and np.ptp(s.points[:, 1]) > 45]
    assert len(stems) == 1 and abs(stems[0].points[:, 0].mean() - 150) < 3
    total = sum(s.length for s in strokes)
    assert total < 1.1 * (72 + 218 + 55)  # nothing drawn twice


@pytest.mark.parametrize("w", [5, 7])
def test_a_sharp_turn_reaches_where_the_pen_turned(w):
    # an inverted V (the top of an 'i' written up and down): thinning rounds the apex off a
    # pen width or more inside the ink; the traced path goes up to the pen's turning point
    def draw(im, width):
        cv2.line(im, (20, 110), (60, 20), 255, width)
        cv2.line(im, (60, 20), (100, 110), 255, width)
    img = np.zeros((130, 130), np.uint8)
    draw(img, w)
    strokes = trace_mask(img > 0, float(w))
    pts = np.vstack([s.points for s in strokes])
    assert np.hypot(pts[:, 0] - 60, pts[:, 1] - 20).min() < 0.5 * w
    true = 2 * np.hypot(40, 90)
    assert sum(s.length for s in strokes) < 1.06 * true  # one turn, not a spike per pixel


def test_junctions_split_by_two_pixels_are_one_crossing_and_a_two_pixel_spur_goes():
    # a thin-pen 't' crossing: thinning left two 3-way junctions two pixels apart (one pixel
    # step each way) and a two-pixel spur on the stem; at the limit (2 px) both count as short
    from inknotes.derender.skeleton_graph import Graph, merge_junctions, prune_spurs

    def seg(a, b):
        n = int(max(abs(b[0] - a[0]), abs(b[1] - a[1]))) + 1
        return np.linspace(a, b, n)

    g = Graph()
    top, j1, j2, bottom, left, right = (g.add_node(p) for p in
                                        ((10, 0), (10, 20), (10, 22), (10, 40), (0, 22), (40, 20)))
    mid = g.add_node((10, 10))
    spur = g.add_node((12, 10))
    g.add_edge(top, mid, seg((10, 0), (10, 10)))
    g.add_edge(mid, j1, seg((10, 10), (10, 20)))
    g.add_edge(mid, spur, seg((10, 10), (12, 10)))
    g.add_edge(j1, j2, seg((10, 20), (10, 22)))
    g.add_edge(j2, bottom, seg((10, 22), (10, 40)))
    g.add_edge(j2, left, seg((10, 22), (0, 22)))
    g.add_edge(j1, right, seg((10, 20), (40, 20)))
    prune_spurs(g, spur_len=2.0)
    merge_junctions(g, merge_len=2.0)
    inc = g.incidence()
    assert sorted(len(v) for v in inc.values()) == [1, 1, 1, 1, 4]


def test_simplified_retrace_keeps_its_turn_and_its_widths_in_step():
    # a stem drawn down and back up over the same pixels (the 'd' of many writers), then on to
    # the right: the simplified stroke must keep the turn at the bottom, and the indices it
    # keeps must run forward so each kept point gets its own width
    from inknotes.derender.tracer import _simplify

    down = np.column_stack([np.full(30, 10.0), np.arange(30.0)])
    out = np.column_stack([10.0 + np.arange(1, 20.0), np.full(19, 0.5 * np.arange(1, 20.0))])
    p = np.vstack([down, down[::-1][1:], out]).astype(np.float32)
    keep = _simplify(p, 0.15)
    assert keep[0] == 0 and keep[-1] == len(p) - 1
    assert (np.diff(keep) > 0).all()
    assert 29 in keep  # the turn at the bottom of the stem
    kept = p[keep]
    seg = resample(kept, 0.25)
    assert cKDTree(seg).query(p)[0].max() <= 0.2  # every point of the path is still on it
