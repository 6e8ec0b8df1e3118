"""``inknotes watch DIR --library L``: convert every page dropped into DIR, in the foreground.

Ctrl-C (or SIGTERM) stops cleanly: conversions in flight are cancelled and stay queued in the
library's ingest table, so the next start picks them up.
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from .argtypes import ENGINES, at_least
from .errors import InknotesError
from .watch import WatchEvent

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``watch`` subcommand."""
    p = subparsers.add_parser(
        "watch", help="convert pages dropped into a folder, each exactly once",
        description="Watch DIR and add every complete image dropped there to the library, exactly once "
                    "(by content), surviving restarts, bad files and the folder going away.")
    add_arguments(p)
    p.set_defaults(func=run)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("folder", metavar="DIR", help="folder to watch")
    p.add_argument("--library", "-L", metavar="L", default=None,
                   help="library file (default: the user's library, Notes.inknotes in the user data folder)")
    p.add_argument("--notebook", default=None, help="notebook for the new pages (default: Inbox)")
    p.add_argument("--recursive", action="store_true", help="also watch sub-folders")
    p.add_argument("--poll", action="store_true",
                   help="poll the folder instead of using change notifications (network shares)")
    p.add_argument("--stable-seconds", type=at_least(0.0, float), default=1.0, metavar="S",
                   help="a file is taken once its size and time have not changed for S seconds (default 1)")
    p.add_argument("--archive", metavar="DIR",
                   help="move converted originals here (outside the watched folder)")
    p.add_argument("--quarantine", metavar="DIR", help="move files that keep failing here")
    p.add_argument("--max-attempts", type=at_least(1), default=3, metavar="N",
                   help="tries per file before it is recorded as failed (default 3)")
    p.add_argument("--engine", default=None, choices=ENGINES,
                   help="derendering engine (default: from settings, else tracer)")


def _print_event(event: WatchEvent) -> None:
    kind, path = event.kind, event.path
    if kind == "added":
        ids = ", ".join(str(i) for i in event.page_ids)
        print(f"inknotes: {path}: added (page {ids})", flush=True)
        if event.error:  # pages of a multi-page scan that did not convert
            print(f"inknotes: {path}: {event.error}", file=sys.stderr, flush=True)
    elif kind == "duplicate":
        print(f"inknotes: {path}: already in the library, skipped", flush=True)
    elif kind in ("failed", "unreadable"):
        print(f"inknotes: {path}: {event.error}", file=sys.stderr, flush=True)
    elif kind == "folder_missing":
        print(f"inknotes: {path}: the watched folder is gone; waiting for it to come back",
              file=sys.stderr, flush=True)
    elif kind == "folder_back":
        print(f"inknotes: {path}: the watched folder is back", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    """Watch until Ctrl-C or SIGTERM; 0 after a clean stop, 2 when it cannot start."""
    from . import settings
    from .watch import Watcher

    library = Path(args.library) if args.library else settings.default_library_path()
    engine = args.engine or settings.load().get("engine") or "tracer"
    options: dict = {}  # the inksight engine takes its model folder from the settings itself
    try:
        if not Path(args.folder).is_dir():
            raise InknotesError("The folder to watch does not exist or is not a folder.", args.folder)
        library.parent.mkdir(parents=True, exist_ok=True)
        watcher = Watcher(args.folder, library, recursive=args.recursive, poll=args.poll,
                          stable_seconds=args.stable_seconds, archive=args.archive,
                          quarantine=args.quarantine, max_attempts=args.max_attempts, engine=engine,
                          engine_options=options, notebook=args.notebook)
        watcher._get_engine()  # a bad engine or model folder fails now, not on every file
        watcher.add_listener(_print_event)
        watcher.start()
    except InknotesError as e:
        print(f"inknotes: {e.user_line()}", file=sys.stderr)
        return 2
    stop = threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):  # also when started with SIGINT ignored (`cmd &`)
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    print(f"inknotes: watching {watcher.folder} (Ctrl-C stops)", file=sys.stderr, flush=True)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        print("inknotes: stopping; unfinished files stay queued for next time", file=sys.stderr, flush=True)
        watcher.stop()
        from .jobs import shared_pool
        shared_pool().shutdown(wait=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m inknotes.watch_cli DIR --library L`` (same as ``inknotes watch``)."""
    parser = argparse.ArgumentParser(prog="inknotes watch")
    add_arguments(parser)
    parser.add_argument("-v", "--verbose", action="count", default=0, help="say more (repeat for debug)")
    args = parser.parse_args(argv)
    level = logging.WARNING if args.verbose <= 0 else logging.INFO if args.verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
