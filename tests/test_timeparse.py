from datetime import datetime, timezone

import pytest

from copilot.timeparse import cn_number, parse_window

REF = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)


def hm(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%m-%d %H:%M")


@pytest.mark.parametrize(
    "text,start,end",
    [
        ("what is wrong with checkout since 14:05?", "11-23 14:05", "11-23 15:00"),
        ("errors in the last 30 minutes", "11-23 14:30", "11-23 15:00"),
        ("slow for the past 2 hours", "11-23 13:00", "11-23 15:00"),
        ("between 13:00 and 14:30 payments failed", "11-23 13:00", "11-23 14:30"),
        ("13:10-13:40 latency", "11-23 13:10", "11-23 13:40"),
        ("最近30分钟 checkout 报错", "11-23 14:30", "11-23 15:00"),
        ("过去两小时发生了什么", "11-23 13:00", "11-23 15:00"),
        ("昨天下午三点到四点支付为什么失败", "11-22 15:00", "11-22 16:00"),
        ("今天上午十点半以来订单变慢", "11-23 10:30", "11-23 15:00"),
        ("2026-11-23 09:15:00 开始磁盘告警", "11-23 09:15", "11-23 15:00"),
        ("since 23:50", "11-22 23:50", "11-23 15:00"),
        ("from 1:30 pm to 2:45 pm", "11-23 13:30", "11-23 14:45"),
    ],
)
def test_windows(text, start, end):
    w = parse_window(text, REF)
    assert w is not None, text
    assert (hm(w.start), hm(w.end)) == (start, end)


def test_no_time_means_none():
    assert parse_window("why is checkout failing?", REF) is None


def test_chinese_numerals():
    assert [cn_number(x) for x in ("三", "十", "十五", "二十三", "两", "12")] == [3, 10, 15, 23, 2, 12]


@pytest.mark.parametrize("text, minutes", [("60 minutes ago", 60), ("30m ago", 30), ("2 hours ago", 120),
                                           ("30分钟前", 30), ("两小时之前", 120)])
def test_n_units_ago_opens_a_window_until_now(text, minutes):
    from copilot.intent import flag_window

    ref = datetime(2024, 5, 14, 12, 0, tzinfo=timezone.utc)
    w = parse_window(text, ref)
    assert (w.start, w.end) == (ref.timestamp() - minutes * 60, ref.timestamp())
    assert flag_window(text, "", ref) == (ref.timestamp() - minutes * 60, ref.timestamp())  # --since TEXT


def test_until_alone_is_the_hour_before_it():
    from copilot.intent import flag_window

    ref = datetime(2024, 5, 14, 20, 0, tzinfo=timezone.utc)
    end = datetime(2024, 5, 14, 14, 40, tzinfo=timezone.utc).timestamp()
    assert flag_window("", "14:40", ref) == (end - 3600, end)  # was refused: "until must be after since"
