"""The web application of `countywatch serve`: pages, Atom feeds and a JSON API, all read-only.

Starlette with server-rendered Jinja2 templates (the digests' environment and filters), one local
stylesheet, no script and nothing fetched from elsewhere. The database is opened read-only
(`storage.db.open_read_only`), so no request can change it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jinja2 import ChoiceLoader, PackageLoader
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alerts.atom import feed_alerts, render_feed
from alerts.render import format_when, template_environment
from core.config import Config
from countywatch.web import charts
from countywatch.web.access import TokenMiddleware
from countywatch.web.pages import (
    BadRequest,
    archived_digest,
    article_counts,
    article_page,
    article_view,
    decode_cursor,
    list_articles,
    parse_day,
    story_view,
    subscription_views,
    week_chart,
)
from scheduler.daemon import state_path
from scheduler.overview import build_status
from scheduler.state import StateError, read_state
from storage.db import make_session_factory
from storage.models import ARTICLE_STATUSES
from storage.repository import ArticleFilter, source_health, source_names

# Our pages need nothing but their own stylesheet; archived digests carry inline styles (email
# clients drop <style> blocks), so their page allows those and nothing more.
PAGE_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'"
)
DIGEST_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'"
API_LIMIT_MAX = 500


@dataclass(frozen=True, slots=True)
class WebState:
    """What every request handler needs: the configuration and read-only sessions."""

    config: Config
    sessions: sessionmaker[Session]
    templates: Jinja2Templates


class SecurityHeaders:
    """Add a Content-Security-Policy and friends to every response that has none."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                extra = {
                    b"content-security-policy": PAGE_POLICY.encode(),
                    b"x-content-type-options": b"nosniff",
                    b"referrer-policy": b"no-referrer",
                    b"x-frame-options": b"DENY",
                }
                headers += [(k, v) for k, v in extra.items() if k not in names]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


def _state(request: Request) -> WebState:
    state = request.app.state.web
    assert isinstance(state, WebState)
    return state


def _filters(request: Request, page_size: int) -> ArticleFilter:
    """The filters of a list, from the query string; BadRequest for a value that cannot be used."""
    params = request.query_params
    status = params.get("status") or None
    if status is not None and status not in ARTICLE_STATUSES:
        raise BadRequest(f"status={status[:40]!r} is not one of {', '.join(ARTICLE_STATUSES)}")
    cursor = params.get("cursor")
    return ArticleFilter(
        search=(params.get("q") or "").strip() or None,
        source=params.get("source") or None,
        region=(params.get("region") or "").strip() or None,
        category=params.get("category") or None,
        status=status,
        since=parse_day("since", params.get("since")),
        until=parse_day("until", params.get("until")),
        limit=page_size,
        after=decode_cursor(cursor) if cursor else None,
    )


def _categories(config: Config) -> list[str]:
    labels: list[str] = []
    for topic in config.topics.values():
        labels += [c.label for c in topic.categories.values() if c.label not in labels]
    return labels


def _page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
    state = _state(request)
    return state.templates.TemplateResponse(
        request, name, {"config": state.config, **context}, status_code=status_code
    )


def _error(request: Request, status_code: int, message: str) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": message}, status_code=status_code)
    return _page(request, "error.html.j2", {"status": status_code, "message": message}, status_code)


async def _bad_request(request: Request, exc: Exception) -> Response:
    return _error(request, 400, str(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _error(request, exc.status_code, str(exc.detail))


def index(request: Request) -> Response:
    """The latest announcements, grouped by region and category, with filters and search."""
    state = _state(request)
    filters = _filters(request, state.config.serve.page_size)
    with state.sessions() as session:
        page = article_page(session, filters, state.config.serve.page_size)
        sources = source_names(session)
    return _page(
        request,
        "index.html.j2",
        {
            "page": page,
            "filters": filters,
            "sources": sources,
            "categories": _categories(state.config),
            "regions": sorted({s.region for s in state.config.sources if s.region}),
            "query": {k: v for k, v in request.query_params.items() if k != "cursor"},
        },
    )


def _int_param(request: Request, name: str) -> int:
    return int(request.path_params[name])


def article(request: Request) -> Response:
    """One article: its record, every version with its diff, its story's other copies."""
    state = _state(request)
    with state.sessions() as session:
        view = article_view(session, _int_param(request, "article_id"))
    if view is None:
        raise HTTPException(404, f"no article {request.path_params['article_id']}")
    return _page(request, "article.html.j2", {"view": view, "record": view.record.record})


def story(request: Request) -> Response:
    """One story: its copies, who published it first, the alerts it raised."""
    state = _state(request)
    with state.sessions() as session:
        view = story_view(session, _int_param(request, "story_id"))
    if view is None:
        raise HTTPException(404, f"no story {request.path_params['story_id']}")
    return _page(request, "story.html.j2", {"story": view})


def _status(state: WebState, session_factory: sessionmaker[Session]) -> Any:
    try:
        scheduler_state = read_state(state_path(state.config))
    except StateError as exc:
        raise BadRequest(str(exc)) from None
    return build_status(state.config, scheduler_state, session_factory, now=datetime.now(UTC))


def sources(request: Request) -> Response:
    """Each source's health, last and next run, article counts and a weekly chart."""
    state = _state(request)
    report = _status(state, state.sessions)
    with state.sessions() as session:
        counts = article_counts(session)
        # The daemon's ledger knows scheduled runs; the database also knows runs started by hand.
        crawled = {row.name: row.last_run_at for row in source_health(session)}
        names = [s.name for s in report.sources] or sorted(counts)
        chart = week_chart(session, datetime.now(UTC), names)
    return _page(
        request,
        "sources.html.j2",
        {"report": report, "counts": counts, "crawled": crawled, "chart": charts.weekly_bars(chart)},
    )


def subscriptions(request: Request) -> Response:
    """Each subscription: what it receives, its latest digests and their delivery state."""
    state = _state(request)
    with state.sessions() as session:
        views = subscription_views(session, state.config)
    return _page(request, "subscriptions.html.j2", {"views": views})


def digest(request: Request) -> Response:
    """An archived HTML digest, as it was sent."""
    state = _state(request)
    path = archived_digest(state.config, request.path_params["key"])
    if path is None:
        raise HTTPException(404, f"no archived digest {request.path_params['key'][:40]}")
    return FileResponse(
        path, media_type="text/html; charset=utf-8", headers={"Content-Security-Policy": DIGEST_POLICY}
    )


def feed(request: Request) -> Response:
    """The Atom feed of the alerts one subscription receives."""
    state = _state(request)
    name = request.path_params["name"]
    try:
        subscription = next(s for s in state.config.notify.subscriptions if s.name == name)
    except StopIteration:
        raise HTTPException(404, f"no subscription {name[:60]!r}") from None
    now = datetime.now(UTC)
    with state.sessions() as session:
        alerts = feed_alerts(session, subscription, limit=state.config.serve.feed_entries, now=now)
    self_url = str(request.url.remove_query_params("token"))
    body = render_feed(subscription, alerts, now=now, self_url=self_url, page_url=str(request.base_url))
    return Response(body, media_type="application/atom+xml; charset=utf-8")


def api_articles(request: Request) -> Response:
    """Stored articles as `countywatch articles --format jsonl` prints them, a page at a time."""
    state = _state(request)
    limit_text = request.query_params.get("limit")
    try:
        limit = int(limit_text) if limit_text else state.config.serve.page_size
    except ValueError:
        raise BadRequest(f"limit={str(limit_text)[:20]!r} is not a number") from None
    if not 1 <= limit <= API_LIMIT_MAX:
        raise BadRequest(f"limit must be between 1 and {API_LIMIT_MAX}")
    filters = _filters(request, limit)
    with state.sessions() as session:
        rows, cursor = list_articles(session, filters, limit)
    return JSONResponse(
        {"articles": [{"id": r.id, **r.to_json()} for r in rows], "next_cursor": cursor},
        media_type="application/json; charset=utf-8",
    )


def api_article(request: Request) -> Response:
    """One article's record, its versions with their diffs, and its story."""
    state = _state(request)
    with state.sessions() as session:
        view = article_view(session, _int_param(request, "article_id"))
    if view is None:
        raise HTTPException(404, f"no article {request.path_params['article_id']}")
    story_data = {
        "id": view.story.id,
        "first_publisher": view.story.first_publisher,
        "members": [
            {"id": m.id, "url": m.url, "source": m.source_name, "first": m.first, "canonical": m.canonical}
            for m in view.story.members
        ],
    }
    versions = [
        {"version": v.version, "title": v.title, "seen_at": v.seen_at.isoformat(), "diff": v.diff}
        for v in view.versions
    ]
    body = {"id": view.record.id, **view.record.to_json(), "history": versions, "story": story_data}
    return JSONResponse(body)


def api_sources(request: Request) -> Response:
    """Each source: health, last and next run, article counts."""
    state = _state(request)
    report = _status(state, state.sessions)
    with state.sessions() as session:
        counts = article_counts(session)
    out = []
    for source in report.to_json()["sources"]:
        total, withdrawn = counts.get(source["name"], (0, 0))
        out.append({**source, "articles": total, "withdrawn": withdrawn})
    return JSONResponse({"sources": out})


def iso_when(value: str | None) -> str:
    """An ISO timestamp from the status report in China time to the minute; other values as they are."""
    if not value:
        return "—"
    try:
        return format_when(datetime.fromisoformat(value))
    except ValueError:
        return value  # e.g. "on start"


def _templates() -> Jinja2Templates:
    loader = ChoiceLoader(
        [PackageLoader("countywatch.web", "templates"), PackageLoader("alerts", "templates")]
    )
    env = template_environment(loader, autoescape=True)
    env.filters["isowhen"] = iso_when
    return Jinja2Templates(env=env)


def create_app(config: Config, engine: Engine, *, token: str | None = None) -> Starlette:
    """The application on a read-only engine; with a token, every request must carry it."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        engine.dispose()

    middleware = [Middleware(SecurityHeaders)]
    if token:
        middleware.append(Middleware(TokenMiddleware, token=token))
    handlers: dict[Any, Callable[..., Any]] = {BadRequest: _bad_request, HTTPException: _http_error}
    app = Starlette(
        routes=[
            Route("/", index),
            Route("/articles/{article_id:int}", article),
            Route("/stories/{story_id:int}", story),
            Route("/sources", sources),
            Route("/subscriptions", subscriptions),
            Route("/digests/{key}", digest),
            Route("/feeds/{name}.atom", feed),
            Route("/api/articles", api_articles),
            Route("/api/articles/{article_id:int}", api_article),
            Route("/api/sources", api_sources),
            Mount("/static", StaticFiles(packages=[("countywatch.web", "static")]), name="static"),
        ],
        middleware=middleware,
        exception_handlers=handlers,
        lifespan=lifespan,
    )
    app.state.web = WebState(config, make_session_factory(engine), _templates())
    return app
