"""`countywatch serve` routes through Starlette's test client: filters, search, pages, API, escaping."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from alerts.delivery import digest_folder
from countywatch.config import config_from_dict
from countywatch.web.app import create_app
from storage.db import make_engine, make_session_factory, open_read_only, upgrade
from storage.queries import ArticleFilter, iter_articles
from tests.digest_support import HOSTILE
from tests.web_support import ADMISSION, GONE, HOLIDAY_TITLE, Site, build_site


@pytest.fixture
def site(sqlite_url: str, tmp_path: Path) -> Site:
    upgrade(sqlite_url)
    return build_site(sqlite_url, tmp_path)


@pytest.fixture
def client(site: Site) -> Iterator[TestClient]:
    with TestClient(create_app(site.config, open_read_only(site.url))) as client:
        yield client


def _ids(client: TestClient, query: str) -> list[int]:
    response = client.get(f"/api/articles?{query}")
    assert response.status_code == 200, response.text
    return [a["id"] for a in response.json()["articles"]]


def test_index_groups_by_region_then_category_as_the_digest_does(client: TestClient, site: Site) -> None:
    page = client.get("/").text
    # Newest first seen first: the hiring notice (湘潭) leads, then 松桃, then 镇坪 with two categories.
    regions = ["湖南省湘潭市岳塘区", "贵州省铜仁市松桃苗族自治县", "陕西省安康市镇坪县"]
    positions = [page.index(f"<h2>{r} ") for r in regions]
    assert positions == sorted(positions)
    zhenping = page[positions[2] :]
    assert zhenping.index('<span class="chip">放假</span>') < zhenping.index(
        '<span class="chip">招生入学</span>'
    )
    assert f'href="/articles/{site.official}"' in page and f'href="/articles/{site.reprint}"' in page


def test_filters_narrow_the_list(client: TestClient, site: Site) -> None:
    every = _ids(client, "")
    assert sorted(every) == sorted([site.official, site.reprint, site.holiday, site.gone, site.hiring])
    assert _ids(client, "region=岳塘区") == [site.hiring]
    assert _ids(client, "category=放假") == [site.holiday]
    assert sorted(_ids(client, "source=zhenping-jyj")) == [site.official]
    assert _ids(client, "status=withdrawn") == [site.gone]
    assert site.gone not in _ids(client, "status=active")
    # Published dates: 2024-04-17 (gone), 04-19 (three), 07-01 (holiday).
    assert _ids(client, "since=2024-06-01") == [site.holiday]
    assert _ids(client, "until=2024-04-18") == [site.gone]
    assert sorted(_ids(client, "since=2024-04-19&until=2024-04-19")) == sorted(
        [site.official, site.reprint, site.hiring]
    )


def test_search_finds_terms_long_and_short_and_all_of_several(client: TestClient, site: Site) -> None:
    assert sorted(_ids(client, "q=网上报名")) == sorted([site.official, site.reprint, site.gone, site.hiring])
    assert _ids(client, "q=暑假") == [site.holiday]  # two characters: the fallback scan
    assert _ids(client, "q=暑假 7月10日") == [site.holiday]  # the edited text is what is indexed
    assert _ids(client, "q=7月6日起放假") == []
    assert sorted(_ids(client, "q=划片 网上报名")) == sorted([site.official, site.reprint])
    assert _ids(client, "q=100%") == []
    page = client.get("/?q=公开招聘").text
    assert "岳塘区2024年公开招聘中小学教师公告" in page and ADMISSION not in page


def test_bad_parameters_are_one_line_errors(client: TestClient) -> None:
    for query, word in [
        ("since=2024-13-01", "since"),
        ("status=deleted", "status"),
        ("cursor=abc", "cursor"),
    ]:
        page = client.get(f"/?{query}")
        assert page.status_code == 400 and word in page.text
        api = client.get(f"/api/articles?{query}")
        assert api.status_code == 400 and word in api.json()["error"]
    assert client.get("/api/articles?limit=0").status_code == 400
    assert client.get("/api/articles?limit=x").status_code == 400
    assert client.get("/articles/99999").status_code == 404
    assert client.get("/stories/99999").status_code == 404
    assert client.get("/feeds/nobody.atom").status_code == 404


def test_hostile_titles_are_escaped_everywhere(client: TestClient, site: Site) -> None:
    for path in ["/", "/?q=暑假", f"/articles/{site.holiday}", f"/stories/{site.official}"]:
        page = client.get(path).text
        assert HOSTILE not in page
    article = client.get(f"/articles/{site.holiday}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;镇坪县关于2024年暑假放假安排的通知" in article
    # The diff carries the hostile text too, escaped.
    assert "+ 7月10日起放假&lt;script&gt;alert(1)&lt;/script&gt;" in article
    assert client.get(f"/api/articles/{site.holiday}").json()["title"] == HOLIDAY_TITLE
    for response in [client.get("/"), client.get("/sources")]:
        assert "script-src" not in response.headers["content-security-policy"]
        assert "default-src 'none'" in response.headers["content-security-policy"]


def test_article_page_shows_versions_diffs_story_and_attachments(client: TestClient, site: Site) -> None:
    page = client.get(f"/articles/{site.holiday}").text
    assert "第 2 版" in page and "第 1 版" in page
    assert '<div class="del">- 7月6日起放假，9月1日开学。</div>' in page
    official = client.get(f"/articles/{site.official}").text
    assert "首发：<strong>镇坪县教育体育科技局</strong>" in official
    assert f'href="/articles/{site.reprint}"' in official  # the reprint, as the story's other copy
    assert (
        "报名表.docx" in official and 'href="http://jyj.zhenping.gov.cn/tzgg/2024/0419/form.docx"' in official
    )
    gone = client.get(f"/articles/{site.gone}").text
    assert "已撤回" in gone
    story = client.get(f"/stories/{site.story}").text
    assert story.count("<li") >= 2 and "首发" in story and "new:story:" in story


def test_sources_page_has_health_runs_and_a_weekly_svg_chart(client: TestClient, site: Site) -> None:
    page = client.get("/sources").text
    assert "<svg" in page and 'role="img"' in page
    # Each stored source gets a row of bars; this week's articles are drawn.
    for name in ["zhenping-jyj", "ankang-news", "zhenping-gov", "songtao", "xiangtan-daily"]:
        assert f'class="label">{name}</text>' in page
    assert page.count("<rect ") >= 4
    assert "当周 1 篇" in page


def test_subscriptions_show_what_each_receives_and_the_digest_deliveries(
    client: TestClient, site: Site
) -> None:
    page = client.get("/subscriptions").text
    assert "parents" in page and "hiring" in page and "教师招聘" in page
    assert '<span class="delivery failed">失败</span>' in page
    (archived,) = list(digest_folder(site.config).glob("*/*.html"))
    assert f'href="/digests/{archived.stem}"' in page
    digest = client.get(f"/digests/{archived.stem}")
    assert digest.status_code == 200 and digest.text == archived.read_text(encoding="utf-8")
    assert "'unsafe-inline'" in digest.headers["content-security-policy"]
    assert client.get("/digests/..%2F..%2Fsources.yaml").status_code == 404
    assert client.get("/digests/" + "0" * 32).status_code == 404


def test_api_articles_are_the_jsonl_records_with_cursor_pagination(client: TestClient, site: Site) -> None:
    engine = make_engine(site.url)
    with make_session_factory(engine)() as session:
        expected = [{"id": a.id, **a.to_json()} for a in iter_articles(session, ArticleFilter())]
    engine.dispose()
    seen: list[dict] = []
    cursor = None
    pages = 0
    while True:
        query = "limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(f"/api/articles?{query}").json()
        seen += body["articles"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert json.loads(json.dumps(seen)) == json.loads(json.dumps(expected))
    one = client.get(f"/api/articles/{site.holiday}").json()
    assert [v["version"] for v in one["history"]] == [2, 1]
    assert "+ 7月10日起放假" + HOSTILE + "，9月1日开学。" in one["history"][0]["diff"]


def test_api_sources_counts_articles_of_configured_sources(site: Site, tmp_path: Path) -> None:
    data = site.config.model_dump(by_alias=True, exclude={"base_dir"})
    data["sources"] = [{"name": "songtao", "start_urls": ["http://www.songtao.gov.cn/"]}]
    config = config_from_dict(data, base_dir=str(tmp_path))
    with TestClient(create_app(config, open_read_only(site.url))) as client:
        (songtao,) = client.get("/api/sources").json()["sources"]
    assert (songtao["name"], songtao["articles"], songtao["withdrawn"]) == ("songtao", 1, 1)
    assert songtao["health"] is None and songtao["next_run"] == "on start"


def test_withdrawn_url_is_listed_as_withdrawn(client: TestClient) -> None:
    (gone,) = client.get("/api/articles?status=withdrawn").json()["articles"]
    assert gone["url"] == GONE and gone["status"] == "withdrawn"


def test_pages_filters_and_search_on_each_database(migrated_url: str, tmp_path: Path) -> None:
    site = build_site(migrated_url, tmp_path)
    with TestClient(create_app(site.config, open_read_only(migrated_url))) as client:
        for path in [
            "/",
            f"/articles/{site.holiday}",
            f"/stories/{site.story}",
            "/subscriptions",
            "/sources",
        ]:
            assert client.get(path).status_code == 200, path
        assert "当周 1 篇" in client.get("/sources").text
        assert _ids(client, "category=放假") == [site.holiday]
        assert _ids(client, "q=暑假 7月10日") == [site.holiday]
        assert sorted(_ids(client, "q=划片 网上报名")) == sorted([site.official, site.reprint])
        assert _ids(client, "status=withdrawn&until=2024-04-18") == [site.gone]
        first = client.get("/api/articles?limit=3").json()
        rest = client.get(f"/api/articles?limit=3&cursor={first['next_cursor']}").json()
        assert len(first["articles"]) + len(rest["articles"]) == 5 and rest["next_cursor"] is None
        assert client.get("/feeds/parents.atom").status_code == 200
