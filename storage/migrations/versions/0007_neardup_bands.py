"""The near-duplicate index on disk: neardup_bands holds each article's LSH band hashes.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.neardup_stored import index_stored_signatures

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "neardup_bands",
        sa.Column("band", sa.BigInteger(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name=op.f("fk_neardup_bands_article_id_articles")
        ),
        sa.PrimaryKeyConstraint("band", "article_id", name=op.f("pk_neardup_bands")),
        sqlite_with_rowid=False,
    )
    op.create_index(op.f("ix_neardup_bands_article_id"), "neardup_bands", ["article_id"], unique=False)
    # The signatures already stored are indexed here (the crawl used to rebuild the index in memory
    # from them at every start); from now on storage.ingest keeps the table current.
    index_stored_signatures(op.get_bind())


def downgrade() -> None:
    op.drop_index(op.f("ix_neardup_bands_article_id"), table_name="neardup_bands")
    op.drop_table("neardup_bands")
