"""Initial schema: sources, stories, articles and their versions, crawl runs, alerts, deliveries.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HEALTH = "health IN ('ok', 'empty', 'blocked', 'failing', 'stale')"


def _ts(name: str, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("health", sa.String(length=40), nullable=True),
        _ts("health_changed_at", nullable=True),
        _ts("last_run_at", nullable=True),
        _ts("created_at"),
        sa.CheckConstraint(HEALTH, name=op.f("ck_sources_health")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sources")),
        sa.UniqueConstraint("name", name=op.f("uq_sources_name")),
    )
    # stories and articles refer to each other: the stories -> articles keys are added afterwards.
    op.create_table(
        "stories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("canonical_article_id", sa.Integer(), nullable=True),
        sa.Column("first_article_id", sa.Integer(), nullable=True),
        sa.Column("first_publisher", sa.String(length=200), nullable=True),
        sa.Column("earliest_published_at", sa.String(length=40), nullable=True),
        sa.Column("new_alert_id", sa.Integer(), nullable=True),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stories")),
    )
    op.create_table(
        "articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("fetched_url", sa.String(length=2048), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("published_at", sa.String(length=40), nullable=True),
        sa.Column("list_date", sa.String(length=40), nullable=True),
        sa.Column("authors", sa.JSON(), nullable=False),
        sa.Column("publication", sa.String(length=200), nullable=True),
        sa.Column("editor", sa.String(length=200), nullable=True),
        sa.Column("site_name", sa.String(length=200), nullable=True),
        sa.Column("region", sa.String(length=200), nullable=True),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("simhash", sa.String(length=40), nullable=True),
        sa.Column("language", sa.String(length=40), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=True),
        sa.Column("alertable", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("gone_count", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _ts("first_seen"),
        _ts("last_seen"),
        _ts("last_checked"),
        _ts("last_changed"),
        _ts("next_check_at", nullable=True),
        _ts("withdrawn_at", nullable=True),
        sa.CheckConstraint("status IN ('active', 'withdrawn')", name=op.f("ck_articles_status")),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"], name=op.f("fk_articles_source_id_sources")),
        sa.ForeignKeyConstraint(["story_id"], ["stories.id"], name=op.f("fk_articles_story_id_stories")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_articles")),
        sa.UniqueConstraint("url", name=op.f("uq_articles_url")),
    )
    op.create_index(op.f("ix_articles_content_hash"), "articles", ["content_hash"])
    op.create_index(op.f("ix_articles_source_id_next_check_at"), "articles", ["source_id", "next_check_at"])
    op.create_index(op.f("ix_articles_story_id"), "articles", ["story_id"])
    with op.batch_alter_table("stories") as batch:
        batch.create_foreign_key(
            "fk_stories_canonical_article_id_articles", "articles", ["canonical_article_id"], ["id"]
        )
        batch.create_foreign_key(
            "fk_stories_first_article_id_articles", "articles", ["first_article_id"], ["id"]
        )

    op.create_table(
        "article_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("diff", sa.Text(), nullable=False),
        _ts("seen_at"),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name=op.f("fk_article_versions_article_id_articles")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_versions")),
        sa.UniqueConstraint("article_id", "version", name=op.f("uq_article_versions_article_id_version")),
    )
    op.create_table(
        "crawl_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        _ts("started_at"),
        _ts("finished_at", nullable=True),
        sa.Column("health", sa.String(length=40), nullable=True),
        sa.Column("stats", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint(HEALTH, name=op.f("ck_crawl_runs_health")),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"], name=op.f("fk_crawl_runs_source_id_sources")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crawl_runs")),
    )
    op.create_index(op.f("ix_crawl_runs_source_id_started_at"), "crawl_runs", ["source_id", "started_at"])
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=True),
        sa.Column("story_id", sa.Integer(), nullable=True),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        _ts("created_at"),
        sa.CheckConstraint("kind IN ('new', 'changed', 'withdrawn', 'health')", name=op.f("ck_alerts_kind")),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"], name=op.f("fk_alerts_article_id_articles")),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"], name=op.f("fk_alerts_source_id_sources")),
        sa.ForeignKeyConstraint(["story_id"], ["stories.id"], name=op.f("fk_alerts_story_id_stories")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("key", name=op.f("uq_alerts_key")),
    )
    op.create_index(op.f("ix_alerts_created_at"), "alerts", ["created_at"])
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("subscription", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=500), nullable=False),
        sa.Column("state", sa.String(length=40), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _ts("next_attempt_at", nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _ts("sent_at", nullable=True),
        _ts("created_at"),
        sa.CheckConstraint("state IN ('pending', 'sent', 'failed')", name=op.f("ck_deliveries_state")),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], name=op.f("fk_deliveries_alert_id_alerts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("key", name=op.f("uq_deliveries_key")),
    )
    op.create_index(op.f("ix_deliveries_state_next_attempt_at"), "deliveries", ["state", "next_attempt_at"])


def downgrade() -> None:
    op.drop_table("deliveries")
    op.drop_table("alerts")
    op.drop_table("crawl_runs")
    op.drop_table("article_versions")
    with op.batch_alter_table("stories") as batch:
        batch.drop_constraint("fk_stories_first_article_id_articles", type_="foreignkey")
        batch.drop_constraint("fk_stories_canonical_article_id_articles", type_="foreignkey")
    op.drop_table("articles")
    op.drop_table("stories")
    op.drop_table("sources")
