"""Building records and sources for the storage tests, from tests/fixtures/storage/texts.yaml."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from crawler.article import Article
from crawler.dedupe.fingerprint import simhash_hex
from storage.rules import SourceRef

FIXTURES = Path(__file__).parent / "fixtures" / "storage"
T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)

SOURCES: dict[str, SourceRef] = {
    "government": SourceRef("zhenping-gov", "government", {"m.zhenping.gov.cn": "www.zhenping.gov.cn"}),
    "education_bureau": SourceRef("ankang-jyj", "education_bureau"),
    "newspaper": SourceRef("xiangtan-daily", "newspaper"),
    "other": SourceRef("portal", "other"),
    "mirror": SourceRef("mirror-farm", "mirror"),
    "document_sharing": SourceRef("wentop", "document_sharing"),
}


@cache
def _texts() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load((FIXTURES / "texts.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def paragraphs(name: str) -> list[str]:
    """The paragraphs of a fixture text."""
    return list(_texts()[name]["paragraphs"])


def make_article(
    name: str = "zhenping",
    *,
    url: str | None = None,
    title: str | None = None,
    paras: Sequence[str] | None = None,
    flags: Sequence[str] = (),
    topics: Sequence[str] | None = None,
    categories: Sequence[str] = ("会议",),
    published_at: str | None = None,
) -> Article:
    """A record as extraction would hand it to storage."""
    data = _texts()[name]
    text = "\n".join(paras if paras is not None else data["paragraphs"])
    return Article(
        url=url,
        title=title if title is not None else data["title"],
        text=text,
        published_at=published_at if published_at is not None else data["published_at"],
        authors=["王贤忠"],
        region=data["region"],
        topics=list(topics) if topics is not None else (["education"] if name != "farming" else []),
        categories=list(categories),
        flags=list(flags),
        simhash=simhash_hex(text),
        section="新闻动态 > 县区传真",
    )
