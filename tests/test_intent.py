from datetime import datetime, timezone

import pytest

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


# -- a question that names its data source -------------------------------------------------

@pytest.mark.parametrize("question, names", [
    ("checkout 为什么变慢，请参考local的数据源", ["files"]),
    ("用 prometheus 的数据看看 orders 为什么报错", ["prometheus"]),
    ("why is checkout slow? answer from Prometheus", ["prometheus"]),
    ("what is wrong, using the local data source", ["files"]),
    ("基于本地数据排查 cart 内存", ["files"]),
    ("check loki logs and prometheus data source for orders", ["prometheus"]),
    ("why are pods pending in k8s", []),
    ("帮我看看集群 c1 的状态", []),
    ("请参考知识库里的经验", []),
    ("errors from the payment service", []),
    ("why do we get 502s from AWS", []),
    ("帮我看看 k8s 集群的 pod", []),
    ("用 k8s 的数据看看 pod 为什么 pending", ["kubernetes"]),
    ("read from the aws data source", ["cloudwatch"]),
])
def test_named_sources(question, names):
    from copilot.source_names import named_sources

    assert named_sources(question) == names


def test_a_source_clause_does_not_make_an_investigation_a_knowledge_question():
    assert classify("checkout 为什么变慢，请参考local的数据源") == "diagnose"
    assert classify("请参考 SOP 手册，数据库主从切换怎么做") == "knowledge"


def test_narrowing_to_a_named_source(tmp_path):
    from copilot.config import load_settings
    from copilot.errors import CopilotError
    from copilot.plugin_manager import load_plugins
    from copilot.source_names import narrow
    from copilot.sources import select_sources

    factories = load_plugins().source_factories
    demo = select_sources(load_settings({}, env={}), factories)
    local = narrow(demo, ["files"], load_settings({}, env={}), factories)
    assert local.demo and local.named == ["files"] and local.sources == demo.sources
    assert local.label.endswith(" — only this source, as the question asks")
    prom = load_settings({}, env={"COPILOT_PROMETHEUS_URL": "http://127.0.0.1:9"})
    live = select_sources(prom, factories)
    assert [s.name for s in live.sources] == ["prometheus"]
    with pytest.raises(CopilotError) as err:
        narrow(live, ["files"], prom, factories)
    assert str(err.value) == ("the question asks for the files data source, which is not configured; pass --data DIR "
                              "(a telemetry directory), or ask without naming a source")
