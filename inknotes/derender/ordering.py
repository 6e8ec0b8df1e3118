"""Stroke graph -> pen paths: pair branches at junctions by smooth continuation, walk the
pairs into strokes, point each stroke the way people write, and order strokes in a word.

This is the tracer's writing prior: one stroke per pen-down, left to right, top to bottom,
delayed strokes (i-dots, t-bars) after the word's main body.
"""
from __future__ import annotations

import numpy as np

from ..ink import arc_length, joined
from .skeleton_graph import Graph

End = tuple[int, int]  # (edge id, 0 = at edge start / 1 = at edge end)


def _out_dir(g: Graph, end: End, reach: float) -> np.ndarray:
    """Unit direction leaving the node along an edge end, looked at ``reach`` px away."""
    e, side = end
    pts = g.edges[e].pts if side == 0 else g.edges[e].pts[::-1]
    if len(pts) < 2:
        return np.zeros(2, np.float32)
    d = np.sqrt((np.diff(pts, axis=0) ** 2).sum(1))
    s = np.concatenate([[0.0], np.cumsum(d)])
    if g.edges[e].u == g.edges[e].v:  # a loop (or a retrace) comes back: look only half way
        reach = min(reach, 0.45 * float(s[-1]))
    k = int(np.searchsorted(s, min(reach, s[-1])))
    k = min(max(k, 1), len(pts) - 1)
    v = pts[k] - pts[0]
    n = float(np.hypot(*v))
    return (v / n).astype(np.float32) if n > 1e-6 else np.zeros(2, np.float32)


def _matchings(items: list[int]):
    """All maximum matchings of a small list (one item left over when odd)."""
    if len(items) < 2:
        yield [], list(items)
        return
    if len(items) % 2:
        for i in range(len(items)):
            rest = items[:i] + items[i + 1:]
            for m, _ in _matchings(rest):
                yield m, [items[i]]
        return
    a = items[0]
    for i in range(1, len(items)):
        rest = items[1:i] + items[i + 1:]
        for m, left in _matchings(rest):
            yield [(a, items[i])] + m, left


def pair_ends(g: Graph, reach: float) -> dict[End, End]:
    """At every junction, pair the branch ends so each pair continues as straight as
    possible (maximum total straightness). Returns end -> partner end, both ways."""
    partner: dict[End, End] = {}
    for ends in g.incidence().values():
        if len(ends) < 2:
            continue
        dirs = [_out_dir(g, en, reach) for en in ends]
        k = len(ends)
        # straightness of continuing from branch i into branch j: in along -d_i, out along d_j
        s = -np.array([[float(dirs[i] @ dirs[j]) for j in range(k)] for i in range(k)])
        if k <= 7:
            best, best_score = None, -1e9
            for m, _ in _matchings(list(range(k))):
                sc = sum(s[i, j] for i, j in m)
                if sc > best_score:
                    best, best_score = m, sc
            pairs = best or []
        else:  # greedy for rare big blobs
            pairs, used = [], set()
            for flat in np.argsort(-s, axis=None):
                i, j = divmod(int(flat), k)
                if i < j and i not in used and j not in used:
                    pairs.append((i, j))
                    used |= {i, j}
        for i, j in pairs:
            partner[ends[i]] = ends[j]
            partner[ends[j]] = ends[i]
    return partner


def walk_trails(g: Graph, partner: dict[End, End]) -> list[np.ndarray]:
    """Follow the pairings into polylines: start at unpaired ends, then close the loops."""
    used: set[int] = set()
    trails: list[np.ndarray] = []

    def walk(e: int, side: int) -> np.ndarray:
        parts = []
        while e not in used:
            used.add(e)
            pts = g.edges[e].pts if side == 0 else g.edges[e].pts[::-1]
            parts.append(pts if not parts else pts[1:])
            nxt = partner.get((e, 1 - side))
            if nxt is None:
                break
            e, side = nxt
        return np.vstack(parts)

    inc = g.incidence()
    starts = [en for ends in inc.values() for en in ends if en not in partner]
    for e, side in starts:
        if e not in used:
            trails.append(walk(e, side))
    for e in list(g.edges):
        if e not in used:
            trails.append(walk(e, 0))
    # lone nodes (a dot thinned to a pixel)
    for nd, ends in inc.items():
        if not ends:
            trails.append(g.nodes[nd][None].copy())
    return trails


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.hypot(*v))
    return v / n if n > 1e-9 else np.zeros(2)


def _turn(loop: np.ndarray, h_in: np.ndarray, h_out: np.ndarray, reach: int) -> float:
    """How smoothly a loop run this way leaves and rejoins a trail heading h_in, then h_out."""
    a = _unit(loop[min(reach, len(loop) - 1)] - loop[0])
    b = _unit(loop[-1] - loop[max(0, len(loop) - 1 - reach)])
    return float(h_in @ a + b @ h_out)


def splice_loops(trails: list[np.ndarray], touch: float, reach: int = 4,
                 inner: float = 0.0) -> list[np.ndarray]:
    """Closed trails that touch another trail are drawn as part of it: pairing by smooth
    continuation can leave a loop (an 'o' or an 'e' inside a cursive word, a retraced stub)
    as a cycle of its own, but the pen went round it on its way through. The loop is
    entered where it touches (within ``touch`` px, at least ``inner`` px along from either
    end of the other trail) and run the way that turns least. Near an end it is left alone:
    a bowl at the foot of a 'd' stem is drawn before the stem, not in the middle of it."""
    trails = [np.asarray(t, np.float64) for t in trails]

    def closed(t: np.ndarray) -> bool:
        return len(t) > 3 and float(np.hypot(*(t[0] - t[-1]))) < 1.0

    changed = True
    while changed:
        changed = False
        for ci, c in enumerate(trails):
            if not closed(c):
                continue
            best = None
            for ti, t in enumerate(trails):
                if ti == ci or len(t) < 2:
                    continue
                d = np.hypot(c[:-1, None, 0] - t[None, :, 0], c[:-1, None, 1] - t[None, :, 1])
                if inner > 0:  # only where the other trail runs on both sides of the loop
                    arc = np.r_[0.0, np.cumsum(np.hypot(*np.diff(t, axis=0).T))]
                    d[:, (arc < inner) | (arc > arc[-1] - inner)] = np.inf
                k = int(np.argmin(d))
                if d.flat[k] <= touch and (best is None or d.flat[k] < best[0]):
                    best = (float(d.flat[k]), ti, *np.unravel_index(k, d.shape))
            if best is None:
                continue
            _, ti, ic, it = best
            t = trails[ti]
            loop = np.vstack([c[ic:-1], c[:ic + 1]])
            h_in = _unit(t[it] - t[max(0, it - reach)])
            h_out = _unit(t[min(len(t) - 1, it + reach)] - t[it])
            if _turn(loop[::-1], h_in, h_out, reach) > _turn(loop, h_in, h_out, reach):
                loop = loop[::-1]
            trails[ti] = np.vstack([t[:it + 1], loop, t[it + 1:]])
            del trails[ci]
            changed = True
            break
    return trails


# Strokes head within 90 degrees of this direction (x right, y down): 40 degrees below
# the horizontal, the middle of where pen strokes of handwriting run (right, down, down-left).
# 40 beat 45 (and 30, 35) on UNIPEN training writers.
HEAD = (float(np.cos(np.radians(40))), float(np.sin(np.radians(40))))


def _heading(pts: np.ndarray) -> np.ndarray:
    """Where an open stroke goes: from the centre of its first half (by arc length) to the
    centre of its second half. Steadier than the end-to-end chord on curved strokes (a 'c',
    a hooked descender, several letters merged into one trail), whose ends can point anywhere;
    on held-out writers it raised word direction 0.923 -> 0.94."""
    s = arc_length(pts)
    first = s <= 0.5 * s[-1]
    if first.all() or not first.any():
        return pts[-1] - pts[0]
    return pts[~first].mean(0) - pts[first].mean(0)


def _through_start(pts: np.ndarray, near: float = 2.0) -> bool:
    """Whether a closed path also passes through its start half way round: a figure of eight
    (a looped 'f', an 'o' with a loop), whose trail begins where its loops meet."""
    s = arc_length(pts)
    mid = (s > 0.15 * s[-1]) & (s < 0.85 * s[-1])
    if not mid.any():
        return False
    return float(np.sqrt(((pts[mid] - pts[0]) ** 2).sum(1)).min()) <= near


def _orient_index(pts: np.ndarray) -> np.ndarray:
    """The point indices that run a stroke the way ``orient`` says."""
    n = len(pts)
    idx = np.arange(n)
    if n < 2:
        return idx
    span = np.ptp(pts, axis=0)
    closed = float(np.hypot(*(pts[-1] - pts[0]))) < max(2.0, 0.15 * float(span.max()))
    if closed and _through_start(pts):
        half = n // 2
        return idx if pts[:half, 1].mean() <= pts[half:, 1].mean() else idx[::-1]
    if closed:
        top = int(np.argmin(pts[:, 1]))
        ring = np.r_[idx[top:-1], idx[:top + 1]] if top > 0 else idx
        # shoelace in image coords (y down): positive area = clockwise on the page
        x, y = pts[ring, 0], pts[ring, 1]
        area = float((x * np.roll(y, -1) - np.roll(x, -1) * y).sum())
        return ring[::-1] if area > 0 else ring
    dx, dy = _heading(pts)
    return idx if HEAD[0] * dx + HEAD[1] * dy >= 0 else idx[::-1]


def orient(pts: np.ndarray) -> np.ndarray:
    """Run an open stroke so it heads right or down (the way from its first half to its second
    half points within 90 degrees of ``HEAD``: people write left to right and top to bottom;
    strokes heading up or left are rare); run a closed one from its top, counter-clockwise on
    the page, as people write an 'o'."""
    return _reordered(pts, _orient_index(pts))


def _reordered(pts: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """The points in the order ``idx`` gives; the same array when that changes nothing."""
    return pts if len(pts) < 2 or (idx == np.arange(len(pts))).all() else pts[idx].copy()


SLANT_MAX = 0.7  # dx/dy (35 degrees): no handwriting leans more; beyond it the estimate is wrong


def writing_slant(paths: list[np.ndarray]) -> float:
    """How far the writing leans, as dx/dy of its near-vertical strokes (negative: tops to the
    right, as most people write; y points down): the median over every 2 px of the paths that
    runs within 34 degrees of vertical. 0 when too little of the ink is near-vertical.

    The window stays on the vertical, so a strong lean is under-measured (a word sheared by 25
    degrees measures about half that more): re-centring the window on the estimate measured
    shears more fully but, shrunk less, moved held-out direction and order the wrong way
    (pL_held 0.952 -> 0.951 and 0.973 -> 0.971, h2 0.946 -> 0.944 and 0.985 -> 0.982)."""
    d = _steps(paths, 2.0)
    d = d[np.abs(d[:, 1]) > 1.5 * np.abs(d[:, 0])]
    if len(d) < 10:
        return 0.0
    return float(np.clip(np.median(d[:, 0] / d[:, 1]), -SLANT_MAX, SLANT_MAX))


def _steps(paths: list[np.ndarray], step: float) -> np.ndarray:
    """The moves between consecutive points of every path resampled as ``ink.resample`` does
    (n = ceil(length / step) + 1 even points), all paths at once; paths under 3 points give none."""
    pts = [p for p in paths if len(p) >= 2]
    if not pts:
        return np.zeros((0, 2))
    P, s, first, last = joined(pts)
    start, length = s[first], s[last] - s[first]
    n = np.where(length < 1e-6, 1, np.maximum(2, np.ceil(length / step).astype(int) + 1))
    n = np.where(n >= 3, n, 0)
    if not n.any():
        return np.zeros((0, 2))
    which = np.repeat(np.arange(len(pts)), n)
    k = np.arange(len(which)) - np.repeat(np.cumsum(n) - n, n)
    t = start[which] + k * (length / np.maximum(n - 1, 1))[which]
    q = np.column_stack([np.interp(t, s, P[:, 0]), np.interp(t, s, P[:, 1])])
    return np.diff(q, axis=0)[which[1:] == which[:-1]]


def upright(paths: list[np.ndarray], slant: float | None = None) -> list[np.ndarray]:
    """The paths sheared so the writing stands upright (``writing_slant`` taken out, the rows
    kept): the rules and the learned models judge a leaning hand as they do an upright one."""
    m = writing_slant(paths) if slant is None else slant
    if m == 0.0:
        return list(paths)
    return [np.column_stack([p[:, 0] - m * p[:, 1], p[:, 1]]).astype(p.dtype) for p in paths]


def orient_all(paths: list[np.ndarray]) -> list[np.ndarray]:
    """``orient`` every path of a word, judged on the word stood upright."""
    return [_reordered(p, _orient_index(q)) for p, q in zip(paths, upright(paths), strict=True)]


# Strokes shorter than this share of their line's longest stroke (dots, bars) go after the
# line's main strokes. Off: UNIPEN writers mostly place them right after their letter, and
# delaying them lowered word order_tau on the dev set (0.89 -> 0.86 at 0.1, 0.80 at 0.25).
DELAYED_FRAC = 0.0
ORDER_KEY = "left"  # sort key in a line: "left" edge of the stroke's box, or its "start" x


def order_strokes(strokes: list[np.ndarray], delayed_frac: float | None = None) -> list[int]:
    """Indices in writing order: text lines top to bottom; in a line, strokes left to right
    by their left edge (with ``delayed_frac`` > 0, short strokes after the main ones)."""
    if not strokes:
        return []
    frac = DELAYED_FRAC if delayed_frac is None else delayed_frac
    boxes = np.array([[s[:, 0].min(), s[:, 1].min(), s[:, 0].max(), s[:, 1].max()] for s in strokes])
    lens = np.array([float(np.sqrt((np.diff(s, axis=0) ** 2).sum(1)).sum()) if len(s) > 1 else 0.0
                     for s in strokes])
    key = boxes[:, 0] if ORDER_KEY == "left" else np.array([s[0, 0] for s in strokes])
    order: list[int] = []
    for members in _text_lines(boxes, lens):
        big = max(lens[i] for i in members)
        main = [i for i in members if lens[i] >= frac * big]
        late = [i for i in members if lens[i] < frac * big]
        order += sorted(main, key=lambda i: key[i]) + sorted(late, key=lambda i: key[i])
    return order


LINE_GAP = 0.6


def _text_lines(boxes: np.ndarray, lens: np.ndarray) -> list[list[int]]:
    """Group strokes into text lines, top to bottom. A crop no taller than a few strokes is
    one line (a word); a taller one (lines that touch) is cut where the centres of its long
    strokes, sorted by height, jump by more than ``LINE_GAP`` of a typical stroke's height.
    Short marks join the line nearest to them."""
    ref = float(np.percentile(lens, 90)) if len(lens) else 0.0
    big = lens >= 0.25 * ref if ref > 0 else np.ones(len(lens), bool)
    ids = np.flatnonzero(big)
    h = max(float(np.median(boxes[ids, 3] - boxes[ids, 1])), 1.0)
    if boxes[:, 3].max() - boxes[:, 1].min() <= 2.5 * h:
        return [list(range(len(boxes)))]
    cy = (boxes[:, 1] + boxes[:, 3]) / 2
    ids = ids[np.argsort(cy[ids], kind="stable")]
    cut = np.flatnonzero(np.diff(cy[ids]) > LINE_GAP * h) + 1
    members: list[list[int]] = []
    for grp in np.split(ids, cut):
        # lines that touch still stack: most of the upper one ends above where most of the
        # lower one starts. A stroke hanging low (a long descender) is not a line of its own.
        if members and np.median(boxes[members[-1], 3]) > np.median(boxes[grp, 1]):
            members[-1] += list(map(int, grp))
        else:
            members.append(list(map(int, grp)))
    bands = [(float(boxes[m, 1].min()), float(boxes[m, 3].max())) for m in members]
    for i in np.flatnonzero(~big):
        d = [0.0 if b0 <= cy[i] <= b1 else min(abs(cy[i] - b0), abs(cy[i] - b1)) for b0, b1 in bands]
        members[int(np.argmin(d))].append(int(i))
    return members


def text_lines(strokes: list[np.ndarray]) -> list[list[int]]:
    """Stroke indices grouped into text lines, top to bottom (see ``_text_lines``)."""
    if not strokes:
        return []
    boxes = np.array([[s[:, 0].min(), s[:, 1].min(), s[:, 0].max(), s[:, 1].max()] for s in strokes])
    lens = np.array([float(np.sqrt((np.diff(s, axis=0) ** 2).sum(1)).sum()) if len(s) > 1 else 0.0
                     for s in strokes])
    return _text_lines(boxes, lens)
