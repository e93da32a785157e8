"""The user's time zone: settings.timezone (IANA name) or the machine's local zone."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ConfigError


def local_zone(settings: Any = None) -> tzinfo:
    name = getattr(settings, "timezone", "") if settings is not None else ""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"timezone {name!r} is not an IANA zone name such as 'Asia/Shanghai' or 'UTC'") from None
    return datetime.now().astimezone().tzinfo or ZoneInfo("UTC")
