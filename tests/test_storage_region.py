"""A page that names no place takes its source's configured region; one that does keeps its own."""

from __future__ import annotations

from sqlalchemy.orm import Session

from storage.models import Article
from storage.repository import ingest_article
from storage.rules import SourceRef
from tests.storage_builders import make_article

BUREAU = SourceRef("zhenping-jyj", "education_bureau", region="陕西省安康市镇坪县")


def test_a_page_without_a_place_takes_the_sources_region(session: Session) -> None:
    article = make_article("zhenping", url="http://jyj.zhenping.gov.cn/a/1.html")
    article.region = None
    result = ingest_article(
        session, article, source=BUREAU, fetched_url="http://jyj.zhenping.gov.cn/a/1.html"
    )
    row = session.get(Article, result.article_id)
    assert row is not None and row.region == "陕西省安康市镇坪县"


def test_a_page_naming_its_place_keeps_it(session: Session) -> None:
    article = make_article("dongqu", url="http://jyj.zhenping.gov.cn/a/2.html")
    article.region = "四川省攀枝花市东区"
    result = ingest_article(
        session, article, source=BUREAU, fetched_url="http://jyj.zhenping.gov.cn/a/2.html"
    )
    row = session.get(Article, result.article_id)
    assert row is not None and row.region == "四川省攀枝花市东区"
