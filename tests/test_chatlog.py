"""`copilot chatlog`: key facts from Slack, Lark/Feishu and plain-text incident chats,
then the matching workflow (against the local cluster-status API) with the chat's window."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from copilot.cli import main
from copilot.workflows.chatlog import extract_facts, parse_messages
from tests.test_items_workflows import api, confdir  # noqa: F401  (fixtures)

T0 = datetime(2024, 3, 29, 6, 20, tzinfo=timezone.utc).timestamp()

SLACK = [
    {"type": "message", "user": "U1", "user_profile": {"real_name": "Alice"}, "ts": f"{T0 - 300:.6f}", "text": "anyone around?"},
    {"type": "message", "user": "U1", "ts": f"{T0:.6f}", "text": "checkout-service is timing out, 5xx errors on cluster prod-3"},
    {"type": "message", "user": "U2", "ts": f"{T0 + 120:.6f}", "text": "it's not the database, db latency looks normal"},
    {"type": "message", "user": "U2", "ts": f"{T0 + 300:.6f}", "text": "I rolled back the 14:10 deploy of checkout-service"},
]

FEISHU = {"code": 0, "data": {"has_more": False, "items": [
    {"message_id": "om_1", "msg_type": "text", "create_time": str(int(T0 * 1000)), "sender": {"id": "ou_1", "sender_type": "user"},
     "body": {"content": json.dumps({"text": "集群 c1 大量 pod pending 告警"}, ensure_ascii=False)}},
    {"message_id": "om_2", "msg_type": "post", "create_time": str(int((T0 + 60) * 1000)), "sender": {"id": "ou_2"},
     "body": {"content": json.dumps({"title": "排查", "content": [[{"tag": "text", "text": "排除了网络问题，网络正常"}]]}, ensure_ascii=False)}},
    {"message_id": "om_3", "msg_type": "text", "create_time": str(int((T0 + 120) * 1000)), "sender": {"id": "ou_2"},
     "body": {"content": json.dumps({"text": "已经扩容 10 个节点"}, ensure_ascii=False)}},
]}}


def test_slack_export_facts(tmp_path):
    path = tmp_path / "slack.json"
    path.write_text(json.dumps(SLACK))
    facts = extract_facts(parse_messages(path))
    assert facts.clusters == ["prod-3"] and facts.services == ["checkout-service"]
    assert facts.start == T0
    assert facts.symptoms == ["checkout-service is timing out, 5xx errors on cluster prod-3"]
    assert facts.ruled_out == ["it's not the database, db latency looks normal"]
    assert facts.actions == ["I rolled back the 14:10 deploy of checkout-service"]


def test_slack_export_folder_of_days(tmp_path):
    (tmp_path / "2024-03-28.json").write_text(json.dumps(SLACK[:2]))
    (tmp_path / "2024-03-29.json").write_text(json.dumps(SLACK[2:]))
    facts = extract_facts(parse_messages(tmp_path))
    assert facts.messages == 4 and len(facts.actions) == 1


def test_feishu_export_facts(tmp_path):
    path = tmp_path / "feishu.json"
    path.write_text(json.dumps(FEISHU, ensure_ascii=False))
    facts = extract_facts(parse_messages(path))
    assert facts.clusters == ["c1"] and facts.start == T0
    assert facts.symptoms == ["集群 c1 大量 pod pending 告警"]
    assert facts.ruled_out == ["排查 排除了网络问题，网络正常"]
    assert facts.actions == ["已经扩容 10 个节点"]


def test_bad_json_is_one_line(tmp_path, capsys):
    path = tmp_path / "x.json"
    path.write_text('{"data": {"items": [\n  {"a": }\n]}}')
    assert main(["chatlog", str(path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{path}:2: not valid JSON" in err[0]


def test_plain_text_chat_runs_the_matching_workflow_over_the_chats_window(confdir, api, tmp_path, capsys):  # noqa: F811
    path = tmp_path / "chat.txt"
    path.write_text("[2024-03-29 14:20] alice: 集群 c1 从14:20开始大量节点异常告警\n"
                    "[2024-03-29 14:25] bob: 不是网络问题，网络监控正常\n"
                    "[2024-03-29 14:30] bob: 已经扩容了 10 个节点\n", encoding="utf-8")
    code = main(["chatlog", str(path), "--offline", "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads(out)
    assert data["facts"]["clusters"] == ["c1"] and data["facts"]["ruled_out"] == ["不是网络问题，网络监控正常"]
    assert data["workflow"]["name"] == "cluster-health" and data["workflow"]["params"] == {"cluster": "c1"}
    start = datetime.fromisoformat("2024-03-29 14:20").replace(tzinfo=timezone.utc).timestamp()  # UTC: the default zone
    assert data["window"][0] == start - 900
    assert api.requests[-1]["query"]["cluster"] == "c1"
    assert "我将运行工作流 cluster-health" in err
