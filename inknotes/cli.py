"""The ``inknotes`` command: convert | import | pages | export | search | watch | model | bench | gui.

Every failure prints ``inknotes: <file>: <sentence>`` and the other inputs go on; the exit
status is 0 only when everything worked. Heavy modules are imported inside the handlers so
``inknotes --help`` starts fast.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import os
import sys
from pathlib import Path

from . import __version__
from .argtypes import ENGINES, at_least
from .errors import InknotesError

log = logging.getLogger("inknotes")

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp"}
# Subcommands that live with the part they drive; each module has register(subparsers).
_COMMAND_MODULES = ["inknotes.store.cli", "inknotes.watch_cli", "inknotes.derender.model_cli",
                    "inknotes.replay_cli", "inknotes.gui.cli"]


def report(path: str | Path | None, message: str) -> None:
    """The one way the CLI tells a user something failed."""
    print(f"inknotes: {path}: {message}" if path else f"inknotes: {message}", file=sys.stderr)


def expand_inputs(items: list[str]) -> tuple[list[Path], list[tuple[str, str]]]:
    """Files as given, folders walked recursively for images (sorted). Returns (files, problems)."""
    files: list[Path] = []
    problems: list[tuple[str, str]] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            found: list[Path] = []
            unreadable: list[OSError] = []
            for root, dirs, names in os.walk(p, onerror=unreadable.append):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found += [Path(root) / n for n in sorted(names)
                          if Path(n).suffix.lower() in IMAGE_SUFFIXES and not n.startswith(".")]
            problems += [(e.filename, "Cannot read this folder (permission denied).") for e in unreadable]
            if not found and not unreadable:
                problems.append((item, "The folder holds no images (JPEG, PNG, TIFF, BMP, WebP)."))
            files += found
        elif p.exists():
            files.append(p)
        else:
            problems.append((item, "No such file or folder."))
    return files, problems


def unique_stems(files: list[Path]) -> list[str]:
    """Output stems, made unique when two inputs share a name (``x``, ``x-2``, ...)."""
    seen: dict[str, int] = {}
    out = []
    for f in files:
        stem = f.stem
        n = seen.get(stem.lower(), 0) + 1
        seen[stem.lower()] = n
        out.append(stem if n == 1 else f"{stem}-{n}")
    return out


def engine_options(args: argparse.Namespace) -> dict:
    opts = {}
    if getattr(args, "model", None):
        opts["model"] = args.model
    if getattr(args, "mode", None):
        opts["mode"] = args.mode
    return opts


def add_engine_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--engine", default=None, choices=ENGINES,
                   help="derendering engine: 'tracer' (built in, CPU) or 'inksight' (the InkSight "
                        "Small-p TensorFlow model, see `inknotes model add`); default: the one in "
                        "settings (`inknotes model add --default` makes it inksight), else tracer")
    p.add_argument("--model", metavar="DIR", help="folder of the InkSight SavedModel; implies "
                   "--engine inksight (default: the folder `inknotes model add` remembered)")
    p.add_argument("--mode", choices=["vanilla", "text", "recognize"],
                   help="InkSight prompt: 'vanilla' derenders the ink, 'text' derenders guided by the "
                        "OCR text, 'recognize' recognises and derenders (default: from settings)")


def resolve_engine_name(args: argparse.Namespace) -> str:
    if args.engine:
        return args.engine
    if getattr(args, "model", None):
        return "inksight"
    from . import settings
    return settings.load().get("engine") or "tracer"


# --- convert ---------------------------------------------------------------------------------

_worker_engine = None


def _convert_one(path: str, stem: str, out_dir: str, formats: list[str], engine_name: str,
                 options: dict, background: bool, transparent: bool) -> tuple[str, list[str], str | None]:
    """Convert one input file and write its outputs (runs in a worker process)."""
    global _worker_engine
    from .derender import get_engine
    from .formats import write_page
    from .pipeline import convert_file
    try:
        if _worker_engine is None or _worker_engine.name != engine_name:
            _worker_engine = get_engine(engine_name, **options)
        skipped: list[InknotesError] = []  # pages of a multi-page file that did not convert
        pages = convert_file(path, engine=_worker_engine, errors=skipped)
        written = []
        for page in pages:
            name = f"{stem}-p{page.page_index + 1}" if page.page_count > 1 else stem
            for fmt in formats:
                written.append(str(write_page(page, fmt, Path(out_dir) / f"{name}.{fmt}",
                                              background=background, transparent=transparent)))
        return path, written, " ".join(e.message for e in skipped) or None
    except InknotesError as e:
        return path, [], e.message if e.path is None or Path(e.path) == Path(path) else e.user_line()
    except MemoryError:
        return path, [], "The image is too large to convert with the memory available."
    except Exception as e:  # unexpected: log the traceback, give the user a sentence
        # the user gets the sentence; the traceback only with -vv (tracebacks are for the log)
        logging.getLogger("inknotes.cli").debug("converting %s failed", path, exc_info=True)
        return path, [], f"Unexpected error while converting ({type(e).__name__}: {e})."


def _follow_parent(pid: int) -> None:
    """In a worker: exit when the ``inknotes convert`` that started it is gone (killed with
    SIGKILL, it cannot shut its pool down, and the workers would go on converting for nobody)."""
    if sys.platform == "win32":  # os.kill(pid, 0) is not a liveness check there
        return
    import threading
    import time

    parent = os.getppid()  # the forkserver, which leaves when inknotes does

    def watch() -> None:
        while True:
            time.sleep(0.5)
            try:
                os.kill(pid, 0)  # a killed inknotes not yet reaped still answers: hence the ppid too
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:  # alive (another user's process cannot have this pid now)
                pass
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="inknotes-follow-parent", daemon=True).start()


def _pool_result(future, path: str) -> tuple[str, list[str], str | None]:
    """A worker that died (killed, out of memory) fails its own inputs with a sentence, not a traceback."""
    from concurrent.futures.process import BrokenProcessPool
    try:
        return future.result()
    except BrokenProcessPool:
        log.debug("worker died converting %s", path, exc_info=True)
        return path, [], ("The conversion process stopped unexpectedly (perhaps out of memory); "
                          "try again with --jobs 1.")


def prepare_output(format_spec: str, folder: str | Path) -> tuple[list[str], Path] | None:
    """The formats asked for and a folder proven writable, or None after telling the user why
    (checked before any work starts)."""
    from .fileio import check_writable_dir
    from .formats import parse_formats
    try:
        return parse_formats(format_spec), check_writable_dir(folder)
    except InknotesError as e:
        report(e.path, e.message)
        return None


def cmd_convert(args: argparse.Namespace) -> int:
    plan = prepare_output(args.format, args.output)
    if plan is None:
        return 2
    formats, out_dir = plan
    files, problems = expand_inputs(args.inputs)
    for p, msg in problems:
        report(p, msg)
    engine_name = resolve_engine_name(args)
    options = engine_options(args)
    try:  # fail once, early, for a bad engine or model folder
        from .derender import get_engine
        engine = get_engine(engine_name, **options)
        if hasattr(engine, "load"):
            engine.load()  # a model engine: validate the folder and signature before any work
        if getattr(engine, "notice", None):
            print(f"inknotes: {engine.notice}", file=sys.stderr)
    except InknotesError as e:
        report(e.path, e.message)
        return 2
    stems = unique_stems(files)
    jobs = max(1, args.jobs or 1)
    if getattr(engine, "uses_gpu", False) or hasattr(engine, "load"):
        jobs = 1  # one loaded model per process; the model batches words itself
    failed = len(problems)
    show_bar = len(files) > 1 and not args.quiet
    from .progress import ProgressBar
    bar = ProgressBar(len(files), "converting", enabled=show_bar)
    tasks = [(str(f), s, str(out_dir), formats, engine_name, options, args.background, not args.white)
             for f, s in zip(files, stems, strict=True)]
    if jobs == 1 or len(files) <= 1:
        global _worker_engine
        _worker_engine = engine
        results = (_convert_one(*t) for t in tasks)
        executor = None
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        ctx = multiprocessing.get_context("forkserver" if sys.platform != "win32" else "spawn")
        executor = ProcessPoolExecutor(max_workers=min(jobs, len(files)), mp_context=ctx,
                                       initializer=_follow_parent, initargs=(os.getpid(),))
        futures = [executor.submit(_convert_one, *t) for t in tasks]
        results = (_pool_result(f, t[0]) for f, t in zip(futures, tasks, strict=True))
    try:
        partial = 0  # multi-page inputs with some pages written and some not
        for path, written, error in results:
            bar.advance(Path(path).name)
            if error:
                failed += 1
                partial += bool(written)
                bar.clear()
                report(path, error)
            for w in written:
                log.info("wrote %s", w)
    except KeyboardInterrupt:
        bar.close()
        report(None, "Interrupted; files already written are complete, nothing half-written was left.")
        return 130
    finally:
        if executor:
            executor.shutdown(cancel_futures=True)
    bar.close()
    if not args.quiet:
        ok = len(files) - (failed - len(problems))
        some = f" in full and {partial} in part (the pages named above were skipped)" if partial else ""
        print(f"inknotes: converted {ok} of {len(files) + len(problems)} input(s){some} into {out_dir}",
              file=sys.stderr)
    return 1 if failed else 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import run_bench
    try:
        return run_bench(args)
    except InknotesError as e:
        report(e.path, e.message)
        return 1


# --- parser ----------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="inknotes",
        description="Turn photos and scans of handwritten pages into editable digital ink: strokes in "
                    "drawing order with width and colour, kept in a local library and exported as "
                    "InkML, PDF, SVG, PNG or Xournal++.",
        epilog="Run `inknotes COMMAND --help` for each command's options.")
    parser.add_argument("--version", action="version", version=f"inknotes {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="say more (repeat for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("convert", help="convert images to ink files",
                       description="Convert photos/scans (JPEG, PNG, TIFF incl. multi-page, BMP, WebP; files "
                                   "or folders, recursively) into ink files OUT/<name>.<format> "
                                   "(multi-page inputs: <name>-p<N>.<format>).")
    p.add_argument("inputs", nargs="+", metavar="IMAGE_OR_FOLDER",
                   help="image files and folders (searched recursively for images)")
    p.add_argument("-o", "--output", default=".", metavar="DIR",
                   help="output folder (default: current folder)")
    p.add_argument("-f", "--format", default="inkml",
                   help="comma-separated formats: inkml, pdf, svg, png, xopp (default: inkml)")
    add_engine_arguments(p)
    p.add_argument("-j", "--jobs", type=at_least(1), default=1, metavar="N",
                   help="convert N files in parallel (default 1; the model engine always uses 1)")
    p.add_argument("--background", action="store_true",
                   help="draw the original scan under the ink (pdf, svg, png, xopp)")
    p.add_argument("--white", action="store_true", help="PNG on white instead of a transparent background")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("bench", help="measure conversion speed on a full page",
                       description="Print median seconds per page end to end, seconds in Tesseract alone "
                                   "on the same page, and milliseconds per word in the derender engine.")
    p.add_argument("--page", metavar="IMAGE", help="page image (default: the bundled sample page, "
                   "resources/samples/bench_page.jpg)")
    p.add_argument("--runs", type=at_least(1), default=5, help="repetitions; medians are printed (default 5)")
    add_engine_arguments(p)
    p.set_defaults(func=cmd_bench)

    for name in _COMMAND_MODULES:
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name).register(sub)
    _verbose_after_commands(sub)
    return parser


def _verbose_after_commands(sub: argparse._SubParsersAction) -> None:
    """-v after a command (and after a command's own sub-command) counts with any before it."""
    for p in sub.choices.values():
        if "-v" not in p._option_string_actions:
            p.add_argument("-v", "--verbose", action="count", dest="verbose_after", default=argparse.SUPPRESS,
                           help=argparse.SUPPRESS)
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                _verbose_after_commands(action)


def setup_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.verbose = args.verbose + getattr(args, "verbose_after", 0)
    setup_logging(args.verbose)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except InknotesError as e:
        report(e.path, e.message)
        return 1
    except BrokenPipeError:  # output piped into `head` or a pager that quit: not an error to show
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's own flush at exit
        return 1
    except KeyboardInterrupt:
        report(None, "Interrupted.")
        return 130


if __name__ == "__main__":
    sys.exit(main())
