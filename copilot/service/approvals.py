"""Remediation approved from chat: a chat-driven run's proposed fix is posted in its thread
with Approve / Deny buttons (Slack Block Kit, a Lark interactive card), and a thread reply
`approve <id>` / `deny <id>` (批准 / 拒绝) works too.

Only a user listed in `chat_approvers` (Slack user ids, Lark open_ids) decides; anyone else
is refused, and the refusal is audited. A proposal runs at most once: the first approval
moves it to running, every later click, reply or re-sent callback is told it already ran.
Proposals expire after `chat_approval_minutes`. Every proposal, approval, denial, refusal
and result goes to the audit log with the chat user, the plan, the time and the outcome.
Commands come only from the remediation plan's templates (copilot/remediation.py): no
text from a chat message, a log line or a model is ever executed.
"""

from __future__ import annotations

import re
import secrets
import shlex
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Literal

from ..audit import AuditLog
from ..remediation import Remediation, execute

Decision = Literal["approve", "deny"]
KEEP_S = 86_400  # an expired or decided proposal is remembered this long (to say so when clicked)
ACTION_APPROVE = "copilot_approve"  # Slack action_id of the Approve button
ACTION_DENY = "copilot_deny"

# The whole message must be the command: a pasted log line or a sentence that merely
# contains "approve 1a2b3c" is a question, not a decision.
_DECISION = re.compile(r"^\s*(approve|deny|批准|拒绝)\s*[:：]?\s*([0-9a-f]{6,16})\s*[.。!！]?\s*$", re.IGNORECASE)
_WORDS: dict[str, Decision] = {"approve": "approve", "批准": "approve", "deny": "deny", "拒绝": "deny"}


def parse_decision(text: str) -> tuple[Decision, str] | None:
    """`approve 1a2b3c` / `deny 1a2b3c` / `批准 1a2b3c` / `拒绝 1a2b3c` -> (decision, proposal id)."""
    m = _DECISION.match(text)
    if not m:
        return None
    return _WORDS[m.group(1).lower()], m.group(2).lower()


@dataclass(frozen=True)
class ChatDecision:
    """A verified click or reply: who decided what about which proposal, and where to answer."""

    platform: str  # slack | lark
    key: str  # the click's / message's own id (re-sent callbacks carry the same one)
    proposal: str
    decision: Decision
    user: str
    channel: str
    thread: str  # Slack thread_ts / Lark message id to reply to
    via: str  # button | reply


@dataclass
class Proposal:
    id: str
    platform: str
    channel: str
    thread: str
    plan: Remediation
    asked_by: str
    language: str
    expires_at: float
    state: str = "pending"  # pending | running | ran | failed | denied | expired
    decided_by: str = ""


@dataclass(frozen=True)
class Outcome:
    run: bool  # the caller runs the plan now (an allowed approval of a pending proposal)
    message: str  # what to say in the thread
    ok: bool = True  # False: a refusal (a Lark toast shows it as an error)


def _who(platform: str, user: str) -> str:
    return f"{platform}:{user}"


class ChatProposals:
    """The open proposals of the service (in memory: a restart leaves none to approve)."""

    def __init__(self, approvers: list[str], ttl_s: float, audit: AuditLog | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.approvers = {a.strip() for a in approvers if a and a.strip()}
        self.ttl_s = ttl_s
        self.audit = audit or AuditLog()
        self.clock = clock
        self._open: dict[str, Proposal] = {}
        self._lock = threading.Lock()

    def allowed(self, platform: str, user: str) -> bool:
        return bool(user) and (user in self.approvers or _who(platform, user) in self.approvers)

    def open(self, platform: str, channel: str, thread: str, plan: Remediation, asked_by: str,
             language: str = "en") -> Proposal:
        with self._lock:
            now = self.clock()
            for stale in [k for k, v in self._open.items() if v.expires_at + KEEP_S < now]:
                del self._open[stale]  # long expired: a late click is told there is no such proposal
            pid = secrets.token_hex(3)
            while pid in self._open:
                pid = secrets.token_hex(3)
            p = Proposal(pid, platform, channel, thread, plan, asked_by, language, self.clock() + self.ttl_s)
            self._open[pid] = p
        self.audit.record("proposed", plan.title, "posted in chat", who=_who(platform, asked_by) if asked_by else "copilot",
                          session_id=plan.session_id, proposal=pid, platform=platform, channel=channel,
                          commands=[shlex.join(s.argv) for s in plan.steps], expires_in_s=round(self.ttl_s))
        return p

    def get(self, pid: str) -> Proposal | None:
        with self._lock:
            return self._open.get(pid)

    def decide(self, d: ChatDecision) -> tuple[Outcome, Proposal | None]:
        """Apply a click or reply. Only `Outcome.run` lets the caller execute, and it is
        returned once per proposal."""
        who = _who(d.platform, d.user)
        with self._lock:
            p = self._open.get(d.proposal)
            if p is None or p.platform != d.platform or p.channel != d.channel:
                outcome, reason = Outcome(False, f"There is no proposal {d.proposal} in this chat.", False), "unknown proposal"
                p = None
            elif not self.allowed(d.platform, d.user):
                outcome, reason = Outcome(False, _say(p, "not_allowed", user=d.user), False), "not an allowed approver"
            elif p.state != "pending":
                outcome, reason = Outcome(False, _say(p, "already_" + p.state, by=p.decided_by), False), f"already {p.state}"
            elif self.clock() > p.expires_at:
                p.state = "expired"
                outcome, reason = Outcome(False, _say(p, "expired"), False), "expired"
            else:
                p.state, p.decided_by = ("running" if d.decision == "approve" else "denied"), who
                outcome, reason = Outcome(d.decision == "approve", _say(p, "approved" if d.decision == "approve" else "denied", by=who)), ""
        title = p.plan.title if p else d.proposal
        sid = p.plan.session_id if p else ""
        if reason:
            self.audit.record("refused", title, reason, who=who, session_id=sid, proposal=d.proposal,
                              decision=d.decision, via=d.via, platform=d.platform, channel=d.channel)
        else:
            self.audit.record("approved" if d.decision == "approve" else "denied", title, f"chat {d.via}", who=who,
                              session_id=sid, proposal=d.proposal, platform=d.platform, channel=d.channel)
        return outcome, p

    def run(self, p: Proposal, runner: Callable[..., Any] | None = None) -> str:
        """Execute an approved proposal (blocking: call it in a worker thread); returns the
        thread message with the result. Every step is audited by `execute`."""
        kwargs: dict[str, Any] = {"runner": runner} if runner else {}
        try:
            ok = execute(p.plan, self.audit, approved_by=p.decided_by, **kwargs)
        except Exception as exc:  # noqa: BLE001 - a crash is a failed run, reported and audited
            ok = False
            self.audit.record("ran", p.plan.title, f"error: {type(exc).__name__}: {exc}", who=p.decided_by,
                              session_id=p.plan.session_id)
        steps = [e for e in self.audit.entries()
                 if e.get("session_id") == p.plan.session_id and e.get("action") in ("snapshot", "dry_run", "ran")]
        last = steps[-1] if steps else {}
        with self._lock:
            p.state = "ran" if ok else "failed"
        self.audit.record("result", p.plan.title, "ok" if ok else "failed", who=p.decided_by,
                          session_id=p.plan.session_id, proposal=p.id, platform=p.platform, channel=p.channel)
        detail = f"`{last.get('what', '')}` -> {last.get('outcome', '')}"
        output = str(last.get("output") or "")[-600:]
        return _say(p, "done" if ok else "stopped", detail=detail) + (f"\n```\n{output}\n```" if output else "")


# ---- what is said in the thread, in the asker's language ----------------------------------

_EN = {
    "not_allowed": "{user} is not allowed to approve or deny proposal {id} (only the users in chat_approvers are).",
    "already_running": "Proposal {id} was already approved by {by} and is running; it runs once.",
    "already_ran": "Proposal {id} already ran (approved by {by}); it runs once.",
    "already_failed": "Proposal {id} already ran and stopped (approved by {by}); it runs once.",
    "already_denied": "Proposal {id} was denied by {by}; nothing ran.",
    "already_expired": "Proposal {id} has expired; nothing ran. Ask again for a fresh proposal.",
    "expired": "Proposal {id} has expired; nothing ran. Ask again for a fresh proposal.",
    "approved": "Approved by {by}: running proposal {id} ({title}), dry run first.",
    "denied": "Denied by {by}: proposal {id} will not run.",
    "done": "Done: proposal {id} ran. Last step: {detail}",
    "stopped": "Stopped: proposal {id} did not complete. Last step: {detail}",
}
_ZH = {
    "not_allowed": "{user} 无权批准或拒绝提案 {id}（只有 chat_approvers 中的用户可以）。",
    "already_running": "提案 {id} 已由 {by} 批准并正在执行；只执行一次。",
    "already_ran": "提案 {id} 已执行（由 {by} 批准）；只执行一次。",
    "already_failed": "提案 {id} 已执行并中止（由 {by} 批准）；只执行一次。",
    "already_denied": "提案 {id} 已被 {by} 拒绝；未执行任何操作。",
    "already_expired": "提案 {id} 已过期；未执行任何操作。请重新提问以获得新的提案。",
    "expired": "提案 {id} 已过期；未执行任何操作。请重新提问以获得新的提案。",
    "approved": "{by} 已批准：正在执行提案 {id}（{title}），先做预演（dry run）。",
    "denied": "{by} 已拒绝：提案 {id} 不会执行。",
    "done": "完成：提案 {id} 已执行。最后一步：{detail}",
    "stopped": "中止：提案 {id} 未完成。最后一步：{detail}",
}


def _say(p: Proposal, what: str, **values: str) -> str:
    table = _ZH if p.language == "zh" else _EN
    return table[what].format(id=p.id, title=p.plan.title, **{"user": "", "by": "", "detail": "", **values})


def proposal_text(p: Proposal, minutes: float) -> str:
    """The proposal as Markdown: the plan (changes, dry run, check, undo) and how to decide."""
    from ..commands.remediate import render

    if p.language == "zh":
        head = f"**建议的修复（提案 {p.id}，{minutes:g} 分钟内有效）：{p.plan.title}**"
        how = (f"点击按钮批准或拒绝，或在本话题回复 `批准 {p.id}` / `拒绝 {p.id}`"
               f"（也可 `approve {p.id}` / `deny {p.id}`）。只有 chat_approvers 中的用户可以批准；只执行一次。")
    else:
        head = f"**Proposed fix (proposal {p.id}, valid for {minutes:g} min): {p.plan.title}**"
        how = (f"Approve or deny with the buttons, or reply `approve {p.id}` / `deny {p.id}` in this thread "
               f"(also `批准 {p.id}` / `拒绝 {p.id}`). Only the users in chat_approvers may approve; it runs once.")
    return f"{head}\n```\n{render(p.plan)}\n```\n{how}"


SECTION_CHARS = 2900  # Slack: a section block's text is at most 3000 characters


def slack_blocks(p: Proposal, text: str) -> list[dict[str, Any]]:
    """Block Kit: the proposal, then an `actions` block whose buttons carry the proposal id."""
    from .delivery import to_mrkdwn

    body = to_mrkdwn(text)
    if len(body) > SECTION_CHARS:
        body = body[:SECTION_CHARS - 1] + "…"
    zh = p.language == "zh"
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": body}},
        {"type": "actions", "block_id": f"copilot_proposal_{p.id}", "elements": [
            {"type": "button", "action_id": ACTION_APPROVE, "style": "primary", "value": p.id,
             "text": {"type": "plain_text", "text": "批准" if zh else "Approve"},
             "confirm": {"title": {"type": "plain_text", "text": "执行此变更？" if zh else "Run this change?"},
                         "text": {"type": "mrkdwn", "text": p.plan.changes[:280]},
                         "confirm": {"type": "plain_text", "text": "执行" if zh else "Run it"},
                         "deny": {"type": "plain_text", "text": "取消" if zh else "Cancel"}}},
            {"type": "button", "action_id": ACTION_DENY, "style": "danger", "value": p.id,
             "text": {"type": "plain_text", "text": "拒绝" if zh else "Deny"}},
        ]},
    ]


def lark_card(p: Proposal, text: str) -> dict[str, Any]:
    """A Lark / Feishu interactive card: the proposal and two buttons whose `value` names it."""
    zh = p.language == "zh"

    def button(decision: Decision, label: str, kind: str) -> dict[str, Any]:
        out: dict[str, Any] = {"tag": "button", "type": kind, "text": {"tag": "plain_text", "content": label},
                               "value": {"proposal": p.id, "decision": decision}}
        if decision == "approve":
            out["confirm"] = {"title": {"tag": "plain_text", "content": "执行此变更？" if zh else "Run this change?"},
                              "text": {"tag": "plain_text", "content": p.plan.changes[:280]}}
        return out

    return {
        "config": {"wide_screen_mode": True},
        "header": {"template": "orange", "title": {"tag": "plain_text", "content": p.plan.title}},
        "elements": [
            {"tag": "div", "text": {"tag": "lark_md", "content": text}},
            {"tag": "action", "actions": [button("approve", "批准" if zh else "Approve", "primary"),
                                          button("deny", "拒绝" if zh else "Deny", "danger")]},
        ],
    }


# ---- the platforms' interactivity callbacks -------------------------------------------------

class ActionPayloadError(Exception):
    """A verified callback this endpoint cannot use."""


def parse_slack_action(payload: dict[str, Any]) -> ChatDecision | None:
    """A Slack `block_actions` payload (the Approve / Deny click) -> a decision, or None when
    the click is not one of ours."""
    if payload.get("type") != "block_actions":
        return None
    actions = payload.get("actions") or []
    action = next((a for a in actions if a.get("action_id") in (ACTION_APPROVE, ACTION_DENY)), None)
    if action is None:
        return None
    user = str((payload.get("user") or {}).get("id", ""))
    container = payload.get("container") or {}
    message = payload.get("message") or {}
    channel = str((payload.get("channel") or {}).get("id") or container.get("channel_id") or "")
    thread = str(message.get("thread_ts") or container.get("thread_ts") or message.get("ts")
                 or container.get("message_ts") or "")
    if not (user and channel and thread):
        raise ActionPayloadError("the block_actions payload has no user.id, channel.id or message ts")
    decision: Decision = "approve" if action["action_id"] == ACTION_APPROVE else "deny"
    key = f"{user}:{action.get('action_ts') or payload.get('trigger_id') or ''}"
    return ChatDecision("slack", key, str(action.get("value", "")).lower(), decision, user, channel, thread, "button")


def parse_lark_card(payload: dict[str, Any]) -> ChatDecision | None:
    """A Lark `card.action.trigger` callback (schema 2.0; its token is checked by the
    caller) -> a decision, or None when the action is not one of our buttons."""
    import json

    event = payload.get("event") or {}
    action = event.get("action") or {}
    value = action.get("value")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if not isinstance(value, dict) or value.get("decision") not in ("approve", "deny") or not value.get("proposal"):
        return None
    user = str((event.get("operator") or {}).get("open_id", ""))
    context = event.get("context") or {}
    message_id = str(context.get("open_message_id", ""))
    if not (user and message_id):
        raise ActionPayloadError("the card callback has no event.operator.open_id or event.context.open_message_id")
    header = payload.get("header") or {}
    decision: Decision = "approve" if value["decision"] == "approve" else "deny"
    return ChatDecision("lark", str(header.get("event_id") or f"{user}:{message_id}"), str(value["proposal"]).lower(),
                        decision, user, str(context.get("open_chat_id", "")), message_id, "button")
