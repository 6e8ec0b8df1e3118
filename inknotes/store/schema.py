"""The library's tables as SQLAlchemy 2 models, plus the SQLite-only parts (R*Tree, FTS5, triggers).

The models document the schema and feed Alembic; the Library uses Core statements on them
because strokes are read and written in bulk. Stroke geometry is one float32 blob of
(N, 4) rows: x, y, width, time.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine import Connection


class Base(DeclarativeBase):
    pass


class Notebook(Base):
    __tablename__ = "notebooks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String, nullable=False)
    created: Mapped[float] = mapped_column(Float, nullable=False)
    deleted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class Page(Base):
    __tablename__ = "pages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notebook_id: Mapped[int] = mapped_column(ForeignKey("notebooks.id"), nullable=False, index=True)
    source_path: Mapped[str] = mapped_column(Text, nullable=False, default="")
    source_name: Mapped[str] = mapped_column(Text, nullable=False, default="")
    page_index: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    page_count: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    sha256: Mapped[str] = mapped_column(String, nullable=False, default="", index=True)
    width: Mapped[int] = mapped_column(Integer, nullable=False)
    height: Mapped[int] = mapped_column(Integer, nullable=False)
    dpi: Mapped[float | None] = mapped_column(Float)
    engine: Mapped[str] = mapped_column(String, nullable=False, default="")
    transform: Mapped[str | None] = mapped_column(Text)  # JSON 3x3 homography or NULL
    created: Mapped[float] = mapped_column(Float, nullable=False)
    deleted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class PageImage(Base):
    """The original image, kept inside the library so the file is self-contained."""

    __tablename__ = "page_images"
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"), primary_key=True)
    ext: Mapped[str] = mapped_column(String, nullable=False)  # ".png", ".jpg", ... (for re-conversion)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)


class Layer(Base):
    __tablename__ = "layers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"),
        nullable=False, index=True)
    name: Mapped[str] = mapped_column(String, nullable=False)
    kind: Mapped[str] = mapped_column(String, nullable=False)  # "image" | "ink"
    visible: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    locked: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    ord: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    opacity: Mapped[float] = mapped_column(Float, nullable=False, default=1.0)
    engine: Mapped[str] = mapped_column(String, nullable=False, default="")
    deleted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class StrokeRow(Base):
    __tablename__ = "strokes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"), nullable=False)
    layer_id: Mapped[int] = mapped_column(ForeignKey("layers.id", ondelete="CASCADE"),
        nullable=False, index=True)
    z: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    color: Mapped[str] = mapped_column(String, nullable=False)
    tool: Mapped[str] = mapped_column(String, nullable=False, default="pen")
    deleted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    n: Mapped[int] = mapped_column(Integer, nullable=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)  # float32 (N, 4): x, y, w, t
    x0: Mapped[float] = mapped_column(Float, nullable=False)
    y0: Mapped[float] = mapped_column(Float, nullable=False)
    x1: Mapped[float] = mapped_column(Float, nullable=False)
    y1: Mapped[float] = mapped_column(Float, nullable=False)
    # the stroke this one was cut or merged from (revision 0003); words point at those roots
    origin_id: Mapped[int | None] = mapped_column(Integer)
    __table_args__ = (Index("ix_strokes_page_deleted", "page_id", "deleted"),)


class WordRow(Base):
    __tablename__ = "words"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"),
        nullable=False, index=True)
    x: Mapped[float] = mapped_column(Float, nullable=False)
    y: Mapped[float] = mapped_column(Float, nullable=False)
    w: Mapped[float] = mapped_column(Float, nullable=False)
    h: Mapped[float] = mapped_column(Float, nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False, default="")
    confidence: Mapped[float] = mapped_column(Float, nullable=False, default=-1.0)
    line: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    source: Mapped[str] = mapped_column(String, nullable=False, default="ocr")
    stroke_ids: Mapped[str] = mapped_column(Text, nullable=False, default="[]")  # JSON list of stroke row ids


class Command(Base):
    """One undoable edit; its row changes live in command_changes (before/after values)."""

    __tablename__ = "commands"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created: Mapped[float] = mapped_column(Float, nullable=False)
    kind: Mapped[str] = mapped_column(String, nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    state: Mapped[str] = mapped_column(String, nullable=False, default="done")  # "done" | "undone"


class CommandChange(Base):
    __tablename__ = "command_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    command_id: Mapped[int] = mapped_column(ForeignKey("commands.id", ondelete="CASCADE"), nullable=False,
                                            index=True)
    tbl: Mapped[str] = mapped_column(String, nullable=False)
    row_id: Mapped[int] = mapped_column(Integer, nullable=False)
    op: Mapped[str] = mapped_column(String, nullable=False, default="update")  # "insert" | "update"
    before: Mapped[str] = mapped_column(Text, nullable=False)  # JSON column values
    after: Mapped[str] = mapped_column(Text, nullable=False)


class Ingest(Base):
    """Watch-folder bookkeeping (added in revision 0002)."""

    __tablename__ = "ingest"
    sha256: Mapped[str] = mapped_column(String, primary_key=True)
    path: Mapped[str] = mapped_column(Text, nullable=False)
    state: Mapped[str] = mapped_column(String, nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    page_id: Mapped[int | None] = mapped_column(Integer)
    updated: Mapped[float] = mapped_column(Float, nullable=False)


# The SQLite-only objects (R*Tree over stroke boxes, FTS5 over word text, their sync triggers)
# are created by the base migration, which is the source of truth for the schema on disk.

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(connection: Connection) -> Config:
    """An Alembic Config built in code: no ini file, runs on ``connection``."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


@functools.lru_cache(maxsize=1)
def known_revisions() -> tuple[frozenset[str], str]:
    """All revisions this version ships, and the head (read once per process)."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(MIGRATIONS_DIR))
    return frozenset(r.revision for r in script.walk_revisions()), script.get_current_head()


def current_revision(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def upgrade(connection: Connection, revision: str = "head") -> None:
    """Upgrade the database on ``connection`` to ``revision`` (commits)."""
    from alembic import command

    command.upgrade(alembic_config(connection), revision)
