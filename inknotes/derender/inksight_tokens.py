"""InkSight's ink token vocabulary, read back into strokes (pure numpy, no TensorFlow).

The model writes ``<ink_token_N>``: with coordinate length 224 there are 225 tokens per
axis and a vocabulary of 451. Token 450 starts a stroke; a point is an x token (0-224)
followed by a y token (225-449, y = token - 225). Tokens outside the vocabulary are
dropped, an x not followed by a y (and a y without an x) is skipped, so a truncated or
slightly malformed answer still gives the ink it does hold.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

COORDINATE_LENGTH = 224
TOKENS_PER_AXIS = COORDINATE_LENGTH + 1  # 225
START_STROKE = 2 * TOKENS_PER_AXIS  # 450
VOCAB_SIZE = START_STROKE + 1  # 451

_TOKEN = re.compile(r"<ink_token_(\d+)>")


def split_output(text: str) -> tuple[str, list[int]]:
    """(the text outside the ink tokens, stripped; the token numbers in order)."""
    tokens = [int(m) for m in _TOKEN.findall(text)]
    words = " ".join(_TOKEN.sub(" ", text).split())
    return words, tokens


def detokenize(tokens: Iterable[int]) -> list[np.ndarray]:
    """Strokes as (N, 2) float32 arrays in the model's 224x224 image space."""
    strokes: list[list[tuple[int, int]]] = []
    current: list[tuple[int, int]] = []
    pending_x: int | None = None
    for tok in tokens:
        if tok < 0 or tok >= VOCAB_SIZE:
            continue  # out of range: dropped, the pending x (if any) keeps waiting for its y
        if tok == START_STROKE:
            if current:
                strokes.append(current)
            current, pending_x = [], None
        elif tok < TOKENS_PER_AXIS:
            pending_x = tok  # an earlier x without a y is skipped
        else:
            if pending_x is not None:
                current.append((pending_x, tok - TOKENS_PER_AXIS))
            pending_x = None
    if current:
        strokes.append(current)
    return [np.asarray(s, np.float32).reshape(-1, 2) for s in strokes]


def tokenize(strokes: Iterable[np.ndarray]) -> list[int]:
    """The inverse of ``detokenize`` (points rounded and clipped to the 224 grid); used to
    build test models and to check round trips."""
    out: list[int] = []
    for s in strokes:
        pts = np.clip(np.rint(np.asarray(s, np.float64).reshape(-1, 2)), 0, COORDINATE_LENGTH).astype(int)
        if len(pts) == 0:
            continue
        out.append(START_STROKE)
        for x, y in pts:
            out += [int(x), int(y) + TOKENS_PER_AXIS]
    return out


def to_text(tokens: Iterable[int]) -> str:
    return "".join(f"<ink_token_{t}>" for t in tokens)
