"""URL canonicalisation: one spelling per page, so a page is stored and alerted on once.

w3lib (Scrapy's own URL library) does the standard part: case of scheme and host, IDNA, percent
encoding, dot segments, sorted query, no fragment. On top of that come the rules that matter for
Chinese government and news sites: default ports, share/tracking parameters added by WeChat, Weibo
and analytics, directory index pages, session ids in the path, and mobile hosts that a source
declares as mirrors of its canonical host.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit, urlunsplit

from w3lib.url import canonicalize_url as w3lib_canonicalize_url

# Query parameters that only say how a reader arrived (share buttons, app banners, analytics).
TRACKING_PARAMS = frozenset(
    {
        "spm",
        "spm_id_from",
        "from",
        "isappinstalled",
        "scene",
        "clicktime",
        "enterid",
        "wxfrom",
        "share",
        "share_token",
        "share_from",
        "share_medium",
        "share_source",
        "sharer_shareid",
        "sharer_sharetime",
        "vd_source",
        "fbclid",
        "gclid",
        "yclid",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "jsessionid",
        "phpsessid",
        "sessionid",
    }
)
TRACKING_PREFIXES = ("utm_",)
DEFAULT_PORTS = {"http": 80, "https": 443}
# Static directory index pages; dynamic ones (index.php?id=…) are left alone.
_INDEX_PAGE = re.compile(r"/(?:index\.s?html?|default\.html?)$", re.IGNORECASE)
_PATH_SESSION = re.compile(r";(?:jsessionid|phpsessid|sid)=[^/?#]*", re.IGNORECASE)


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def _netloc(host: str, port: int | None, scheme: str, userinfo: str) -> str:
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != DEFAULT_PORTS.get(scheme):
        netloc = f"{netloc}:{port}"
    return f"{userinfo}@{netloc}" if userinfo else netloc


def _map_mobile_host(host: str, port: int | None, mobile_hosts: Mapping[str, str]) -> tuple[str, int | None]:
    lowered = {key.lower().rstrip("."): value.lower() for key, value in mobile_hosts.items()}
    target = lowered.get(f"{host}:{port}") if port is not None else None
    if target is None:
        target = lowered.get(host)
    if target is None:
        return host, port
    mapped = urlsplit(f"//{target}")
    return (mapped.hostname or host), mapped.port if mapped.port is not None else port


def canonicalize_url(url: str, *, mobile_hosts: Mapping[str, str] | None = None) -> str:
    """The canonical form of an http(s) URL; ValueError (one line) for anything else."""
    stripped = url.strip()
    parts = urlsplit(stripped)
    if parts.scheme.lower() not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    try:
        parts.port  # noqa: B018 - urlsplit validates the port lazily
    except ValueError as exc:
        raise ValueError(f"bad port in URL {url!r}: {exc}") from None
    canonical = urlsplit(w3lib_canonicalize_url(_PATH_SESSION.sub("", stripped)))
    scheme = canonical.scheme
    host = (canonical.hostname or "").rstrip(".")
    port = canonical.port
    if mobile_hosts:
        host, port = _map_mobile_host(host, port, mobile_hosts)
    userinfo = canonical.netloc.rpartition("@")[0] if "@" in canonical.netloc else ""
    path = _INDEX_PAGE.sub("/", canonical.path) or "/"
    # w3lib already sorted and percent-encoded the query: filter its pairs without re-encoding them.
    query = "&".join(
        pair for pair in canonical.query.split("&") if pair and not _is_tracking(unquote(pair.split("=")[0]))
    )
    return urlunsplit((scheme, _netloc(host, port, scheme, userinfo), path, query, ""))
