"""The chat bot of `copilot serve`: a question asked in Slack or Lark/Feishu is answered in
its thread by the same engine as every front end.

    POST /chat/slack   Slack Events API (signing secret: `X-Slack-Signature`, v0 HMAC-SHA256)
    POST /chat/lark    Lark / Feishu event callbacks, schema 2.0 (verification token; with an
                       Encrypt Key, `X-Lark-Signature` SHA-256 and AES-256-CBC bodies)

A platform's signature is its authentication (it cannot send the service's bearer token):
a request that does not verify gets 401, one older than five minutes too (replays). The
endpoint answers at once (the platforms retry after 3 s) and the question runs in the
background: first a reply in the thread saying what will happen — the team workflow it
matched, "I'll run cluster-health for cluster c1, …", or what data it will investigate —
then the answer: verdict, the root cause, the report (split to fit) and where the full report
is. Re-sent events (same event id) are answered once; the bot's own messages are ignored.
Tools that change systems never run inside a chat-driven run (DenyAll approver); the run's
proposed remediation is posted with Approve / Deny buttons and runs only when a user listed
in `chat_approvers` approves it (approvals.py). Every string is redacted before it leaves.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable

from ..config import Settings
from ..redact import redact
from .approvals import ChatDecision, parse_decision, parse_lark_card

MAX_SKEW_S = 300  # both platforms' advice: refuse requests older than five minutes


class SignatureError(Exception):
    """The request is not from the platform (bad or missing signature, stale timestamp)."""


class ChatPayloadError(Exception):
    """A verified request whose body this endpoint cannot use (one line for the response)."""


@dataclass(frozen=True)
class ChatQuestion:
    platform: str  # slack | lark
    event_id: str
    text: str
    channel: str  # Slack channel id / Lark chat id
    thread: str  # Slack thread_ts / Lark message id to reply to
    user: str = ""


@dataclass(frozen=True)
class Parsed:
    """What a verified callback asks for: answer a URL check, ask a question, or nothing."""

    challenge: str | None = None
    question: ChatQuestion | None = None
    ignored: str = ""  # why nothing happens (a bot's own message, another event type)
    decision: ChatDecision | None = None  # a click or an `approve <id>` reply (approvals.py)


# ---- Slack --------------------------------------------------------------------------------

def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def verify_slack(secret: str, headers: dict[str, str], body: bytes, now: float | None = None) -> None:
    timestamp = headers.get("x-slack-request-timestamp", "")
    given = headers.get("x-slack-signature", "")
    if not timestamp.isdigit() or not given:
        raise SignatureError("missing X-Slack-Request-Timestamp or X-Slack-Signature")
    if abs((now if now is not None else time.time()) - int(timestamp)) > MAX_SKEW_S:
        raise SignatureError("X-Slack-Request-Timestamp is more than 5 minutes off (a replay?)")
    if not hmac.compare_digest(slack_signature(secret, timestamp, body), given):
        raise SignatureError("X-Slack-Signature does not match the signing secret")


_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")


def parse_slack(payload: dict[str, Any]) -> Parsed:
    kind = payload.get("type")
    if kind == "url_verification":
        return Parsed(challenge=str(payload.get("challenge", "")))
    if kind != "event_callback":
        return Parsed(ignored=f"callback type {kind!r}")
    event = payload.get("event") or {}
    etype = event.get("type")
    if event.get("bot_id") or event.get("subtype"):
        return Parsed(ignored="a bot's message or an edit")  # our own replies come back as events too
    if etype not in ("app_mention", "message"):
        return Parsed(ignored=f"event type {etype!r}")
    text = " ".join(_MENTION.sub(" ", str(event.get("text", ""))).split())
    decided = parse_decision(text)
    channel, ts = str(event.get("channel", "")), str(event.get("ts", ""))
    if decided and event.get("user") and (etype == "app_mention" or event.get("thread_ts")
                                          or event.get("channel_type") == "im"):
        return Parsed(decision=ChatDecision("slack", f"{channel}:{ts}", decided[1], decided[0], str(event["user"]),
                                            channel, str(event.get("thread_ts") or ts), "reply"))
    if etype == "message" and event.get("channel_type") != "im":
        return Parsed(ignored="a channel message that does not mention the bot")
    if not text:
        return Parsed(ignored="an empty message")
    return Parsed(question=ChatQuestion(
        "slack", str(payload.get("event_id") or event.get("client_msg_id") or event.get("ts")), text,
        str(event.get("channel", "")), str(event.get("thread_ts") or event.get("ts", "")), str(event.get("user", ""))))


# ---- Lark / Feishu --------------------------------------------------------------------------

def lark_signature(encrypt_key: str, timestamp: str, nonce: str, body: bytes) -> str:
    return hashlib.sha256(timestamp.encode() + nonce.encode() + encrypt_key.encode() + body).hexdigest()


def verify_lark_signature(encrypt_key: str, headers: dict[str, str], body: bytes, now: float | None = None) -> None:
    timestamp = headers.get("x-lark-request-timestamp", "")
    nonce = headers.get("x-lark-request-nonce", "")
    given = headers.get("x-lark-signature", "")
    if not timestamp.isdigit() or not given:
        raise SignatureError("missing X-Lark-Request-Timestamp or X-Lark-Signature")
    if abs((now if now is not None else time.time()) - int(timestamp)) > MAX_SKEW_S:
        raise SignatureError("X-Lark-Request-Timestamp is more than 5 minutes off (a replay?)")
    if not hmac.compare_digest(lark_signature(encrypt_key, timestamp, nonce, body), given):
        raise SignatureError("X-Lark-Signature does not match the Encrypt Key")


def lark_decrypt_bytes(encrypt_key: str, encrypted: str) -> bytes:
    """Lark's documented scheme: AES-256-CBC, key SHA-256(Encrypt Key), the IV the first 16
    bytes of the base64-decoded text, PKCS#7 padding."""
    try:
        from cryptography.hazmat.primitives import padding
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    except ModuleNotFoundError:
        raise ChatPayloadError("encrypted Lark events need the cryptography package (pip install cryptography)") from None
    try:
        raw = base64.b64decode(encrypted, validate=True)
        key = hashlib.sha256(encrypt_key.encode()).digest()
        decryptor = Cipher(algorithms.AES(key), modes.CBC(raw[:16])).decryptor()
        padded = decryptor.update(raw[16:]) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        return unpadder.update(padded) + unpadder.finalize()
    except (ValueError, TypeError) as exc:
        raise ChatPayloadError(f"the encrypted Lark event cannot be decrypted with the configured lark_encrypt_key "
                               f"({type(exc).__name__})") from None


def lark_decrypt(encrypt_key: str, encrypted: str) -> dict[str, Any]:
    data = lark_decrypt_bytes(encrypt_key, encrypted)
    try:
        payload = json.loads(data)
    except ValueError:
        raise ChatPayloadError("the decrypted Lark event is not JSON; check lark_encrypt_key") from None
    if not isinstance(payload, dict):
        raise ChatPayloadError("the decrypted Lark event is not a JSON object")
    return payload


def parse_lark(payload: dict[str, Any], verification_token: str) -> Parsed:
    header = payload.get("header") or {}
    token = str(header.get("token") or payload.get("token") or "")
    if not verification_token or not hmac.compare_digest(token.encode(), verification_token.encode()):
        raise SignatureError("the event's verification token does not match lark_verification_token")
    if payload.get("type") == "url_verification":
        return Parsed(challenge=str(payload.get("challenge", "")))
    if header.get("event_type") == "card.action.trigger":  # a click on the proposal card's buttons
        clicked = parse_lark_card(payload)
        return Parsed(decision=clicked) if clicked else Parsed(ignored="a card action that is not ours")
    if header.get("event_type") != "im.message.receive_v1":
        return Parsed(ignored=f"event type {header.get('event_type')!r}")
    event = payload.get("event") or {}
    if (event.get("sender") or {}).get("sender_type") != "user":
        return Parsed(ignored="a bot's message")
    message = event.get("message") or {}
    if message.get("message_type") != "text":
        return Parsed(ignored=f"a {message.get('message_type')!r} message")
    try:
        text = str(json.loads(message.get("content") or "{}").get("text", ""))
    except (ValueError, AttributeError):
        raise ChatPayloadError("event.message.content is not the JSON text Lark sends") from None
    text = " ".join(re.sub(r"@_user_\d+", " ", text).split())
    sender = ((event.get("sender") or {}).get("sender_id") or {}).get("open_id", "")
    decided = parse_decision(text)
    if decided and sender:
        mid = str(message.get("message_id", ""))
        return Parsed(decision=ChatDecision("lark", mid, decided[1], decided[0], str(sender),
                                            str(message.get("chat_id", "")), mid, "reply"))
    if message.get("chat_type") == "group" and not message.get("mentions"):
        return Parsed(ignored="a group message that does not mention the bot")
    if not text:
        return Parsed(ignored="an empty message")
    return Parsed(question=ChatQuestion("lark", str(header.get("event_id", "")), text, str(message.get("chat_id", "")),
                                        str(message.get("message_id", "")), str(sender)))


# ---- replies --------------------------------------------------------------------------------

class ReplyError(Exception):
    pass


class ChatReplier:
    """Posts replies into the question's thread through the platform's web API."""

    def __init__(self, settings: Settings, timeout: float = 15.0) -> None:
        self.settings = settings
        self.timeout = timeout
        self._lark_token: tuple[str, float] | None = None
        self._lock = threading.Lock()

    def post(self, q: ChatQuestion, text: str, *, blocks: list[dict[str, Any]] | None = None,
             card: dict[str, Any] | None = None) -> None:
        """A thread reply; with `blocks` (Slack Block Kit) or `card` (a Lark interactive card)
        the platform shows those, `text` being Slack's notification fallback."""
        import httpx

        text = redact(text)
        with httpx.Client(timeout=self.timeout, trust_env=True) as client:
            if q.platform == "slack":
                self._slack(client, q, text, blocks)
            else:
                self._lark(client, q, text, card)

    def _slack(self, client: Any, q: ChatQuestion, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        from .delivery import to_mrkdwn

        url = self.settings.slack_api_url.rstrip("/") + "/chat.postMessage"
        message: dict[str, Any] = {"channel": q.channel, "thread_ts": q.thread, "text": to_mrkdwn(text)}
        if blocks:
            message["blocks"] = redact_tree(blocks)
        r = client.post(url, headers={"Authorization": f"Bearer {self.settings.slack_bot_token}"}, json=message)
        body = _json(r)
        if r.status_code != 200 or not body.get("ok"):
            raise ReplyError(f"Slack chat.postMessage: HTTP {r.status_code}, {body.get('error') or r.text[:200]}")

    def _tenant_token(self, client: Any) -> str:
        with self._lock:
            if self._lark_token and self._lark_token[1] > time.monotonic():
                return self._lark_token[0]
            url = self.settings.lark_api_url.rstrip("/") + "/open-apis/auth/v3/tenant_access_token/internal"
            r = client.post(url, json={"app_id": self.settings.lark_app_id, "app_secret": self.settings.lark_app_secret})
            body = _json(r)
            if r.status_code != 200 or body.get("code") != 0 or not body.get("tenant_access_token"):
                raise ReplyError(f"Lark tenant_access_token: HTTP {r.status_code}, code {body.get('code')}: "
                                 f"{body.get('msg') or r.text[:200]}; check lark_app_id and lark_app_secret")
            ttl = float(body.get("expire", 7200)) - 300  # renew before it expires
            self._lark_token = (str(body["tenant_access_token"]), time.monotonic() + max(ttl, 60))
            return self._lark_token[0]

    def _lark(self, client: Any, q: ChatQuestion, text: str, card: dict[str, Any] | None = None) -> None:
        token = self._tenant_token(client)
        url = self.settings.lark_api_url.rstrip("/") + f"/open-apis/im/v1/messages/{q.thread}/reply"
        if card:
            kind, content = "interactive", json.dumps(redact_tree(card), ensure_ascii=False)
        else:
            kind, content = "text", json.dumps({"text": text}, ensure_ascii=False)
        r = client.post(url, headers={"Authorization": f"Bearer {token}"},
                        json={"msg_type": kind, "content": content, "reply_in_thread": True})
        body = _json(r)
        if r.status_code != 200 or body.get("code") != 0:
            raise ReplyError(f"Lark message reply: HTTP {r.status_code}, code {body.get('code')}: "
                             f"{body.get('msg') or r.text[:200]}")


def redact_tree(value: Any) -> Any:
    """Every string inside a JSON-shaped value redacted (the structure kept intact)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [redact_tree(v) for v in value]
    if isinstance(value, dict):
        return {k: redact_tree(v) for k, v in value.items()}
    return value


def _json(response: Any) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


# ---- answering --------------------------------------------------------------------------------

REPLY_CHARS = 3500  # one reply; longer answers are split into at most REPLY_PARTS replies
REPLY_PARTS = 3


def answer_text(session_id: str, verdict: str, root_causes: list[dict[str, Any]], report: str, error: str,
                public_url: str = "", language: str = "en") -> list[str]:
    """The answer as thread replies, in the asker's language: verdict and root cause first,
    then the report, split."""
    from ..faults import fault_info
    from .delivery import fit

    zh = language == "zh"
    link = (f"{public_url.rstrip('/')}/sessions/{session_id}/report" if public_url
            else f"`copilot report {session_id}`")
    if error:
        return [f"排查失败：{error}" if zh else f"The investigation failed: {error}"]
    if root_causes:
        top = root_causes[0]
        kind = fault_info(str(top.get("fault_type", "unknown")))
        confidence = float(top.get("confidence", 0.0))
        head = (f"**[{verdict}] 最可能的根因：{top.get('component', '?')}，{kind.name_zh}（置信度 {confidence:.2f}）**" if zh
                else f"**[{verdict}] Most likely root cause: {top.get('component', '?')}, {kind.name_en} "
                     f"(confidence {confidence:.2f})**")
    elif verdict and verdict != "unknown":
        head = f"**[{verdict}]**"
    else:
        head = "**未找到根因。**" if zh else "**No root cause was found.**"
    where = f"会话 {session_id} · 完整报告：{link}" if zh else f"session {session_id} · full report: {link}"
    body = f"{head}\n{where}\n\n{report}".strip()
    note = f"（回答已截断；完整报告：{link}）" if zh else f"(answer cut; full report: {link})"
    return fit(body, REPLY_CHARS, REPLY_PARTS, note)


def first_reply(event: Any, language: str = "en") -> str | None:
    """What to say before the run: the matched workflow's echo, or the data to be read."""
    from ..events import RunStarted, Thought

    if isinstance(event, Thought) and event.step == 0 and event.text.startswith(("I'll run", "我将运行")):
        return event.text
    if isinstance(event, RunStarted) and not event.data.startswith("workflow "):
        if language == "zh":
            return f"正在排查：{event.question}（数据：{event.data or '无'}）"
        return f"Looking into it: {event.question} (data: {event.data or 'none'})"
    return None


def answer_question(settings: Settings, q: ChatQuestion, reply: Callable[[str], None]) -> dict[str, Any]:
    """Run the question to its end (blocking: call it in a worker thread), replying in its
    thread first with what will run, then with the answer. Returns what was answered."""
    import asyncio
    import dataclasses

    from ..approval import DenyAll
    from ..events import FinalAnswer, RunFailed
    from ..session import Session

    session = Session(dataclasses.replace(settings, auto_approve=False), approver=DenyAll())
    result: dict[str, Any] = {"session_id": session.id, "verdict": "unknown", "root_causes": [], "report": "",
                              "error": "", "diagnosis": {}, "language": "en"}
    said = False
    from ..language import detect_language

    language = settings.language if settings.language in ("en", "zh") else detect_language(q.text)
    result["language"] = language

    async def consume() -> None:
        nonlocal said
        async for event in session.ask(q.text):
            text = None if said else first_reply(event, language)
            if text:
                said = True
                await asyncio.to_thread(reply, text)
            if isinstance(event, FinalAnswer):
                from .investigation import verdict_of

                diagnosis = event.diagnosis or {}
                result.update(verdict=verdict_of(diagnosis), root_causes=list(diagnosis.get("root_causes") or []),
                              report=event.answer, diagnosis=diagnosis)
            elif isinstance(event, RunFailed) and not result["report"]:
                result["error"] = event.error

    try:
        asyncio.run(consume())
    except Exception as exc:  # noqa: BLE001 - a broken run is answered as a failure, not raised
        result["error"] = f"{type(exc).__name__}: {exc}"
    if not result["report"] and not result["error"]:
        result["error"] = "the investigation reached no conclusion (step limit)"
    for part in answer_text(result["session_id"], result["verdict"], result["root_causes"], result["report"],
                            result["error"], settings.serve_public_url, language):
        reply(part)
    return result


class SeenEvents:
    """Event ids already taken (the platforms re-send an event they think was missed)."""

    def __init__(self, limit: int = 10_000) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._limit = limit
        self._lock = threading.Lock()

    def first_time(self, key: str) -> bool:
        with self._lock:
            if key in self._ids:
                return False
            self._ids[key] = None
            while len(self._ids) > self._limit:
                self._ids.popitem(last=False)
            return True
