"""The China time zone: dates on county sites, digest schedules and displayed times all use it."""

from __future__ import annotations

from zoneinfo import ZoneInfo

CHINA_TZ_NAME = "Asia/Shanghai"
CHINA_TZ = ZoneInfo(CHINA_TZ_NAME)
