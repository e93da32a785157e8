from datetime import datetime, timezone

from copilot.intent import classify, match_services, understand

REF = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)
COMPONENTS = ["cache", "cart", "checkout", "db", "frontend", "gateway", "payment"]


def test_classify_requests():
    assert classify("what is wrong with checkout since 14:05?") == "diagnose"
    assert classify("为什么支付服务从14:05开始报错") == "diagnose"
    assert classify("how do I clean up a full disk?") == "knowledge"
    assert classify("你知道aiops挑战赛的主办方是谁吗，请参考local的数据源") == "knowledge"
    assert classify("write the incident report") == "report"
    assert classify("hello there") == "other"


def test_services_are_matched_against_known_components():
    assert match_services("why is Checkout slow?", COMPONENTS) == ["checkout"]
    assert match_services("payment and cart errors", COMPONENTS) == ["cart", "payment"]
    assert match_services("checkoutservice latency", ["checkoutservice", "cartservice"]) == ["checkoutservice"]
    assert match_services("nothing here", COMPONENTS) == []


def test_window_is_padded_to_catch_the_onset_and_echoed():
    intent = understand("what is wrong with checkout since 14:05?", COMPONENTS, REF)
    assert intent.kind == "diagnose" and intent.services == ["checkout"]
    start = datetime.fromtimestamp(intent.window.start, timezone.utc)
    assert start.strftime("%H:%M") == "13:50"
    echo = intent.echo("en", timezone.utc)
    assert "2026-11-23 13:50–15:00" in echo and "checkout" in echo
    zh = understand("checkout 最近30分钟为什么报错", COMPONENTS, REF).echo("zh", timezone.utc)
    assert zh.startswith("我将检查 2026-11-23 14:15–15:00")


def test_no_time_given_defaults_to_the_last_hour_of_data():
    lo = REF.timestamp() - 7200
    intent = understand("why is the shop failing?", COMPONENTS, REF, (lo, REF.timestamp()))
    assert intent.window.end - intent.window.start == 3600
