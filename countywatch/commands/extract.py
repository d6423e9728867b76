"""`countywatch extract`: one page (HTML in any encoding, or plain text) to one JSON record."""

from __future__ import annotations

import json
import os
import sys

import click

from countywatch.commands._common import config_option, fail, load_or_exit
from crawler.errors import ExtractionError
from crawler.html.page_reader import extract_article
from crawler.text.text_reader import extract_text_article

PAGE_URL_ENV = "PAGE_URL"


@click.command("extract")
@click.argument("path", default="-", type=click.Path(allow_dash=True, dir_okay=False))
@click.option("--url", default=None, help="The page's URL (default: $PAGE_URL); resolves relative links.")
@click.option("--text", "as_text", is_flag=True, help="The input is plain text (like the seeds), not HTML.")
@click.option("--charset", default=None, help="Charset the server declared (as an HTTP header would).")
@config_option
def command(path: str, url: str | None, as_text: bool, charset: str | None, config_path: str | None) -> None:
    """Extract one page (a file, or - for standard input) and print its record as JSON."""
    config = load_or_exit(config_path)
    url = url or os.environ.get(PAGE_URL_ENV) or None
    body = _read(path)
    try:
        if as_text:
            text = _decode_text(body)
            article = extract_text_article(text, url, topics=config.topics)
        else:
            article = extract_article(body, url, http_charset=charset, topics=config.topics)
    except ValueError as exc:  # ExtractionError and the text layer's bad-input errors
        fail(f"cannot extract {_name(path)}: {exc}")
        return
    click.echo(json.dumps(article.to_json(), ensure_ascii=False))


def _read(path: str) -> bytes:
    try:
        if path == "-":
            return sys.stdin.buffer.read()
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        click.echo(f"countywatch: cannot read {_name(path)}: {exc.strerror or exc}", err=True)
        raise SystemExit(1) from None


def _decode_text(body: bytes) -> str:
    """Plain text input: UTF-8 (with or without BOM), else GB18030."""
    if not body.strip():
        raise ExtractionError("empty input: no text to extract")
    if b"\x00" in body[:4096]:
        raise ExtractionError("not a text file: the input contains binary data")
    for codec in ("utf-8-sig", "gb18030"):
        try:
            return body.decode(codec)
        except UnicodeDecodeError:
            continue
    raise ExtractionError("invalid bytes: the text is neither UTF-8 nor GB18030")


def _name(path: str) -> str:
    return "standard input" if path == "-" else path
