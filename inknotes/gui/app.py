"""Application start-up: logging to a rotating file, QApplication, theme, the library to
open (``--library``, else the last one, else the default in the user's data folder)."""
from __future__ import annotations

import argparse
import logging
import logging.handlers
import os
import sys
import time
from pathlib import Path
from typing import Any

from .. import settings
from ..errors import InknotesError

log = logging.getLogger(__name__)
_T0 = time.perf_counter()


def setup_logging(verbose: bool = False) -> Path | None:
    """A rotating log file in the user's log folder; tracebacks go there, not to the user."""
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    if not verbose:  # alembic logs each plugin and migration step it sets up at INFO, every start
        logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        folder = settings.log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "inknotes-gui.log"
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=3,
                                                       encoding="utf-8")
    except OSError as e:
        print(f"inknotes: cannot write the log file ({e})", file=sys.stderr)
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    return path


def library_path(arg: str | Path | None) -> Path:
    if arg:
        return Path(arg).expanduser()
    last = settings.load().get("last_library")
    if last and Path(last).exists():
        return Path(last)
    return settings.default_library_path()


def apply_theme(theme: str) -> None:
    """"dark" and "light" use Fusion with a fixed palette; "system" keeps the platform look."""
    from PySide6.QtGui import QColor, QPalette
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        return
    if not hasattr(app, "_inknotes_style"):
        app._inknotes_style = app.style().name()  # type: ignore[attr-defined]
        app._inknotes_palette = app.palette()  # type: ignore[attr-defined]
    if theme == "system":
        app.setStyle(app._inknotes_style)  # type: ignore[attr-defined]
        app.setPalette(app._inknotes_palette)  # type: ignore[attr-defined]
        return
    app.setStyle("Fusion")
    pal = QPalette()
    if theme == "dark":
        for role, color in ((QPalette.Window, "#2b2d31"), (QPalette.WindowText, "#e6e6e6"),
                            (QPalette.Base, "#1f2023"), (QPalette.AlternateBase, "#2b2d31"),
                            (QPalette.Text, "#e6e6e6"), (QPalette.Button, "#34363b"),
                            (QPalette.ButtonText, "#e6e6e6"), (QPalette.Highlight, "#3d7bd9"),
                            (QPalette.HighlightedText, "#ffffff"), (QPalette.ToolTipBase, "#34363b"),
                            (QPalette.ToolTipText, "#e6e6e6"), (QPalette.PlaceholderText, "#9a9ca0")):
            pal.setColor(role, QColor(color))
        for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
            pal.setColor(QPalette.Disabled, role, QColor("#7a7c80"))
    app.setPalette(pal)


_windows: list[Any] = []  # open main windows (Qt does not keep Python wrappers alive)


def open_window(path: str | Path, pool: Any = None) -> Any:
    """The main window on the library at ``path`` (created if missing); the window closes the
    library when it closes."""
    from PySide6.QtCore import Qt

    from ..store import Library
    from .main_window import MainWindow

    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InknotesError(f"Cannot create the library folder ({e.strerror}).", path.parent) from e
    library = Library.open(path, create=True)
    window = MainWindow(library, pool=pool)
    window.owns_library = True
    window.setAttribute(Qt.WA_DeleteOnClose)
    _windows.append(window)
    window.destroyed.connect(lambda *_: _windows.remove(window) if window in _windows else None)
    return window


def no_display() -> bool:
    """On Linux without X11/Wayland, Qt aborts with a core dump; say it in a sentence instead."""
    env = os.environ
    return (sys.platform.startswith("linux") and not env.get("QT_QPA_PLATFORM")
            and not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="inknotes gui", description="Open the inknotes desktop app.")
    ap.add_argument("--library", metavar="PATH", help="library file to open (created if missing)")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--quit-after-start", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    setup_logging(args.verbose)
    if no_display():
        print("inknotes: There is no display to open the window on (DISPLAY is not set); start it from a "
              "desktop session, or use the command-line tools (inknotes --help).", file=sys.stderr)
        return 2
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("inknotes")
    app.setOrganizationName("inknotes")
    try:
        window = open_window(library_path(args.library))
    except InknotesError as e:
        log.error("cannot open library: %s", e.user_line())
        print(f"inknotes: {e.user_line()}", file=sys.stderr)
        if not args.quit_after_start:
            QMessageBox.critical(None, "inknotes", e.user_line())
        return 1
    window.show()
    if args.quit_after_start:  # used by the launch benchmark and tests: report, then quit
        canvas = window.canvas

        def page_shown(*_: Any) -> None:
            print(f"page shown after {time.perf_counter() - _T0:.3f} s", flush=True)
            window.close()

        def usable() -> None:
            print(f"usable after {time.perf_counter() - _T0:.3f} s; "
                  f"tensorflow loaded: {'tensorflow' in sys.modules}", flush=True)
            if canvas.page_id is not None and not canvas.layers:
                canvas.pageShown.connect(page_shown)  # still loading on the pool
            else:
                page_shown()
        QTimer.singleShot(0, usable)
    return app.exec()
