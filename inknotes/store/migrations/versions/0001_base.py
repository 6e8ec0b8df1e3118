"""Base schema: notebooks, pages, images, layers, strokes (+R*Tree), words (+FTS5), commands.

Revision ID: 0001
Revises:
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_EXTRAS = [
    "CREATE VIRTUAL TABLE stroke_rtree USING rtree(id, x0, x1, y0, y1, p0, p1)",
    """CREATE TRIGGER strokes_rtree_ins AFTER INSERT ON strokes BEGIN
         INSERT INTO stroke_rtree VALUES (new.id, new.x0, new.x1, new.y0, new.y1, new.page_id, new.page_id);
       END""",
    """CREATE TRIGGER strokes_rtree_upd AFTER UPDATE OF x0, y0, x1, y1 ON strokes BEGIN
         UPDATE stroke_rtree SET x0 = new.x0, x1 = new.x1, y0 = new.y0, y1 = new.y1 WHERE id = new.id;
       END""",
    """CREATE TRIGGER strokes_rtree_del AFTER DELETE ON strokes BEGIN
         DELETE FROM stroke_rtree WHERE id = old.id;
       END""",
    """CREATE VIRTUAL TABLE words_fts USING fts5(text, content='words', content_rowid='id',
         tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER words_fts_ins AFTER INSERT ON words BEGIN
         INSERT INTO words_fts(rowid, text) VALUES (new.id, new.text);
       END""",
    """CREATE TRIGGER words_fts_del AFTER DELETE ON words BEGIN
         INSERT INTO words_fts(words_fts, rowid, text) VALUES ('delete', old.id, old.text);
       END""",
    """CREATE TRIGGER words_fts_upd AFTER UPDATE OF text ON words BEGIN
         INSERT INTO words_fts(words_fts, rowid, text) VALUES ('delete', old.id, old.text);
         INSERT INTO words_fts(rowid, text) VALUES (new.id, new.text);
       END""",
]


def _deleted() -> sa.Column:
    return sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false())


def upgrade() -> None:
    op.create_table(
        "notebooks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("created", sa.Float, nullable=False),
        _deleted(),
    )
    op.create_table(
        "pages",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("notebook_id", sa.Integer, sa.ForeignKey("notebooks.id"), nullable=False),
        sa.Column("source_path", sa.Text, nullable=False, server_default=""),
        sa.Column("source_name", sa.Text, nullable=False, server_default=""),
        sa.Column("page_index", sa.Integer, nullable=False, server_default="0"),
        sa.Column("page_count", sa.Integer, nullable=False, server_default="1"),
        sa.Column("sha256", sa.String, nullable=False, server_default=""),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("dpi", sa.Float),
        sa.Column("engine", sa.String, nullable=False, server_default=""),
        sa.Column("transform", sa.Text),
        sa.Column("created", sa.Float, nullable=False),
        _deleted(),
    )
    op.create_index("ix_pages_notebook_id", "pages", ["notebook_id"])
    op.create_index("ix_pages_sha256", "pages", ["sha256"])
    op.create_table(
        "page_images",
        sa.Column("page_id", sa.Integer, sa.ForeignKey("pages.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("ext", sa.String, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "layers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("page_id", sa.Integer, sa.ForeignKey("pages.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("visible", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("locked", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("ord", sa.Integer, nullable=False, server_default="0"),
        sa.Column("opacity", sa.Float, nullable=False, server_default="1.0"),
        sa.Column("engine", sa.String, nullable=False, server_default=""),
        _deleted(),
    )
    op.create_index("ix_layers_page_id", "layers", ["page_id"])
    op.create_table(
        "strokes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("page_id", sa.Integer, sa.ForeignKey("pages.id", ondelete="CASCADE"), nullable=False),
        sa.Column("layer_id", sa.Integer, sa.ForeignKey("layers.id", ondelete="CASCADE"), nullable=False),
        sa.Column("z", sa.Float, nullable=False, server_default="0"),
        sa.Column("color", sa.String, nullable=False),
        sa.Column("tool", sa.String, nullable=False, server_default="pen"),
        _deleted(),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("x0", sa.Float, nullable=False),
        sa.Column("y0", sa.Float, nullable=False),
        sa.Column("x1", sa.Float, nullable=False),
        sa.Column("y1", sa.Float, nullable=False),
    )
    op.create_index("ix_strokes_layer_id", "strokes", ["layer_id"])
    op.create_table(
        "words",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("page_id", sa.Integer, sa.ForeignKey("pages.id", ondelete="CASCADE"), nullable=False),
        sa.Column("x", sa.Float, nullable=False),
        sa.Column("y", sa.Float, nullable=False),
        sa.Column("w", sa.Float, nullable=False),
        sa.Column("h", sa.Float, nullable=False),
        sa.Column("text", sa.Text, nullable=False, server_default=""),
        sa.Column("confidence", sa.Float, nullable=False, server_default="-1"),
        sa.Column("line", sa.Integer, nullable=False, server_default="0"),
        sa.Column("source", sa.String, nullable=False, server_default="ocr"),
        sa.Column("stroke_ids", sa.Text, nullable=False, server_default="[]"),
    )
    op.create_index("ix_words_page_id", "words", ["page_id"])
    op.create_table(
        "commands",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("state", sa.String, nullable=False, server_default="done"),
    )
    op.create_table(
        "command_changes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("command_id", sa.Integer, sa.ForeignKey("commands.id", ondelete="CASCADE"), nullable=False),
        sa.Column("tbl", sa.String, nullable=False),
        sa.Column("row_id", sa.Integer, nullable=False),
        sa.Column("op", sa.String, nullable=False, server_default="update"),
        sa.Column("before", sa.Text, nullable=False),
        sa.Column("after", sa.Text, nullable=False),
    )
    op.create_index("ix_command_changes_command_id", "command_changes", ["command_id"])
    for sql in _EXTRAS:
        op.execute(sql)


def downgrade() -> None:
    for name in ("words_fts", "stroke_rtree"):
        op.execute(f"DROP TABLE IF EXISTS {name}")
    for name in ("command_changes", "commands", "words", "strokes", "layers", "page_images", "pages",
                 "notebooks"):
        op.drop_table(name)
