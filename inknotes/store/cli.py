"""``inknotes import | pages | export | search``: the library from the command line.

Top-level imports stay light (argparse only) so ``inknotes --help`` starts fast; the library,
numpy and the pipeline load inside the handlers. Failures print ``inknotes: <file>: <sentence>``
and the other inputs go on; the exit status is 1 when anything failed.
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..argtypes import at_least

if TYPE_CHECKING:
    from .library import Library, PageInfo

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    from .. import cli as main_cli

    p = subparsers.add_parser(
        "import", help="convert images and store them in a library",
        description="Convert photos/scans (files or folders) and add each page to the library as "
                    "editable ink. A file already in the library (same SHA-256) is skipped unless "
                    "--allow-duplicate is given.")
    p.add_argument("inputs", nargs="+", metavar="IMAGE_OR_FOLDER")
    _library_argument(p)
    p.add_argument("--notebook", default=None, metavar="NAME", help="notebook to add to (default: Inbox)")
    main_cli.add_engine_arguments(p)
    p.add_argument("--allow-duplicate", action="store_true", help="store a file again even if it is there")
    p.add_argument("-j", "--jobs", type=at_least(1), default=1, metavar="N", help="convert N files at a time")
    p.set_defaults(func=cmd_import)

    p = subparsers.add_parser("pages", help="list the pages in a library",
                              description="One line per page: id, notebook, source file, stroke count "
                                          "(tab-separated).")
    _library_argument(p)
    p.add_argument("--notebook", default=None, metavar="NAME", help="only this notebook")
    p.set_defaults(func=cmd_pages)

    p = subparsers.add_parser("export", help="write edited pages from a library to ink files",
                              description="Write pages as edited in the library (not the original "
                                          "conversion) to DIR/<source-name>.<format>.")
    _library_argument(p)
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--page", type=int, action="append", metavar="N", help="page id (repeatable)")
    which.add_argument("--all", action="store_true", help="every page")
    which.add_argument("--notebook", metavar="NAME", help="every page of this notebook")
    p.add_argument("-f", "--format", default="inkml",
                   help="comma-separated formats: inkml, pdf, svg, png, xopp (default: inkml)")
    p.add_argument("-o", "--output", default=".", metavar="DIR",
                   help="output folder (default: the current folder)")
    p.add_argument("--background", action="store_true", help="draw the original scan under the ink")
    p.set_defaults(func=cmd_export)

    p = subparsers.add_parser("search", help="find recognised words in a library",
                              description="Print page id, notebook, file, word and its box (x,y,w,h) "
                                          "for every recognised word that starts with one of the search "
                                          "words, on the pages where every search word is found (so "
                                          "'entropy lect' finds the pages with both). Recognition of "
                                          "handwriting is imperfect: search for word beginnings.")
    _library_argument(p)
    p.add_argument("text", nargs="+", help="words to look for (quotes not needed)")
    p.add_argument("--limit", type=at_least(1), default=100, help="at most this many hits (default 100)")
    p.set_defaults(func=cmd_search)


def _library_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--library", "-L", metavar="L", default=None,
                   help="library file (default: the user's library, Notes.inknotes in the user data folder)")


def _library_path(args: argparse.Namespace) -> Path:
    if args.library:
        return Path(args.library)
    from .. import settings
    return settings.default_library_path()


def _report(path: object, message: str) -> None:
    from ..cli import report
    report(path, message)


def cmd_import(args: argparse.Namespace) -> int:
    from concurrent.futures import ThreadPoolExecutor

    from .. import cli as main_cli
    from ..errors import InknotesError
    from .library import Library

    files, problems = main_cli.expand_inputs(args.inputs)
    for path, msg in problems:
        _report(path, msg)
    engine_name = main_cli.resolve_engine_name(args)
    options = main_cli.engine_options(args)
    local = threading.local()
    try:  # fail once, early, for a bad engine, model folder or library
        from ..derender import get_engine
        local.engine = get_engine(engine_name, **options)
        lib = Library.open(_library_path(args))
    except InknotesError as e:
        _report(e.path, e.message)
        return 2
    except ImportError:
        log.exception("loading engine %s", engine_name)
        _report(None, f"The '{engine_name}' engine is not available in this installation.")
        return 2
    failed = len(problems)
    out_lock = threading.Lock()

    def engine():  # one engine per worker thread: engines keep per-run state
        if getattr(local, "engine", None) is None:
            local.engine = get_engine(engine_name, **options)
        return local.engine

    from ..progress import ProgressBar
    bar = ProgressBar(len(files), "importing", enabled=len(files) > 1 and sys.stderr.isatty())
    disk_full = threading.Event()  # then the other files are not tried: each would fail the same way
    stdout_gone = threading.Event()  # `| head` quit, or stdout is a full disk: stop, quietly
    not_tried: list[Path] = []

    def say(lines: list[str], errors: list[tuple[object, str]], path: Path) -> None:
        with out_lock:
            bar.clear()
            if lines and not stdout_gone.is_set():
                try:
                    print("\n".join(lines), flush=True)
                except OSError as e:  # not the input's fault: it was stored
                    stdout_gone.set()
                    if not isinstance(e, BrokenPipeError):
                        _report(None, f"Cannot write the list of imported pages ({e.strerror or e}); "
                                      "the import stops.")
            for where, message in errors:
                _report(where, message)
            bar.advance(path.name)

    start = time.time()  # pages take the inputs' order, whichever file finishes first
    queued = {f: start + k * 1e-3 for k, f in enumerate(files)}

    def one(path: Path) -> bool:
        from ..imaging import check_file
        from ..pipeline import convert_file, file_sha256
        if stdout_gone.is_set():
            return False
        if disk_full.is_set():
            not_tried.append(path)
            return False
        lines: list[str] = []
        errors: list[tuple[object, str]] = []
        ok = False
        try:
            check_file(path)
            sha = file_sha256(path)
            existing = [] if args.allow_duplicate else lib.pages_from_file(sha)
            if existing:
                pages = ", ".join(map(str, existing))
                lines.append(f"{path}: already in the library as page{'s' if len(existing) > 1 else ''} "
                             f"{pages}, skipped")
                ok = True
            else:
                skipped: list[InknotesError] = []  # pages of a multi-page file that did not convert
                results = convert_file(path, engine_name=engine_name, engine_options=options,
                                       engine=engine(), errors=skipped)
                for res in results:
                    label = f" page {res.page_index + 1}" if res.page_count > 1 else ""
                    there = None if args.allow_duplicate else lib.find_page_by_sha(sha, res.page_index)
                    if there is not None:  # stored meanwhile (another import of the same file)
                        lines.append(f"{path}{label}: already in the library as page {there}, skipped")
                        continue
                    pid = lib.add_page(res, args.notebook, sha256=sha, allow_duplicate=args.allow_duplicate,
                                       created=queued[path])
                    lines.append(f"{path}{label}: page {pid} ({len(res.strokes)} strokes)")
                errors = [(path, e.message) for e in skipped]
                ok = not skipped
        except InknotesError as e:
            if "disk is full" in e.message:
                disk_full.set()
            errors = [(e.path or path, e.message)]
        except OSError as e:
            errors = [(path, f"Cannot read the file ({e.strerror or e}).")]
        except Exception:  # noqa: BLE001 - one bad file must not stop the others
            log.exception("importing %s", path)
            errors = [(path, "Converting this file failed unexpectedly; run with -vv to see why.")]
        say(lines, errors, path)  # outside the try: a failing stdout is not this input's error
        return ok

    try:
        jobs = max(1, int(args.jobs or 1))
        if getattr(local.engine, "uses_gpu", False):
            jobs = 1  # one model at a time; it batches words itself
        if jobs == 1 or len(files) <= 1:
            ok = [one(f) for f in files]
        else:
            with ThreadPoolExecutor(jobs) as pool:
                ok = list(pool.map(one, files))
    finally:
        bar.close()
        lib.close()
    if not_tried:
        names = ", ".join(p.name for p in not_tried[:5]) + (", ..." if len(not_tried) > 5 else "")
        _report(None, f"{len(not_tried)} file(s) were not imported because the disk is full: {names}.")
    if stdout_gone.is_set():
        with contextlib.suppress(OSError):  # Python's own flush at exit would fail on it again
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    failed += ok.count(False)
    return 1 if failed else 0


def cmd_pages(args: argparse.Namespace) -> int:
    from .library import Library

    with Library.open(_library_path(args), create=False) as lib:
        pages = lib.pages() if args.notebook is None else _notebook_pages(lib, args.notebook)
        if pages is None:
            return 1
        for p in pages:
            print(f"{p.id}\t{p.notebook}\t{p.source_name or '-'}\t{p.stroke_count}")
    return 0


def _notebook_pages(lib: Library, name: str) -> list[PageInfo] | None:
    """The pages of the notebook called ``name``, or None (said, with the names there are)."""
    books = {n.name: n.id for n in lib.notebooks()}
    if name not in books:
        _report(None, f"There is no notebook named {name!r}; "
                      f"the notebooks are {', '.join(books) or 'none yet'}.")
        return None
    return lib.pages(books[name])


def export_names(pages: list[tuple[int, str]]) -> dict[int, str]:
    """``{page id: stem}``: the source stem, with ``-<page id>`` added when a stem repeats."""
    seen: set[str] = set()
    out = {}
    for pid, stem in pages:
        key = stem.lower()
        out[pid] = stem if key not in seen else f"{stem}-{pid}"
        seen.add(key)
    return out


def cmd_export(args: argparse.Namespace) -> int:
    from ..cli import prepare_output
    from ..errors import InknotesError
    from ..formats import write_page
    from .library import Library
    plan = prepare_output(args.format, args.output)
    if plan is None:
        return 2
    formats, out_dir = plan
    failed = 0
    with Library.open(_library_path(args), create=False) as lib:
        if args.notebook is not None:
            chosen = _notebook_pages(lib, args.notebook)
            if chosen is None:
                return 1
            ids = [p.id for p in chosen]
        else:
            ids = [p.id for p in lib.pages()] if args.all else list(dict.fromkeys(args.page))
        results = []
        for pid in ids:
            try:
                results.append((pid, lib.page_result(pid)))
            except InknotesError as e:
                _report(e.path, e.message)
                failed += 1
        names = export_names([(pid, res.output_stem()) for pid, res in results])
        for pid, res in results:
            for fmt in formats:
                target = out_dir / f"{names[pid]}.{fmt}"
                try:
                    write_page(res, fmt, target, background=args.background)
                    print(target, flush=True)
                except InknotesError as e:
                    _report(e.path or target, e.message)
                    failed += 1
    return 1 if failed else 0


def cmd_search(args: argparse.Namespace) -> int:
    from .library import Library

    query = " ".join(args.text).strip()
    with Library.open(_library_path(args), create=False) as lib:
        hits = lib.search(query, limit=args.limit)
    for h in hits:
        box = ",".join(f"{v:.0f}" for v in h.box)
        print(f"{h.page_id}\t{h.notebook}\t{h.source_name or '-'}\t{h.text}\t{box}")
    if not hits:  # said on stderr, so a script reading the hits still gets none
        _report(None, f"No recognised word matches {query!r}." if query
                else "Nothing to search for; give a word.")
    return 0
