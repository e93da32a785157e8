"""Redaction of secrets, where data enters (every telemetry source) and again before any of
it is written (tool output, model prompts, session transcripts, memory).

Covers: key=value / key: value pairs whose key names a secret (English and Chinese keys,
quoted values, `--password x` flags), bearer and basic auth headers, credentials in URLs
(`redis://:pw@host` too), well-known token formats (AWS access and bare secret keys,
GitHub, Slack, OpenAI-style keys, JWTs), kubeconfig key data and PEM private keys (also
when a summary cut the END line). The corpus of shapes is tests/data/secrets_corpus.yaml.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

MASK = "[REDACTED]"

_KEY = (
    r"(?:(?<![\w-])[\w.-]*(?:password|passwd|passphrase|pwd|secret|token|api[_-]?key|apikey|access[_-]?key"
    r"|private[_-]?key|key[_-]?data|credentials?|client[_-]?secret)"
    r"|密码|口令|密钥|令牌|秘钥)"
)
_B64 = r"A-Za-z0-9+/="
_NUMERIC_OK = re.compile(r"(?i)token|key")  # "max_tokens=4096" is a count, not a secret

_KV = re.compile(
    rf"(?i)(?P<key>{_KEY})(?P<sep>[\"']?\s*(?:[:=：]|=>)\s*)"
    rf"(?P<value>\"[^\"\n]+\"|'[^'\n]+'|(?!\[REDACTED\]|<\*>)[^\s\"',;&)}}\]]+)"
)
_FLAG = re.compile(
    r"(?i)(?<![\w-])(?P<flag>--?(?:password|passwd|pass|token|secret|api-key|apikey|access-key|client-secret))"
    r"(?P<sep>[= ]+)(?!\[REDACTED\])(?P<value>\"[^\"\n]+\"|'[^'\n]+'|[^\s\"']+)"
)

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # a PEM private key, whole or cut before its END line (a summary, a truncated log)
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----(?:.*?-----END [A-Z ]*PRIVATE KEY-----"
                rf"|(?:\\\\n|\\n|[\s{_B64}:,.-])*)", re.S), MASK),
    (re.compile(r"(?i)\b(authorization\s*[:=]\s*)(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{3,}"), rf"\1\2 {MASK}"),
    (re.compile(r"(?i)\bbearer\s+(?![A-Za-z]+\b)(?!\[REDACTED\])[A-Za-z0-9._~+/=-]{4,}"), f"Bearer {MASK}"),
    (re.compile(r"(?i)([a-z][a-z0-9+.-]*://[^\s:/@]*:)(?!\[REDACTED\])[^\s@/]+@"), rf"\1{MASK}@"),
    (re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b"), MASK),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b|\bgithub_pat_[A-Za-z0-9_]{22,}"), MASK),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}|\bxapp-[A-Za-z0-9-]{10,}"), MASK),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{20,}\b"), MASK),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b"), MASK),
    # a bare AWS secret access key: 40 base64 characters with upper, lower case and digits
    (re.compile(r"(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+]{0,39}[A-Z])(?=[A-Za-z0-9/+]{0,39}[a-z])"
                r"(?=[A-Za-z0-9/+]{0,39}[0-9])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"), MASK),
)


def _kv(match: re.Match[str]) -> str:
    value = match.group("value")
    bare = value.strip("\"'")
    if bare.isdigit() and _NUMERIC_OK.search(match.group("key")) and "password" not in match.group("key").lower():
        return match.group(0)
    quote = value[0] if value[0] in "\"'" else ""
    return f"{match.group('key')}{match.group('sep')}{quote}{MASK}{quote}"


def _flag(match: re.Match[str]) -> str:
    value = match.group("value")
    quote = value[0] if value[0] in "\"'" else ""
    return f"{match.group('flag')}{match.group('sep')}{quote}{MASK}{quote}"


# Every pattern above needs one of these; most log lines hold none and skip the patterns.
# (searched in the lowercased text: a case-insensitive alternation is ten times slower)
_TRIGGER = re.compile(
    r"pass|pwd|secret|token|key|credential|bearer|basic|://|akia|asia|agpa|aida|aroa|gh[pousr]_|github_pat_"
    r"|xox|xapp-|sk-|eyj|密码|口令|密钥|令牌|秘钥"
)
_B64_RUN = re.compile(r"[A-Za-z0-9/+]{40}")


@lru_cache(maxsize=8192)
def _redact(text: str) -> str:
    if not _TRIGGER.search(text.lower()) and not _B64_RUN.search(text):
        return text
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    text = _FLAG.sub(_flag, text)
    return _KV.sub(_kv, text)


def redact(text: str) -> str:
    if not text or not isinstance(text, str):
        return text
    return _redact(text) if len(text) < 4096 else _redact.__wrapped__(text)


def redact_obj(obj: Any) -> Any:
    """A copy of a JSON-like value (dicts, lists, strings) with every string redacted."""
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        return {k: redact_obj(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [redact_obj(v) for v in obj]
    return obj


def _label(key: str, value: Any) -> str:
    """A label value, masked when the label's name says it is a secret."""
    pair = redact(f"{key}={value}")
    return pair[len(key) + 1:] if pair.startswith(f"{key}=") else redact(str(value))


def redact_telemetry(tel: Any) -> Any:
    """Redact a whole `Telemetry` in place (and return it): log messages, change
    descriptions and authors, alert names, descriptions and labels, span operations and
    metric labels. Call it once where data enters the pipeline."""
    for record in tel.logs:
        record.message = redact(record.message)
    for change in tel.changes:
        change.description = redact(change.description)
        change.author = redact(change.author)
    for alert in tel.alerts:
        alert.description = redact(alert.description)
        alert.name = redact(alert.name)
        alert.labels = {k: _label(k, v) for k, v in alert.labels.items()}
    for span in tel.spans:
        span.operation = redact(span.operation)
    for series in tel.metrics:
        if series.labels:
            series.labels = {k: _label(k, v) for k, v in series.labels.items()}
    platform = getattr(tel, "platform", None)
    if platform:  # Kubernetes: event messages, and every container's env values and messages
        for event in platform.events:
            event.message = redact(event.message)
        for name in ("pods", "deployments", "replicasets", "statefulsets", "daemonsets", "jobs"):
            for obj in getattr(platform, name):
                _redact_pod_spec(obj)
    return tel


def _redact_pod_spec(obj: Any) -> None:
    """Env values in a pod (or a workload's pod template) and container messages, redacted."""
    spec = obj.get("spec") or {}
    for pod_spec in (spec, (spec.get("template") or {}).get("spec") or {},
                     ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template", {}).get("spec") or {}):
        for c in (pod_spec.get("containers") or []) + (pod_spec.get("initContainers") or []):
            for env in c.get("env") or []:
                if isinstance(env, dict) and isinstance(env.get("value"), str):
                    env["value"] = redact(f"{env.get('name', '')}={env['value']}").split("=", 1)[-1]
    for cs in ((obj.get("status") or {}).get("containerStatuses") or []):
        for state in (cs.get("state") or {}, cs.get("lastState") or {}):
            for detail in state.values():
                if isinstance(detail, dict) and isinstance(detail.get("message"), str):
                    detail["message"] = redact(detail["message"])
