"""Read OpenTelemetry OTLP/JSON trace exports (`{"resourceSpans": [...]}`) into spans.

Accepts one export object, a list of them, or JSON lines of them (the OTel collector's
file exporter writes one per line). Ids may be hex or base64; times are unix nanoseconds.
"""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path
from typing import Any

from copilot.errors import DataError

from .model import Span
from .tables import open_text, service_of


def _attr(attributes: list[dict[str, Any]] | None, key: str) -> str:
    for a in attributes or []:
        if a.get("key") == key:
            value = a.get("value") or {}
            for v in value.values():
                return str(v)
    return ""


def _hex_id(value: Any) -> str:
    text = str(value or "")
    if not text or all(c in "0123456789abcdefABCDEF" for c in text):
        return text.lower()
    try:
        return base64.b64decode(text, validate=True).hex()
    except (binascii.Error, ValueError):
        return text


def _documents(path: Path) -> list[dict[str, Any]]:
    with open_text(path) as fh:
        text = fh.read()
    try:
        data = json.loads(text)
        docs = data if isinstance(data, list) else [data]
    except json.JSONDecodeError:
        docs = []
        for n, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    docs.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise DataError(f"{path}: line {n} is not valid JSON ({exc.msg}); expected OTLP/JSON") from None
    if not all(isinstance(d, dict) and "resourceSpans" in d for d in docs):
        raise DataError(f"{path}: not OTLP/JSON traces; expected an object with a \"resourceSpans\" list")
    return docs


def read_otlp(path: Path) -> list[Span]:
    out: list[Span] = []
    for doc in _documents(path):
        out.extend(spans_of(doc.get("resourceSpans") or [], str(path)))
    return out


def spans_of(resource_spans: list[dict[str, Any]], where: str) -> list[Span]:
    """Spans of OTLP/JSON `resourceSpans` (Tempo calls them `batches`); `where` names the
    origin in error messages."""
    out: list[Span] = []
    for rs in resource_spans:
        attrs = (rs.get("resource") or {}).get("attributes")
        service = _attr(attrs, "service.name") or "unknown"
        instance = _attr(attrs, "k8s.pod.name") or _attr(attrs, "service.instance.id") or _attr(attrs, "host.name")
        for ss in (rs.get("scopeSpans") or rs.get("instrumentationLibrarySpans") or []):
            for n, sp in enumerate(ss.get("spans") or [], start=1):
                try:
                    start = int(sp["startTimeUnixNano"])
                    end = int(sp["endTimeUnixNano"])
                except (KeyError, TypeError, ValueError):
                    raise DataError(f"{where}: span {n} of service {service!r} lacks startTimeUnixNano/endTimeUnixNano") from None
                code = (sp.get("status") or {}).get("code", 0)
                failed = code in (2, "2", "STATUS_CODE_ERROR")
                out.append(Span(_hex_id(sp.get("traceId")), _hex_id(sp.get("spanId")), _hex_id(sp.get("parentSpanId")),
                                service_of(service), str(sp.get("name", "")), start / 1e9, (end - start) / 1e6,
                                "error" if failed else "ok", instance))
    return out
