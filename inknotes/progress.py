"""A small progress bar on stderr for long CLI work (hidden when not needed)."""
from __future__ import annotations

import shutil
import sys
import time


class ProgressBar:
    def __init__(self, total: int, label: str, enabled: bool = True):
        self.total, self.label, self.done = max(total, 1), label, 0
        self.enabled = enabled
        self.t0 = time.monotonic()
        self._drawn = False
        if enabled:
            self._draw("")

    def advance(self, item: str = "") -> None:
        self.done += 1
        if self.enabled:
            self._draw(item)

    def _draw(self, item: str) -> None:
        cols = shutil.get_terminal_size((80, 20)).columns
        frac = self.done / self.total
        width = max(10, min(30, cols - 50))
        fill = int(frac * width)
        el = time.monotonic() - self.t0
        eta = f" eta {el / self.done * (self.total - self.done):4.0f}s" if self.done else ""
        line = f"{self.label} [{'#' * fill}{'.' * (width - fill)}] {self.done}/{self.total}{eta} {item}"
        sys.stderr.write("\r" + line[: cols - 1].ljust(cols - 1))
        sys.stderr.flush()
        self._drawn = True

    def clear(self) -> None:
        """Erase the bar so an error line prints cleanly; it is redrawn on the next advance."""
        if self._drawn:
            cols = shutil.get_terminal_size((80, 20)).columns
            sys.stderr.write("\r" + " " * (cols - 1) + "\r")
            sys.stderr.flush()
            self._drawn = False

    def close(self) -> None:
        if self.enabled and self._drawn:
            sys.stderr.write("\n")
            sys.stderr.flush()
            self._drawn = False
