"""Per-source schedules as data: sources.next_due_at, read by the daemon's batch tick.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("sources", sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_sources_next_due_at", "sources", ["next_due_at"])


def downgrade() -> None:
    # Not in batch mode: on SQLite that copies and drops the table, which the foreign keys of
    # articles and crawl runs forbid once sources has rows; SQLite (3.35+) drops a column in place.
    op.drop_index("ix_sources_next_due_at", table_name="sources")
    op.drop_column("sources", "next_due_at")
