"""Remediation approved from chat: a question asked in Slack / Lark is answered, its proposed
fix is posted with Approve / Deny buttons (Block Kit, a Lark card), and only an allowed
user's click or `approve <id>` reply runs it, once. The app runs on a real uvicorn port;
Slack's and Lark's web APIs are a local stand-in that records every post (tests/test_serve_chat.py),
and a fake `kubectl` on PATH records what runs (the cluster is outside the process)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import time
from typing import Any
from urllib.parse import urlencode

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

import httpx  # noqa: E402

from copilot.audit import AuditLog  # noqa: E402
from copilot.service.app import create_app  # noqa: E402
from copilot.service.approvals import parse_decision  # noqa: E402
from copilot.service.chat import parse_lark, parse_slack, slack_signature  # noqa: E402
from tests.serve_helpers import Served, wait_for  # noqa: E402
from tests.test_remediation import FAKE_KUBECTL  # noqa: E402
from tests.test_serve_chat import (  # noqa: E402
    LARK_TOKEN,
    SIGNING_SECRET,
    TOKEN,
    PlatformAPI,
    bot_settings,
    recorded,
    slack_post,
)

ALLOWED = "U061F7AUR"  # the asker in the recorded Slack event
OTHER = "U0NOTALLOWED"
LARK_ALLOWED = "ou_84aad35d084aa403a838cf73ee18467"
THREAD = "1515449522.000016"


@pytest.fixture
def api():
    from tests.jsonserver import stop

    platform = PlatformAPI()
    yield platform
    stop(platform.server)


@pytest.fixture
def demo():
    from copilot.demo import ensure_demo

    return ensure_demo()


@pytest.fixture
def kubectl(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "kubectl"
    script.write_text(FAKE_KUBECTL)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    calls = tmp_path / "kubectl-calls.txt"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("KUBECTL_CALLS", str(calls))
    assert shutil.which("kubectl") == str(script)
    return lambda: calls.read_text().splitlines() if calls.exists() else []


def ask_slack(url: str, event_id: str, text: str = "<@U0LAN0Z89> why is checkout slow?",
              thread: str = THREAD) -> None:
    event = json.loads(recorded("slack_app_mention.json"))
    event["event_id"] = event_id
    event["event"].update(text=text, ts=thread)
    assert slack_post(url, json.dumps(event).encode()).json() == {"ok": True, "queued": True}


def slack_reply(url: str, text: str, user: str, ts: str, *, thread: str = THREAD, bot: bool = False) -> httpx.Response:
    """A reply in the proposal's thread (a `message` event; the bot's own carry bot_id)."""
    event: dict[str, Any] = {"type": "message", "channel": "C0LAN2Q65", "channel_type": "channel", "user": user,
                             "text": text, "ts": ts, "thread_ts": thread, "event_ts": ts}
    if bot:
        event["bot_id"] = "B0LAN0Z89"
    body = {"token": "ZZZZZZWSxiZZZ2yIvs3peJ", "team_id": "T061EG9R6", "api_app_id": "A0MDYCDME", "event": event,
            "type": "event_callback", "event_id": f"Ev{ts.replace('.', '')}", "event_time": int(time.time())}
    return slack_post(url, json.dumps(body).encode())


def slack_click(url: str, proposal: str, user: str, *, action: str = "copilot_approve", action_ts: str = "1515449540.000200",
                secret: str = SIGNING_SECRET) -> httpx.Response:
    payload = json.loads(recorded("slack_block_actions.json"))
    payload["user"]["id"] = user
    payload["actions"][0].update(action_id=action, value=proposal, block_id=f"copilot_proposal_{proposal}",
                                 action_ts=action_ts)
    body = urlencode({"payload": json.dumps(payload)}).encode()
    stamp = str(int(time.time()))
    headers = {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": slack_signature(secret, stamp, body),
               "Content-Type": "application/x-www-form-urlencoded"}
    return httpx.post(f"{url}/chat/slack/actions", content=body, headers=headers)


def lark_click(url: str, proposal: str, user: str, event_id: str, decision: str = "approve") -> httpx.Response:
    payload = json.loads(recorded("lark_card_action.json"))
    payload["header"]["event_id"] = event_id
    payload["event"]["operator"]["open_id"] = user
    payload["event"]["action"]["value"] = {"proposal": proposal, "decision": decision}
    return httpx.post(f"{url}/chat/lark/card", json=payload)


def slack_texts(api: PlatformAPI) -> list[str]:
    return [p["body"]["text"] for p in api.posts("/api/chat.postMessage")]


def proposals_posted(api: PlatformAPI) -> list[dict[str, Any]]:
    return [p["body"] for p in api.posts("/api/chat.postMessage") if p["body"].get("blocks")]


def wait_text(api: PlatformAPI, needle: str, count: int = 1) -> None:
    wait_for(lambda: sum(needle in t for t in slack_texts(api)) >= count, 60, f"{needle!r} in the thread")


def actions_of(audit: AuditLog, proposal: str) -> list[tuple[str, str, str]]:
    return [(e["action"], e["who"], e["outcome"]) for e in audit.entries() if e.get("proposal") == proposal]


def restart_calls(calls: list[str]) -> list[str]:
    return [c for c in calls if "rollout restart" in c]


def test_slack_buttons_only_the_allowed_user_runs_the_fix_once(demo, api, kubectl, tmp_path):
    audit = AuditLog(tmp_path / "audit.jsonl")
    settings = bot_settings(demo, api, chat_approvers=[ALLOWED])
    with Served(create_app(settings, token=TOKEN, ledger=tmp_path / "seen.txt", audit=audit)) as srv:
        ask_slack(srv.url, "Ev0APPROVE1")
        wait_for(lambda: proposals_posted(api), 120, "the proposal with its buttons")
        card = proposals_posted(api)[0]
        assert card["channel"] == "C0LAN2Q65" and card["thread_ts"] == THREAD
        section, actions = card["blocks"]
        assert section["type"] == "section" and "rollout restart deployment/catalogue" in section["text"]["text"]
        assert "dry run first" in section["text"]["text"] and "Undo:" in section["text"]["text"]
        assert actions["type"] == "actions"
        approve, deny = actions["elements"]
        pid = approve["value"]
        assert (approve["action_id"], approve["style"], deny["action_id"], deny["value"]) == \
            ("copilot_approve", "primary", "copilot_deny", pid)
        assert f"approve {pid}" in card["text"]
        assert kubectl() == []  # proposed, not run

        forged = slack_click(srv.url, pid, ALLOWED, secret="not-the-secret")
        assert forged.status_code == 401 and "X-Slack-Signature" in forged.json()["error"]

        refused = slack_click(srv.url, pid, OTHER, action_ts="1515449540.000100")
        assert refused.status_code == 200 and refused.json()["decision"] == "refused"
        wait_text(api, f"{OTHER} is not allowed to approve")

        assert slack_click(srv.url, pid, ALLOWED).json()["decision"] == "approved"
        wait_text(api, f"Done: proposal {pid} ran.")
        again = slack_click(srv.url, pid, ALLOWED, action_ts="1515449550.000300")  # a second click
        assert again.json()["decision"] == "refused"
        wait_text(api, f"Proposal {pid} already ran (approved by slack:{ALLOWED})")
        resent = slack_click(srv.url, pid, ALLOWED)  # the first click's callback again
        assert resent.json()["duplicate"] is True
    calls = kubectl()
    assert restart_calls(calls) == ["-n default rollout restart deployment/catalogue --dry-run=server",
                                    "-n default rollout restart deployment/catalogue"]
    steps = actions_of(audit, pid)
    assert steps[0][0] == "proposed" and steps[0][1] == f"slack:{ALLOWED}"
    assert ("refused", f"slack:{OTHER}", "not an allowed approver") in steps
    assert ("approved", f"slack:{ALLOWED}", "chat button") in steps
    assert ("result", f"slack:{ALLOWED}", "ok") in steps
    assert ("refused", f"slack:{ALLOWED}", "already ran") in steps
    ran = [e for e in audit.entries() if e["action"] in ("dry_run", "ran")]
    assert [e["action"] for e in ran] == ["dry_run", "ran"] and all(e["approved_by"] == f"slack:{ALLOWED}" for e in ran)


def test_lark_card_runs_once_for_the_allowed_user(demo, api, kubectl, tmp_path):
    audit = AuditLog(tmp_path / "audit.jsonl")
    settings = bot_settings(demo, api, chat_approvers=[LARK_ALLOWED])
    with Served(create_app(settings, token=TOKEN, ledger=tmp_path / "seen.txt", audit=audit)) as srv:
        assert httpx.post(f"{srv.url}/chat/lark", content=recorded("lark_message_receive.json")).json()["queued"]
        replies = "/open-apis/im/v1/messages/om_5ce6d572455d361153b7cb51da133945/reply"
        wait_for(lambda: any(r["body"]["msg_type"] == "interactive" for r in api.posts(replies)), 120, "the card")
        card = json.loads(next(r for r in api.posts(replies) if r["body"]["msg_type"] == "interactive")["body"]["content"])
        div, action = card["elements"]
        assert "提案" in div["text"]["content"] and "rollout restart deployment/catalogue" in div["text"]["content"]
        approve, deny = action["actions"]
        assert (approve["text"]["content"], deny["text"]["content"]) == ("批准", "拒绝")  # the asker's language
        pid = approve["value"]["proposal"]
        assert deny["value"] == {"proposal": pid, "decision": "deny"}

        forged = json.loads(recorded("lark_card_action.json"))
        forged["header"]["token"] = "guessed"
        assert httpx.post(f"{srv.url}/chat/lark/card", json=forged).status_code == 401

        refused = lark_click(srv.url, pid, "ou_someone_else", "evt-other")
        assert refused.json()["toast"]["type"] == "error" and "无权" in refused.json()["toast"]["content"]
        ok = lark_click(srv.url, pid, LARK_ALLOWED, "evt-approve")
        assert ok.json()["toast"]["type"] == "success"
        card_thread = "/open-apis/im/v1/messages/om_reply/reply"
        wait_for(lambda: any(f"提案 {pid} 已执行" in json.loads(r["body"]["content"])["text"]
                             for r in api.posts(card_thread)), 60, "the result in the card's thread")
        resent = lark_click(srv.url, pid, LARK_ALLOWED, "evt-approve")  # Lark re-sends the same callback
        assert resent.json()["toast"]["type"] == "error" and "already taken (ran)" in resent.json()["toast"]["content"]
        second = lark_click(srv.url, pid, LARK_ALLOWED, "evt-second-click")
        assert "已执行" in second.json()["toast"]["content"]
    assert len(restart_calls(kubectl())) == 2  # one dry run, one restart
    steps = [(a, w) for a, w, _ in actions_of(audit, pid)]
    assert steps.count(("approved", f"lark:{LARK_ALLOWED}")) == 1
    assert ("refused", "lark:ou_someone_else") in steps


def test_text_replies_deny_and_approve_in_english_and_chinese(demo, api, kubectl, tmp_path):
    audit = AuditLog(tmp_path / "audit.jsonl")
    settings = bot_settings(demo, api, chat_approvers=[ALLOWED])
    with Served(create_app(settings, token=TOKEN, ledger=tmp_path / "seen.txt", audit=audit)) as srv:
        ask_slack(srv.url, "Ev0TEXT1", thread="1515449600.000001")
        ask_slack(srv.url, "Ev0TEXT2", thread="1515449700.000001")
        wait_for(lambda: len(proposals_posted(api)) == 2, 180, "two proposals")
        by_thread = {p["thread_ts"]: p["blocks"][1]["elements"][0]["value"] for p in proposals_posted(api)}
        first, second = by_thread["1515449600.000001"], by_thread["1515449700.000001"]

        # the bot's own message (e.g. the model's answer quoting the command) never approves
        assert slack_reply(srv.url, f"approve {first}", ALLOWED, "1515449601.000001", thread="1515449600.000001",
                           bot=True).json()["ignored"]
        # a line that merely contains the command (a pasted log line) is not a decision
        assert parse_decision(f"ops said: approve {first} now") is None

        denied = slack_reply(srv.url, f"deny {first}", ALLOWED, "1515449602.000001", thread="1515449600.000001")
        assert denied.json()["decision"] == "denied"
        wait_text(api, f"Denied by slack:{ALLOWED}: proposal {first} will not run.")
        late = slack_reply(srv.url, f"<@U0LAN0Z89> approve {first}", ALLOWED, "1515449603.000001",
                           thread="1515449600.000001")
        assert late.json()["decision"] == "refused"
        wait_text(api, f"Proposal {first} was denied by slack:{ALLOWED}; nothing ran.")
        assert kubectl() == []

        approved = slack_reply(srv.url, f"批准 {second}", ALLOWED, "1515449701.000001", thread="1515449700.000001")
        assert approved.json()["decision"] == "approved"
        wait_text(api, f"Done: proposal {second} ran.")
    assert len(restart_calls(kubectl())) == 2
    assert ("denied", f"slack:{ALLOWED}", "chat reply") in actions_of(audit, first)
    assert ("approved", f"slack:{ALLOWED}", "chat reply") in actions_of(audit, second)


def test_an_expired_proposal_is_refused(demo, api, kubectl, tmp_path):
    audit = AuditLog(tmp_path / "audit.jsonl")
    settings = bot_settings(demo, api, chat_approvers=[ALLOWED], chat_approval_minutes=0.01)  # 0.6 s
    app = create_app(settings, token=TOKEN, ledger=tmp_path / "seen.txt", audit=audit)
    with Served(app) as srv:
        ask_slack(srv.url, "Ev0EXPIRE")
        wait_for(lambda: proposals_posted(api), 120, "the proposal")
        pid = proposals_posted(api)[0]["blocks"][1]["elements"][0]["value"]
        proposal = app.state.proposals.get(pid)
        wait_for(lambda: time.time() > proposal.expires_at, 5, "the proposal to expire")
        assert slack_click(srv.url, pid, ALLOWED).json()["decision"] == "refused"
        wait_text(api, f"Proposal {pid} has expired; nothing ran.")
    assert kubectl() == []
    assert ("refused", f"slack:{ALLOWED}", "expired") in actions_of(audit, pid)


def test_no_approvers_means_no_proposal_and_every_decision_is_refused(demo, api, kubectl, tmp_path):
    audit = AuditLog(tmp_path / "audit.jsonl")
    with Served(create_app(bot_settings(demo, api), token=TOKEN, ledger=tmp_path / "seen.txt", audit=audit)) as srv:
        ask_slack(srv.url, "Ev0NOBODY")
        wait_for(lambda: len(api.posts("/api/chat.postMessage")) >= 2, 120, "the answer")
        assert slack_click(srv.url, "abcdef", ALLOWED).json()["decision"] == "refused"
        wait_text(api, "There is no proposal abcdef in this chat.")
    assert proposals_posted(api) == [] and kubectl() == []
    assert [e["action"] for e in audit.entries()] == ["refused"]


def test_decisions_are_parsed_only_from_people_and_whole_commands():
    assert parse_decision("approve 1a2b3c") == ("approve", "1a2b3c")
    assert parse_decision("Deny 1A2B3C.") == ("deny", "1a2b3c")
    assert parse_decision("批准 1a2b3c") == ("approve", "1a2b3c")
    assert parse_decision("拒绝：1a2b3c") == ("deny", "1a2b3c")
    assert parse_decision("please approve 1a2b3c") is None and parse_decision("approve it") is None
    mention = json.loads(recorded("slack_app_mention.json"))
    mention["event"]["text"] = "<@U0LAN0Z89> approve 1a2b3c"
    d = parse_slack(mention).decision
    assert d is not None and (d.user, d.proposal, d.decision, d.thread, d.via) == \
        (ALLOWED, "1a2b3c", "approve", "1515449522.000016", "reply")
    lark = json.loads(recorded("lark_message_receive.json"))
    lark["event"]["message"]["content"] = json.dumps({"text": "拒绝 1a2b3c"})
    lark["event"]["message"]["mentions"] = []  # a plain reply in the thread, no mention needed
    d = parse_lark(lark, LARK_TOKEN).decision
    assert d is not None and (d.user, d.decision) == (LARK_ALLOWED, "deny")
    lark["event"]["sender"]["sender_type"] = "app"  # the bot's own message
    assert parse_lark(lark, LARK_TOKEN).decision is None


def test_chat_approvers_setting_from_the_environment():
    from copilot.config import load_settings

    settings = load_settings(env={"COPILOT_CHAT_APPROVERS": "U061F7AUR, ou_84aad35d084aa403a838cf73ee18467,",
                                  "COPILOT_CHAT_APPROVAL_MINUTES": "10"})
    assert settings.chat_approvers == ["U061F7AUR", "ou_84aad35d084aa403a838cf73ee18467"]
    assert settings.chat_approval_minutes == 10.0
    assert load_settings(env={}).chat_approvers == []




def test_lark_encrypted_card_callbacks_must_be_signed(demo, api, kubectl, tmp_path):
    pytest.importorskip("cryptography")
    from copilot.service.chat import lark_signature
    from tests.test_serve_chat import encrypt_for_lark

    key = "lark-encrypt-key-1"
    audit = AuditLog(tmp_path / "audit.jsonl")
    settings = bot_settings(demo, api, chat_approvers=[LARK_ALLOWED], lark_encrypt_key=key)

    def signed_post(url: str, plain: bytes, sign: bool = True) -> httpx.Response:
        body = json.dumps({"encrypt": encrypt_for_lark(key, plain)}).encode()
        stamp, nonce = str(int(time.time())), "13234422"
        headers = {"X-Lark-Request-Timestamp": stamp, "X-Lark-Request-Nonce": nonce,
                   "X-Lark-Signature": lark_signature(key, stamp, nonce, body)} if sign else {}
        return httpx.post(url, content=body, headers=headers)

    with Served(create_app(settings, token=TOKEN, ledger=tmp_path / "seen.txt", audit=audit)) as srv:
        assert signed_post(f"{srv.url}/chat/lark", recorded("lark_message_receive.json")).json()["queued"]
        wait_for(lambda: any(r["body"]["msg_type"] == "interactive" for r in api.posts("/open-apis/im/")), 120, "the card")
        card = json.loads(next(r for r in api.posts("/open-apis/im/") if r["body"]["msg_type"] == "interactive")
                          ["body"]["content"])
        pid = card["elements"][1]["actions"][0]["value"]["proposal"]
        click = json.loads(recorded("lark_card_action.json"))
        click["event"]["action"]["value"] = {"proposal": pid, "decision": "deny"}
        unsigned = signed_post(f"{srv.url}/chat/lark/card", json.dumps(click).encode(), sign=False)
        assert unsigned.status_code == 401 and "X-Lark-Signature" in unsigned.json()["error"]
        denied = signed_post(f"{srv.url}/chat/lark/card", json.dumps(click).encode())
        assert denied.status_code == 200 and denied.json()["toast"]["type"] == "success"
    assert kubectl() == []
    assert [a for a, _, _ in actions_of(audit, pid)] == ["proposed", "denied"]
