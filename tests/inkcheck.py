"""A tiny, independent ink scorer for tests (the evaluation tools live outside the repo)."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np
from scipy.spatial import cKDTree

TRACER_FIXTURES = Path(__file__).parent / "fixtures" / "tracer"


def read_traces(path: str | Path) -> list[np.ndarray]:
    """X, Y of every <trace> in document order (first two channels)."""
    out = []
    for el in ET.parse(path).getroot().iter():
        if el.tag.rsplit("}", 1)[-1] != "trace" or not (el.text or "").strip():
            continue
        pts = [[float(v) for v in p.split()[:2]] for p in el.text.strip().split(",") if p.strip()]
        if pts:
            out.append(np.array(pts))
    return out


def tracer_words() -> list[tuple[np.ndarray, list[np.ndarray], dict]]:
    """The real handwritten words of fixtures/tracer: (Otsu ink mask, true strokes, metadata with
    pen ``width``, scoring ``tol`` and ``text``)."""
    out = []
    for sid, meta in json.loads((TRACER_FIXTURES / "samples.json").read_text()).items():
        grey = cv2.imread(str(TRACER_FIXTURES / f"{sid}.png"), cv2.IMREAD_GRAYSCALE)
        _, m = cv2.threshold(grey, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
        out.append((m.astype(bool), read_traces(TRACER_FIXTURES / f"{sid}.gt.inkml"), meta))
    return out


def _sample(strokes: list[np.ndarray]) -> np.ndarray:
    pts = []
    for s in strokes:
        s = np.asarray(s, float).reshape(-1, 2)
        if len(s) == 1:
            pts.append(s)
            continue
        seg = np.linalg.norm(np.diff(s, axis=0), axis=1)
        arc = np.r_[0, np.cumsum(seg)]
        t = np.linspace(0, arc[-1], max(2, int(arc[-1]) + 1))
        pts.append(np.c_[np.interp(t, arc, s[:, 0]), np.interp(t, arc, s[:, 1])])
    return np.concatenate(pts) if pts else np.zeros((0, 2))


def f1(pred: list[np.ndarray], truth: list[np.ndarray], tol: float) -> float:
    """Share of predicted ink near true ink and of true ink near predicted ink, combined."""
    P, G = _sample(pred), _sample(truth)
    if len(P) == 0 or len(G) == 0:
        return 0.0
    prec = float((cKDTree(G).query(P)[0] <= tol).mean())
    rec = float((cKDTree(P).query(G)[0] <= tol).mean())
    return 2 * prec * rec / (prec + rec) if prec + rec else 0.0
