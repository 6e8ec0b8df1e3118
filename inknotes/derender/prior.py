"""A small learned writing prior for the tracer: which way each stroke runs and which stroke of
a word the writer drew first.

Two tiny numpy MLPs trained on UNIPEN pen trajectories (``training/train_prior.py``) over
geometry features of the traced paths. The direction model says whether the rule-based
orientation (``ordering.orient``) is right; the order model says, for a pair of strokes, which
came first (from where each lies in the word and how the two meet: ``pair_relations``), and
strokes are sorted by how many pairs they win. Inference is numpy only, so the
engine never imports TensorFlow.
"""
from __future__ import annotations

import logging
import zipfile
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from ..ink import joined

log = logging.getLogger(__name__)
MODEL_PATH = Path(__file__).parents[2] / "resources" / "models" / "tracer_prior.npz"


def _length(p: np.ndarray) -> float:
    return float(np.sqrt((np.diff(p, axis=0) ** 2).sum(1)).sum()) if len(p) > 1 else 0.0


def _unit_at(p: np.ndarray, reach: float) -> np.ndarray:
    """Unit direction of the first ``reach`` px of a path (zero for a dot)."""
    if len(p) < 2:
        return np.zeros(2)
    d = np.sqrt((np.diff(p, axis=0) ** 2).sum(1))
    k = int(np.searchsorted(np.cumsum(d), reach)) + 1
    v = p[min(k, len(p) - 1)] - p[0]
    n = float(np.hypot(*v))
    return v / n if n > 1e-6 else np.zeros(2)


def _context(paths: list[np.ndarray]) -> tuple[np.ndarray, float]:
    """The word's ink box and its scale (box height, at least a few px)."""
    allp = np.vstack(paths)
    lo, hi = allp.min(0), allp.max(0)
    return np.concatenate([lo, hi]), max(float(hi[1] - lo[1]), 4.0)


def _near_others(paths: list[np.ndarray], pw: float) -> np.ndarray:
    """(n, 2) distance from each path's start and end to the nearest other path, in pen widths
    (capped at 8): a stroke end at a junction sits on other ink, a free tip does not."""
    pts = [np.asarray(p, np.float64).reshape(-1, 2) for p in paths]
    out = np.full((len(pts), 2), 8.0)
    has = np.array([len(p) > 0 for p in pts], bool)
    if has.sum() < 2:
        return out
    allp = np.vstack(pts)
    own = np.repeat(np.arange(len(pts)), [len(p) for p in pts])
    ends = np.array([[p[0], p[-1]] if len(p) else [[0.0, 0.0]] * 2 for p in pts]).reshape(-1, 2)
    end_of = np.repeat(np.arange(len(pts)), 2)
    d2 = np.empty(len(ends))
    step = max(1, 2_000_000 // len(allp))  # every end to every point, a bounded block at a time
    for a in range(0, len(ends), step):
        block = ((ends[a:a + step, None, :] - allp[None, :, :]) ** 2).sum(-1)
        block[end_of[a:a + step, None] == own[None, :]] = np.inf  # not its own path
        d2[a:a + step] = block.min(1)
    near = np.sqrt(d2).reshape(-1, 2) / pw
    return np.where(has[:, None], np.minimum(8.0, near), out)


def direction_features(paths: list[np.ndarray], pw: float) -> np.ndarray:
    """(n, F) features of each path as oriented now, scaled by the word's height."""
    box, H = _context(paths)
    W = max(float(box[2] - box[0]), 1.0)
    pw = max(pw, 1.0)
    near = _near_others(paths, pw)
    rows = []
    for i, p in enumerate(paths):
        p = np.asarray(p, np.float64)
        a, b = p[0], p[-1]
        L = _length(p)
        span = np.ptp(p, axis=0) if len(p) > 1 else np.zeros(2)
        closed = float(np.hypot(*(b - a)) < max(2.0, 0.15 * float(span.max())))
        x, y = p[:, 0], p[:, 1]
        area = float((x * np.roll(y, -1) - np.roll(x, -1) * y).sum()) / 2 / max(span[0] * span[1], 1.0)
        u0, u1 = _unit_at(p, 2 * pw), -_unit_at(p[::-1], 2 * pw)
        seg = np.diff(p, axis=0)
        ang = np.arctan2(seg[:, 1], seg[:, 0]) if len(seg) else np.zeros(1)
        turn = float(np.angle(np.exp(1j * np.diff(ang))).sum()) / (2 * np.pi) if len(ang) > 1 else 0.0
        ymin = float(p[:, 1].min())
        rows.append([
            (a[0] - box[0]) / W, (a[1] - box[1]) / H, (b[0] - box[0]) / W, (b[1] - box[1]) / H,
            (b[0] - a[0]) / H, (b[1] - a[1]) / H, np.log1p(L / H), span[0] / H, span[1] / H,
            closed, np.clip(area, -2, 2), u0[0], u0[1], u1[0], u1[1], np.clip(turn, -3, 3),
            near[i, 0] / 8, near[i, 1] / 8,
            (a[1] - ymin) / H, (b[1] - ymin) / H, L / max(np.hypot(*(b - a)), 1.0) / 10,
        ])
    return np.asarray(rows, np.float64).reshape(len(paths), -1)


def order_features(paths: list[np.ndarray], pw: float) -> np.ndarray:
    """(n, F) features of each (finally oriented) path for the pairwise order model."""
    box, H = _context(paths)
    lens = np.array([_length(np.asarray(p, np.float64)) for p in paths])
    big = max(float(lens.max()), 1.0)
    rows = []
    for p, L in zip(paths, lens, strict=True):
        p = np.asarray(p, np.float64)
        lo, hi = p.min(0), p.max(0)
        rows.append([
            (lo[0] - box[0]) / H, (hi[0] - box[0]) / H, (p[0, 0] - box[0]) / H, (p[-1, 0] - box[0]) / H,
            (lo[1] - box[1]) / H, (hi[1] - box[1]) / H, (p[0, 1] - box[1]) / H, (p[-1, 1] - box[1]) / H,
            (p[:, 0].mean() - box[0]) / H, np.log1p(L / H), L / big, (hi[0] - lo[0]) / H, (hi[1] - lo[1]) / H,
        ])
    return np.asarray(rows, np.float64).reshape(len(paths), -1)


def _samples(paths: list[np.ndarray], step: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All paths' points every ``step`` px along them (ends kept, a dot one point), at once:
    the points, whose path each is, how far along it (px) and each path's length."""
    n = len(paths)
    pts, s, first, last = joined(paths)
    start, length = s[first], s[last] - s[first]
    count = np.floor(length / step).astype(int) + 1 + (length % step > 1e-6)
    owner = np.repeat(np.arange(n), count)
    k = np.arange(len(owner)) - np.repeat(np.cumsum(count) - count, count)
    along = np.minimum(k * step, length[owner])
    t = start[owner] + along
    return np.column_stack([np.interp(t, s, pts[:, 0]), np.interp(t, s, pts[:, 1])]), owner, along, length


END_MARGIN = 3.0  # px: how far from a path's ends its interior starts
NEAR = 1.5  # pen widths: a stroke end this close to another path is on it
FAR = 8.0  # pen widths: the gap's cap


def pair_relations(paths: list[np.ndarray], pw: float) -> np.ndarray:
    """(n, n, 9) how path i meets path j, which box positions alone do not say: a stroke
    that starts or ends on another's body (the arm of a 'k', the stem of a 'T' hung from its
    bar) or crosses it (a t-bar) was mostly drawn after it; one that starts where another
    ended continues it after a lift. Per pair: i's start on j's interior, i's end on it,
    i's interior touching j's, share of i's interior on j, gap, where on j (0-1) i starts and
    ends (-0.5 when off it), pen travel from j's end to i's start and from i's end to j's
    start (distances in pen widths, capped at ``FAR`` and scaled to 0-1).

    Paths are looked at every pen width (their ends exactly); the gap is exact up to ``NEAR``
    pen widths and the boxes' gap beyond (all pairs at once: well under a ms a word)."""
    n = len(paths)
    pw = max(pw, 1.0)
    q, owner, along, length = _samples(paths, pw)
    first = np.searchsorted(owner, np.arange(n))
    last = np.searchsorted(owner, np.arange(n), side="right") - 1
    inner = (along >= END_MARGIN) & (along <= length[owner] - END_MARGIN)
    n_inner = np.maximum(np.bincount(owner, inner, n), 1)
    lo = np.column_stack([np.minimum.reduceat(q[:, 0], first), np.minimum.reduceat(q[:, 1], first)])
    hi = np.column_stack([np.maximum.reduceat(q[:, 0], first), np.maximum.reduceat(q[:, 1], first)])
    F = np.zeros((n, n, 9))
    gx = np.maximum(np.maximum(lo[None, :, 0] - hi[:, None, 0], lo[:, None, 0] - hi[None, :, 0]), 0)
    gy = np.maximum(np.maximum(lo[None, :, 1] - hi[:, None, 1], lo[:, None, 1] - hi[None, :, 1]), 0)
    F[:, :, 4] = np.minimum(np.maximum(np.hypot(gx, gy) / pw, NEAR), FAR) / FAR
    F[:, :, 5:7] = -0.5
    # every pair of samples of two paths within NEAR pen widths, then for each sample of i the
    # nearest sample of each other path j
    tree = cKDTree(q)
    S = tree.sparse_distance_matrix(tree, NEAR * pw, output_type="ndarray")
    qa, fb, dist = S["i"], S["j"], S["v"]
    other = owner[qa] != owner[fb]
    qa, fb, dist = qa[other], fb[other], dist[other]
    key = qa * n + owner[fb]
    o = np.lexsort((dist, key))
    keep = o[np.r_[True, key[o][1:] != key[o][:-1]]] if len(o) else o
    qa, fb, dist = qa[keep], fb[keep], dist[keep]
    i_of, j_of = owner[qa], owner[fb]
    np.minimum.at(F[:, :, 4], (i_of, j_of), np.minimum(dist / pw, FAR) / FAR)
    for ends_at, col in ((first, 0), (last, 1)):
        e = np.zeros(len(q), bool)
        e[ends_at] = True
        e = e[qa]
        F[i_of[e], j_of[e], col] = inner[fb[e]]
        F[i_of[e], j_of[e], col + 5] = along[fb[e]] / np.maximum(length[j_of[e]], 1.0)
    touch = (dist <= pw) & inner[qa]
    both = touch & inner[fb]
    F[i_of[both], j_of[both], 2] = 1.0
    np.add.at(F[:, :, 3], (i_of[touch], j_of[touch]), 1.0)
    F[:, :, 3] /= n_inner[:, None]
    starts, ends = q[first], q[last]
    F[:, :, 7] = np.minimum(np.hypot(*(starts[:, None] - ends[None]).transpose(2, 0, 1)) / pw, FAR) / FAR
    F[:, :, 8] = np.minimum(np.hypot(*(ends[:, None] - starts[None]).transpose(2, 0, 1)) / pw, FAR) / FAR
    idx = np.arange(n)
    F[idx, idx] = 0
    return F


def pair_inputs(f: np.ndarray, rel: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All ordered pairs (i, j), i != j, as model inputs [f_i, f_j, f_i - f_j, box overlap]
    and, with ``rel`` (``pair_relations``), how i meets j and how j meets i."""
    n = len(f)
    ii, jj = np.nonzero(~np.eye(n, dtype=bool))
    fi, fj = f[ii], f[jj]
    overlap = (np.minimum(fi[:, 1], fj[:, 1]) - np.maximum(fi[:, 0], fj[:, 0])) / \
        np.maximum(np.minimum(fi[:, 1] - fi[:, 0], fj[:, 1] - fj[:, 0]), 0.05)
    cols = [fi, fj, fi - fj, np.clip(overlap, -3, 1)[:, None]]
    if rel is not None:
        cols += [rel[ii, jj], rel[jj, ii]]
    return np.hstack(cols), ii, jj


def order_inputs(paths: list[np.ndarray], pw: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The order model's inputs for all ordered pairs of a word's (oriented) paths."""
    return pair_inputs(order_features(paths, pw), pair_relations(paths, pw))


MLP_ARRAYS = ("mu", "sd", "W1", "b1", "W2", "b2")  # what ``mlp`` reads, after its prefix


def mlp(params: dict[str, np.ndarray], prefix: str, x: np.ndarray) -> np.ndarray:
    """Probability from a one-hidden-layer tanh MLP with standardised inputs."""
    z = (x - params[prefix + "mu"]) / params[prefix + "sd"]
    h = np.tanh(z @ params[prefix + "W1"] + params[prefix + "b1"])
    return 1.0 / (1.0 + np.exp(-(h @ params[prefix + "W2"] + params[prefix + "b2"]).ravel()))


class WritingPrior:
    """Shipped weights of both models; ``orient`` and ``order`` mirror the rules they replace."""

    def __init__(self, params: dict[str, np.ndarray]) -> None:
        self.p = params

    def orient(self, paths: list[np.ndarray], pw: float) -> list[np.ndarray]:
        """Reverse the (rule-oriented) paths the direction model says run the wrong way."""
        if not paths or "dir_W1" not in self.p:  # shipped without a direction model: rules stay
            return paths
        keep = mlp(self.p, "dir_", direction_features(paths, pw)) >= 0.5
        return [p if k or len(p) < 2 else p[::-1].copy() for p, k in zip(paths, keep, strict=True)]

    def order(self, paths: list[np.ndarray], pw: float) -> list[int]:
        """Indices sorted by pairs won: p(i before j) averaged with 1 - p(j before i)."""
        n = len(paths)
        if n < 2:
            return list(range(n))
        x, ii, jj = order_inputs(paths, pw)
        pr = np.zeros((n, n))
        pr[ii, jj] = mlp(self.p, "ord_", x)
        sym = (pr + (1 - pr.T)) / 2
        np.fill_diagonal(sym, 0)
        return [int(i) for i in np.argsort(-sym.sum(1), kind="stable")]


def read_weights(path: Path, what: str, required: tuple[str, ...] = ()) -> dict[str, np.ndarray] | None:
    """The arrays of a shipped .npz, or None when it is missing, unreadable (truncated,
    corrupt) or lacks one of the ``required`` arrays (logged: the tracer then keeps its rules
    for ``what``)."""
    if not path.exists():
        return None
    try:
        with np.load(path) as z:
            params = {k: z[k] for k in z.files}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        log.exception("could not read the tracer %s %s; using the rules", what, path)
        return None
    missing = [k for k in required if k not in params]
    if missing:
        log.error("the tracer %s %s lacks %s; using the rules", what, path, ", ".join(missing))
        return None
    return params


@lru_cache(maxsize=1)
def load_prior(path: Path = MODEL_PATH) -> WritingPrior | None:
    """The shipped prior, or None (the tracer then keeps its rules) when the file is missing,
    unreadable or made for other order inputs (an older release's weights)."""
    params = read_weights(path, "prior", tuple("ord_" + k for k in MLP_ARRAYS))
    if params is None:
        return None
    width = order_inputs([np.zeros((2, 2)), np.ones((2, 2))], 1.0)[0].shape[1]
    if params["ord_mu"].shape != (width,) or params["ord_W1"].shape[0] != width:
        log.error("the tracer prior %s takes %d order inputs, not the %d this version makes; "
                  "using the rules", path, params["ord_W1"].shape[0], width)
        return None
    return WritingPrior(params)
