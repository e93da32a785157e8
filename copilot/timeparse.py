"""Time windows from plain language, English and Chinese.

"since 14:05", "the last 30 minutes", "between 13:00 and 14:30", "昨天下午三点到四点",
"最近2小时", "2023-09-14 00:23:00" ... -> (start, end) in unix seconds, in the user's zone.

`reference` is "now" for relative expressions. For a recorded incident it is the end of
the data, not the wall clock (the caller decides).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def cn_number(text: str) -> int | None:
    """'十五' -> 15, '二十三' -> 23, '3' -> 3, '半' is handled by callers."""
    text = text.strip()
    if not text:
        return None
    if text.isdigit():
        return int(text)
    if all(ch in _CN_DIGITS or ch == "十" for ch in text):
        if "十" in text:
            tens, _, ones = text.partition("十")
            t = _CN_DIGITS.get(tens, 1) if tens else 1
            o = _CN_DIGITS.get(ones, 0) if ones else 0
            return t * 10 + o
        value = 0
        for ch in text:
            value = value * 10 + _CN_DIGITS[ch]
        return value
    return None


@dataclass
class Window:
    start: float
    end: float
    text: str  # the words it was read from

    def describe(self, tz: tzinfo | None) -> str:
        s = datetime.fromtimestamp(self.start, tz)
        e = datetime.fromtimestamp(self.end, tz)
        fmt_e = "%H:%M" if s.date() == e.date() else "%Y-%m-%d %H:%M"
        from .timezones import zone_suffix

        zone = zone_suffix(self.end, e.tzinfo) if e.tzinfo is not None else ""
        return f"{s:%Y-%m-%d %H:%M}–{e.strftime(fmt_e)}{' ' + zone if zone else ''}"


_NUM = r"(\d+|[零〇一二两三四五六七八九十]+)"
_UNIT_S = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1, "秒": 1, "秒钟": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60, "分钟": 60, "分": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600, "小时": 3600, "个小时": 3600, "钟头": 3600,
    "d": 86400, "day": 86400, "days": 86400, "天": 86400,
}

_RELATIVE = re.compile(
    r"(?:last|past|previous|recent|最近|过去|近|前)\s*" + _NUM + r"?\s*"
    r"(seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|[smhd]\b|秒钟|秒|分钟|个小时|小时|钟头|天)",
    re.I,
)
# "30 minutes ago", "30m ago", "2 hours ago", "30分钟前", "两小时之前": from then until now
_AGO = re.compile(
    _NUM + r"\s*(seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|[smhd]|秒钟|秒|分钟|个小时|小时|钟头|天)\s*(?:ago\b|之?前)",
    re.I,
)
_ABS_DATETIME = re.compile(r"(\d{4}-\d{2}-\d{2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?")
_CLOCK = re.compile(r"(?<![\d:])(\d{1,2}):(\d{2})(?::(\d{2}))?\s*(am|pm)?(?![\d])", re.I)
_CN_CLOCK = re.compile(
    r"(今天|昨天|前天)?\s*(凌晨|早上|上午|中午|下午|晚上|傍晚)?\s*" + _NUM + r"\s*[点時时](半|" + _NUM + r"分?)?"
)
_RANGE_SEP = re.compile(r"\s*(?:-|–|~|to|until|till|and|到|至)\s*", re.I)


def _cn_hour(period: str | None, hour: int) -> int:
    if period in ("下午", "晚上", "傍晚") and hour < 12:
        return hour + 12
    if period == "中午" and hour < 11:
        return hour + 12
    return hour


def _points(text: str, reference: datetime) -> list[tuple[int, int, datetime]]:
    """Every clock time mentioned: (start index, end index, datetime)."""
    found: list[tuple[int, int, datetime]] = []
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return all(b <= x or a >= y for x, y in taken)

    for m in _ABS_DATETIME.finditer(text):
        date = datetime.strptime(m.group(1), "%Y-%m-%d").replace(tzinfo=reference.tzinfo)
        dt = date.replace(hour=int(m.group(2)), minute=int(m.group(3)), second=int(m.group(4) or 0))
        found.append((m.start(), m.end(), dt))
        taken.append((m.start(), m.end()))
    day_words = {"今天": 0, "昨天": 1, "前天": 2}
    last_day: str | None = None
    last_period: str | None = None
    for m in _CN_CLOCK.finditer(text):
        if not free(m.start(), m.end()):
            continue
        hour = cn_number(m.group(3))
        if hour is None or hour > 24:
            continue
        minute = 30 if m.group(4) == "半" else (cn_number(m.group(5)) or 0) if m.group(5) else 0
        day = m.group(1) or last_day
        period = m.group(2) or last_period
        last_day, last_period = day, period
        base = reference - timedelta(days=day_words.get(day or "今天", 0))
        dt = base.replace(hour=_cn_hour(period, hour) % 24, minute=minute, second=0, microsecond=0)
        found.append((m.start(), m.end(), dt))
        taken.append((m.start(), m.end()))
    yesterday = bool(re.search(r"yesterday|昨天", text, re.I))
    for m in _CLOCK.finditer(text):
        if not free(m.start(), m.end()):
            continue
        hour, minute, second = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
        if m.group(4):
            hour = hour % 12 + (12 if m.group(4).lower() == "pm" else 0)
        if hour > 23 or minute > 59:
            continue
        dt = reference.replace(hour=hour, minute=minute, second=second, microsecond=0)
        if yesterday:
            dt -= timedelta(days=1)
        elif dt > reference + timedelta(minutes=5):
            dt -= timedelta(days=1)  # "since 23:50" said at 00:10 means yesterday
        found.append((m.start(), m.end(), dt))
        taken.append((m.start(), m.end()))
    return sorted(found, key=lambda x: x[0])


def parse_window(text: str, reference: datetime, default_minutes: float = 60.0) -> Window | None:
    """Read a time window from a question; None when it names no time at all."""
    m = _RELATIVE.search(text)
    if m:
        amount = cn_number(m.group(1)) if m.group(1) else 1
        seconds = (amount or 1) * _UNIT_S[m.group(2).lower()]
        end = reference.timestamp()
        return Window(end - seconds, end, m.group(0))
    m = _AGO.search(text)
    count = cn_number(m.group(1)) if m else None
    if m and count:
        end = reference.timestamp()
        return Window(end - count * _UNIT_S[m.group(2).lower()], end, m.group(0))
    points = _points(text, reference)
    if len(points) >= 2:
        (a0, a1, first), (b0, b1, second) = points[0], points[1]
        between = text[a1:b0]
        if _RANGE_SEP.fullmatch(between) or re.fullmatch(r"\s*(?:and|到|至|-|–|~|to)\s*", between, re.I):
            if second <= first:
                second += timedelta(hours=12) if second.hour < 12 and first.hour >= 12 else timedelta(days=1)
            return Window(first.timestamp(), second.timestamp(), text[a0:b1])
    if points:
        a0, a1, first = points[0]
        end = reference.timestamp()
        if first.timestamp() >= end:  # a point in the future of the data: centre a window on it
            return Window(first.timestamp() - default_minutes * 30, first.timestamp() + default_minutes * 30, text[a0:a1])
        return Window(first.timestamp(), end, text[a0:a1])
    if re.search(r"yesterday|昨天", text, re.I):
        day = (reference - timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        return Window(day.timestamp(), (day + timedelta(days=1)).timestamp(), "yesterday")
    return None
