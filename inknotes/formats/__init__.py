"""Export formats, one module each; this module picks the writer by name and publishes
files atomically (a failed write leaves no partial file behind)."""
from __future__ import annotations

import contextlib
import importlib
import logging
import os
from pathlib import Path
from typing import IO

from ..errors import InknotesError, OutputError
from ..fileio import atomic_write
from ..ink import PageResult

log = logging.getLogger(__name__)

FORMATS: tuple[str, ...] = ("inkml", "pdf", "svg", "png", "xopp")
_ALIASES = {"xournal": "xopp", "xournalpp": "xopp"}


def parse_formats(spec: str) -> list[str]:
    """``"inkml,pdf"`` -> ``["inkml", "pdf"]`` (order kept, duplicates dropped)."""
    out: list[str] = []
    for part in (spec or "").split(","):
        name = part.strip().lower().lstrip(".")
        if not name:
            continue
        name = _ALIASES.get(name, name)
        if name not in FORMATS:
            raise InknotesError(f"Unknown export format '{part.strip()}'; choose from {', '.join(FORMATS)}.")
        if name not in out:
            out.append(name)
    if not out:
        raise InknotesError(f"No export format given; choose from {', '.join(FORMATS)}.")
    return out


def _module(fmt: str):
    if fmt not in FORMATS:
        raise InknotesError(f"Unknown export format '{fmt}'; choose from {', '.join(FORMATS)}.")
    return importlib.import_module(f"{__name__}.{fmt}")


def emit(data: bytes, target: str | Path | IO[bytes]) -> None:
    """Write ``data`` to an open binary file, or atomically to a path."""
    if hasattr(target, "write"):
        target.write(data)  # type: ignore[union-attr]
        return
    path = Path(target)
    with atomic_write(path, "wb") as f:  # published with the user's usual permissions
        f.write(data)


def _refuse_original(pages: list[PageResult], path: Path) -> None:
    """An export named like its input (``scan.png`` -> ``scan.png``) must not replace the person's scan."""
    for page in pages:
        src = page.source
        with contextlib.suppress(OSError):
            if src is not None and path.exists() and os.path.samefile(src, path):
                raise OutputError("Writing here would replace the original image; choose another output "
                                  "folder.", path)


def write_page(page: PageResult, fmt: str, path: Path, *, background: bool = False,
               transparent: bool = True) -> Path:
    """Write one page in ``fmt`` to ``path`` atomically; returns ``path``."""
    mod = _module(fmt)
    path = Path(path)
    _refuse_original([page], path)
    opts: dict = {}
    if fmt in ("pdf", "svg", "png", "xopp"):
        opts["background"] = background
    if fmt == "png":
        opts["transparent"] = transparent
    try:
        data = mod.to_bytes(page, **opts)
    except InknotesError:
        raise
    except (ValueError, TypeError, OSError, MemoryError) as e:
        log.exception("writing %s failed", path)
        raise OutputError(f"Could not build the {fmt} file ({e}).", path) from e
    emit(data, path)
    return path


def write_pdf_pages(pages: list[PageResult], path: Path, *, background: bool = False) -> Path:
    """Several pages into one PDF (library "export --all"); returns ``path``."""
    from . import pdf

    path = Path(path)
    if not pages:
        raise OutputError("There are no pages to export.", path)
    _refuse_original(pages, path)
    emit(pdf.pages_to_bytes(pages, background=background), path)
    return path


def read_inkml(path: Path) -> PageResult:
    """Read an InkML file written by inknotes (or a plain one) back into a page."""
    from . import inkml

    return inkml.read(path)
