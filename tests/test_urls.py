"""canonicalize_url, driven by the cases in tests/cases/urls.yaml."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from storage.urls import canonicalize_url

CASES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parent / "cases" / "urls.yaml").read_text(encoding="utf-8")
)


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_canonicalize_url(case: dict[str, Any]) -> None:
    mobile_hosts = case.get("mobile_hosts")
    if "error" in case:
        with pytest.raises(ValueError, match=re.escape(case["error"])):
            canonicalize_url(case["url"], mobile_hosts=mobile_hosts)
        return
    canonical = canonicalize_url(case["url"], mobile_hosts=mobile_hosts)
    assert canonical == case["expected"]
    # Canonical URLs are fixed points: canonicalising again changes nothing.
    assert canonicalize_url(canonical, mobile_hosts=mobile_hosts) == canonical


def test_cases_cover_the_rules() -> None:
    assert len(CASES) >= 15
    assert len({case["name"] for case in CASES}) == len(CASES)
