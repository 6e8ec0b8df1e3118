"""Watch-folder ingest table and a (page, deleted) index for live stroke counts.

Revision ID: 0002
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ingest",
        sa.Column("sha256", sa.String, primary_key=True),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("state", sa.String, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text),
        sa.Column("page_id", sa.Integer),
        sa.Column("updated", sa.Float, nullable=False),
    )
    op.create_index("ix_ingest_state", "ingest", ["state"])
    op.create_index("ix_strokes_page_deleted", "strokes", ["page_id", "deleted"])


def downgrade() -> None:
    op.drop_index("ix_strokes_page_deleted", "strokes")
    op.drop_index("ix_ingest_state", "ingest")
    op.drop_table("ingest")
