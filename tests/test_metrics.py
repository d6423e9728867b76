"""The Prometheus endpoint: 401 without the bearer token, the metrics text with it."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from countywatch.metrics import DaemonMetrics, MetricsServer


@pytest.fixture
def served():
    metrics = DaemonMetrics()
    server = MetricsServer(metrics.registry, "s3cret-token", host="127.0.0.1", port=0)
    server.start()
    yield metrics, f"http://127.0.0.1:{server.port}/metrics"
    server.stop()


def _get(url: str, token: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_without_a_token_the_endpoint_answers_401(served):
    _, url = served
    assert _get(url)[0] == 401


def test_with_a_wrong_token_the_endpoint_answers_401(served):
    _, url = served
    status, body = _get(url, "guess")
    assert status == 401
    assert "countywatch" not in body


def test_with_the_token_the_endpoint_serves_the_metrics(served):
    metrics, url = served
    report = {
        "finish_reason": "finished",
        "sources": [
            {"name": "other", "new": 7},
            {
                "name": "镇坪县",
                "health": "ok",
                "list_pages": 2,
                "articles_fetched": 4,
                "new": 2,
                "changed": 1,
            },
        ],
    }
    metrics.observe_crawl("镇坪县", "ok", 12.5, report)
    metrics.set_alerts({"new": 3, "health": 1})
    metrics.observe_crawl("镇坪县", "timed_out", 3600, None)
    metrics.observe_deliveries(sent=2, failed=1)
    metrics.set_health([("镇坪县", "failing")])
    metrics.job_error("crawl:镇坪县", "missed")
    status, body = _get(url, "s3cret-token")
    assert status == 200
    assert 'countywatch_crawl_runs_total{source="镇坪县",status="ok"} 1.0' in body
    assert 'countywatch_crawl_runs_total{source="镇坪县",status="timed_out"} 1.0' in body
    assert 'countywatch_articles_total{outcome="new",source="镇坪县"} 2.0' in body
    assert 'countywatch_articles_total{outcome="changed",source="镇坪县"} 1.0' in body
    assert 'countywatch_pages_fetched_total{source="镇坪县"} 6.0' in body
    assert 'countywatch_articles_total{outcome="new",source="other"}' not in body
    assert 'countywatch_alerts{kind="new"} 3.0' in body
    assert 'countywatch_deliveries_total{result="sent"} 2.0' in body
    assert 'countywatch_deliveries_total{result="failed"} 1.0' in body
    assert 'countywatch_source_health{source="镇坪县",state="failing"} 1.0' in body
    assert 'countywatch_source_health{source="镇坪县",state="ok"} 0.0' in body
    assert 'countywatch_job_errors_total{job="crawl:镇坪县",kind="missed"} 1.0' in body


def test_a_server_without_a_token_is_refused():
    with pytest.raises(ValueError, match="bearer token"):
        MetricsServer(DaemonMetrics().registry, "", port=0)


def test_two_daemons_metrics_do_not_share_state():
    first, second = DaemonMetrics(), DaemonMetrics()
    first.observe_deliveries(sent=5, failed=0)
    assert second.registry.get_sample_value("countywatch_deliveries_total", {"result": "sent"}) is None
    assert first.registry.get_sample_value("countywatch_deliveries_total", {"result": "sent"}) == 5.0


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "Bearer"])
def test_the_auth_scheme_is_matched_without_regard_to_case(served, scheme):
    _, url = served
    request = urllib.request.Request(url, headers={"Authorization": f"{scheme} s3cret-token"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def test_another_scheme_with_the_token_is_refused(served):
    _, url = served
    request = urllib.request.Request(url, headers={"Authorization": "Basic s3cret-token"})
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=10)
    assert info.value.code == 401
