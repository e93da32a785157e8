"""HTTP items: a request template, auth from the environment or a secrets file, TLS,
timeout and retries (tenacity), then a jq filter over the JSON response.

    request:
      method: GET
      url: ${env:CLUSTER_API}/api/v1/cluster/
      query: {cluster: "${cluster}", time_range: "${start},${end}"}
      headers: {X-Team: sre}
      body: {...}                       # JSON body (POST/PUT)
      auth: {type: bearer, token_env: CLUSTER_API_TOKEN}   # or token_file: ~/.secrets/cluster
            {type: basic, username: bot, password_env: ...} | {type: header, name: X-Api-Key, value_file: ...}
      timeout: 10s
      retries: 2
      ca: /etc/ssl/team-ca.pem          # or insecure: true
      time_format: "%Y-%m-%d %H:%M:%S"  # how ${start}/${end} are written: unix, unix_ms, iso or strftime
    filter: '.data.client_status | map(select(.status == "NO")) | map(.result)'
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from copilot.errors import CopilotError
from copilot.workflows.yamlspec import Spec, check_keys, need, parse_duration, render

from .jqfilter import DEFAULT_CAP_BYTES, DEFAULT_TIMEOUT_S, check_filter, run_filter, warm
from .model import COMMON_FIELDS, MAX_RAW_CHARS, ItemBase, ItemResult, check_placeholders, format_time, outputs_to_findings

METHODS = ("GET", "POST", "PUT", "DELETE", "HEAD", "PATCH")
READ_METHODS = ("GET", "POST", "HEAD")  # POST for search APIs; items are read-only by contract
REQUEST_FIELDS = ("method", "url", "query", "body", "headers", "auth", "timeout", "retries", "ca", "insecure", "time_format")
AUTH_TYPES = ("bearer", "basic", "header")
SECRET_KEYS = ("token", "password", "value")
DEFAULT_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass
class HttpItem(ItemBase):
    method: str = "GET"
    url: str = ""
    query: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    auth: dict[str, Any] = field(default_factory=dict)
    timeout: float = 10.0
    retries: int = 2
    ca: str = ""
    insecure: bool = False
    time_format: str = DEFAULT_TIME_FORMAT
    filter: str = "."
    filter_timeout: float = DEFAULT_TIMEOUT_S
    filter_cap: int = DEFAULT_CAP_BYTES


def _check_request(spec: Spec, req: dict[str, Any], common: dict[str, Any]) -> str:
    """The request's method, once its mappings and placeholders are checked."""
    method = str(req.get("method", "GET")).upper()
    if method not in READ_METHODS:
        raise spec.fail(("request", "method"), f"items only read: use one of {', '.join(READ_METHODS)}")
    for key in ("query", "headers"):
        if key in req and not isinstance(req[key], dict):
            raise spec.fail(("request", key), "must be a mapping of name: value")
    params = common["params"]
    for key in ("url", "query", "body", "headers"):
        if key in req:
            check_placeholders(spec, ("request", key), req[key], params)
    check_placeholders(spec, ("component",), common["component"], params)
    return method


def _check_auth(spec: Spec, req: dict[str, Any]) -> dict[str, Any]:
    """The request's auth mapping, checked: a known type whose secret comes from the
    environment or a file, never from the YAML."""
    auth = req.get("auth") or {}
    if not isinstance(auth, dict):
        raise spec.fail(("request", "auth"), "must be a mapping such as {type: bearer, token_env: API_TOKEN}")
    if not auth:
        return auth
    kind = auth.get("type")
    if kind not in AUTH_TYPES:
        raise spec.fail(("request", "auth", "type"), f"use one of: {', '.join(AUTH_TYPES)}")
    for key in SECRET_KEYS:
        if key in auth:
            raise spec.fail(("request", "auth", key), f"never put secrets in the YAML; use {key}_env: VAR or {key}_file: PATH")
    secret = {"bearer": "token", "basic": "password", "header": "value"}[kind]
    if not (auth.get(f"{secret}_env") or auth.get(f"{secret}_file")):
        raise spec.fail(("request", "auth"), f"{kind} auth needs {secret}_env: VAR or {secret}_file: PATH")
    if kind == "header" and not auth.get("name"):
        raise spec.fail(("request", "auth", "name"), "header auth needs the header's name, e.g. name: X-Api-Key")
    if kind == "basic" and not (auth.get("username") or auth.get("username_env")):
        raise spec.fail(("request", "auth", "username"), "basic auth needs username: NAME or username_env: VAR")
    return auth


def _timeout_retries(spec: Spec, req: dict[str, Any]) -> tuple[float, int]:
    timeout = parse_duration(req.get("timeout", 10))
    if timeout is None or timeout <= 0:
        raise spec.fail(("request", "timeout"), "must be a duration such as 10s or 2m")
    retries = req.get("retries", 2)
    if not isinstance(retries, int) or isinstance(retries, bool) or not 0 <= retries <= 10:
        raise spec.fail(("request", "retries"), "must be a whole number from 0 to 10")
    return timeout, retries


def _filter(spec: Spec, data: dict[str, Any]) -> tuple[str, float]:
    """The jq filter (checked) and its time limit."""
    text = data.get("filter", ".")
    if not isinstance(text, str) or not text.strip():
        raise spec.fail(("filter",), "must be a jq filter, e.g. '.data.items | map(.name)'")
    problem = check_filter(text)
    if problem:
        raise spec.fail(("filter",), f"not a valid jq filter ({problem})")
    filter_timeout = parse_duration(data.get("filter_timeout", DEFAULT_TIMEOUT_S))
    if filter_timeout is None or filter_timeout <= 0:
        raise spec.fail(("filter_timeout",), "must be a duration such as 5s")
    return text, filter_timeout


def _resolve_files(auth: dict[str, Any], ca: str, base: Path) -> tuple[dict[str, Any], str]:
    """Secret files and the CA bundle as absolute paths, relative ones from the YAML's folder."""
    for key in ("token_file", "password_file", "value_file"):
        if auth.get(key):
            auth = dict(auth, **{key: str((base / Path(str(auth[key])).expanduser()).resolve())})
    if ca:
        ca = str((base / Path(ca).expanduser()).resolve())
    return auth, ca


def parse_http(spec: Spec, common: dict[str, Any]) -> HttpItem:
    data = spec.data
    check_keys(spec, (), data, COMMON_FIELDS + ("request", "filter", "filter_timeout", "filter_cap"))
    req = need(spec, (), data, "request", dict, "add request: {method: GET, url: ...}")
    check_keys(spec, ("request",), req, REQUEST_FIELDS)
    url = need(spec, ("request",), req, "url", str, "the URL template, e.g. ${env:CLUSTER_API}/api/v1/cluster/")
    method = _check_request(spec, req, common)
    auth = _check_auth(spec, req)
    timeout, retries = _timeout_retries(spec, req)
    text, filter_timeout = _filter(spec, data)
    auth, ca = _resolve_files(auth, str(req.get("ca", "") or ""), Path(spec.file).parent)
    return HttpItem(**common, method=method, url=url, query=dict(req.get("query") or {}), body=req.get("body"),
                    headers={str(k): str(v) for k, v in (req.get("headers") or {}).items()}, auth=auth,
                    timeout=timeout, retries=retries, ca=ca, insecure=bool(req.get("insecure", False)),
                    time_format=str(req.get("time_format", DEFAULT_TIME_FORMAT)), filter=text,
                    filter_timeout=filter_timeout, filter_cap=int(data.get("filter_cap", DEFAULT_CAP_BYTES)))


def _secret(item: HttpItem, key: str) -> str:
    env_name = item.auth.get(f"{key}_env")
    if env_name:
        value = os.environ.get(str(env_name), "")
        if not value:
            raise CopilotError(f"item {item.name}: environment variable {env_name} is empty; export it with the {key}")
        return value
    path = Path(str(item.auth[f"{key}_file"]))
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise CopilotError(f"item {item.name}: secrets file {path} cannot be read ({exc.strerror}); fix {key}_file") from None


def auth_headers(item: HttpItem) -> dict[str, str]:
    kind = item.auth.get("type")
    if kind == "bearer":
        return {"Authorization": f"Bearer {_secret(item, 'token')}"}
    if kind == "basic":
        user = item.auth.get("username") or os.environ.get(str(item.auth.get("username_env", "")), "")
        raw = f"{user}:{_secret(item, 'password')}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}
    if kind == "header":
        return {str(item.auth["name"]): _secret(item, "value")}
    return {}


_SSL: dict[str, ssl.SSLContext] = {}


def _verify(item: HttpItem) -> ssl.SSLContext | bool:
    """The TLS context (built once per CA bundle: loading CAs costs tens of milliseconds)."""
    if item.insecure:
        return False
    if item.ca not in _SSL:
        try:
            _SSL[item.ca] = ssl.create_default_context(cafile=item.ca or None)
        except (OSError, ssl.SSLError) as exc:
            raise CopilotError(f"item {item.name}: CA bundle {item.ca} cannot be used ({exc}); fix request.ca") from None
    return _SSL[item.ca]


class _Retryable(Exception):
    def __init__(self, response: Any) -> None:
        self.response = response


async def fetch(item: HttpItem, values: dict[str, Any]) -> tuple[Any, str, dict[str, Any]]:
    """Send the request; return (parsed JSON or text, raw text, what was asked)."""
    import httpx
    from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

    url = render(item.url, values)
    query = render(item.query, values)
    headers = render(item.headers, values)
    body = render(item.body, values) if item.body is not None else None
    asked = {"method": item.method, "url": url, "query": query}
    headers.update(auth_headers(item))
    retrying = AsyncRetrying(
        retry=retry_if_exception_type((_Retryable, httpx.TransportError)),
        stop=stop_after_attempt(1 + item.retries), wait=wait_exponential(multiplier=0.2, max=4), reraise=True,
    )
    try:
        async with httpx.AsyncClient(timeout=item.timeout, verify=_verify(item), follow_redirects=True) as client:
            async for attempt in retrying:
                with attempt:
                    response = await client.request(item.method, url, params=query, headers=headers,
                                                    json=body if item.method != "GET" else None)
                    if response.status_code == 429 or response.status_code >= 500:
                        raise _Retryable(response)
    except _Retryable as exc:
        response = exc.response
    except httpx.TimeoutException:
        raise CopilotError(f"item {item.name}: {url} did not answer within {item.timeout:g}s "
                           f"({1 + item.retries} attempts); raise request.timeout or check the service") from None
    except httpx.TransportError as exc:
        raise CopilotError(f"item {item.name}: cannot reach {url} ({type(exc).__name__}: {exc}); check the URL and network") from None
    if response.status_code >= 400:
        raise CopilotError(f"item {item.name}: {item.method} {url} answered HTTP {response.status_code}"
                           f"{' after ' + str(1 + item.retries) + ' attempts' if response.status_code >= 500 else ''}: "
                           f"{response.text[:120]!r}")
    text = response.text
    try:
        parsed: Any = response.json()
    except (json.JSONDecodeError, ValueError):
        parsed = text
    return parsed, text, asked


async def run_http(item: HttpItem, values: dict[str, Any], window: tuple[float, float], tz: Any) -> ItemResult:
    full = dict(values, start=format_time(window[0], item.time_format, tz), end=format_time(window[1], item.time_format, tz))
    warming = asyncio.create_task(warm())  # a filter process starts while the request is in flight
    try:
        parsed, raw, asked = await fetch(item, full)
    finally:
        await warming
    filtered = await run_filter(item.filter, parsed, timeout_s=item.filter_timeout, cap_bytes=item.filter_cap,
                                what=f"item {item.name}: filter")
    component = render(item.component, full) if item.component else ""
    findings = outputs_to_findings(item, filtered.outputs, component, window)
    return ItemResult(item.name, findings, filtered.outputs, raw[:MAX_RAW_CHARS], asked, truncated=filtered.truncated)
