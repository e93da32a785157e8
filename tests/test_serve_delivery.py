"""Chat delivery: each platform's own message format and size limit, redaction before
anything leaves, retries on 5xx, and platform error codes in a 200 body."""

from __future__ import annotations

import json

from copilot.config import load_settings
from copilot.service.delivery import (
    WECOM_BYTES, build_message, deliver, dingtalk_payloads, fit, generic_payloads, lark_payloads, slack_payloads,
    split_text, to_mrkdwn, wecom_payloads,
)
from copilot.service.investigation import Investigation, alert_question, verdict_of
from copilot.service.payloads import AlertGroup, AlertItem, parse_alertmanager, parse_time
from tests.serve_helpers import Receiver

SECRET = "hunter2-very-secret"


def group() -> AlertGroup:
    item = AlertItem("HighLatency", "firing", {"alertname": "HighLatency", "service": "checkout"}, {},
                     parse_time("2024-05-14T14:05:00Z"), "f1")
    return AlertGroup("alertmanager", "g", "firing", [item])


def long_report(lines: int = 400) -> str:
    body = [f"- 第{i}条 checkout latency_p99 rose 4.8x (30.6 -> 148 ms) at 14:05 [M{i}]" for i in range(lines)]
    return "# Incident report\n\n## 3. How each signal misbehaved\n\n" + "\n".join(body) + f"\n\ndb password={SECRET}\n"


def message(report: str, public_url: str = ""):
    inv = Investigation("20240514-abc", "q", "fault",
                        [{"component": "checkout", "fault_type": "cpu_saturation", "confidence": 0.72}], report)
    return build_message(inv, group(), public_url)


def test_question_names_alert_component_and_start():
    assert alert_question(group()) == "Alert HighLatency firing on checkout since 2024-05-14 14:05 UTC: what is wrong?"


def test_verdict():
    assert verdict_of({"verdict": "no_fault", "root_causes": [{}]}) == "no_fault"
    assert verdict_of({"root_causes": [{"component": "x"}]}) == "fault"
    assert verdict_of({"root_causes": []}) == "unknown"


def test_go_times_with_nanoseconds_parse():
    assert parse_time("2024-05-14T14:05:00.123456789Z") == parse_time("2024-05-14T14:05:00Z") + 0.123456
    assert parse_time("0001-01-01T00:00:00Z") is None


def test_split_keeps_every_line_and_the_limit():
    text = long_report(50)
    parts = split_text(text, 500)
    assert all(len(p) <= 500 for p in parts) and len(parts) > 1
    assert "\n".join(parts).replace("\n", "") == text.replace("\n", "")
    cut = fit(text, 500, 2, "(cut)")
    assert len(cut) == 2 and cut[-1].endswith("(cut)") and all(len(p) <= 500 for p in cut)


def test_wecom_messages_stay_under_4096_bytes_and_note_the_cut():
    payloads = wecom_payloads(message(long_report()))
    assert 1 < len(payloads) <= 5
    for p in payloads:
        assert p["msgtype"] == "markdown"
        assert len(p["markdown"]["content"].encode("utf-8")) <= WECOM_BYTES
    assert "report truncated" in payloads[-1]["markdown"]["content"]
    assert "copilot report 20240514-abc" in payloads[-1]["markdown"]["content"]


def test_short_report_is_one_message_everywhere():
    m = message("# Incident report\n\n## 4. Most likely root cause\n\n**checkout**: CPU saturation")
    for formatter in (wecom_payloads, dingtalk_payloads, lark_payloads, slack_payloads, generic_payloads):
        assert len(formatter(m)) == 1
    assert "report truncated" not in json.dumps(wecom_payloads(m))


def test_slack_blocks_and_mrkdwn():
    (payload,) = slack_payloads(message(long_report(2000)))
    blocks = payload["blocks"]
    assert len(blocks) <= 50 and blocks[0]["type"] == "header"
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section")
    assert "report truncated" in blocks[-1]["text"]["text"]
    assert to_mrkdwn("## Root cause\n**a** -> <b> [x](https://e.x/y)") == "*Root cause*\n*a* -&gt; &lt;b&gt; <https://e.x/y|x>"


def test_lark_card_and_dingtalk_markdown_shapes():
    m = message("# Incident report\n\n## 4. Root cause\n\ncheckout", public_url="https://copilot.example")
    (card,) = lark_payloads(m)
    assert card["msg_type"] == "interactive" and card["card"]["header"]["template"] == "red"
    contents = [e.get("content", "") for e in card["card"]["elements"]]
    assert "**4. Root cause**" in contents[-2] and "#" not in contents[-2]
    assert card["card"]["elements"][-1]["actions"][0]["url"] == "https://copilot.example/sessions/20240514-abc/report"
    (ding,) = dingtalk_payloads(m)
    assert ding["msgtype"] == "markdown" and set(ding["markdown"]) == {"title", "text"}
    assert "Most likely root cause: checkout, CPU saturation (confidence 0.72)" in ding["markdown"]["text"]


def test_secrets_are_redacted_in_every_format():
    m = message(long_report(5))
    for formatter in (wecom_payloads, dingtalk_payloads, lark_payloads, slack_payloads, generic_payloads):
        assert SECRET not in json.dumps(formatter(m), ensure_ascii=False)
    assert "[REDACTED]" in generic_payloads(m)[0]["report"]


def test_delivery_retries_server_errors_then_succeeds():
    with Receiver(statuses=[503, 500]) as hook:
        settings = load_settings({"notify_webhook_url": hook.url})
        (result,) = deliver(settings, message("# r"), attempts=4)
    assert result.ok and result.target == "webhook" and hook.hits == 3 and len(hook.messages) == 1


def test_platform_error_code_in_a_200_body_is_a_failure_and_url_stays_secret():
    with Receiver(body=b'{"errcode": 93000, "errmsg": "invalid webhook url"}') as hook:
        settings = load_settings({"wecom_webhook_url": hook.url + "?key=SECRETKEY"})
        (result,) = deliver(settings, message("# r"))
    assert not result.ok and "93000" in result.error and "SECRETKEY" not in result.error


def test_unreachable_target_fails_after_retries_without_leaking_its_url():
    settings = load_settings({"slack_webhook_url": "http://127.0.0.1:9/services/T000/B000/XXXXSECRET"})
    (result,) = deliver(settings, message("# r"), attempts=2)
    assert not result.ok and "XXXXSECRET" not in result.error


def test_all_configured_targets_each_get_their_format():
    with Receiver(body=b'{"errcode": 0, "errmsg": "ok", "code": 0}') as hook:
        settings = load_settings({"notify_webhook_url": hook.url, "slack_webhook_url": hook.url,
                                  "lark_webhook_url": hook.url, "dingtalk_webhook_url": hook.url,
                                  "wecom_webhook_url": hook.url})
        results = deliver(settings, message("# r"))
    assert [r.target for r in results if r.ok] == ["webhook", "slack", "lark", "dingtalk", "wecom"]
    kinds = [m.get("msgtype") or m.get("msg_type") or ("blocks" if "blocks" in m else "json") for m in hook.messages]
    assert kinds == ["json", "blocks", "interactive", "markdown", "markdown"]


def test_settings_mask_webhook_urls():
    settings = load_settings({"slack_webhook_url": "https://hooks.slack.com/services/T0/B0/abcdefghijkl"})
    assert "abcdefghijkl" not in json.dumps(settings.masked())


def test_payload_grouping_key_and_fingerprint_fallback():
    g = parse_alertmanager({"groupLabels": {"alertname": "X"},
                            "alerts": [{"labels": {"alertname": "X", "pod": "p1"}, "startsAt": "2024-05-14T14:05:00Z"}]})
    assert g.key == '{"alertname": "X"}' and len(g.alerts[0].fingerprint) == 16 and g.alerts[0].component == "p1"


def test_grafana_legacy_payload_becomes_a_one_alert_group():
    g = parse_alertmanager({"ruleName": "CPU high", "ruleId": 7, "state": "alerting", "message": "cpu > 90%",
                            "tags": {"service": "cart"}, "evalMatches": [{"metric": "cpu", "value": 97}]}, "grafana")
    assert g.key == "grafana:7" and g.status == "firing"
    assert [(a.name, a.component, a.annotations["description"]) for a in g.firing] == [("CPU high", "cart", "cpu > 90%")]
    ok = parse_alertmanager({"ruleName": "CPU high", "ruleId": 7, "state": "ok"}, "grafana")
    assert ok.status == "resolved" and ok.firing == []
