"""Hanweb (大汉 JCMS) jpage columns: list records in a datastore, further groups POSTed to dataproxy.jsp.

A Hanweb column page (`/col/col1234/index.html`, articles at `/art/2024/4/19/art_1234_56789.html`)
carries its list as data, not markup:

    <div id="5678"><script type="text/xml"><datastore>
      <nextgroup><![CDATA[<a href="/module/web/jpage/dataproxy.jsp?page=1&appid=1&webid=1&path=/
        &columnid=1234&unitid=5678&webname=…&permissiontype=0"></a>]]></nextgroup>
      <recordset><record><![CDATA[<li><a href="/art/…/art_1234_56789.html">…</a>
        <span>2024-04-19</span></li>]]></record>…
    </recordset></datastore></script></div>
    <script>$('#5678').jpage({ proxyUrl: '/module/web/jpage/dataproxy.jsp', perPage: 15, groupSize: 3,
      totalRecord: 68, … })</script>

Some templates name the proxy and the column in a script tag instead, e.g. `<script
type="text/javascript" language="javascript" src="/module/jslib/jquery/jpage/dataproxy.jsp?page=1&
webid=1&path=/&columnid=1234&unitid=5678&…">`, or give the parameters in the jpage call itself.

The page holds the first group of records (perPage × groupSize). jpage asks for the next group the
way a browser does, with a POST to the proxy: the paging in the query string
(`dataproxy.jsp?startrecord=46&endrecord=90&perpage=15`) and the column in the form
(`col=1&appid=1&webid=…&path=/&columnid=…&sourceContentType=1&unitid=…&webname=…&permissiontype=0`,
read from the nextgroup link, the proxy's script tag and the jpage call; the constant fields take
jpage's values when the page does not state them). Hanweb answers only POSTs there. The answer is the
same `<datastore>` as XML, so it is read by this strategy too, and pages on from its own
`startrecord`/`endrecord` with the form it was asked with.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

from crawler.discovery import Form, ListPage, NextPage, Strategy

_RECORD = re.compile(r"<record>\s*<!\[CDATA\[(.*?)\]\]>\s*</record>", re.DOTALL | re.IGNORECASE)
_DATASTORE = re.compile(r"<datastore>", re.IGNORECASE)
_NEXTGROUP = re.compile(r"<nextgroup>\s*<!\[CDATA\[(.*?)\]\]>", re.DOTALL | re.IGNORECASE)
_HREF = re.compile(r"""href\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
_SCRIPT = re.compile(r"<script[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE)
_JPAGE_SCRIPT = re.compile(r"jpage|dataproxy|proxyUrl", re.IGNORECASE)
# The column parameters dataproxy.jsp needs, as `name: value` (jpage call) or `name=value` (link).
_PARAM_NAMES: tuple[str, ...] = ("col", "appid", "webid", "path", "columnid", "sourceContentType")
_PARAM_NAMES += ("unitid", "webname", "permissiontype")
_PARAM = re.compile(
    r"\b(?P<name>" + "|".join(_PARAM_NAMES) + r")\s*[:=]\s*"
    r"""(?:'(?P<q1>[^']*)'|"(?P<q2>[^"]*)"|(?P<bare>[^'",&}\s]+))""",
    re.IGNORECASE,
)
_LOWER_NAMES = frozenset(n.lower() for n in _PARAM_NAMES)
_NUMBER = re.compile(
    r"""\b(?P<name>totalRecord|perPage|groupSize)\s*[:=]\s*['"]?(?P<value>\d+)""", re.IGNORECASE
)
_TOTAL_ELEMENT = re.compile(r"<totalrecord>\s*(\d+)\s*</totalrecord>", re.IGNORECASE)
_PROXY_URL = re.compile(r"""proxyUrl\s*:\s*['"]([^'"]+)['"]""", re.IGNORECASE)
_PROXY_SRC = re.compile(
    r"""<script\b[^>]*\bsrc\s*=\s*["']([^"']*dataproxy\.jsp\?[^"']*)["']""", re.IGNORECASE
)
_UNIT = re.compile(r"""\$\(\s*['"]#(\d+)['"]\s*\)\s*\.jpage\s*\(""")
DEFAULT_PROXY = "/module/web/jpage/dataproxy.jsp"
_PAGING = ("startrecord", "endrecord", "perpage")
JPAGE_PER_PAGE, JPAGE_GROUP_SIZE = 15, 3  # jpage's own defaults, for a call that does not set them
# The form jpage POSTs, in its order; the constants it sends when the page does not name them.
_FORM_ORDER: tuple[str, ...] = ("col", "appid", "webid", "path", "columnid", "sourceContentType")
_FORM_ORDER += ("unitid", "webname", "permissiontype")
_FORM_DEFAULTS = {"col": "1", "appid": "1", "path": "/", "sourceContentType": "1", "permissiontype": "0"}


def records(page: ListPage) -> list[str]:
    """The HTML of each record of the page's datastore(s), in order."""
    if not _DATASTORE.search(page.html):
        return []
    return _RECORD.findall(page.html)


def _fragments(page: ListPage) -> list[str]:
    found = records(page)
    # One list, as jpage renders it: the records side by side give the link reader its density.
    return ["<ul>" + "".join(found) + "</ul>"] if found else []


def _column_params(page: ListPage) -> tuple[dict[str, str], str]:
    """The column's dataproxy parameters and the proxy URL: nextgroup link, proxy script, jpage call."""
    params: dict[str, str] = {}
    proxy = DEFAULT_PROXY
    links = [href for group in _NEXTGROUP.findall(page.html) for href in _HREF.findall(group)]
    for href in links + _PROXY_SRC.findall(page.html):
        parts = urlsplit(href.replace("&amp;", "&"))
        if parts.path:
            proxy = parts.path
        params.update((k, v) for k, v in parse_qsl(parts.query) if k.lower() in _LOWER_NAMES)
    scripts = [s for s in _SCRIPT.findall(page.html) if _JPAGE_SCRIPT.search(s) and "<datastore" not in s]
    for script in scripts:
        for match in _PARAM.finditer(script):
            value = match.group("q1") or match.group("q2") or match.group("bare") or ""
            params.setdefault(match.group("name"), value)
        proxy_match = _PROXY_URL.search(script)
        if proxy_match:
            proxy = proxy_match.group(1)
        unit = _UNIT.search(script)
        if unit:  # the jpage unit is the element the call binds to
            params.setdefault("unitid", unit.group(1))
    return params, proxy


def _form(params: dict[str, str]) -> Form:
    """The POST form of a column: jpage's fields in its order, with its constants where unnamed."""
    by_name = {k.lower(): v for k, v in params.items()}
    fields = []
    for name in _FORM_ORDER:
        value = by_name.get(name.lower(), _FORM_DEFAULTS.get(name))
        if value is not None:
            fields.append((name, value))
    return tuple(fields)


def _numbers(page: ListPage) -> dict[str, int]:
    numbers: dict[str, int] = {}
    for script in _SCRIPT.findall(page.html):
        if _JPAGE_SCRIPT.search(script):
            for match in _NUMBER.finditer(script):
                numbers.setdefault(match.group("name").lower(), int(match.group("value")))
    total = _TOTAL_ELEMENT.search(page.html)
    if total:
        numbers.setdefault("totalrecord", int(total.group(1)))
    return numbers


def _next_page(page: ListPage) -> NextPage | None:
    found = records(page)
    numbers = _numbers(page)
    own = urlsplit(page.url)
    own_query = dict(parse_qsl(own.query))
    form: Form
    if not found:
        if "startrecord" in own_query or not (_PROXY_SRC.search(page.html) or _UNIT.search(page.html)):
            return None
        # A jpage unit without records in the page: jpage asks the proxy for the first group too.
        column, proxy = _column_params(page)
        if "columnid" not in {k.lower() for k in column}:
            return None
        params, form = {}, _form(column)
        per_page = numbers.get("perpage") or JPAGE_PER_PAGE
        span = per_page * numbers.get("groupsize", JPAGE_GROUP_SIZE)
        first = 1
    elif "startrecord" in own_query and "endrecord" in own_query:
        # A dataproxy answer: the next group follows this one, asked for the same way.
        start, end = int(own_query["startrecord"]), int(own_query["endrecord"])
        span = end - start + 1
        if len(found) < span:
            return None  # a short group is the last one
        params = {k: v for k, v in own_query.items() if k not in _PAGING}
        form = page.form
        proxy = own.path
        per_page = int(own_query.get("perpage") or span)
        first = end + 1
    else:
        column, proxy = _column_params(page)
        if "columnid" not in {k.lower() for k in column}:
            return None  # records without the column they belong to cannot be paged
        params, form = {}, _form(column)
        per_page = numbers.get("perpage") or len(found)
        span = per_page * numbers["groupsize"] if "groupsize" in numbers else len(found)
        first = len(found) + 1
        if len(found) < span:
            return None  # the page holds fewer records than a group: there is no next group
    total = numbers.get("totalrecord")
    if total is not None and first > total:
        return None
    query = [("startrecord", str(first)), ("endrecord", str(first + span - 1)), ("perpage", str(per_page))]
    query += list(params.items())
    return NextPage(urljoin(page.url, proxy) + "?" + urlencode(query), form)


STRATEGY = Strategy("hanweb", __doc__ or "", fragments=_fragments, next_page=_next_page)
