"""A small learned writing prior for the tracer: which way each stroke runs and which stroke of
a word the writer drew first.

Two tiny numpy MLPs trained on UNIPEN pen trajectories (``training/train_prior.py``) over
geometry features of the traced paths. The direction model says whether the rule-based
orientation (``ordering.orient``) is right; the order model says, for a pair of strokes, which
came first, and strokes are sorted by how many pairs they win. Inference is numpy only, so the
engine never imports TensorFlow.
"""
from __future__ import annotations

import logging
import zipfile
from functools import lru_cache
from pathlib import Path

import numpy as np

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


def _near_other(paths: list[np.ndarray], i: int, pt: np.ndarray, pw: float) -> float:
    """Distance from ``pt`` to the nearest other path, in pen widths (capped): a stroke end at
    a junction sits on other ink, a free tip does not."""
    best = 8.0
    for j, q in enumerate(paths):
        if j != i and len(q):
            best = min(best, float(np.sqrt(((q - pt) ** 2).sum(1)).min()) / pw)
    return best


def direction_features(paths: list[np.ndarray], pw: float) -> np.ndarray:
    """(n, F) features of each path as oriented now, scaled by the word's height."""
    box, H = _context(paths)
    W = max(float(box[2] - box[0]), 1.0)
    pw = max(pw, 1.0)
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
            _near_other(paths, i, a, pw) / 8, _near_other(paths, i, b, pw) / 8,
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


def pair_inputs(f: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All ordered pairs (i, j), i != j, as model inputs [f_i, f_j, f_i - f_j, box overlap]."""
    n = len(f)
    ii, jj = np.nonzero(~np.eye(n, dtype=bool))
    fi, fj = f[ii], f[jj]
    overlap = (np.minimum(fi[:, 1], fj[:, 1]) - np.maximum(fi[:, 0], fj[:, 0])) / \
        np.maximum(np.minimum(fi[:, 1] - fi[:, 0], fj[:, 1] - fj[:, 0]), 0.05)
    return np.hstack([fi, fj, fi - fj, np.clip(overlap, -3, 1)[:, None]]), ii, jj


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
        x, ii, jj = pair_inputs(order_features(paths, pw))
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
    """The shipped prior, or None (the tracer then keeps its rules) when the file is missing."""
    params = read_weights(path, "prior", tuple("ord_" + k for k in MLP_ARRAYS))
    return None if params is None else WritingPrior(params)
