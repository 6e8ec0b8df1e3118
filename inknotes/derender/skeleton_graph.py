"""Ink mask -> skeleton -> stroke graph (nodes at ends and junctions, edges = skeleton paths).

The graph is what the tracer reasons about: pen paths are walks through it. Pixel work is
vectorised with numpy/OpenCV; only the walk along each skeleton path runs in Python, and it
touches each skeleton pixel once.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
from skimage.morphology import skeletonize

# 8-neighbourhood offsets (dy, dx); diagonals are the ones with both parts non-zero.
_OFFSETS = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]


@dataclass
class Edge:
    """A skeleton path from node ``u`` to node ``v``; ``pts`` (N, 2) float32 x, y runs u -> v
    and starts/ends at the node positions."""

    u: int
    v: int
    pts: np.ndarray

    @property
    def length(self) -> float:
        if len(self.pts) < 2:
            return 0.0
        return float(np.sqrt((np.diff(self.pts, axis=0) ** 2).sum(1)).sum())


@dataclass
class Graph:
    """Nodes (id -> (x, y)) and edges (id -> Edge). Ids stay stable while the graph is edited."""

    nodes: dict[int, np.ndarray] = field(default_factory=dict)
    edges: dict[int, Edge] = field(default_factory=dict)
    _next_node: int = 0
    _next_edge: int = 0

    def add_node(self, pos: np.ndarray) -> int:
        i = self._next_node
        self._next_node += 1
        self.nodes[i] = np.asarray(pos, np.float32)
        return i

    def add_edge(self, u: int, v: int, pts: np.ndarray) -> int:
        i = self._next_edge
        self._next_edge += 1
        self.edges[i] = Edge(u, v, np.asarray(pts, np.float32))
        return i

    def incidence(self) -> dict[int, list[tuple[int, int]]]:
        """node -> [(edge id, end)], end 0 = the edge's start (at u), 1 = its end (at v).
        A loop edge appears twice at its node."""
        inc: dict[int, list[tuple[int, int]]] = {n: [] for n in self.nodes}
        for e, ed in self.edges.items():
            inc[ed.u].append((e, 0))
            inc[ed.v].append((e, 1))
        return inc


def clean_mask(mask: np.ndarray, pen_width: float) -> np.ndarray:
    """Fill pinholes inside strokes (they would become fake loops) and drop specks."""
    m = np.ascontiguousarray(mask, dtype=np.uint8)
    if not m.any():
        return m.astype(bool)
    hole_area = max(2.0, 0.6 * pen_width * pen_width)
    n, lab, stats, _ = cv2.connectedComponentsWithStats(1 - m, connectivity=4)
    h, w = m.shape
    x, y, bw, bh, area = stats[:, 0], stats[:, 1], stats[:, 2], stats[:, 3], stats[:, 4]
    inner = (x > 0) & (y > 0) & (x + bw < w) & (y + bh < h) & (area <= hole_area)
    inner[0] = inner[0] & (area[0] <= hole_area)
    out = m.astype(bool) | inner[lab]
    speck = max(2.0, 0.25 * pen_width * pen_width)
    n, lab, stats, _ = cv2.connectedComponentsWithStats(out.astype(np.uint8), connectivity=8)
    keep = stats[:, 4] > speck
    keep[0] = False
    return keep[lab]


def skeleton_of(mask: np.ndarray) -> np.ndarray:
    """One-pixel-wide 8-connected skeleton (scikit-image's Zhang-style thinning)."""
    return skeletonize(mask)


def _neighbours(skel: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Skeleton pixel coords (ys, xs) and their (n, 8) neighbour ids (-1 none). A diagonal
    link is dropped when a 4-neighbour already joins the two pixels, so staircases have
    degree 2 and junction degrees are real."""
    ys, xs = np.nonzero(skel)
    h, w = skel.shape
    idmap = np.full((h + 2, w + 2), -1, np.int64)
    idmap[ys + 1, xs + 1] = np.arange(len(ys))
    cols = []
    for dy, dx in _OFFSETS:
        nb = idmap[ys + 1 + dy, xs + 1 + dx]
        if dy and dx:
            corner = (idmap[ys + 1 + dy, xs + 1] >= 0) | (idmap[ys + 1, xs + 1 + dx] >= 0)
            nb = np.where(corner, -1, nb)
        cols.append(nb)
    return ys, xs, np.stack(cols, 1) if cols else np.zeros((0, 8), np.int64)


def build_graph(skel: np.ndarray) -> Graph:
    """Stroke graph of a skeleton: node clusters at pixels of degree != 2, edges between."""
    g = Graph()
    ys, xs, nb = _neighbours(skel)
    n = len(ys)
    if n == 0:
        return g
    deg = (nb >= 0).sum(1)
    is_node = deg != 2
    # cluster adjacent node pixels into one node (junction blobs)
    node_img = np.zeros(skel.shape, np.uint8)
    node_img[ys[is_node], xs[is_node]] = 1
    _, lab = cv2.connectedComponents(node_img, connectivity=8)
    pix_cluster = np.where(is_node, lab[ys, xs], 0)  # 0 = not a node pixel
    clusters = np.unique(pix_cluster[is_node])
    cl_node: dict[int, int] = {}
    for c in clusters:
        sel = pix_cluster == c
        cl_node[int(c)] = g.add_node(np.array([xs[sel].mean(), ys[sel].mean()], np.float32))
    # two neighbours of every degree-2 pixel, as plain lists for a fast walk
    srt = np.sort(nb, axis=1)
    a0 = srt[:, -1].tolist()
    a1 = srt[:, -2].tolist()
    node_of = pix_cluster.tolist()
    visited = np.zeros(n, bool)
    xs_l, ys_l = xs.tolist(), ys.tolist()
    done_starts: set[tuple[int, int]] = set()
    for p in np.nonzero(is_node)[0].tolist():
        cp = node_of[p]
        for q in nb[p][nb[p] >= 0].tolist():
            if node_of[q] == cp or (p, q) in done_starts:
                continue
            path = [p]
            prev, cur = p, q
            while node_of[cur] == 0:
                visited[cur] = True
                path.append(cur)
                nxt = a0[cur] if a0[cur] != prev else a1[cur]
                prev, cur = cur, nxt
            path.append(cur)
            done_starts.add((cur, prev))
            done_starts.add((p, q))
            pts = np.array([[xs_l[i], ys_l[i]] for i in path[1:-1]], np.float32).reshape(-1, 2)
            u, v = cl_node[cp], cl_node[node_of[cur]]
            pts = np.vstack([g.nodes[u][None], pts, g.nodes[v][None]])
            g.add_edge(u, v, pts)
    # closed loops with no junction ('o', '0'): start anywhere, here the top pixel
    rest = np.nonzero(~is_node & ~visited)[0]
    while len(rest):
        start = int(rest[np.argmin(ys[rest] * 100000 + xs[rest])])
        path = [start]
        visited[start] = True
        prev, cur = start, a0[start]
        while cur != start and not visited[cur]:
            visited[cur] = True
            path.append(cur)
            nxt = a0[cur] if a0[cur] != prev else a1[cur]
            prev, cur = cur, nxt
        pts = np.array([[xs_l[i], ys_l[i]] for i in path], np.float32)
        u = g.add_node(pts[0])
        g.add_edge(u, u, np.vstack([pts, pts[:1]]))
        rest = np.nonzero(~is_node & ~visited)[0]
    return g


def _merge_degree_two(g: Graph) -> None:
    """Join the two edges at every node of degree 2 into one (the node is just a bend).
    One pass with the incidence kept up to date, so big drawings stay linear."""
    inc = g.incidence()
    for nd in list(inc):
        ends = inc.get(nd)
        if ends is None or len(ends) != 2 or ends[0][0] == ends[1][0]:
            continue
        (e1, end1), (e2, end2) = ends
        ed1, ed2 = g.edges.pop(e1), g.edges.pop(e2)
        p1 = ed1.pts if end1 == 1 else ed1.pts[::-1]  # runs into nd
        p2 = ed2.pts if end2 == 0 else ed2.pts[::-1]  # runs out of nd
        a = ed1.u if end1 == 1 else ed1.v
        b = ed2.v if end2 == 0 else ed2.u
        del g.nodes[nd], inc[nd]
        new = g.add_edge(a, b, np.vstack([p1, p2[1:]]))
        inc[a].remove((e1, 1 - end1))
        inc[a].append((new, 0))
        inc[b].remove((e2, 1 - end2))
        inc[b].append((new, 1))


def prune_spurs(g: Graph, spur_len: float, rounds: int = 2) -> None:
    """Remove dead-end branches no longer than ``spur_len`` hanging off junctions: thinning
    artefacts at corners and stroke ends, not pen paths."""
    for _ in range(rounds):
        inc = g.incidence()
        drop = []
        for e, ed in g.edges.items():
            if ed.u == ed.v:
                continue
            du, dv = len(inc[ed.u]), len(inc[ed.v])
            if (du == 1) != (dv == 1) and max(du, dv) >= 3 and ed.length <= spur_len:
                drop.append(e)
        if not drop:
            break
        # never drop two spurs that would leave a junction with < 2 branches
        removed_at: dict[int, int] = {}
        for e in sorted(drop, key=lambda k: g.edges[k].length):
            ed = g.edges[e]
            j, tip = (ed.u, ed.v) if len(inc[ed.v]) == 1 else (ed.v, ed.u)
            if len(inc[j]) - removed_at.get(j, 0) <= 2:
                continue
            removed_at[j] = removed_at.get(j, 0) + 1
            del g.edges[e], g.nodes[tip]
        _merge_degree_two(g)


def merge_junctions(g: Graph, merge_len: float) -> None:
    """Contract edges no longer than ``merge_len`` between two junctions, shortest first: one
    crossing thinned into two nearby junctions is one crossing."""
    inc = g.incidence()
    for _, e in sorted((ed.length, e) for e, ed in g.edges.items()
                       if ed.u != ed.v and ed.length <= merge_len):
        ed = g.edges.get(e)
        if ed is None or ed.u == ed.v or len(inc[ed.u]) < 3 or len(inc[ed.v]) < 3:
            continue
        del g.edges[e]
        keep, gone = ed.u, ed.v
        mid = ed.pts[len(ed.pts) // 2].copy() if len(ed.pts) > 2 else (g.nodes[keep] + g.nodes[gone]) / 2
        g.nodes[keep] = mid.astype(np.float32)
        del g.nodes[gone]
        moved = [x for x in inc.pop(gone) if x[0] != e]
        inc[keep] = [x for x in inc[keep] if x[0] != e] + moved
        for e2, side in moved:
            if side == 0:
                g.edges[e2].u = keep
            else:
                g.edges[e2].v = keep
        for e2, side in inc[keep]:
            g.edges[e2].pts[0 if side == 0 else -1] = mid


def components(g: Graph) -> list[list[int]]:
    """Node ids of each connected piece of the graph."""
    parent = {n: n for n in g.nodes}

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for ed in g.edges.values():
        a, b = find(ed.u), find(ed.v)
        if a != b:
            parent[a] = b
    groups: dict[int, list[int]] = {}
    for n in g.nodes:
        groups.setdefault(find(n), []).append(n)
    return list(groups.values())


EDGE_FRAC = 0.1  # of a piece's width: how near its left/right edge a dead end must be to be a stroke end


@dataclass
class DeadEnd:
    """A dead end the pen may have drawn out and back (a retrace) or lifted at (a stroke end).
    ``out`` runs junction -> tip; ``branches`` are the other edges at the junction, each from
    the junction outward; ``box`` is the box (x0, y0, x1, y1) of its piece's skeleton;
    ``half_width`` the median distance to the paper along its middle; ``retrace`` the rules'
    call."""

    tip: int
    junction: int
    edge: int
    out: np.ndarray
    length: float
    branches: list[np.ndarray]
    box: tuple[float, float, float, float]
    n_tips: int
    half_width: float
    retrace: bool


def dead_ends(g: Graph, max_len: float, dist: np.ndarray | None = None,
              pen_radius: float = 0.0) -> list[DeadEnd]:
    """The dead ends whose retrace-or-lift is open, with the rules' call: shorter than
    ``max_len`` or filled in (``_filled_in``) is a retrace. In each connected piece the two
    dead ends farthest left and right are not open when they lie at the piece's own left and
    right edges (within ``EDGE_FRAC`` of its width): there the pen went down and came up. A
    word that starts in a closed bowl ('a', 'o') has no dead end there, and the stem of its
    first 'l' or 'd' is open. Dead ends that cross a junction straight (``_crossing_tips``)
    are not open either."""
    inc = g.incidence()
    found: list[DeadEnd] = []
    for comp in components(g):
        tips = [n for n in comp if len(inc[n]) == 1]
        if len(tips) <= 2:
            continue
        xs = [float(g.nodes[n][0]) for n in tips]
        members = set(comp)
        ink = np.concatenate([ed.pts for ed in g.edges.values() if ed.u in members])
        (lo, ylo), (hi, yhi) = ink.min(0), ink.max(0)
        edge = EDGE_FRAC * max(float(hi - lo), 1.0)
        left, right = int(np.argmin(xs)), int(np.argmax(xs))
        keep = _crossing_tips(g, inc, tips)
        if xs[left] - lo <= edge:
            keep.add(tips[left])
        if hi - xs[right] <= edge:
            keep.add(tips[right])
        for n in tips:
            if n in keep:
                continue
            e, side = inc[n][0]
            ed = g.edges[e]
            j = ed.u if side == 1 else ed.v
            if len(inc[j]) < 2:
                continue
            out = ed.pts if side == 1 else ed.pts[::-1]
            branches = [g.edges[e2].pts if s2 == 0 else g.edges[e2].pts[::-1]
                        for e2, s2 in inc[j] if e2 != e]
            half_width = _half_width(out, dist)
            retrace = ed.length < max_len or _filled_in(out, half_width, pen_radius)
            found.append(DeadEnd(n, j, e, out, ed.length, branches,
                                 (float(lo), float(ylo), float(hi), float(yhi)), len(tips),
                                 half_width, retrace))
    return found


def add_retraces(g: Graph, max_len: float, dist: np.ndarray | None = None, tip_frac: float = 0.0,
                 pen_radius: float = 0.0, spread: float = 1.0,
                 decide: Callable[[list[DeadEnd]], Sequence[bool]] | None = None) -> None:
    """Turn dead ends into out-and-back loops, as a pen retraces the stem of a 'd' or the leg
    of an 'n': the open ones of ``dead_ends``, where ``decide`` (a learned call on all of them
    at once) or else the rules say so. With ``dist`` (the distance transform), a retraced tip
    reaches ``tip_frac`` of the pen radius further, into the cap that thinning ate; with
    ``pen_radius`` too, the two passes move apart where the ink is wider than ``spread`` pen
    radii (see ``spread_passes``)."""
    found = dead_ends(g, max_len, dist, pen_radius)
    calls = [d.retrace for d in found] if decide is None or not found else decide(found)
    for d, yes in zip(found, calls, strict=True):
        if not yes:
            continue
        out = d.out
        del g.edges[d.edge], g.nodes[d.tip]
        if dist is not None and tip_frac > 0 and len(out) >= 3:
            out = np.vstack([out, tip_point(out, dist, tip_frac)[None]])
        there, back = spread_passes(out, dist, pen_radius, spread)
        g.add_edge(d.junction, d.junction, np.vstack([there, back[-2::-1]]))


CROSS_COS = -0.85  # two dead ends leaving a junction this close to opposite are one straight stroke


def _crossing_tips(g: Graph, inc: dict, tips: list[int]) -> set[int]:
    """Dead ends that continue each other straight through a junction: a t-bar, the stem of a
    't' crossing a joining stroke, the arms of an 'x'. The pen drew them as one line across,
    not as two out-and-back stubs, so they stay stroke ends."""
    by_junction: dict[int, list[tuple[int, np.ndarray]]] = {}
    for n in tips:
        e, side = inc[n][0]
        ed = g.edges[e]
        j = ed.u if side == 1 else ed.v
        if j == n or len(inc[j]) < 4:  # a crossing, not a stem with a bowl off its side
            continue
        d = np.asarray(g.nodes[n], float) - np.asarray(g.nodes[j], float)
        norm = float(np.hypot(*d))
        if norm > 0:
            by_junction.setdefault(j, []).append((n, d / norm))
    out: set[int] = set()
    for ends in by_junction.values():
        for a in range(len(ends)):
            for b in range(a + 1, len(ends)):
                if float(ends[a][1] @ ends[b][1]) <= CROSS_COS:
                    out |= {ends[a][0], ends[b][0]}
    return out


WIDE = 1.2  # pen radii of ink half-width: a dead end this wide is a filled-in loop


def _filled_in(out: np.ndarray, half_width: float, pen_radius: float) -> bool:
    """Whether a dead end is an out-and-back loop the ink filled in (the ascender of a 'd' or
    an 'l' written as a narrow loop): along its middle (``half_width``, from ``_half_width``;
    0 without a distance transform) the ink is about two pens wide."""
    if pen_radius <= 0 or len(out) < 6:
        return False
    return half_width - 0.5 >= WIDE * pen_radius


def _half_width(out: np.ndarray, dist: np.ndarray | None) -> float:
    """Median distance to the paper along the middle half of a path (0 without ``dist``)."""
    if dist is None or not len(out):
        return 0.0
    h, w = dist.shape
    mid = out[len(out) // 4: len(out) - len(out) // 4]
    xi = np.clip(np.rint(mid[:, 0]).astype(int), 0, w - 1)
    yi = np.clip(np.rint(mid[:, 1]).astype(int), 0, h - 1)
    return float(np.median(dist[yi, xi]))


def pair_odd_junctions(g: Graph, max_len: float, dist: np.ndarray | None = None,
                       pen_radius: float = 0.0, spread: float = 1.0) -> None:
    """Retrace short edges between junctions of odd degree (a pen path has two odd ends,
    so every other odd junction means a pen lift unless a part was drawn twice, as in the
    stem of an 'a' or 'h'). Shortest edges first; each piece keeps two odd nodes. With
    ``dist`` and ``pen_radius`` the two passes move apart where the ink is wider than a pen."""
    inc = g.incidence()
    deg = {n: len(v) for n, v in inc.items()}
    for comp in components(g):
        odd = {n for n in comp if deg[n] % 2}
        if len(odd) <= 2:
            continue
        cands = sorted((ed.length, e) for e, ed in g.edges.items()
                       if ed.u != ed.v and ed.u in odd and ed.v in odd and ed.length < max_len)
        for _, e in cands:
            if len(odd) <= 2:
                break
            ed = g.edges[e]
            if ed.u in odd and ed.v in odd and deg[ed.u] > 1 and deg[ed.v] > 1:
                one, two = spread_passes(ed.pts, dist, pen_radius, spread)
                ed.pts = one
                g.add_edge(ed.u, ed.v, two)
                odd -= {ed.u, ed.v}


CAP = 2.0  # pen radii: the most a pass moves off the centre line


def spread_passes(pts: np.ndarray, dist: np.ndarray | None, pen_radius: float,
                  spread: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """The two passes of a path the pen drew twice: offset to either side by the ink's
    half-width beyond one pen radius, tapering to the path's ends so they stay joined.
    Where the ink is one pen wide (a true retrace, the stem of a 'd') they stay close to the
    centre line (a pen never retraces exactly); where it is wider (a loop the ink filled in,
    the eye of a small 'e') they run along its two sides, as the pen did, instead of on top of
    each other. ``spread`` (pen radii) is the half-width from which they part."""
    pts = np.asarray(pts, np.float32)
    if dist is None or pen_radius <= 0 or len(pts) < 5:
        return pts.copy(), pts.copy()
    h, w = dist.shape
    xi = np.clip(np.rint(pts[:, 0]).astype(int), 0, w - 1)
    yi = np.clip(np.rint(pts[:, 1]).astype(int), 0, h - 1)
    # distance transform is to the centre of the nearest paper pixel: half-width = dt - 0.5
    off = np.clip(dist[yi, xi] - 0.5 - spread * pen_radius, 0.0, CAP * pen_radius)
    off = np.convolve(np.pad(off, 2, mode="edge"), np.ones(5) / 5, mode="valid")
    seg = np.hypot(*np.diff(pts, axis=0).T)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    ramp = np.clip(np.minimum(arc, arc[-1] - arc) / max(pen_radius, 1.0), 0.0, 1.0)
    off = off * ramp
    if not (off > 0.25).any():
        return pts.copy(), pts.copy()
    tang = np.gradient(pts, axis=0)
    tang /= np.maximum(np.hypot(*tang.T), 1e-6)[:, None]
    right = np.stack([-tang[:, 1], tang[:, 0]], 1)  # x right, y down: the pen's right hand
    shift = (right * off[:, None]).astype(np.float32)
    return pts + shift, pts - shift


def tip_point(path: np.ndarray, dist: np.ndarray, frac: float) -> np.ndarray:
    """A point ``frac`` of the local pen radius beyond the last point of ``path``, heading
    the way its last few pixels (up to 3 px back) run."""
    a = path[-1]
    back = path[max(0, len(path) - 5):-1][::-1]
    far = np.hypot(*(back - a).T) >= 3 if len(back) else np.zeros(0, bool)
    b = back[int(np.argmax(far))] if far.any() else (back[-1] if len(back) else a)
    v = a - b
    n = float(np.hypot(*v))
    h, w = dist.shape
    r = float(dist[int(np.clip(round(float(a[1])), 0, h - 1)), int(np.clip(round(float(a[0])), 0, w - 1))])
    if n < 1e-6 or r <= 0:
        return a.copy()
    return (a + v / n * frac * r).astype(np.float32)
