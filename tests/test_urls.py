"""canonicalize_url, driven by the cases in tests/cases/urls.yaml."""

from __future__ import annotations

import re
from typing import Any

import pytest

from core.urls import canonicalize_url
from tests.yaml_cases import load_cases

CASES = load_cases("urls")


@pytest.mark.parametrize(("case", "expected"), CASES)
def test_canonicalize_url(case: Any, expected: Any) -> None:
    url, mobile_hosts = (case, None) if isinstance(case, str) else (case["url"], case.get("mobile_hosts"))
    if isinstance(expected, dict):
        with pytest.raises(ValueError, match=re.escape(expected["error"])):
            canonicalize_url(url, mobile_hosts=mobile_hosts)
        return
    canonical = canonicalize_url(url, mobile_hosts=mobile_hosts)
    assert canonical == expected
    # Canonical URLs are fixed points: canonicalising again changes nothing.
    assert canonicalize_url(canonical, mobile_hosts=mobile_hosts) == canonical


def test_cases_cover_the_rules() -> None:
    assert len(CASES) >= 15
