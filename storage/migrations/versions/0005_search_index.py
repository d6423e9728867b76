"""Search index: SQLite FTS5 (trigram) or PostgreSQL pg_trgm over each article; list indexes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

from storage.search import create_index, drop_index

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_articles_first_seen_id"), "articles", ["first_seen", "id"], unique=False)
    op.create_index(op.f("ix_alerts_story_id"), "alerts", ["story_id"], unique=False)
    op.create_index(
        op.f("ix_articles_source_id_first_seen_status"), "articles", ["source_id", "first_seen", "status"]
    )
    # Existing articles are indexed here; from now on storage.ingest keeps the index current.
    create_index(op.get_bind())


def downgrade() -> None:
    drop_index(op.get_bind())
    op.drop_index(op.f("ix_articles_source_id_first_seen_status"), table_name="articles")
    op.drop_index(op.f("ix_alerts_story_id"), table_name="alerts")
    op.drop_index(op.f("ix_articles_first_seen_id"), table_name="articles")
