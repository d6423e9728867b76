"""Who may use the web application: loopback by default, a bearer token everywhere else.

The token comes from the environment variable named by `serve.token_env`. When it is set, every
request needs it: in `Authorization: Bearer <token>` (the scheme in any case), or in the cookie a
browser gets by opening any page once with `?token=`; feed readers, which can send neither, may
put it in the feed URL's `?token=`.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from core.config import Serve

COOKIE = "countywatch_token"


class AccessError(Exception):
    """The server must not start as configured; the message says why, in one line."""


def configured_token(serve: Serve) -> str | None:
    """The token from the environment (None when no variable is named or it is unset or empty)."""
    if not serve.token_env:
        return None
    return os.environ.get(serve.token_env) or None


def is_loopback(host: str) -> bool:
    """Whether `host` is a loopback address (127.0.0.0/8, ::1) or `localhost`."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None, token_env: str | None) -> None:
    """Refuse an address other than loopback unless a token protects the server."""
    if token or is_loopback(host):
        return
    where = f"set {token_env}" if token_env else "name a variable in serve.token_env and set it"
    raise AccessError(
        f"refusing to serve on {host}: any machine that reaches it could read everything; "
        f"{where} to a secret token, or serve on 127.0.0.1"
    )


def _bearer(header: str) -> str | None:
    scheme, _, value = header.strip().partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _same(given: str | None, token: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


class TokenMiddleware:
    """Answer 401 to any request without the token (ASGI middleware; lifespan passes through)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        response = self._check(Request(scope))
        if response is None:
            await self.app(scope, receive, send)
        else:
            await response(scope, receive, send)

    def _check(self, request: Request) -> Response | None:
        if _same(_bearer(request.headers.get("authorization", "")), self.token):
            return None
        if _same(request.cookies.get(COOKIE), self.token):
            return None
        query_token = request.query_params.get("token")
        if _same(query_token, self.token):
            if request.url.path.startswith("/feeds/"):
                return None
            # A browser opened a link with the token: keep it in a cookie, and drop it from the URL
            # (and so from history and Referer headers).
            rest = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "token"])
            redirect = RedirectResponse(request.url.path + (f"?{rest}" if rest else ""), status_code=303)
            redirect.set_cookie(COOKIE, self.token, httponly=True, samesite="strict")
            return redirect
        return PlainTextResponse(
            "401 Unauthorized: this countywatch server needs its token "
            "(Authorization: Bearer <token>; feeds also take ?token=)\n",
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="countywatch"'},
        )
