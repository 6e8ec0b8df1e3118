"""The Library: one SQLite file holding notebooks, pages, layers, strokes and words.

Every change to strokes goes through here as one short write transaction (BEGIN IMMEDIATE,
so writers queue instead of failing) and, for edits, one persisted undoable command. One
Library object may be shared by threads: each call takes its own pooled connection.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import QueuePool

from ..errors import InknotesError, LibraryError
from ..fileio import file_sha256, path_text
from ..ink import PageResult, Stroke, Word
from . import commands as cmds
from . import schema, spatial
from .search import SearchHit
from .search import search as _search

log = logging.getLogger(__name__)
T = TypeVar("T")

SQLITE_MAGIC = b"SQLite format 3\x00"
DEFAULT_NOTEBOOK = "Inbox"
BUSY_TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class NotebookInfo:
    id: int
    name: str
    page_count: int


@dataclass(frozen=True)
class PageInfo:
    id: int
    notebook_id: int
    notebook: str
    source_name: str
    stroke_count: int  # live strokes on live ink layers
    width: int
    height: int
    dpi: float | None
    created: datetime
    sha256: str
    source_path: str = ""
    page_index: int = 0
    engine: str = ""
    deleted: bool = False
    page_count: int = 1  # pages in its file (a multi-page TIFF)


@dataclass(frozen=True)
class LayerInfo:
    id: int
    page_id: int
    name: str
    kind: str  # "image" | "ink"
    visible: bool
    locked: bool
    order: int
    opacity: float
    engine: str = ""


@dataclass(frozen=True)
class StoredStroke:
    id: int
    layer_id: int
    stroke: Stroke
    z: float
    tool: str = "pen"


@dataclass(frozen=True)
class IngestRow:
    sha256: str
    path: str
    state: str  # "queued" | "running" | "done" | "failed"
    attempts: int
    last_error: str | None
    page_id: int | None
    updated: datetime


INGEST_STATES = ("queued", "running", "done", "failed")


def _sentence(exc: BaseException) -> str:
    """A user sentence for a SQLite failure."""
    msg = str(getattr(exc, "orig", exc) or exc).lower()
    if "full" in msg:
        return "The disk is full; free some space and try again."
    if "readonly" in msg or "read-only" in msg or "read only" in msg:
        return "The library file is read-only; open a copy you can write to."
    if "malformed" in msg or "not a database" in msg or "corrupt" in msg:
        return "The library file is damaged or is not an inknotes library; restore it from a backup."
    if "locked" in msg or "busy" in msg:
        return "The library is busy in another program; try again in a moment."
    if "unable to open" in msg or "disk i/o" in msg:
        return "The library file cannot be opened; check that the disk is present and readable."
    detail = str(getattr(exc, "orig", exc) or "").strip().rstrip(".")
    return f"The library could not be read or written ({detail or type(exc).__name__})."


def _is_busy(exc: BaseException) -> bool:
    msg = str(getattr(exc, "orig", exc)).lower()
    return "locked" in msg or "busy" in msg


sha256_file = file_sha256  # kept as a name of the store API


class Library:
    """A library file; see the module docstring. Use ``Library.open``."""

    def __init__(self, path: Path, engine: Engine, read_only: bool):
        self.path = path
        self.name = path.stem
        self.read_only = read_only
        self._engine = engine
        self._w = engine.execution_options(inknotes_write=True)
        self._wlock = threading.RLock()
        self._closed = False

    # ---------------------------------------------------------------- open / close
    @classmethod
    def open(cls, path: str | Path, create: bool = True, read_only: bool = False) -> Library:
        """Open (or create) the library at ``path``, upgrading an older schema."""
        path = Path(path).expanduser().absolute()
        if path.is_dir():
            raise LibraryError("This is a folder, not a library file; choose a .inknotes file.", path)
        exists = path.exists()
        if not exists and not create:
            raise LibraryError("There is no library at this path yet; importing images creates one "
                               "(or check the name).", path)
        if exists and path.stat().st_size > 0:
            try:
                with open(path, "rb") as f:
                    head = f.read(16)
            except OSError as e:
                raise LibraryError("The library file cannot be read; check its permissions.", path) from e
            if head != SQLITE_MAGIC:
                raise LibraryError("This file is not an inknotes library.", path)
        if not exists:
            if read_only:
                raise LibraryError("There is no library at this path to open read-only.", path)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise LibraryError("Cannot create the library folder here; choose another place.",
                                   path) from e
            if not os.access(path.parent, os.W_OK):
                raise LibraryError("Cannot create a library here (the folder is read-only); choose another "
                                   "place.", path)
        elif not read_only and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
            log.info("%s is not writable: opening read-only", path)
            read_only = True
        engine = _make_engine(path, read_only)
        lib = cls(path, engine, read_only)
        try:
            lib._check_schema()
        except BaseException:
            engine.dispose()
            if not exists:  # a library that could not be made (a full disk) leaves no empty file
                for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                    with contextlib.suppress(OSError):
                        p.unlink()
            raise
        return lib

    def _check_schema(self) -> None:
        try:
            with self._engine.connect() as c:
                names = {r[0] for r in c.exec_driver_sql("SELECT name FROM sqlite_master WHERE type='table'")}
                rev = schema.current_revision(c) if "alembic_version" in names else None
        except DBAPIError as e:
            log.info("opening %s failed", self.path, exc_info=True)  # the user gets a sentence
            if "not a database" in str(e.orig).lower():
                raise LibraryError("This file is not an inknotes library.", self.path) from e
            raise LibraryError(_sentence(e), self.path) from e
        if names and rev is None:
            raise LibraryError("This file is a database but not an inknotes library.", self.path)
        known, head = schema.known_revisions()
        if rev is not None and rev not in known:
            raise LibraryError("This library was made by a newer version of inknotes; update inknotes to "
                               "open it.", self.path)
        if rev == head:
            return
        if self.read_only:
            raise LibraryError("This library needs an upgrade but the file is read-only; open a copy you can "
                               "write to.", self.path)
        log.info("upgrading %s from %s to %s", self.path, rev, head)
        try:
            with self._wlock, self._w.begin() as c:
                schema.upgrade(c, head)
        except DBAPIError as e:
            log.info("upgrading %s failed", self.path, exc_info=True)  # the user gets a sentence
            raise LibraryError(_sentence(e), self.path) from e

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._engine.dispose()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- transactions
    def _read(self, fn: Callable[[Connection], T]) -> T:
        self._check_open()
        for attempt in range(50):
            try:
                with self._engine.connect() as c, c.begin():
                    return fn(c)
            except DBAPIError as e:
                if _is_busy(e) and attempt < 49:
                    time.sleep(0.05)
                    continue
                log.info("reading %s failed", self.path, exc_info=True)  # the user gets a sentence
                raise LibraryError(_sentence(e), self.path) from e
        raise AssertionError("unreachable")

    def _write(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn`` in one write transaction; retried while another writer holds the file."""
        self._check_open()
        if self.read_only:
            raise LibraryError("The library file is read-only; open a copy you can write to.", self.path)
        delay = 0.02
        for attempt in range(60):
            try:
                with self._wlock, self._w.begin() as c:
                    return fn(c)
            except DBAPIError as e:
                if _is_busy(e) and attempt < 59:
                    time.sleep(delay)
                    delay = min(0.5, delay * 2)
                    continue
                log.info("writing %s failed", self.path, exc_info=True)  # the user gets a sentence
                raise LibraryError(_sentence(e), self.path) from e
        raise AssertionError("unreachable")

    def _check_open(self) -> None:
        if self._closed:
            raise LibraryError("The library is closed; open it again.", self.path)

    def _err(self, sentence: str) -> LibraryError:
        return LibraryError(sentence, self.path)

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` answer ("ok" when healthy)."""
        return self._read(lambda c: "; ".join(r[0] for r in c.exec_driver_sql("PRAGMA integrity_check")))

    # ---------------------------------------------------------------- notebooks
    def notebooks(self) -> list[NotebookInfo]:
        rows = self._read(lambda c: list(c.execute(text(
            "SELECT n.id, n.name, "
            "(SELECT count(*) FROM pages p WHERE p.notebook_id = n.id AND p.deleted = 0) "
            "FROM notebooks n WHERE n.deleted = 0 ORDER BY n.id"))))
        return [NotebookInfo(*r) for r in rows]

    def create_notebook(self, name: str) -> int:
        name = name.strip()
        if not name:
            raise self._err("A notebook needs a name.")
        # not an undo step: imports are not commands, so undoing it would hide the pages that were
        # imported into it since (deleting a notebook is one, and brings them back)
        return self._write(lambda c: _insert_notebook(c, name))

    def rename_notebook(self, notebook_id: int, name: str) -> None:
        name = name.strip()
        if not name:
            raise self._err("A notebook needs a name.")

        def tx(c: Connection) -> None:
            old = self._notebook_row(c, notebook_id)[1]
            clash = c.execute(text("SELECT 1 FROM notebooks WHERE name = :n AND id != :i AND deleted = 0"),
                              {"n": name, "i": int(notebook_id)}).first()
            if clash is not None:  # imports and messages find notebooks by name
                raise self._err(f"There is a notebook named {name} already; choose another name.")
            if old != name:
                rec = cmds.Recorder(c, "rename_notebook", f"Rename notebook to {name}")
                rec.update("notebooks", notebook_id, {"name": old}, {"name": name})
                rec.finish()
        self._write(tx)

    def delete_notebook(self, notebook_id: int) -> None:
        def tx(c: Connection) -> None:
            name = self._notebook_row(c, notebook_id)[1]
            rec = cmds.Recorder(c, "delete_notebook", f"Delete notebook {name}")
            rec.update("notebooks", notebook_id, {"deleted": 0}, {"deleted": 1})
            rec.finish()
        self._write(tx)

    def _notebook_row(self, c: Connection, notebook_id: int) -> tuple:
        row = c.execute(text("SELECT id, name FROM notebooks WHERE id = :i AND deleted = 0"),
                        {"i": int(notebook_id)}).first()
        if row is None:
            raise self._err(f"Notebook {notebook_id} is not in the library.")
        return tuple(row)

    def _resolve_notebook(self, c: Connection, notebook: str | int | None) -> int:
        if isinstance(notebook, (int, np.integer)):
            return int(self._notebook_row(c, int(notebook))[0])
        name = (notebook or DEFAULT_NOTEBOOK).strip() or DEFAULT_NOTEBOOK
        nid = c.execute(text("SELECT id FROM notebooks WHERE name = :n AND deleted = 0 ORDER BY id LIMIT 1"),
                        {"n": name}).scalar()
        return int(nid) if nid is not None else _insert_notebook(c, name)

    # ---------------------------------------------------------------- pages
    def add_page(self, result: PageResult, notebook: str | int | None = None, *,
                 source_bytes: bytes | None = None, sha256: str | None = None,
                 allow_duplicate: bool = False, created: float | None = None) -> int:
        """Store a converted page in one transaction; an already stored file returns its page id.
        ``created`` (default now) orders the pages: files converted side by side finish in any
        order, so an import passes the time each file was queued."""
        src = Path(result.source) if result.source else None
        if sha256 is None:
            if source_bytes is not None:
                sha256 = hashlib.sha256(source_bytes).hexdigest()
            elif src is not None and src.is_file():
                sha256 = sha256_file(src)
            else:
                sha256 = ""
        image = _image_blob(result, source_bytes, src)
        encoded = [spatial.encode(s) for s in result.strokes]
        width, height = int(result.size[0]), int(result.size[1])
        transform = (json.dumps(np.asarray(result.transform, float).tolist())
                     if result.transform is not None else None)

        def tx(c: Connection) -> int:
            if sha256 and not allow_duplicate:
                existing = _find_sha(c, sha256, result.page_index)
                if existing is not None:
                    return existing
            nb = self._resolve_notebook(c, notebook)
            page_id = c.execute(text(
                "INSERT INTO pages (notebook_id, source_path, source_name, page_index, page_count, sha256, "
                "width, height, dpi, engine, transform, created, deleted) VALUES (:nb, :sp, :sn, :pi, :pc, "
                ":sha, :w, :h, :dpi, :eng, :tr, :cr, 0)"),
                {"nb": nb, "sp": path_text(src) if src else "", "sn": path_text(src.name) if src else "",
                 "pi": int(result.page_index), "pc": int(result.page_count), "sha": sha256, "w": width,
                 "h": height, "dpi": float(result.dpi) if result.dpi else None, "eng": result.engine or "",
                 "tr": transform, "cr": time.time() if created is None else float(created)}).lastrowid
            if image is not None:
                c.execute(text("INSERT INTO page_images (page_id, ext, data) VALUES (:p, :e, :d)"),
                          {"p": page_id, "e": image[0], "d": image[1]})
            _insert_layer(c, page_id, "Scan", "image", 0)
            ink = _insert_layer(c, page_id, "Ink", "ink", 1, engine=result.engine or "")
            ids = _insert_strokes(c, page_id, ink, encoded, [s.color for s in result.strokes],
                                  [float(i) for i in range(len(encoded))])
            _insert_words(c, page_id, result.words, ids)
            return page_id
        return self._write(tx)

    def find_page_by_sha(self, sha256: str, page_index: int = 0) -> int | None:
        """The live page stored from the file with this SHA-256 (and page index), if any."""
        return self._read(lambda c: _find_sha(c, sha256, page_index))

    def pages_from_file(self, sha256: str) -> list[int]:
        """Every live page stored from the file with this SHA-256, in page order (a multi-page
        file whose first page was skipped, blank, still has its others here)."""
        rows = self._read(lambda c: list(c.execute(text(_FILE_PAGES + " ORDER BY p.page_index, p.id"),
                                                   {"s": sha256})))
        return [int(r[0]) for r in rows]

    def pages(self, notebook_id: int | None = None) -> list[PageInfo]:
        where = "p.deleted = 0 AND n.deleted = 0"
        if notebook_id is not None:
            where += " AND p.notebook_id = :nb"
        order = " ORDER BY p.created, p.page_index, p.id"  # in the order they were queued
        rows = self._read(lambda c: list(c.execute(text(_PAGE_SQL + f" WHERE {where}" + order),
                                                   {"nb": notebook_id})))
        return [_page_info(r) for r in rows]

    def page_info(self, page_id: int) -> PageInfo:
        row = self._read(lambda c: c.execute(text(_PAGE_SQL + " WHERE p.id = :p"),
                                             {"p": int(page_id)}).first())
        if row is None:
            raise self._err(f"Page {page_id} is not in the library.")
        return _page_info(row)

    def page_image(self, page_id: int) -> np.ndarray | None:
        """The stored original image as RGB uint8 (EXIF orientation applied), None when absent."""
        row = self._read(lambda c: c.execute(text("SELECT ext, data FROM page_images WHERE page_id = :p"),
                                             {"p": int(page_id)}).first())
        if row is None:
            return None
        return _decode_image(row[1])

    def page_result(self, page_id: int, layer_ids: list[int] | None = None) -> PageResult:
        """The page as edited: live strokes of the visible ink layers (or ``layer_ids``) in z-order."""
        info = self.page_info(page_id)

        def rd(c: Connection) -> tuple:
            meta = c.execute(text("SELECT page_count, transform FROM pages WHERE id = :p"),
                             {"p": page_id}).first()
            if layer_ids is None:
                lids = [r[0] for r in c.execute(text(
                    "SELECT id FROM layers WHERE page_id = :p AND deleted = 0 AND visible = 1 "
                    "AND kind = 'ink' ORDER BY ord, id"), {"p": page_id})]
            else:
                lids = [int(i) for i in layer_ids]
            strokes = _live_rows(c, page_id, lids)
            words = list(c.execute(text("SELECT x, y, w, h, text, confidence, line, source, stroke_ids "
                                        "FROM words WHERE page_id = :p ORDER BY id"), {"p": page_id}))
            return meta, strokes, words
        meta, rows, wrows = self._read(rd)
        by_root: dict[int, list[int]] = {}
        for i, r in enumerate(rows):  # pieces cut from a word's stroke still belong to the word
            by_root.setdefault(r[12], []).append(i)
        words = [Word(box=(w[0], w[1], w[2], w[3]), text=w[4], confidence=w[5], line=w[6], source=w[7],
                      stroke_ids=sorted(i for s in json.loads(w[8]) for i in by_root.get(s, ())))
                 for w in wrows]
        return PageResult(
            size=(info.width, info.height), strokes=[_stroke_of(r) for r in rows], words=words, dpi=info.dpi,
            source=Path(info.source_path) if info.source_path else None, page_index=info.page_index,
            page_count=int(meta[0]), engine=info.engine,
            transform=np.asarray(json.loads(meta[1]), float) if meta[1] else None,
            image=self.page_image(page_id))

    def rename_page(self, page_id: int, name: str) -> None:
        """Give a page the name the library, search hits and exports show (its file's name until
        then); the file's own path is kept."""
        name = name.strip()
        if not name:
            raise self._err("A page needs a name.")

        def tx(c: Connection) -> None:
            row = c.execute(text("SELECT source_name FROM pages WHERE id = :p AND deleted = 0"),
                            {"p": int(page_id)}).first()
            if row is None:
                raise self._err(f"Page {page_id} is not in the library.")
            if row[0] != name:
                rec = cmds.Recorder(c, "rename_page", f"Rename page to {name}")
                rec.update("pages", int(page_id), {"source_name": row[0]}, {"source_name": name})
                rec.finish()
        self._write(tx)

    def move_page(self, page_id: int, notebook_id: int, before: int | None = None) -> None:
        """Put a page into a notebook (its own or another), just before the page ``before`` of
        that notebook, or last; one undo step. Pages sort by their ``created`` key, so this
        sets the moved page's key between its new neighbours' (renumbering the notebook's keys,
        in their order, where neighbours share one: the pages of one multi-page file)."""
        def tx(c: Connection) -> None:
            row = c.execute(text("SELECT notebook_id, created, source_name FROM pages "
                                 "WHERE id = :p AND deleted = 0"), {"p": int(page_id)}).first()
            if row is None:
                raise self._err(f"Page {page_id} is not in the library.")
            target = self._notebook_row(c, notebook_id)
            rest = [(int(r[0]), float(r[1])) for r in c.execute(text(
                "SELECT id, created FROM pages WHERE notebook_id = :nb AND deleted = 0 AND id != :p "
                "ORDER BY created, page_index, id"), {"nb": int(notebook_id), "p": int(page_id)})]
            ids = [i for i, _ in rest]
            if before is not None and int(before) not in ids:
                raise self._err(f"Page {before} is not in the notebook {target[1]}.")
            k = ids.index(int(before)) if before is not None else len(ids)
            order = ids[:k] + [int(page_id)] + ids[k:]
            keys = dict(rest)
            keys[int(page_id)] = float(row[1])
            new = _sort_keys([keys[i] for i in order], k)
            changes = {i: v for i, v in zip(order, new, strict=True) if v != keys[i]}
            if not changes and int(notebook_id) == int(row[0]):
                return  # already there
            elsewhere = int(notebook_id) != int(row[0])
            desc = f"Move page {row[2] or page_id}" + (f" to {target[1]}" if elsewhere else "")
            rec = cmds.Recorder(c, "move_page", desc)
            for i in order:
                before_v: dict[str, Any] = {}
                after_v: dict[str, Any] = {}
                if i in changes:
                    before_v["created"], after_v["created"] = keys[i], changes[i]
                if i == int(page_id) and elsewhere:
                    before_v["notebook_id"], after_v["notebook_id"] = int(row[0]), int(notebook_id)
                if after_v:
                    rec.update("pages", i, before_v, after_v)
            rec.finish()
        self._write(tx)

    def delete_page(self, page_id: int) -> None:
        def tx(c: Connection) -> None:
            name = c.execute(text("SELECT source_name FROM pages WHERE id = :p AND deleted = 0"),
                             {"p": int(page_id)}).first()
            if name is None:
                raise self._err(f"Page {page_id} is not in the library.")
            rec = cmds.Recorder(c, "delete_page", f"Delete page {name[0] or page_id}")
            rec.update("pages", int(page_id), {"deleted": 0}, {"deleted": 1})
            rec.finish()
        self._write(tx)

    def reprocess(self, page_id: int, engine: str = "tracer", **engine_options: Any) -> int:
        """Convert the stored image again with ``engine`` into a new ink layer; returns its id."""
        from ..pipeline import convert_file

        info = self.page_info(page_id)
        row = self._read(lambda c: c.execute(text("SELECT ext, data FROM page_images WHERE page_id = :p"),
                                             {"p": int(page_id)}).first())
        if row is None:
            raise self._err(f"Page {page_id} has no stored image to convert again.")
        with tempfile.TemporaryDirectory(prefix="inknotes-reprocess-") as d:
            tmp = Path(d) / (Path(info.source_name or "page").stem + row[0])
            tmp.write_bytes(row[1])
            results = convert_file(tmp, engine_name=engine, engine_options=engine_options)
        if not results:
            raise self._err(f"Converting page {page_id} again gave no page.")
        res = results[info.page_index] if len(results) > info.page_index else results[0]
        encoded = [spatial.encode(s) for s in res.strokes]

        def tx(c: Connection) -> int:
            order = _next_layer_order(c, page_id)
            lid = _insert_layer(c, page_id, f"Ink ({engine})", "ink", order, engine=engine)
            _insert_strokes(c, page_id, lid, encoded, [s.color for s in res.strokes],
                            [float(i) for i in range(len(encoded))])
            rec = cmds.Recorder(c, "reprocess", f"Convert again with {engine}")
            rec.inserted("layers", lid)
            rec.finish()
            return lid
        return self._write(tx)

    # ---------------------------------------------------------------- layers
    def layers(self, page_id: int) -> list[LayerInfo]:
        rows = self._read(lambda c: list(c.execute(text(
            "SELECT id, page_id, name, kind, visible, locked, ord, opacity, engine FROM layers "
            "WHERE page_id = :p AND deleted = 0 ORDER BY ord, id"), {"p": int(page_id)})))
        return [LayerInfo(r[0], r[1], r[2], r[3], bool(r[4]), bool(r[5]), r[6], r[7], r[8]) for r in rows]

    def add_layer(self, page_id: int, name: str) -> int:
        def tx(c: Connection) -> int:
            self._page_live(c, page_id)
            lid = _insert_layer(c, int(page_id), name, "ink", _next_layer_order(c, page_id))
            rec = cmds.Recorder(c, "add_layer", f"Add layer \u201c{name}\u201d")
            rec.inserted("layers", lid)
            rec.finish()
            return lid
        return self._write(tx)

    def rename_layer(self, layer_id: int, name: str) -> None:
        self._layer_set(layer_id, "name", name, f"Rename layer to {name}")

    def set_layer_visible(self, layer_id: int, visible: bool) -> None:
        self._layer_set(layer_id, "visible", int(bool(visible)), "Show layer" if visible else "Hide layer")

    def set_layer_locked(self, layer_id: int, locked: bool) -> None:
        self._layer_set(layer_id, "locked", int(bool(locked)), "Lock layer" if locked else "Unlock layer")

    def set_layer_opacity(self, layer_id: int, opacity: float) -> None:
        self._layer_set(layer_id, "opacity", float(min(1.0, max(0.0, opacity))), "Change layer opacity")

    def delete_layer(self, layer_id: int) -> None:
        self._layer_set(layer_id, "deleted", 1, "Delete layer")

    def reorder_layer(self, layer_id: int, new_order: int) -> None:
        """Move the layer to position ``new_order`` (0 = bottom) among the page's layers."""
        def tx(c: Connection) -> None:
            page_id = self._layer_row(c, layer_id)["page_id"]
            rows = list(c.execute(text("SELECT id, ord FROM layers WHERE page_id = :p AND deleted = 0 "
                                       "ORDER BY ord, id"), {"p": page_id}))
            ids = [r[0] for r in rows if r[0] != layer_id]
            ids.insert(max(0, min(int(new_order), len(ids))), int(layer_id))
            old = {r[0]: r[1] for r in rows}
            changed = [(lid, i) for i, lid in enumerate(ids) if old[lid] != i]
            if changed:
                rec = cmds.Recorder(c, "reorder_layer", "Reorder layers")
                for lid, i in changed:
                    rec.update("layers", lid, {"ord": old[lid]}, {"ord": i})
                rec.finish()
        self._write(tx)

    def _layer_set(self, layer_id: int, col: str, value: Any, description: str) -> None:
        def tx(c: Connection) -> None:
            row = self._layer_row(c, layer_id)
            if row[col] != value:
                rec = cmds.Recorder(c, f"layer_{col}", description)
                rec.update("layers", int(layer_id), {col: row[col]}, {col: value})
                rec.finish()
        self._write(tx)

    def _layer_row(self, c: Connection, layer_id: int) -> dict[str, Any]:
        row = c.execute(text("SELECT * FROM layers WHERE id = :l AND deleted = 0"),
                        {"l": int(layer_id)}).first()
        if row is None:
            raise self._err(f"Layer {layer_id} is not in the library.")
        return dict(row._mapping)

    def _page_live(self, c: Connection, page_id: int) -> None:
        row = c.execute(text("SELECT 1 FROM pages WHERE id = :p AND deleted = 0"),
                        {"p": int(page_id)}).first()
        if row is None:
            raise self._err(f"Page {page_id} is not in the library.")

    # ---------------------------------------------------------------- strokes
    def strokes(self, page_id: int, layer_id: int | None = None) -> list[StoredStroke]:
        """Live strokes of the page's layers (or one layer), bottom to top."""
        def rd(c: Connection) -> list[StoredStroke]:
            if layer_id is not None:
                lids = [int(layer_id)]
            else:
                lids = [r[0] for r in c.execute(text(
                    "SELECT id FROM layers WHERE page_id = :p AND deleted = 0 ORDER BY ord, id"),
                    {"p": int(page_id)})]
            return _live_strokes(c, int(page_id), lids)
        return self._read(rd)

    def stroke(self, stroke_id: int) -> StoredStroke:
        row = self._read(lambda c: c.execute(text("SELECT id, layer_id, z, color, tool, data FROM strokes "
                                                  "WHERE id = :s"), {"s": int(stroke_id)}).first())
        if row is None:
            raise self._err(f"Stroke {stroke_id} is not in the library.")
        return _stored(row)

    def strokes_at(self, page_id: int, x: float, y: float, radius: float) -> list[int]:
        """Strokes drawn within ``radius`` of (x, y) on visible unlocked layers, topmost first."""
        r = float(radius)
        rows = self._read(lambda c: _candidates(c, page_id, (x - r, y - r, x + r, y + r)))
        return [row[0] for row in rows if spatial.near_point(_stroke_of(row), x, y, r)]

    def strokes_in_rect(self, page_id: int, rect: tuple[float, float, float, float],
                        whole: bool = False) -> list[int]:
        """Strokes touching ``rect`` (x0, y0, x1, y1), or only those entirely inside when ``whole``."""
        rows = self._read(lambda c: _candidates(c, page_id, rect))
        return [row[0] for row in rows if spatial.in_rect(_stroke_of(row), rect, whole)]

    def strokes_in_lasso(self, page_id: int, polygon: np.ndarray) -> list[int]:
        """Strokes with any part inside the closed polygon (selected whole)."""
        poly = np.asarray(polygon, np.float32).reshape(-1, 2)
        if len(poly) < 3:
            return []
        mn, mx = poly.min(0), poly.max(0)
        rows = self._read(lambda c: _candidates(c, page_id, (mn[0], mn[1], mx[0], mx[1])))
        return [row[0] for row in rows if spatial.in_polygon(_stroke_of(row), poly)]

    # ---------------------------------------------------------------- edit commands
    def add_stroke(self, page_id: int, layer_id: int, stroke: Stroke, tool: str = "pen") -> int:
        (sid,) = self.add_strokes(page_id, layer_id, [stroke], tool)
        return sid

    def add_strokes(self, page_id: int, layer_id: int, strokes: list[Stroke], tool: str = "pen") -> list[int]:
        """Put strokes on top of a layer, in their order, as one undo step ("Draw stroke" for
        one pen stroke, "Paste N strokes" for what came from the clipboard: ``tool="paste"``)."""
        blobs = [spatial.encode(s) for s in strokes]

        def tx(c: Connection) -> list[int]:
            layer = self._layer_row(c, layer_id)
            if layer["page_id"] != int(page_id):
                raise self._err(f"Layer {layer_id} is not on page {page_id}.")
            if layer["locked"]:
                raise self._err(f"The layer {layer['name']} is locked; unlock it to draw on it.")
            if not blobs:
                return []
            z = _next_z(c, layer_id)
            ids = _insert_strokes(c, int(page_id), int(layer_id), blobs, [s.color for s in strokes],
                                  [z + k for k in range(len(blobs))], tool)
            if tool == "paste":
                desc = _plural(len(ids), "Paste {} stroke")
            else:
                desc = "Draw stroke" if len(ids) == 1 else _plural(len(ids), "Draw {} stroke")
            rec = cmds.Recorder(c, "add_stroke", desc)
            for sid in ids:
                rec.inserted("strokes", sid)
            rec.finish()
            return ids
        return self._write(tx)

    def delete_strokes(self, ids: list[int], verb: str = "Delete") -> None:
        """Delete strokes as one undo step, named "<verb> N strokes" (the Edit menu's Cut)."""
        def tx(c: Connection) -> None:
            live = _live_ids(c, ids)
            if live:
                rec = cmds.Recorder(c, "delete_strokes", _plural(len(live), verb + " {} stroke"))
                for sid in live:
                    rec.update("strokes", sid, {"deleted": 0}, {"deleted": 1})
                rec.finish()
        self._write(tx)

    def erase(self, page_id: int, path: np.ndarray, radius: float, mode: str = "split") -> list[int]:
        """Erase along ``path`` (N, 2) with ``radius``; one undo step. Returns new (split) or
        deleted (whole) stroke ids."""
        if mode not in ("split", "whole"):
            raise ValueError(f"erase mode must be 'split' or 'whole', not {mode!r}")
        path = np.asarray(path, np.float32).reshape(-1, 2)
        if len(path) == 0:
            return []
        r = float(radius)
        mn, mx = path.min(0) - r, path.max(0) + r

        def tx(c: Connection) -> list[int]:
            touched = []
            for row in _candidates(c, page_id, (mn[0], mn[1], mx[0], mx[1])):
                pieces = spatial.erase_split(_stroke_of(row), path, r)
                if pieces is not None:
                    touched.append((row, pieces))
            if not touched:
                return []
            rec = cmds.Recorder(c, "erase", _plural(len(touched), "Erase {} stroke"))
            out = []
            for row, pieces in touched:
                rec.update("strokes", row[0], {"deleted": 0}, {"deleted": 1})
                if mode == "whole":
                    out.append(row[0])
                    continue
                new = _insert_strokes(c, int(page_id), row[1], [spatial.encode(p) for p in pieces],
                                      [row[3]] * len(pieces), [row[2]] * len(pieces), row[4], origin=row[12])
                for sid in new:
                    rec.inserted("strokes", sid)
                out.extend(new)
            rec.finish()
            return out
        return self._write(tx)

    def recolor(self, ids: list[int], color: str) -> None:
        def tx(c: Connection) -> None:
            rows = _rows(c, ids)
            rows = [r for r in rows if r[3] != color]
            if rows:
                rec = cmds.Recorder(c, "recolor", _plural(len(rows), "Recolour {} stroke"))
                for r in rows:
                    rec.update("strokes", r[0], {"color": r[3]}, {"color": color})
                rec.finish()
        self._write(tx)

    def set_width(self, ids: list[int], width: float | None = None, scale: float | None = None) -> None:
        """Set every point's width to ``width``, or multiply widths by ``scale``."""
        if (width is None) == (scale is None):
            raise ValueError("give exactly one of width or scale")

        def edit(s: Stroke) -> Stroke:
            w = np.full(len(s), width, np.float32) if width is not None else s.width * np.float32(scale)
            return Stroke(s.points, w, s.time, s.color)
        self._geometry_command(ids, edit, "set_width", "Change width of {} stroke")

    def transform(self, ids: list[int], matrix: np.ndarray) -> None:
        """Apply a 2x3 affine matrix (move / scale / rotate) to the strokes; widths scale too."""
        m = np.asarray(matrix, np.float64).reshape(2, 3)
        wscale = float(np.sqrt(abs(np.linalg.det(m[:, :2]))))

        def edit(s: Stroke) -> Stroke:
            pts = s.points.astype(np.float64) @ m[:, :2].T + m[:, 2]
            return Stroke(pts.astype(np.float32), s.width * np.float32(wscale), s.time, s.color)
        self._geometry_command(ids, edit, "transform", "Move {} stroke")

    def _geometry_command(self, ids: list[int], edit: Callable[[Stroke], Stroke], kind: str,
                          desc: str) -> None:
        def tx(c: Connection) -> None:
            rows = _rows(c, ids)
            if not rows:
                return
            rec = cmds.Recorder(c, kind, _plural(len(rows), desc))
            for r in rows:
                blob, n, box = spatial.encode(edit(_stroke_of(r)))
                before = dict(zip(("n", "data", "x0", "y0", "x1", "y1"),
                                  (r[6], r[5], r[7], r[8], r[9], r[10]), strict=True))
                rec.update("strokes", r[0], before, {"n": n, "data": blob, "x0": box[0], "y0": box[1],
                                                     "x1": box[2], "y1": box[3]})
            rec.finish()
        self._write(tx)

    def move_to_layer(self, ids: list[int], layer_id: int) -> None:
        """Move strokes onto ``layer_id`` (same page), on top of what it holds, order kept."""
        def tx(c: Connection) -> None:
            layer = self._layer_row(c, layer_id)
            rows = [r for r in _rows(c, ids) if r[1] != int(layer_id)]
            if not rows:
                return
            if any(r[11] != layer["page_id"] for r in rows):
                raise self._err("Strokes can only move to a layer on their own page.")
            z = _next_z(c, layer_id)
            desc = _plural(len(rows), "Move {} stroke") + f" to {layer['name']}"
            rec = cmds.Recorder(c, "move_to_layer", desc)
            for i, r in enumerate(rows):
                rec.update("strokes", r[0], {"layer_id": r[1], "z": r[2]},
                           {"layer_id": int(layer_id), "z": z + i})
            rec.finish()
        self._write(tx)

    def merge_strokes(self, ids: list[int]) -> int:
        """Join strokes (in z-order) into one new stroke; the originals go (kept for undo)."""
        def tx(c: Connection) -> int:
            rows = _rows(c, ids)
            if len(rows) < 2:
                raise self._err("Select at least two strokes to merge.")
            if len({r[11] for r in rows}) > 1:
                raise self._err("Only strokes on the same page can be merged.")
            parts = [_stroke_of(r) for r in rows]
            merged = Stroke(np.concatenate([p.points for p in parts]),
                            np.concatenate([p.width for p in parts]),
                            np.concatenate([p.time for p in parts]), parts[0].color)
            first = rows[0]
            rec = cmds.Recorder(c, "merge", _plural(len(rows), "Merge {} stroke"))
            for r in rows:
                rec.update("strokes", r[0], {"deleted": 0}, {"deleted": 1})
            (sid,) = _insert_strokes(c, first[11], first[1], [spatial.encode(merged)], [first[3]], [first[2]],
                                     first[4], origin=first[12])
            rec.inserted("strokes", sid)
            rec.finish()
            return sid
        return self._write(tx)

    def split_stroke(self, stroke_id: int, index: int) -> tuple[int, int]:
        """Split before point ``index``: points [:index] and [index:] become two strokes."""
        def tx(c: Connection) -> tuple[int, int]:
            rows = _rows(c, [stroke_id])
            if not rows:
                raise self._err(f"Stroke {stroke_id} is not in the library.")
            r = rows[0]
            s = _stroke_of(r)
            if not 1 <= index <= len(s) - 1:
                raise self._err(f"A stroke of {len(s)} points cannot be split at point {index}.")
            a = Stroke(s.points[:index], s.width[:index], s.time[:index], s.color)
            b = Stroke(s.points[index:], s.width[index:], s.time[index:], s.color)
            rec = cmds.Recorder(c, "split", "Split stroke")
            rec.update("strokes", r[0], {"deleted": 0}, {"deleted": 1})
            ids = _insert_strokes(c, r[11], r[1], [spatial.encode(a), spatial.encode(b)], [r[3], r[3]],
                                  [r[2], r[2]], r[4], origin=r[12])
            for sid in ids:
                rec.inserted("strokes", sid)
            rec.finish()
            return ids[0], ids[1]
        return self._write(tx)

    # ---------------------------------------------------------------- undo / redo
    def undo(self) -> str | None:
        """Undo the last command (library-wide); its description, or None when nothing to undo."""
        return self._write(cmds.undo)

    def redo(self) -> str | None:
        return self._write(cmds.redo)

    def can_undo(self) -> bool:
        return self.undo_text() is not None

    def can_redo(self) -> bool:
        return self.redo_text() is not None

    def undo_text(self) -> str | None:
        return self._read(cmds.undo_text)

    def redo_text(self) -> str | None:
        return self._read(cmds.redo_text)

    def undo_page(self) -> int | None:
        """The page the next undo changes (None: a notebook, or nothing to undo): history is
        library-wide, so the app shows that page before undoing on it."""
        return self._read(lambda c: cmds.target_page(c, undoing=True))

    def redo_page(self) -> int | None:
        return self._read(lambda c: cmds.target_page(c, undoing=False))

    def history(self) -> list[tuple[int, str]]:
        """Commands that can be undone, oldest first: (command id, description)."""
        return [(i, d) for i, d, done in self._read(cmds.history) if done]

    def redo_history(self) -> list[tuple[int, str]]:
        """Commands that can be redone, next first."""
        return [(i, d) for i, d, done in self._read(cmds.history) if not done]

    # ---------------------------------------------------------------- search
    def search(self, text: str, limit: int = 100) -> list[SearchHit]:
        """Word boxes whose recognised text matches (prefix match per typed word)."""
        return self._read(lambda c: _search(c, text, limit))

    # ---------------------------------------------------------------- ingest (watch folder)
    def ingest_get(self, sha256: str) -> IngestRow | None:
        row = self._read(lambda c: c.execute(text("SELECT * FROM ingest WHERE sha256 = :s"),
                                             {"s": sha256}).first())
        return _ingest(row) if row is not None else None

    def ingest_record(self, sha256: str, path: str, state: str, *, error: str | None = None,
                      page_id: int | None = None, attempt: bool = False) -> IngestRow:
        """Insert or update the watch-folder row for ``sha256``."""
        if state not in INGEST_STATES:
            raise ValueError(f"ingest state must be one of {INGEST_STATES}, not {state!r}")

        def tx(c: Connection) -> IngestRow:
            c.execute(text(
                "INSERT INTO ingest (sha256, path, state, attempts, last_error, page_id, updated) "
                "VALUES (:s, :p, :st, :a, :e, :pg, :u) ON CONFLICT(sha256) DO UPDATE SET path = :p, "
                "state = :st, attempts = attempts + :a, last_error = :e, page_id = coalesce(:pg, page_id), "
                "updated = :u"),
                {"s": sha256, "p": path_text(path), "st": state, "a": int(attempt), "e": error, "pg": page_id,
                 "u": time.time()})
            return _ingest(c.execute(text("SELECT * FROM ingest WHERE sha256 = :s"), {"s": sha256}).first())
        return self._write(tx)

    def ingest_rows(self, state: str | None = None) -> list[IngestRow]:
        sql = "SELECT * FROM ingest" + (" WHERE state = :st" if state else "") + " ORDER BY updated, sha256"
        return [_ingest(r) for r in self._read(lambda c: list(c.execute(text(sql), {"st": state})))]


# -------------------------------------------------------------------- helpers (inside a transaction)
def _on_read_only_disk(path: Path) -> bool:
    """Whether the library's folder is on a file system mounted read-only (a CD, a locked SD
    card, a read-only share)."""
    try:
        return bool(os.statvfs(path.parent).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # no statvfs (Windows): SQLite's own read-only mode only
        return False


def _make_engine(path: Path, read_only: bool) -> Engine:
    uri = path.as_uri().replace("file://", "file:", 1) + ("?mode=ro" if read_only else "")
    wal = path.with_name(path.name + "-wal")

    def open_uri(u: str) -> sqlite3.Connection:
        return sqlite3.connect(u, uri=True, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000,
                               isolation_level=None)

    def connect() -> sqlite3.Connection:
        conn = open_uri(uri)
        if not read_only:
            return conn
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.OperationalError as e:
            # A library kept in WAL mode needs its -shm file even to read; on a read-only disk with
            # no writer (none made a -shm) it cannot be made, so SQLite is told the file cannot
            # change and reads it as it is. Not with a -wal file still holding transactions:
            # immutable reads the main file alone.
            held = wal.exists() and wal.stat().st_size > 0
            if "unable to open" not in str(e) or held or not _on_read_only_disk(path):
                raise
            conn.close()
            return open_uri(uri + "&immutable=1")

    engine = create_engine("sqlite://", creator=connect, poolclass=QueuePool, pool_size=4, max_overflow=12,
                           pool_timeout=60)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi: sqlite3.Connection, _rec: Any) -> None:
        cur = dbapi.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys = ON")
        if read_only:
            cur.execute("PRAGMA query_only = ON")
        else:
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the write lock up front so they wait (busy_timeout) instead of failing later.
        write = conn.get_execution_options().get("inknotes_write")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


_PAGE_SQL = (
    "SELECT p.id, p.notebook_id, n.name, p.source_name, "
    # live strokes via the covering (page_id, deleted) index, minus those on deleted layers
    "(SELECT count(*) FROM strokes s WHERE s.page_id = p.id AND s.deleted = 0) - "
    "(SELECT count(*) FROM layers l JOIN strokes s ON s.layer_id = l.id WHERE l.page_id = p.id "
    "AND (l.deleted = 1 OR l.kind != 'ink') AND s.deleted = 0), "
    "p.width, p.height, p.dpi, p.created, p.sha256, p.source_path, "
    "p.page_index, p.engine, p.deleted, p.page_count FROM pages p JOIN notebooks n ON n.id = p.notebook_id")


def _page_info(r: Any) -> PageInfo:
    return PageInfo(r[0], r[1], r[2], r[3], int(r[4]), r[5], r[6], r[7], datetime.fromtimestamp(r[8]), r[9],
                    r[10], r[11], r[12], bool(r[13]), int(r[14] or 1))


def _ingest(r: Any) -> IngestRow:
    m = r._mapping
    return IngestRow(m["sha256"], m["path"], m["state"], m["attempts"], m["last_error"], m["page_id"],
                     datetime.fromtimestamp(m["updated"]))


def _insert_notebook(c: Connection, name: str) -> int:
    return c.execute(text("INSERT INTO notebooks (name, created, deleted) VALUES (:n, :c, 0)"),
                     {"n": name, "c": time.time()}).lastrowid


_FILE_PAGES = ("SELECT p.id FROM pages p JOIN notebooks n ON n.id = p.notebook_id "
               "WHERE p.sha256 = :s AND p.deleted = 0 AND n.deleted = 0")  # live pages of one file


def _find_sha(c: Connection, sha256: str, page_index: int) -> int | None:
    return c.execute(text(_FILE_PAGES + " AND p.page_index = :i ORDER BY p.id LIMIT 1"),
                     {"s": sha256, "i": int(page_index)}).scalar()


def _insert_layer(c: Connection, page_id: int, name: str, kind: str, order: int, engine: str = "") -> int:
    return c.execute(text("INSERT INTO layers (page_id, name, kind, visible, locked, ord, opacity, engine, "
                          "deleted) VALUES (:p, :n, :k, 1, 0, :o, 1.0, :e, 0)"),
                     {"p": page_id, "n": name, "k": kind, "o": order, "e": engine}).lastrowid


def _next_layer_order(c: Connection, page_id: int) -> int:
    return int(c.execute(text("SELECT coalesce(max(ord), -1) + 1 FROM layers "
                              "WHERE page_id = :p AND deleted = 0"),
                         {"p": int(page_id)}).scalar_one())


def _next_z(c: Connection, layer_id: int) -> float:
    return float(c.execute(text("SELECT coalesce(max(z), -1) + 1 FROM strokes WHERE layer_id = :l"),
                           {"l": int(layer_id)}).scalar_one())


def _insert_strokes(c: Connection, page_id: int, layer_id: int, encoded: list[tuple[bytes, int, tuple]],
                    colors: list[str], zs: list[float], tool: str = "pen",
                    origin: int | None = None) -> list[int]:
    """Bulk insert; ids are assigned here (we hold the write lock) so words can point at them.
    ``origin``: the root stroke these were cut or merged from."""
    if not encoded:
        return []
    base = int(c.execute(text("SELECT coalesce(max(id), 0) + 1 FROM strokes")).scalar_one())
    ids = list(range(base, base + len(encoded)))
    c.execute(text("INSERT INTO strokes (id, page_id, layer_id, z, color, tool, deleted, n, data, "
                   "x0, y0, x1, y1, origin_id) "
                   "VALUES (:id, :p, :l, :z, :c, :t, 0, :n, :d, :x0, :y0, :x1, :y1, :o)"),
              [{"id": i, "p": page_id, "l": layer_id, "z": z, "c": col, "t": tool, "n": n, "d": blob,
                "o": origin,
                "x0": box[0], "y0": box[1], "x1": box[2], "y1": box[3]}
               for i, (blob, n, box), col, z in zip(ids, encoded, colors, zs, strict=True)])
    return ids


def _insert_words(c: Connection, page_id: int, words: list[Word], stroke_ids: list[int]) -> None:
    if not words:
        return
    c.execute(text("INSERT INTO words (page_id, x, y, w, h, text, confidence, line, source, stroke_ids) "
                   "VALUES (:p, :x, :y, :w, :h, :t, :cf, :ln, :src, :sid)"),
              [{"p": page_id, "x": float(w.box[0]), "y": float(w.box[1]), "w": float(w.box[2]),
                "h": float(w.box[3]), "t": w.text or "", "cf": float(w.confidence), "ln": int(w.line),
                "src": w.source,
                "sid": json.dumps([stroke_ids[i] for i in w.stroke_ids if 0 <= i < len(stroke_ids)])}
               for w in words])


# row layout used everywhere below: 0 id, 1 layer, 2 z, 3 colour, 4 tool, 5 blob, 6 n, 7-10 bbox,
# 11 page, 12 root (the stroke it was first imported or drawn as; words point at roots)
_STROKE_COLS = ("s.id, s.layer_id, s.z, s.color, s.tool, s.data, s.n, s.x0, s.y0, s.x1, s.y1, s.page_id, "
                "coalesce(s.origin_id, s.id)")


def _stroke_of(row: Any) -> Stroke:
    return spatial.decode(row[5], row[3])


def _stored(row: Any) -> StoredStroke:
    return StoredStroke(row[0], row[1], spatial.decode(row[5], row[3]), row[2], row[4])


def _live_strokes(c: Connection, page_id: int, layer_ids: list[int]) -> list[StoredStroke]:
    return [_stored(r) for r in _live_rows(c, page_id, layer_ids)]


def _live_rows(c: Connection, page_id: int, layer_ids: list[int]) -> list[Any]:
    if not layer_ids:
        return []
    order = {lid: i for i, lid in enumerate(layer_ids)}
    q = ",".join(str(int(i)) for i in layer_ids)
    rows = c.execute(text(f"SELECT {_STROKE_COLS} FROM strokes s JOIN layers l ON l.id = s.layer_id "
                          f"WHERE s.page_id = :p AND s.layer_id IN ({q}) AND s.deleted = 0 "
                          "AND l.deleted = 0"),
                     {"p": int(page_id)}).all()
    rows.sort(key=lambda r: (order[r[1]], r[2], r[0]))
    return rows


def _candidates(c: Connection, page_id: int, box: tuple) -> list[Any]:
    """Live strokes on visible, unlocked layers whose bbox meets ``box``, topmost first (R*Tree)."""
    x0, x1 = sorted((float(box[0]), float(box[2])))
    y0, y1 = sorted((float(box[1]), float(box[3])))
    return c.execute(text(
        f"SELECT {_STROKE_COLS} FROM stroke_rtree r JOIN strokes s ON s.id = r.id "
        "JOIN layers l ON l.id = s.layer_id "
        "WHERE r.x0 <= :x1 AND r.x1 >= :x0 AND r.y0 <= :y1 AND r.y1 >= :y0 AND r.p0 <= :p AND r.p1 >= :p "
        "AND s.deleted = 0 AND l.deleted = 0 AND l.visible = 1 AND l.locked = 0 "
        "ORDER BY l.ord DESC, s.z DESC, s.id DESC"),
        {"x0": x0, "x1": x1, "y0": y0, "y1": y1, "p": int(page_id)}).all()


def _rows(c: Connection, ids: list[int]) -> list[Any]:
    """Live stroke rows for ``ids`` in z-order."""
    if not len(ids):
        return []
    q = ",".join(str(int(i)) for i in ids)
    return c.execute(text(f"SELECT {_STROKE_COLS} FROM strokes s WHERE s.id IN ({q}) AND s.deleted = 0 "
                          "ORDER BY s.z, s.id")).all()


def _live_ids(c: Connection, ids: list[int]) -> list[int]:
    return [r[0] for r in _rows(c, ids)]


def _sort_keys(keys: list[float], k: int) -> list[float]:
    """Sort keys for pages in the order given, where only ``keys[k]`` (a page being moved) may be
    out of place: it gets a key between its neighbours'; when they are equal (or none fits
    between two floats), every key from there on is nudged up just enough to be increasing."""
    out = list(keys)
    lo = out[k - 1] if k > 0 else None
    hi = out[k + 1] if k + 1 < len(out) else None
    if (lo is None or out[k] > lo) and (hi is None or out[k] < hi):
        return out
    if lo is None:
        out[k] = hi - 1.0
    elif hi is None:
        out[k] = lo + 1.0
    elif lo < (lo + hi) / 2 < hi:
        out[k] = (lo + hi) / 2
    else:  # between two pages sharing a key: just after them, the pages after nudged along
        out[k] = lo
        for j in range(k, len(out)):
            out[j] = max(out[j], out[j - 1] + 1e-3)
    return out


def _plural(n: int, pattern: str) -> str:
    return pattern.format(n) + ("" if n == 1 else "s")


# -------------------------------------------------------------------- images
def _image_blob(result: PageResult, source_bytes: bytes | None, src: Path | None) -> tuple[str, bytes] | None:
    """(extension, bytes) to keep: the source file when it decodes to the page's size, else a PNG."""
    data = source_bytes
    if data is None and src is not None and src.is_file():
        try:
            data = src.read_bytes()
        except OSError:
            log.warning("cannot read %s to keep it in the library", src)
    ext = src.suffix.lower() if src is not None and src.suffix else ""
    if data is not None and result.page_count <= 1:
        size, fmt = _probe(data)
        if size == tuple(int(v) for v in result.size):
            return (ext or f".{fmt}", data)
    if result.image is not None:
        import cv2

        img = np.asarray(result.image)
        if img.ndim == 3:
            img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
        ok, buf = cv2.imencode(".png", img)
        if ok:
            return (".png", buf.tobytes())
    if data is not None:
        return (ext or ".bin", data)
    return None


def _probe(data: bytes) -> tuple[tuple[int, int] | None, str]:
    """(oriented size, format) read from the header only; (None, "") when not an image."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            w, h = im.size
            orient = im.getexif().get(0x0112, 1)
            fmt = (im.format or "img").lower().replace("jpeg", "jpg")
    except Exception:  # noqa: BLE001 - any unreadable file just means "not an image"
        return None, ""
    return ((h, w) if orient in (5, 6, 7, 8) else (w, h)), fmt


def _decode_image(data: bytes) -> np.ndarray | None:
    from PIL import Image, ImageOps

    try:
        with Image.open(io.BytesIO(data)) as im:
            return np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    except Exception:  # noqa: BLE001 - a stored PDF page or a damaged blob has no image to show
        log.warning("stored page image cannot be decoded", exc_info=True)
        return None


__all__ = ["Library", "LibraryError", "InknotesError", "NotebookInfo", "PageInfo", "LayerInfo",
           "StoredStroke", "SearchHit", "IngestRow", "sha256_file"]
