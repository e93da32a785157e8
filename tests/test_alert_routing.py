"""The host reads the firing alerts before it starts the data-source agents: where each
alert points, and which of those signals the data does not hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from copilot.alert_routing import agents_for, alert_list, alert_words, route_alerts
from copilot.config import Settings
from copilot.events import Thought
from copilot.session import Session

SCENARIOS = Path(__file__).parent / "scenarios"


@pytest.mark.parametrize("name, description, expected", [
    ("KubePodCrashLooping", "Pod shop/cart is in CrashLoopBackOff", {"platform"}),
    ("KubeNodeNotReady", "", {"platform"}),
    ("HighRequestLatency", "p99 latency of checkout above 2s", {"traces", "metrics"}),
    ("HTTP5xxErrorRateHigh", "", {"logs", "metrics"}),
    ("RDSReplicaLagHigh", "", {"database"}),
    ("PostgresqlTooManyConnections", "", {"database"}),
    ("NodeFilesystemSpaceFillingUp", "disk on /var will fill in 4 hours", {"platform", "metrics"}),
    ("OpenFileDescriptorsHigh", "", {"metrics"}),
    ("支付服务响应时间过高", "", {"traces"}),
    ("订单数据库主从延迟", "", {"database", "traces"}),
    ("Watchdog", "This is an alert meant to ensure that the entire alerting pipeline is functional.", set()),
])
def test_an_alert_points_to_the_agents_that_read_its_signal(name, description, expected):
    assert set(agents_for(name, description)) == expected


def test_alert_names_split_at_camel_case_and_separators():
    assert alert_words("KubePodCrashLooping") == "kube pod crash looping"
    assert alert_words("HTTP5xxErrorRateHigh") == "http5xx error rate high"
    assert alert_words("node_filesystem-full") == "node filesystem full"


def test_each_alert_counts_once_and_a_storm_stays_one_line():
    route = route_alerts([("KubePodCrashLooping", "cart", ""), ("KubePodCrashLooping", "cart", ""),
                          ("KubePodNotReady", "cart", ""), ("KubeletDown", "node-3", ""), ("KubeNodeNotReady", "node-3", "")])
    assert route.agents() == ("platform",)
    assert len(route.by_agent["platform"]) == 4
    assert alert_list(route.by_agent["platform"], "en") == (
        "KubePodCrashLooping on cart, KubePodNotReady on cart, KubeletDown on node-3 and 1 more")
    assert alert_list(route.by_agent["platform"], "zh") == (
        "cart 的 KubePodCrashLooping、cart 的 KubePodNotReady、node-3 的 KubeletDown 等 4 条")


async def host_thought(tmp_path, data: Path, question: str) -> str:
    settings = Settings(offline=True, data=str(data), memory=False, sessions_dir=str(tmp_path / "sessions"),
                        disabled_plugins=["knowledge"], timezone="UTC")
    events = [e async for e in Session(settings, memory=False, session_id="alerts").ask(question)]
    return next(e.text for e in events if isinstance(e, Thought) and e.agent == "data-sources")


async def test_the_host_says_where_the_alerts_point(tmp_path):
    thought = await host_thought(tmp_path, SCENARIOS / "novel-fd-leak" / "data", "what is wrong with search?")
    assert "The firing alerts point to: metrics (OpenFileDescriptorsHigh on search)." in thought
    assert "holds no metrics signal" not in thought  # the data has the metrics the alert points to


async def test_the_host_says_which_alerted_signal_the_data_lacks(tmp_path):
    thought = await host_thought(tmp_path, SCENARIOS / "k8s-alert-storm-healthy-zh" / "data", "集群怎么了？")
    assert "告警指向：Kubernetes（node-3 的 KubeNodeNotReady" in thought
    # TargetDown points to the metric agent, but a cluster dump holds no metric series
    assert "数据中没有告警所指的指标信号" in thought
    assert "不启动：metrics（数据中没有该信号）" in thought


async def test_the_demo_alert_points_to_the_agents_with_its_signal(tmp_path):
    from copilot.demo import ensure_demo

    thought = await host_thought(tmp_path, ensure_demo(), "Why is the shop slow since 13:29 UTC?")
    assert "The firing alerts point to: " in thought
    assert "signal the alerts point to" not in thought  # the demo holds every signal
