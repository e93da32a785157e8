"""Alertmanager (API v2) as a source of alerts: the incident's starting point.

`GET /api/v2/alerts?active=true&silenced=true&inhibited=true` lists the alerts it holds;
each firing one in the query's window becomes an `Alert` whose component comes from the
first of `alertmanager_component_labels` the alert carries (default: service, app, job,
component, deployment, ... pod). Silenced and inhibited alerts are kept but marked: the
label `state` ("active" / "suppressed"), `silenced_by` / `inhibited_by` (ids, or the
inhibiting alert's fingerprint), and a "(silenced ...)" note in the description, so the
report can say so. `alert_window()` turns firing alerts into the incident's window.
`/api/v2/status` answers check().
"""

from __future__ import annotations

import time
from typing import Any

from copilot.errors import CopilotError
from copilot.sources import SourceQuery
from copilot.plugins.telemetry.model import Alert, Telemetry
from copilot.plugins.telemetry.tables import parse_time, service_of

from .base import HttpSource
from .http import Capped, SourceHttp

DEFAULT_COMPONENT_LABELS = (
    "service", "service_name", "app", "app_kubernetes_io_name", "job", "component", "deployment", "container",
    "namespace", "pod", "instance",
)
ALERTS_PATH = "/api/v2/alerts"
PARAMS = {"active": "true", "silenced": "true", "inhibited": "true", "unprocessed": "true"}


class AlertmanagerSource(HttpSource):
    name = "alertmanager"
    kind_label = "Alertmanager"
    kinds = frozenset({"alerts"})

    @property
    def component_labels(self) -> tuple[str, ...]:
        return self.list_option("component_labels", DEFAULT_COMPONENT_LABELS)

    def fetch(self, client: SourceHttp) -> list[dict[str, Any]]:
        body = client.get(ALERTS_PATH, params=PARAMS)
        if not isinstance(body, list):
            raise CopilotError(f"{client.shown}{ALERTS_PATH} did not return a list of alerts; "
                               "is alertmanager_url an Alertmanager (API v2)?")
        return [a for a in body if isinstance(a, dict)]

    def collect(self, query: SourceQuery) -> Telemetry:
        now = time.time()
        with self.client() as client:
            raw = self.fetch(client)
        tel = Telemetry(meta={"source": self.name, "label": self.label})
        cap = Capped(self.name, "alerts", self.cap(query))
        converted = [to_alert(a, self.component_labels, now) for a in raw]
        alerts = [a for a in converted if a is not None and _overlaps(a, query.start, query.end)]
        alerts.sort(key=lambda a: a.timestamp)
        for alert in alerts:
            if not cap.take():
                break
            tel.alerts.append(alert)
        cap.say(tel.meta, "resolve or silence the noise")
        return tel

    def probe(self, client: SourceHttp, now: float) -> str:
        status = client.get("/api/v2/status")
        if not isinstance(status, dict) or "versionInfo" not in status:
            raise CopilotError(f"{client.shown}/api/v2/status is not an Alertmanager status; check alertmanager_url")
        version = (status.get("versionInfo") or {}).get("version", "?")
        alerts = [to_alert(a, self.component_labels, now) for a in self.fetch(client)]
        firing = [a for a in alerts if a is not None and a.labels.get("state") != "resolved"]
        muted = sum(1 for a in firing if a.labels.get("state") == "suppressed")
        recent = sum(1 for a in firing if a.timestamp >= now - 3600)
        text = f"Alertmanager {version}, {len(firing)} alerts firing"
        if muted:
            text += f" ({muted} silenced or inhibited)"
        return text + f", {recent} started in the last hour"


def to_alert(raw: dict[str, Any], component_labels: tuple[str, ...] = DEFAULT_COMPONENT_LABELS,
             now: float | None = None) -> Alert | None:
    """An `Alert` from one API v2 alert (a "gettableAlert"); None when it has no start time."""
    labels = {str(k): str(v) for k, v in (raw.get("labels") or {}).items()}
    annotations = {str(k): str(v) for k, v in (raw.get("annotations") or {}).items()}
    try:
        start = parse_time(raw["startsAt"])
    except (KeyError, TypeError, ValueError):
        return None
    status = raw.get("status") or {}
    state = str(status.get("state") or "active")
    ends = raw.get("endsAt")
    try:
        if ends and parse_time(ends) <= (time.time() if now is None else now):
            state = "resolved"
    except (TypeError, ValueError):
        pass
    component = ""
    for key in component_labels:
        if labels.get(key):
            component = service_of(labels[key]) if key == "pod" else labels[key]
            break
    silenced = [str(s) for s in status.get("silencedBy") or []]
    inhibited = [str(s) for s in status.get("inhibitedBy") or []]
    marks: dict[str, str] = {"state": state}
    notes = []
    if silenced:
        marks["silenced_by"] = ",".join(silenced)
        notes.append(f"silenced by {', '.join(silenced)}")
    if inhibited:
        marks["inhibited_by"] = ",".join(inhibited)
        notes.append(f"inhibited by {', '.join(inhibited)}")
    if state == "resolved":
        notes.append("resolved")
    if raw.get("fingerprint"):
        marks["fingerprint"] = str(raw["fingerprint"])
    summary = annotations.get("summary", "")
    description = annotations.get("description", "") or annotations.get("message", "")
    text = " — ".join(t for t in dict.fromkeys((summary, description)) if t)
    if notes:
        text = (text + " " if text else "") + f"({'; '.join(notes)})"
    return Alert(start, component, labels.get("alertname", "alert"), labels.get("severity", "warning"), text,
                 {**labels, **marks})


def _overlaps(alert: Alert, start: float, end: float) -> bool:
    """Firing at some point of [start, end]: started before its end (resolved ones are kept
    only when they started inside it)."""
    if alert.timestamp > end:
        return False
    return alert.labels.get("state") != "resolved" or alert.timestamp >= start


def alert_window(alerts: list[Alert], now: float | None = None) -> tuple[float, float] | None:
    """The incident's window from firing alerts: from the earliest startsAt to now (None
    without a firing alert). Alerts that are active (not silenced or inhibited) decide when
    there are any; otherwise the muted ones do, since they fire all the same."""
    firing = [a for a in alerts if a.labels.get("state", "active") != "resolved"]
    active = [a for a in firing if a.labels.get("state", "active") == "active"] or firing
    if not active:
        return None
    now = time.time() if now is None else now
    start = min(a.timestamp for a in active)
    return start, max(now, start)
