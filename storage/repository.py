"""The repository: every function other code uses to reach the database, each taking a Session.

Functions flush but never commit; the caller decides where a transaction ends. The functions live
in modules named for what they do; this module gathers them under the names of docs/CONTRACTS.md.
"""

from __future__ import annotations

from storage.crawlruns import (
    CrawlRunRow,
    SourceHealthRow,
    finish_crawl_run,
    finish_crawl_runs,
    health_history,
    interrupt_dead_runs,
    latest_runs,
    process_alive,
    run_status,
    source_health,
    start_crawl_run,
    start_crawl_runs,
)
from storage.ingest import (
    IngestResult,
    NotAnArticle,
    Validators,
    ingest_article,
    next_check,
    recheck_attachment,
    source_row,
)
from storage.outbox import (
    AlertArticle,
    DigestAlert,
    add_alert,
    alerts_by_id,
    alerts_for_digest,
    due_deliveries,
    ensure_deliveries,
    mark_delivered,
    mark_failed,
)
from storage.queries import ArticleFilter, StoredArticle, iter_articles
from storage.recheck import (
    DELETED_NOTICE,
    GoneResult,
    KnownPage,
    known_pages,
    known_pages_of,
    load_neardup_index,
    mark_checked,
    mark_early_checked,
    record_gone,
)
from storage.rules import RecheckPolicy, SourceRef

__all__ = [
    "DELETED_NOTICE",
    "AlertArticle",
    "ArticleFilter",
    "CrawlRunRow",
    "DigestAlert",
    "GoneResult",
    "IngestResult",
    "KnownPage",
    "NotAnArticle",
    "RecheckPolicy",
    "SourceHealthRow",
    "SourceRef",
    "StoredArticle",
    "Validators",
    "add_alert",
    "alerts_by_id",
    "alerts_for_digest",
    "due_deliveries",
    "ensure_deliveries",
    "finish_crawl_run",
    "finish_crawl_runs",
    "health_history",
    "ingest_article",
    "interrupt_dead_runs",
    "iter_articles",
    "known_pages",
    "known_pages_of",
    "latest_runs",
    "load_neardup_index",
    "mark_checked",
    "mark_delivered",
    "mark_early_checked",
    "mark_failed",
    "next_check",
    "process_alive",
    "recheck_attachment",
    "record_gone",
    "run_status",
    "source_health",
    "source_row",
    "start_crawl_run",
    "start_crawl_runs",
]
