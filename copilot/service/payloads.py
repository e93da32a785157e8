"""Alert webhook payloads (Alertmanager v4, Grafana alerting) -> one `AlertGroup`.

Grafana's unified alerting posts the Alertmanager shape plus a few fields (title, state,
message, values), so one parser reads both; Grafana's legacy alerts carry `ruleName` and
`evalMatches` and become a one-alert group.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

COMPONENT_LABELS = ("service", "app", "component", "job", "deployment", "container", "pod", "instance")


class PayloadError(ValueError):
    """The request body is not a webhook payload we read; the message says which field."""


@dataclass
class AlertItem:
    name: str
    status: str  # firing | resolved
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: float | None  # unix seconds
    fingerprint: str

    @property
    def component(self) -> str:
        for key in COMPONENT_LABELS:
            if self.labels.get(key):
                return self.labels[key]
        return ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "labels": self.labels, "annotations": self.annotations,
                "starts_at": self.starts_at, "fingerprint": self.fingerprint, "component": self.component}


@dataclass
class AlertGroup:
    source: str  # alertmanager | grafana
    key: str  # groupKey
    status: str  # the payload's status
    alerts: list[AlertItem] = field(default_factory=list)
    external_url: str = ""

    @property
    def firing(self) -> list[AlertItem]:
        return [a for a in self.alerts if a.status == "firing"]


def parse_time(value: Any) -> float | None:
    """RFC 3339 as Alertmanager and Grafana write it; the zero time means unknown."""
    if not value or not isinstance(value, str) or value.startswith("0001-01-01"):
        return None
    text = value.strip().replace("Z", "+00:00")
    if "." in text:  # Go writes up to nine fraction digits; Python reads six
        head, _, rest = text.partition(".")
        digits = "".join(ch for ch in rest if ch.isdigit())
        text = f"{head}.{digits[:6]}{rest[len(digits):]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).timestamp()


def _strings(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PayloadError(f"{where} must be an object of strings")
    return {str(k): str(v) for k, v in value.items()}


def _fingerprint(labels: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16]


def parse_alertmanager(body: Any, source: str = "alertmanager") -> AlertGroup:
    if not isinstance(body, dict):
        raise PayloadError("the body must be a JSON object (Alertmanager webhook payload, version 4)")
    if source == "grafana" and "alerts" not in body and ("ruleName" in body or "evalMatches" in body):
        return _grafana_legacy(body)
    raw = body.get("alerts")
    if not isinstance(raw, list) or not raw:
        raise PayloadError("alerts: expected a non-empty list of alerts")
    status = str(body.get("status") or "firing")
    alerts: list[AlertItem] = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise PayloadError(f"alerts[{i}]: expected an object with labels, annotations and startsAt")
        labels = _strings(item.get("labels"), f"alerts[{i}].labels")
        annotations = _strings(item.get("annotations"), f"alerts[{i}].annotations")
        name = labels.get("alertname") or str(body.get("title") or "")
        if not name:
            raise PayloadError(f"alerts[{i}].labels.alertname: missing; every alert needs a name")
        alerts.append(AlertItem(
            name=name,
            status=str(item.get("status") or status),
            labels=labels,
            annotations=annotations,
            starts_at=parse_time(item.get("startsAt")),
            fingerprint=str(item.get("fingerprint") or _fingerprint(labels)),
        ))
    key = str(body.get("groupKey") or "") or json.dumps(_strings(body.get("groupLabels"), "groupLabels"), sort_keys=True)
    return AlertGroup(source, key, status, alerts, str(body.get("externalURL") or ""))


def _grafana_legacy(body: dict[str, Any]) -> AlertGroup:
    name = str(body.get("ruleName") or body.get("title") or "")
    if not name:
        raise PayloadError("ruleName: missing; the Grafana alert needs a rule name")
    state = str(body.get("state") or "alerting")
    status = "firing" if state == "alerting" else "resolved"
    labels = {"alertname": name, **_strings(body.get("tags"), "tags")}
    item = AlertItem(name, status, labels, {"description": str(body.get("message") or "")}, None,
                     str(body.get("ruleId") or _fingerprint(labels)))
    return AlertGroup("grafana", f"grafana:{item.fingerprint}", status, [item])
