"""Incident chat logs -> key facts (the seed's "事故拉群" scenario).

Reads a Slack export (a channel's JSON list of messages, or a folder of daily files), a
Lark/Feishu export (the im/v1/messages `items` shape, or a list of {sender, content,
create_time}) or plain text ("[2024-03-29 14:23] alice: ..."), and pulls out the
services and clusters named, when it started, the symptoms, the hypotheses already ruled
out and the actions taken.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from typing import Any

from ..errors import CopilotError


@dataclass
class Message:
    who: str
    text: str
    at: float | None = None


@dataclass
class ChatFacts:
    clusters: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    start: float | None = None
    symptoms: list[str] = field(default_factory=list)
    ruled_out: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    messages: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def question(self, language: str) -> str:
        """A question for the host, in the chat's language, from the facts."""
        parts = []
        if self.clusters:
            parts.append(("集群 " if language == "zh" else "cluster ") + ", ".join(self.clusters))
        if self.services:
            parts.append(("服务 " if language == "zh" else "service ") + ", ".join(self.services))
        lead = "，".join(parts) if language == "zh" else ", ".join(parts)
        symptoms = ("；".join(self.symptoms[:3]) if language == "zh" else "; ".join(self.symptoms[:3]))
        if language == "zh":
            return f"{lead}：{symptoms}，为什么？" if lead else f"{symptoms}，为什么？"
        return f"{lead}: {symptoms} - why?" if lead else f"{symptoms} - why?"


_CLUSTER = re.compile(r"(?:集群|cluster)\s*[:：=]?\s*([A-Za-z0-9][\w.\-]*)", re.I)
_SERVICE = re.compile(r"(?:服务|service|svc|psm)\s*[:：=]?\s*([A-Za-z][\w.\-]*)|\b([a-z][a-z0-9]*-?(?:service|svc|api))\b", re.I)
_SYMPTOM = re.compile(r"error|timeout|timed out|slow|latenc|5\d\d|pending|oom|crash|fail|down|unavailable|spike|disk full|"
                      r"告警|报错|超时|延迟|变慢|慢|失败|异常|不可用|打满|写满|飙升|挂了", re.I)
_RULED_OUT = re.compile(r"not the|isn't|is not|ruled out|rule out|no change|looks fine|looks normal|is normal|are normal|"
                        r"不是|排除|没问题|没有问题|正常|无变更|没有变更", re.I)
_ACTION = re.compile(r"restart|rolled back|roll back|rollback|scal(ed|ing) (out|up)|drain|fail(ed)? ?over|cordon|"
                     r"重启|回滚|扩容|切流|摘除|降级|隔离", re.I)
_STAMP = re.compile(r"^\s*\[?(\d{4}-\d{2}-\d{2}[ T]\d{1,2}:\d{2}(?::\d{2})?)\]?\s*([^:：]{1,40})[:：]\s*(.*)$")
_SHORT_STAMP = re.compile(r"^\s*\[?(\d{1,2}:\d{2}(?::\d{2})?)\]?\s*([^:：]{1,40})[:：]\s*(.*)$")
_NOT_NAMES = {"is", "was", "are", "has", "the", "a", "an", "status", "health", "down", "up", "的", "and"}


def _ts(value: Any) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x / 1000.0 if x > 1e11 else x


def _feishu_text(content: Any) -> str:
    if isinstance(content, str):
        try:
            parsed = json.loads(content)
        except json.JSONDecodeError:
            return content
        content = parsed
    if isinstance(content, dict):
        if "text" in content:
            return str(content["text"])
        # rich text (post): {"title": ..., "content": [[{"tag": "text", "text": ...}]]}
        parts = [content.get("title", "")]
        for line in content.get("content", []) or []:
            parts += [str(el.get("text", "")) for el in line if isinstance(el, dict)]
        return " ".join(p for p in parts if p)
    return str(content)


def parse_messages(path: Path, tz: tzinfo | None = None) -> list[Message]:
    """The messages of a chat export; a time without a zone is read in `tz` (the configured
    zone, UTC by default)."""
    if path.is_dir():
        out: list[Message] = []
        for f in sorted(path.glob("*.json")):
            out += parse_messages(f, tz)
        return out
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CopilotError(f"{path}: cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    stripped = raw.lstrip()
    if stripped.startswith(("[", "{")):
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            if _STAMP.match(stripped.splitlines()[0]):
                return _from_text(raw, tz)  # "[2024-03-29 14:20] alice: ..." is text
            raise CopilotError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg}); export the chat again or save it as text") from None
        return _from_json(data, path)
    return _from_text(raw, tz)


def _from_json(data: Any, path: Path) -> list[Message]:
    if isinstance(data, dict):
        items = (data.get("data") or {}).get("items") if isinstance(data.get("data"), dict) else None
        items = items or data.get("items") or data.get("messages")
        if not isinstance(items, list):
            raise CopilotError(f"{path}: no messages found; expected a Slack export list, a Feishu data.items list or messages")
        data = items
    if not isinstance(data, list):
        raise CopilotError(f"{path}: no messages found")
    out = []
    for m in data:
        if not isinstance(m, dict):
            continue
        if "body" in m or "msg_type" in m:  # Feishu im/v1/messages
            text = _feishu_text((m.get("body") or {}).get("content", ""))
            sender = m.get("sender") or {}
            who = sender.get("name") or sender.get("id", "") if isinstance(sender, dict) else str(sender)
            out.append(Message(str(who), text, _ts(m.get("create_time"))))
        elif "ts" in m or m.get("type") == "message":  # Slack
            profile = m.get("user_profile") or {}
            who = profile.get("real_name") or m.get("user_name") or m.get("user", "")
            out.append(Message(str(who), str(m.get("text", "")), _ts(m.get("ts"))))
        else:
            content = m.get("content", m.get("text", ""))
            out.append(Message(str(m.get("sender", m.get("user", ""))), _feishu_text(content),
                               _ts(m.get("create_time", m.get("time")))))
    return [m for m in out if m.text.strip()]


def _from_text(raw: str, tz: tzinfo | None = None) -> list[Message]:
    out = []
    for line in raw.splitlines():
        if not line.strip():
            continue
        m = _STAMP.match(line)
        if m:
            try:
                stamp = datetime.fromisoformat(m.group(1).replace("T", " "))
                at = (stamp if stamp.tzinfo else stamp.replace(tzinfo=tz or timezone.utc)).timestamp()
            except ValueError:
                at = None
            out.append(Message(m.group(2).strip(), m.group(3).strip(), at))
            continue
        m = _SHORT_STAMP.match(line)
        if m:
            out.append(Message(m.group(2).strip(), m.group(3).strip(), None))
            continue
        out.append(Message("", line.strip(), None))
    return out


def _names(pattern: re.Pattern[str], text: str) -> list[str]:
    out = []
    for m in pattern.finditer(text):
        name = next((g for g in m.groups() if g), "")
        name = name.rstrip(".,;")
        if name and name.lower() not in _NOT_NAMES and name not in out:
            out.append(name)
    return out


def extract_facts(messages: list[Message]) -> ChatFacts:
    facts = ChatFacts(messages=len(messages))
    for msg in messages:
        text = msg.text
        for c in _names(_CLUSTER, text):
            if c not in facts.clusters:
                facts.clusters.append(c)
        for s in _names(_SERVICE, text):
            if s not in facts.services and s not in facts.clusters:
                facts.services.append(s)
        if _RULED_OUT.search(text):
            facts.ruled_out.append(text)
        elif _ACTION.search(text):
            facts.actions.append(text)
        elif _SYMPTOM.search(text):
            facts.symptoms.append(text)
            if msg.at is not None and (facts.start is None or msg.at < facts.start):
                facts.start = msg.at
    return facts
