"""Strokes remember the stroke they were cut or merged from, so words keep their ink after edits.

Revision ID: 0003
Revises: 0002
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("strokes", sa.Column("origin_id", sa.Integer, nullable=True))


def downgrade() -> None:
    # native DROP COLUMN (SQLite >= 3.35) keeps the table, so its R*Tree triggers stay
    op.execute("ALTER TABLE strokes DROP COLUMN origin_id")
