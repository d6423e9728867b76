"""Structured logging: plain or JSON lines, with the crawl context and secrets redacted.

Every record carries `source` and `run_id` (empty outside a crawl job) taken from a context
variable, so a job sets them once with `log_context(...)` and every logger below it inherits them.
The redaction filter runs on the handler, so no formatter or later handler ever sees a secret.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from core.config import Config

# Query parameters whose values are credentials in the webhook URLs of the bots countywatch talks to
# (DingTalk access_token, WeCom key, Feishu hook tokens, generic sign/secret/token parameters).
_URL_TOKEN = re.compile(
    r"(?i)([?&](?:access_token|token|key|secret|sign|signature|password|api_key|apikey)=)[^&\s\"'<>]+"
)
# user:password@ in URLs (SMTP, database and Redis URLs).
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@/\s]+@")
# Feishu / Slack put the token in the path: /hook/<token>, /services/T.../B.../<token>.
_PATH_TOKEN = re.compile(r"(?i)(/(?:hook|services)/)[A-Za-z0-9_/+=-]{8,}")
REDACTED = "***"

_CONTEXT: ContextVar[_LogContext | None] = ContextVar("countywatch_log_context", default=None)


@dataclass(frozen=True, slots=True)
class _LogContext:
    source: str = ""
    run_id: str = ""


@contextmanager
def log_context(*, source: str = "", run_id: str | int = "") -> Iterator[None]:
    """Tag every log record made inside the block with a source name and a run id."""
    token = _CONTEXT.set(_LogContext(source=source, run_id=str(run_id)))
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace known secret values and credential-looking URL parts by ***."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    text = _URL_TOKEN.sub(rf"\1{REDACTED}", text)
    text = _URL_USERINFO.sub(rf"\1{REDACTED}@", text)
    return _PATH_TOKEN.sub(rf"\1{REDACTED}", text)


class ContextFilter(logging.Filter):
    """Adds `source` and `run_id` from the current log context to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = _CONTEXT.get() or _LogContext()
        if not getattr(record, "source", ""):
            record.source = ctx.source
        if not getattr(record, "run_id", ""):
            record.run_id = ctx.run_id
        return True


class RedactingFilter(logging.Filter):
    """Rewrites the final message (and exception text) with secrets replaced by ***."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Very short values would redact ordinary words; they are not plausible secrets.
        self.secrets = [s for s in secrets if len(s) >= 4]

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage(), self.secrets)
        record.args = None
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info), self.secrets)
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, source, run_id (+ exc)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "source": getattr(record, "source", ""),
            "run_id": getattr(record, "run_id", ""),
        }
        if record.exc_text:
            entry["exc"] = record.exc_text
        elif record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """`time LEVEL logger [source#run_id] message` — the context only when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(context)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        source, run_id = getattr(record, "source", ""), getattr(record, "run_id", "")
        record.context = f" [{source}{'#' + run_id if run_id else ''}]" if source or run_id else ""
        return super().format(record)


def secret_values(config: Config, environ: dict[str, str] | os._Environ[str] | None = None) -> list[str]:
    """The values of every environment variable the configuration names as holding a secret."""
    env = os.environ if environ is None else environ
    names: set[str] = set()
    for channel in config.notify.channels.values():
        for field in ("password_env", "url_env", "secret_env"):
            name = getattr(channel, field, None)
            if name:
                names.add(name)
    for name in (config.metrics.token_env, config.distributed.redis_url_env):
        if name:
            names.add(name)
    return [env[name] for name in sorted(names) if env.get(name)]


def configure_logging(
    config: Config,
    *,
    json_lines: bool | None = None,
    level: str | None = None,
    stream: Any = None,
) -> logging.Handler:
    """Route the root logger to stderr (or `logging.file`) with context and redaction filters."""
    use_json = config.logging.json_format if json_lines is None else json_lines
    handler: logging.Handler
    if config.logging.file:
        path = config.path(config.logging.file)
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
    else:
        handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactingFilter(secret_values(config)))
    if use_json:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level or config.logging.level)
    # APScheduler logs every job start at INFO; the daemon logs its own, more useful, lines.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # A failing job is logged once, with its traceback, by the daemon's EVENT_JOB_ERROR listener.
    logging.getLogger("apscheduler.executors").setLevel(logging.CRITICAL)
    # Alembic announces its context on every revision check (`status`, `run`).
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return handler
