"""A client for the Prometheus HTTP API, as Prometheus, VictoriaMetrics and Thanos serve it.

`PrometheusClient` speaks `/api/v1/query`, `/api/v1/query_range`, `/api/v1/series`,
`/api/v1/labels` and `/api/v1/label/<name>/values` under a base URL that may carry a
path prefix (VictoriaMetrics cluster `.../select/0/prometheus`, a Thanos or reverse-proxy
route). Connection errors, 429 and 5xx are retried with jittered exponential backoff
(honouring Retry-After); everything else becomes a one-line `CopilotError` naming the URL
and what to fix. Credentials: a bearer token (or a full `Scheme value` header), or
`user:password@` in the URL for basic auth. TLS: a CA bundle, or verification off.

Heavy work belongs on the server: the query builders below aggregate with PromQL
(`sum by (service) (rate(...))`, `histogram_quantile(...)`) so only a handful of series
cross the wire, and `matrix_to_series` turns the answer into `MetricSeries` on one time grid.
"""

from __future__ import annotations

import math
import re
import ssl
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence
from urllib.parse import urlsplit

import httpx
import numpy as np
from tenacity import Retrying, retry_if_exception, stop_after_attempt

from copilot.errors import CopilotError
from copilot.plugins.sources.http import Retryable as PromRetryable
from copilot.plugins.sources.http import Wait as _Wait
from copilot.plugins.sources.http import authorization, redact_url, tls_verify
from copilot.plugins.sources.http import retryable as _retryable

from .model import MetricSeries

# Labels that name a component, most specific service-level name first. `pod` values lose
# their Kubernetes replica suffix ("cart-7d9f8b6c5d-x2k4p" -> "cart").
DEFAULT_COMPONENT_LABELS: tuple[str, ...] = (
    "service", "service_name", "app", "app_kubernetes_io_name", "k8s_app", "container", "job", "pod", "instance",
)
DEFAULT_RETRIES = 3  # attempts after the first
DEFAULT_MAX_POINTS = 720  # points per series when the step is chosen automatically
MAX_POINTS = 11_000  # Prometheus refuses more points per series than this
NICE_STEPS = (1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
TOTAL = "all"  # the component of a series with no component label, e.g. sum(rate(...)) without `by`
CONFIG_HINT = "set prometheus_url in config.toml or COPILOT_PROMETHEUS_URL"

_K8S = "[bcdfghjklmnpqrstvwxz2456789]"  # the alphabet of Kubernetes' generated name suffixes
_POD_SUFFIX = re.compile(rf"-(?:{_K8S}{{6,10}}-{_K8S}{{5}}|{_K8S}{{5}}|\d+)$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, None: 1}


def parse_duration(value: str | float | int) -> float:
    """Seconds from 30, "30", "30s", "5m", "1.5h", "2d"."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    m = _DURATION.match(str(value))
    if not m:
        raise CopilotError(f"{value!r} is not a duration; use seconds or 30s, 5m, 1h, 1d")
    return float(m.group(1)) * _UNITS[m.group(2)]


def auto_step(start: float, end: float, max_points: int = DEFAULT_MAX_POINTS, min_step: float = 15.0) -> float:
    """The smallest round step that keeps a range query under `max_points` points per series."""
    need = max(min_step, (end - start) / max(1, max_points - 1))
    for step in NICE_STEPS:
        if step >= need:
            return float(step)
    return float(math.ceil(need / 86400) * 86400)


@dataclass
class PrometheusClient:
    """Synchronous Prometheus API client. Use as a context manager, or call `close()`."""

    url: str
    token: str = ""
    ca: str = ""
    insecure: bool = False
    timeout: float = 30.0
    retries: int = DEFAULT_RETRIES
    backoff: float = 0.5  # seconds, the first backoff's scale
    backoff_cap: float = 8.0
    headers: dict[str, str] = field(default_factory=dict)  # e.g. X-Scope-OrgID for Thanos/Cortex tenants
    transport: httpx.BaseTransport | None = None
    _http: httpx.Client | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        url = (self.url or "").strip()
        if not url:
            raise CopilotError(f"no Prometheus configured; {CONFIG_HINT}")
        if "://" not in url:
            url = "http://" + url
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CopilotError(f"prometheus_url {redact_url(url)!r} is not an http(s) URL; e.g. http://prometheus:9090")
        self.url = url.rstrip("/")
        self.shown = redact_url(self.url)

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> "PrometheusClient":
        values: dict[str, Any] = {
            "url": getattr(settings, "prometheus_url", "") or "",
            "token": getattr(settings, "prometheus_token", "") or "",
            "ca": getattr(settings, "prometheus_ca", "") or "",
            "insecure": bool(getattr(settings, "prometheus_insecure", False)),
            "timeout": float(getattr(settings, "prometheus_timeout", 30.0) or 30.0),
        }
        values.update(overrides)
        return cls(**values)

    # -- transport ---------------------------------------------------------------------

    def _verify(self) -> ssl.SSLContext | bool:
        return tls_verify("prometheus", self.ca, self.insecure, self.shown)

    def auth_headers(self) -> dict[str, str]:
        return authorization(self.token)  # a full header value ("Basic dXNlcjpwYXNz") is sent as it is

    @property
    def http(self) -> httpx.Client:
        if self._http is None:
            headers = {"Accept": "application/json", "User-Agent": "sre-copilot"}
            headers.update(self.auth_headers())
            headers.update(self.headers)
            self._http = httpx.Client(
                timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 10.0)),
                verify=self._verify(), headers=headers, transport=self.transport, follow_redirects=True,
            )
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def __enter__(self) -> "PrometheusClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _send(self, method: str, path: str, params: Any) -> httpx.Response:
        url = f"{self.url}/api/v1/{path}"
        if method == "POST":
            form: dict[str, list[str]] = {}
            for key, value in (params.items() if isinstance(params, dict) else params or []):
                form.setdefault(key, []).append(value)
            response = self.http.post(url, data=form)
        else:
            response = self.http.get(url, params=params)
        if response.status_code == 429 or response.status_code >= 500:
            raise PromRetryable(response)
        return response

    def request(self, path: str, params: Any = None, method: str = "POST") -> Any:
        """Call `/api/v1/<path>` and return its `data`; every failure is a one-line CopilotError."""
        retrying = Retrying(
            retry=retry_if_exception(_retryable), stop=stop_after_attempt(1 + max(0, self.retries)),
            wait=_Wait(self.backoff, self.backoff_cap), reraise=True,
        )
        try:
            response = retrying(self._send, method, path, params)
        except PromRetryable as exc:
            response = exc.response  # retries exhausted: report what the server said
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise CopilotError(self._connect_message(exc)) from None
        except httpx.TimeoutException:
            raise CopilotError(
                f"Prometheus at {self.shown} did not answer within {self.timeout:g}s; narrow the time range, "
                "aggregate on the server (sum by (...)), or raise prometheus_timeout") from None
        except httpx.TransportError as exc:
            raise CopilotError(f"cannot talk to Prometheus at {self.shown}: {type(exc).__name__}: {exc}; "
                               "check prometheus_url and the network path") from None
        return self._data(response, path)

    def _connect_message(self, exc: httpx.TransportError) -> str:
        text = str(exc)
        if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text.lower():
            return (f"TLS certificate of {self.shown} is not trusted ({_short(text)}); set prometheus_ca to the CA "
                    "bundle that signed it (or prometheus_insecure = true as a last resort)")
        if "SSL" in text or "TLS" in text:
            return f"TLS handshake with {self.shown} failed ({_short(text)}); check http:// vs https:// in prometheus_url"
        attempts = 1 + max(0, self.retries)
        return (f"cannot reach Prometheus at {self.shown} ({_short(text) or 'connection failed'}, {attempts} attempts); "
                f"check prometheus_url (COPILOT_PROMETHEUS_URL) and that the server is up")

    def _data(self, response: httpx.Response, path: str) -> Any:
        where = f"{self.shown}/api/v1/{path}"
        code = response.status_code
        if code in (401, 403):
            what = "rejected the credentials" if self.auth_headers() or urlsplit(self.url).username else "requires credentials"
            raise CopilotError(f"Prometheus at {self.shown} {what} (HTTP {code}); set prometheus_token "
                               "(COPILOT_PROMETHEUS_TOKEN) or user:password@ in prometheus_url")
        if code == 429:
            raise CopilotError(f"Prometheus at {self.shown} is rate-limiting us (HTTP 429) after "
                               f"{1 + max(0, self.retries)} attempts; wait a minute or ask for fewer, larger steps")
        if code == 404:
            raise CopilotError(f"no Prometheus API at {where} (HTTP 404); check the path prefix in prometheus_url "
                               "(VictoriaMetrics cluster: .../select/0/prometheus)")
        try:
            body = response.json()
        except ValueError:
            snippet = _short(response.text, 80)
            raise CopilotError(f"{where} answered HTTP {code} with something other than JSON ({snippet!r}); "
                               "is prometheus_url the Prometheus API and not a login page or UI?") from None
        if not isinstance(body, dict):
            raise CopilotError(f"{where} answered with unexpected JSON; is prometheus_url a Prometheus-compatible API?")
        if body.get("status") != "success":
            error = body.get("error") or f"HTTP {code}"
            kind = body.get("errorType") or ""
            if kind == "bad_data" or code == 400:
                raise CopilotError(f"Prometheus rejected the request: {error}")
            if kind in ("timeout", "canceled") or code == 503:
                raise CopilotError(f"Prometheus at {self.shown} gave up: {error}; narrow the time range or aggregate "
                                   "on the server (sum by (...))")
            raise CopilotError(f"Prometheus at {self.shown} failed ({kind or code}): {error}")
        return body.get("data")

    # -- the API -------------------------------------------------------------------------

    def query(self, query: str, time: float | None = None) -> dict[str, Any]:
        """Instant query: {"resultType": ..., "result": [...]}."""
        params = {"query": query}
        if time is not None:
            params["time"] = _num(time)
        return self.request("query", params)

    def query_range(self, query: str, start: float, end: float, step: float | None = None) -> list[dict[str, Any]]:
        """Range query; returns the matrix: [{"metric": {...}, "values": [[t, "v"], ...]}, ...]."""
        if end <= start:
            raise CopilotError(f"the range is empty: end ({_num(end)}) is not after start ({_num(start)})")
        step = float(step) if step else auto_step(start, end)
        if step <= 0:
            raise CopilotError("step must be positive, e.g. 30s or 1m")
        if (end - start) / step > MAX_POINTS:
            raise CopilotError(f"step {step:g}s over {(end - start) / 3600:.1f} h gives more than {MAX_POINTS} points a series; "
                               "use a larger step")
        data = self.request("query_range", {"query": query, "start": _num(start), "end": _num(end), "step": _num(step)})
        if not isinstance(data, dict):
            return []
        if data.get("resultType") != "matrix":
            raise CopilotError(f"query_range returned a {data.get('resultType')}, not a matrix; give an instant-vector expression")
        return list(data.get("result") or [])

    def series(self, match: str | Sequence[str], start: float | None = None, end: float | None = None) -> list[dict[str, str]]:
        """Label sets of the series matching one or more selectors."""
        params: list[tuple[str, str]] = [("match[]", m) for m in _matchers(match)]
        if not params:
            raise CopilotError("give a series selector, e.g. http_requests_total or {job=\"api\"}")
        params += _range(start, end)
        return list(self.request("series", params) or [])

    def labels(self, match: str | Sequence[str] | None = None, start: float | None = None,
               end: float | None = None) -> list[str]:
        params = [("match[]", m) for m in _matchers(match)] + _range(start, end)
        return sorted(self.request("labels", params) or [])

    def label_values(self, label: str, match: str | Sequence[str] | None = None, start: float | None = None,
                     end: float | None = None) -> list[str]:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", label or ""):
            raise CopilotError(f"{label!r} is not a label name; label names are letters, digits and _")
        params = [("match[]", m) for m in _matchers(match)] + _range(start, end)
        return sorted(self.request(f"label/{label}/values", params, method="GET") or [])

    def count_series(self, query: str, time: float | None = None) -> int | None:
        """How many series an expression yields at `time`, computed by the server; None if it cannot tell."""
        try:
            data = self.query(f"count(({query}))", time)
        except CopilotError as exc:
            if str(exc).startswith("Prometheus rejected"):
                return None  # e.g. a scalar expression; the real query will report real mistakes
            raise
        result = (data or {}).get("result") or []
        if not result:
            return 0
        try:
            return int(float(result[0]["value"][1]))
        except (KeyError, IndexError, TypeError, ValueError):
            return None


def _matchers(match: str | Sequence[str] | None) -> list[str]:
    if match is None:
        return []
    items = [match] if isinstance(match, str) else list(match)
    return [m.strip() for m in items if m and m.strip()]


def _range(start: float | None, end: float | None) -> list[tuple[str, str]]:
    out = []
    if start is not None:
        out.append(("start", _num(start)))
    if end is not None:
        out.append(("end", _num(end)))
    return out


def _num(x: float) -> str:
    return f"{float(x):.3f}".rstrip("0").rstrip(".")


def _short(text: str, limit: int = 160) -> str:
    one = " ".join(str(text).split())
    return one if len(one) <= limit else one[: limit - 1] + "…"


# -- pushing the work down: PromQL builders --------------------------------------------------

def _by(labels: Iterable[str]) -> str:
    names = [n for n in labels if n]
    for n in names:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", n):
            raise CopilotError(f"{n!r} is not a label name")
    return ", ".join(names)


def rate_by(metric: str, by: Sequence[str] = ("service",), window: str = "5m", matchers: str = "") -> str:
    """Per-group request rate, summed on the server: sum by (service) (rate(metric{...}[5m]))."""
    sel = f"{metric}{{{matchers}}}" if matchers else metric
    return f"sum by ({_by(by)}) (rate({sel}[{window}]))"


def ratio_by(numerator: str, denominator: str, by: Sequence[str] = ("service",), window: str = "5m") -> str:
    """E.g. an error ratio: sum by (g) (rate(num[w])) / sum by (g) (rate(den[w]))."""
    return f"{rate_by(numerator, by, window)} / {rate_by(denominator, by, window)}"


def quantile_by(histogram: str, q: float = 0.9, by: Sequence[str] = ("service",), window: str = "5m",
                matchers: str = "") -> str:
    """A latency quantile from a classic histogram, on the server:
    histogram_quantile(0.9, sum by (le, service) (rate(h_bucket[5m])))."""
    if not 0 < q < 1:
        raise CopilotError(f"quantile must be between 0 and 1, got {q}")
    name = histogram if histogram.endswith("_bucket") else histogram + "_bucket"
    return f"histogram_quantile({q:g}, {rate_by(name, ['le', *by], window, matchers)})"


# -- the loader: matrices to MetricSeries ----------------------------------------------------

def component_of(labels: dict[str, str], order: Sequence[str] = DEFAULT_COMPONENT_LABELS) -> tuple[str, str]:
    """(component, the label it came from); a pod name loses its replica suffix."""
    for name in order:
        value = labels.get(name)
        if value:
            if name == "pod":
                value = _POD_SUFFIX.sub("", value) or value
            if name == "instance":
                value = value.rsplit(":", 1)[0] if re.search(r":\d+$", value) else value
            return value, name
    return "", ""


def matrix_to_series(
    result: list[dict[str, Any]],
    metric: str | None = None,
    component_labels: Sequence[str] = DEFAULT_COMPONENT_LABELS,
    grid: tuple[float, float, float] | None = None,
) -> list[MetricSeries]:
    """MetricSeries from a query_range matrix.

    metric: the name for series without `__name__` (aggregations); default "value".
    grid: (start, end, step) of the query: every series is laid on that grid with NaN where
        the server had no point, so series from one query share timestamps (and detectors
        score them as one matrix).
    """
    axis = None
    if grid is not None:
        start, end, step = grid
        axis = start + step * np.arange(int(math.floor((end - start) / step + 1e-9)) + 1)
    out: list[MetricSeries] = []
    for item in result:
        labels = {k: str(v) for k, v in (item.get("metric") or {}).items()}
        name = labels.pop("__name__", "") or metric or "value"
        component, source = component_of(labels, component_labels)
        if source and source not in ("pod", "instance"):
            labels.pop(source, None)
        pairs = item.get("values") or []
        ts = np.array([float(p[0]) for p in pairs], dtype=float)
        vals = np.array([_value(p[1]) for p in pairs], dtype=float)
        if axis is not None and grid is not None:  # (the axis is built exactly when there is a grid)
            idx = np.rint((ts - grid[0]) / grid[2]).astype(int)
            keep = (idx >= 0) & (idx < len(axis))
            full = np.full(len(axis), np.nan)
            full[idx[keep]] = vals[keep]
            ts, vals = axis.copy(), full
        out.append(MetricSeries(component or TOTAL, name, ts, vals, labels))
    out.sort(key=lambda s: s.key)
    return out


_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "and", "or",
             "unless", "inf", "nan", "atan2"}
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")


def name_of_query(query: str) -> str:
    """A metric name for what an expression computes, for series the server returns without
    `__name__`: "http_requests_total_rate" for sum by (service) (rate(http_requests_total[1m])),
    "http_request_duration_p90_seconds" for histogram_quantile(0.9, ...)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', "", query)
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", text)
    text = _GROUPING.sub("", text)
    names = [m.group(0) for m in re.finditer(r"(?<![\w.])[A-Za-z_:][\w:]*(?![\w:]|\s*\()", text)
             if m.group(0).lower() not in _KEYWORDS]
    if not names:
        return "value"
    name = names[0]
    hq = re.match(r"\s*histogram_quantile\s*\(\s*([0-9.]+)", query)
    if hq:
        q = float(hq.group(1))
        base, pct = re.sub(r"_bucket$", "", name), f"_p{q * 100:g}".replace(".", "_")
        unit = re.search(r"_(seconds|milliseconds|ms|bytes)$", base)
        return base[: unit.start()] + pct + unit.group(0) if unit else base + pct  # the unit stays last
    if re.search(r"\b(rate|irate|increase|deriv)\s*\(", query):
        return name + "_rate"
    return name


def _value(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def load_range(
    client: PrometheusClient,
    query: str,
    start: float,
    end: float,
    step: float | None = None,
    metric: str | None = None,
    component_labels: Sequence[str] = DEFAULT_COMPONENT_LABELS,
    max_series: int | None = None,
) -> list[MetricSeries]:
    """Run a range query and return MetricSeries on one grid. With `max_series`, the server
    first counts the series the expression yields and a query that would pull more is refused
    with advice to aggregate on the server."""
    step = float(step) if step else auto_step(start, end)
    if max_series is not None:
        n = client.count_series(query, end)
        if n is not None and n > max_series:
            raise CopilotError(
                f"{query!r} yields {n} series (more than {max_series}); aggregate on the server, e.g. "
                f"sum by (service) ({query}) or topk(10, {query})")
    result = client.query_range(query, start, end, step)
    return matrix_to_series(result, metric=metric, component_labels=component_labels, grid=(start, end, step))


def with_history(today: list[MetricSeries], earlier: list[MetricSeries]) -> list[MetricSeries]:
    """Each series of `today` with the same series' samples from an earlier range (the same
    hours a day before, for a seasonal baseline) put in front; series only `earlier` has are
    dropped, since there is nothing to judge."""
    before = {m.key: m for m in earlier}
    out = []
    for m in today:
        e = before.get(m.key)
        if e is None or not len(e.timestamps) or e.timestamps[-1] >= m.timestamps[0]:
            out.append(m)
            continue
        out.append(MetricSeries(m.component, m.metric, np.concatenate([e.timestamps, m.timestamps]),
                                np.concatenate([e.values, m.values]), dict(m.labels)))
    return out
