"""Deliver a finished investigation to chat, in each platform's own incoming-webhook format.

Slack (Block Kit, mrkdwn), Lark/Feishu (interactive card), DingTalk (msgtype markdown),
WeCom (msgtype markdown, 4096-byte content), and a generic JSON webhook with
`session_id`, `verdict`, `root_causes` and `report` (Markdown). Reports longer than a
platform takes are split into numbered messages, and what still does not fit is cut with
a note saying where the full report is. Every string is redacted before it leaves.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from ..config import Settings
from ..faults import fault_info
from ..redact import redact
from .investigation import Investigation
from .payloads import AlertGroup


@dataclass
class Message:
    session_id: str
    title: str
    verdict: str
    summary: str  # one line: the top root cause, or why there is none
    root_causes: list[dict[str, Any]]
    report: str  # Markdown
    question: str = ""
    link: str = ""  # the full report on `copilot serve`, when serve_public_url is set
    alerts: list[dict[str, Any]] = field(default_factory=list)
    remediation: dict[str, Any] | None = None  # the proposed plan; it runs only via `copilot remediate`

    @property
    def more(self) -> str:
        where = f"full report: {self.link}" if self.link else f"full report: `copilot report {self.session_id}`"
        return f"(report truncated; {where})"


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    return value


def build_message(inv: Investigation, group: AlertGroup, public_url: str = "") -> Message:
    names = ", ".join(dict.fromkeys(a.name for a in (group.firing or group.alerts)))
    if inv.failed:
        summary = f"The investigation failed: {inv.error}"
    elif inv.root_causes:
        top = inv.root_causes[0]
        summary = (f"Most likely root cause: {top.get('component', '?')}, "
                   f"{fault_info(str(top.get('fault_type', 'unknown'))).name_en} "
                   f"(confidence {float(top.get('confidence', 0.0)):.2f})")
    else:
        summary = "No root cause was found; the evidence is not enough."
    link = f"{public_url.rstrip('/')}/sessions/{inv.session_id}/report" if public_url else ""
    message = Message(
        session_id=inv.session_id,
        title=f"[{inv.verdict}] {names}",
        verdict=inv.verdict,
        summary=summary,
        root_causes=inv.root_causes,
        report=inv.report or summary,
        question=inv.question,
        link=link,
        alerts=[a.to_dict() for a in group.alerts],
        remediation=inv.remediation,
    )
    return Message(**_redacted(message.__dict__))


# ---- splitting -------------------------------------------------------------------------

def _bytes(text: str) -> int:
    return len(text.encode("utf-8"))


def split_text(text: str, limit: int, measure: Callable[[str], int] = len) -> list[str]:
    """Pieces of at most `limit` (by `measure`), cut at line ends where possible."""
    parts: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while measure(line) > limit:  # one line longer than a piece: cut it
            cut = limit
            while measure(line[:cut]) > limit:
                cut -= max(1, (measure(line[:cut]) - limit) // 4)
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:cut])
            line = line[cut:]
        if current and measure(current + line) > limit:
            parts.append(current)
            current = ""
        current += line
    if current:
        parts.append(current)
    return [p.rstrip("\n") for p in parts if p.strip()] or [""]


def fit(text: str, limit: int, max_parts: int, note: str, measure: Callable[[str], int] = len) -> list[str]:
    """Split into at most `max_parts` pieces; the last one ends with `note` when text was cut."""
    parts = split_text(text, limit, measure)
    if len(parts) <= max_parts:
        return parts
    kept = parts[:max_parts]
    room = limit - measure("\n\n" + note)
    last = split_text(kept[-1], max(room, 1), measure)[0]
    kept[-1] = last + "\n\n" + note
    return kept


# ---- platform formats ------------------------------------------------------------------

def _heading_to_bold(text: str, bold: str = "**") -> str:
    return re.sub(r"^#{1,6}\s*(.+?)\s*$", lambda m: f"{bold}{m.group(1)}{bold}", text, flags=re.M)


def to_mrkdwn(markdown: str) -> str:
    """Markdown -> Slack mrkdwn: escape &<>, *bold*, <url|text> links, headings as bold lines."""
    text = markdown.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = re.sub(r"^&gt;", ">", text, flags=re.M)  # keep block quotes
    text = re.sub(r"\*\*(.+?)\*\*", r"*\1*", text)
    text = re.sub(r"\[([^\]]+)\]\((https?://[^)\s]+)\)", r"<\2|\1>", text)
    return _heading_to_bold(text, "*")


SLACK_SECTION = 3000  # characters of text in one section block
SLACK_BLOCKS = 50


def slack_payloads(m: Message) -> list[dict[str, Any]]:
    head = [
        {"type": "header", "text": {"type": "plain_text", "text": m.title[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": to_mrkdwn(f"**{m.summary}**")[:SLACK_SECTION]}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"session `{m.session_id}` · verdict *{m.verdict}*"
                                          + (f" · <{m.link}|full report>" if m.link else "")}]},
        {"type": "divider"},
    ]
    pieces = fit(to_mrkdwn(m.report), SLACK_SECTION, SLACK_BLOCKS - len(head), to_mrkdwn(m.more))
    blocks = head + [{"type": "section", "text": {"type": "mrkdwn", "text": p}} for p in pieces]
    return [{"text": f"{m.title}: {m.summary}", "blocks": blocks}]


LARK_CARD_BYTES = 20_000  # well under the 30 KB a card may be
LARK_CARDS = 3


def lark_payloads(m: Message) -> list[dict[str, Any]]:
    body = _heading_to_bold(m.report)
    pieces = fit(body, LARK_CARD_BYTES, LARK_CARDS, m.more, _bytes)
    template = {"fault": "red", "unknown": "grey"}.get(m.verdict, "orange")
    out = []
    for i, piece in enumerate(pieces):
        title = m.title if len(pieces) == 1 else f"{m.title} ({i + 1}/{len(pieces)})"
        elements: list[dict[str, Any]] = []
        if i == 0:
            elements += [{"tag": "markdown", "content": f"**{m.summary}**\nsession `{m.session_id}`"}, {"tag": "hr"}]
        elements.append({"tag": "markdown", "content": piece})
        if m.link and i == len(pieces) - 1:
            elements.append({"tag": "action", "actions": [{"tag": "button", "type": "primary", "url": m.link,
                                                           "text": {"tag": "plain_text", "content": "Full report"}}]})
        out.append({"msg_type": "interactive", "card": {
            "config": {"wide_screen_mode": True},
            "header": {"title": {"tag": "plain_text", "content": title}, "template": template},
            "elements": elements,
        }})
    return out


DINGTALK_BYTES = 18_000  # DingTalk takes about 20,000 bytes of markdown
DINGTALK_MESSAGES = 3


def dingtalk_payloads(m: Message) -> list[dict[str, Any]]:
    intro = f"### {m.title}\n\n**{m.summary}**\n\nsession `{m.session_id}`\n\n"
    pieces = fit(intro + m.report + (f"\n\n[Full report]({m.link})" if m.link else ""),
                 DINGTALK_BYTES, DINGTALK_MESSAGES, m.more, _bytes)
    return [{"msgtype": "markdown", "markdown": {"title": m.title[:64], "text": p}} for p in pieces]


WECOM_BYTES = 4096  # WeCom's limit on markdown content, in UTF-8 bytes
WECOM_MESSAGES = 5


def wecom_payloads(m: Message) -> list[dict[str, Any]]:
    color = "warning" if m.verdict == "fault" else "comment"
    intro = f"## {m.title}\n<font color=\"{color}\">{m.summary}</font>\nsession `{m.session_id}`\n\n"
    text = intro + m.report + (f"\n\n[Full report]({m.link})" if m.link else "")
    pieces = fit(text, WECOM_BYTES, WECOM_MESSAGES, m.more, _bytes)
    return [{"msgtype": "markdown", "markdown": {"content": p}} for p in pieces]


def generic_payloads(m: Message) -> list[dict[str, Any]]:
    return [{
        "session_id": m.session_id, "verdict": m.verdict, "summary": m.summary, "root_causes": m.root_causes,
        "report": m.report, "question": m.question, "title": m.title, "link": m.link, "alerts": m.alerts,
        "remediation": m.remediation,
    }]


# setting -> (target name, formatter)
TARGETS: dict[str, tuple[str, Callable[[Message], list[dict[str, Any]]]]] = {
    "notify_webhook_url": ("webhook", generic_payloads),
    "slack_webhook_url": ("slack", slack_payloads),
    "lark_webhook_url": ("lark", lark_payloads),
    "dingtalk_webhook_url": ("dingtalk", dingtalk_payloads),
    "wecom_webhook_url": ("wecom", wecom_payloads),
}


class DeliveryError(Exception):
    pass


class RetryableDelivery(DeliveryError):
    pass


def _platform_error(target: str, response: Any) -> str:
    """DingTalk, WeCom and Lark answer 200 with an error code in the body."""
    if target not in ("dingtalk", "wecom", "lark"):
        return ""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    code = body.get("errcode", body.get("code", body.get("StatusCode", 0)))
    if code in (0, None, "0"):
        return ""
    return f"{target} refused the message: {code} {body.get('errmsg') or body.get('msg') or ''}".strip()


@dataclass
class DeliveryResult:
    target: str
    ok: bool
    messages: int
    error: str = ""


def post_all(client: Any, target: str, url: str, payloads: list[dict[str, Any]], attempts: int = 4) -> None:
    from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

    import httpx

    @retry(stop=stop_after_attempt(attempts), wait=wait_exponential(multiplier=0.2, max=5),
           retry=retry_if_exception_type((httpx.TransportError, RetryableDelivery)), reraise=True)
    def post(payload: dict[str, Any]) -> None:
        response = client.post(url, content=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
                               headers={"Content-Type": "application/json; charset=utf-8"})
        if response.status_code == 429 or response.status_code >= 500:
            raise RetryableDelivery(f"{target} answered HTTP {response.status_code}")
        if response.status_code >= 400:
            raise DeliveryError(f"{target} answered HTTP {response.status_code}: {response.text[:200]}")
        problem = _platform_error(target, response)
        if problem:
            raise DeliveryError(problem)

    for payload in payloads:
        post(payload)


def deliver(settings: Settings, message: Message, attempts: int = 4, timeout: float = 15.0) -> list[DeliveryResult]:
    """Post the message to every configured target; one result per target (blocking)."""
    import httpx

    results: list[DeliveryResult] = []
    with httpx.Client(timeout=timeout) as client:
        for setting, (target, formatter) in TARGETS.items():
            url = getattr(settings, setting, "")
            if not url:
                continue
            payloads = formatter(message)
            try:
                post_all(client, target, url, payloads, attempts)
            except (DeliveryError, httpx.HTTPError) as exc:
                error = f"{type(exc).__name__}: {exc}".replace(url, f"<{setting}>")  # the URL holds its secret
                results.append(DeliveryResult(target, False, len(payloads), redact(error)))
            else:
                results.append(DeliveryResult(target, True, len(payloads)))
    return results
