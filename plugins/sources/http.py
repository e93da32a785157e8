"""The HTTP client every live source shares (and the retry and TLS pieces the Prometheus
client uses too).

`SourceHttp` is built from a `SourceConfig` (copilot/sources.py): a base URL that may carry
a path prefix, auth (a bearer token or a full `Scheme value` header, basic auth from
username/password or `user:pass@` in the URL, custom headers), TLS with a CA bundle or the
explicit insecure switch, proxies from the environment (HTTP_PROXY / HTTPS_PROXY /
NO_PROXY, httpx's trust_env), a per-request timeout, and retries with jittered exponential
backoff (tenacity) on 429 (honouring Retry-After up to a cap), 5xx and connection errors.

Every failure becomes one line (`CopilotError`) that names the source, its URL (without
credentials) and the setting to fix, e.g. "loki at http://h:3100 is unreachable
(connection refused, 4 attempts); check loki_url (COPILOT_LOKI_URL) and that the server is
up". Secrets never appear in messages or logs.

`Capped` counts what a source fetches against its cap and says so when it is reached:
`meta["capped"]` in the returned Telemetry and a warning line (`meta["warnings"]` and the
`copilot.sources` logger).
"""

from __future__ import annotations

import logging
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from copilot.errors import CopilotError
from copilot.sources import SourceConfig

log = logging.getLogger("copilot.sources")

BACKOFF_S = 0.5  # the first backoff's scale
BACKOFF_CAP_S = 8.0  # no wait longer than this, whatever Retry-After says


# -- retries (shared with plugins/telemetry/prometheus.py) ------------------------------------

class Retryable(Exception):
    """A response worth retrying (429, 5xx); carries the server's Retry-After."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response
        self.retry_after = retry_after(response)


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


def retryable(exc: BaseException) -> bool:
    if isinstance(exc, Retryable):
        return True
    # Connection-level failures; a read timeout is not retried: the same heavy query would time out again.
    return isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError, httpx.ReadError,
                            httpx.WriteError, httpx.PoolTimeout))


class Wait:
    """Jittered exponential backoff, or the server's Retry-After when it sends one (capped)."""

    def __init__(self, base: float, cap: float) -> None:
        self.jitter = wait_random_exponential(multiplier=base, max=cap)
        self.cap = cap

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, Retryable) and exc.retry_after is not None:
            return min(exc.retry_after, self.cap)
        return self.jitter(state)


def redact_url(url: str) -> str:
    """The URL without a password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def short(text: str, limit: int = 160) -> str:
    one = " ".join(str(text).split())
    return one if len(one) <= limit else one[: limit - 1] + "…"


def authorization(token: str) -> dict[str, str]:
    """The Authorization header for a token: "Bearer <token>", or the token itself when it is
    a full header value ("Basic dXNlcjpwYXNz", "ApiKey ...")."""
    token = token.strip()
    if not token:
        return {}
    scheme, _, rest = token.partition(" ")
    if rest and scheme.lower() in ("bearer", "basic", "token", "apikey"):
        return {"Authorization": token}
    return {"Authorization": f"Bearer {token}"}


def tls_verify(name: str, ca: str, insecure: bool, shown: str) -> ssl.SSLContext | bool:
    """httpx's `verify`: off when insecure, a context trusting the CA bundle, or the system's."""
    if insecure:
        return False
    if ca:
        path = Path(ca).expanduser()
        if not path.is_file():
            raise CopilotError(f"{name}_ca {ca!r} is not a file; point it at the PEM CA bundle that signed {shown}")
        try:
            return ssl.create_default_context(cafile=str(path))
        except ssl.SSLError as exc:
            raise CopilotError(f"{name}_ca {ca!r} is not a PEM CA bundle ({exc.reason or exc})") from None
    return True


# -- the client ---------------------------------------------------------------------------------

class SourceHttp:
    """A JSON-over-HTTP client for one source. `kind` names the API in messages ("Loki")."""

    def __init__(self, cfg: SourceConfig, kind: str, *, transport: httpx.BaseTransport | None = None,
                 backoff: float = BACKOFF_S, backoff_cap: float = BACKOFF_CAP_S) -> None:
        if not cfg.configured:
            raise CopilotError(f"no {kind} configured; set {cfg.name}_url in config.toml or "
                               f"COPILOT_{cfg.name.upper()}_URL")
        self.cfg = cfg
        self.name = cfg.name
        self.kind = kind
        parts = urlsplit(cfg.url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CopilotError(f"{self.name}_url {cfg.shown_url!r} is not an http(s) URL")
        self.username = cfg.username or unquote(parts.username or "")
        self.password = cfg.password or unquote(parts.password or "")
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        if ":" in parts.hostname:  # IPv6 literal
            netloc = f"[{parts.hostname}]" + (f":{parts.port}" if parts.port else "")
        self.base = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
        self.shown = self.base  # never carries credentials
        self.attempts = 1 + max(0, cfg.retries)
        self.transport = transport
        self.backoff, self.backoff_cap = backoff, backoff_cap
        self._secrets = [s for s in (cfg.token, self.password, *cfg.headers.values()) if s and len(s) >= 3]
        self._http: httpx.Client | None = None
        self.not_found_hint = ""  # what to fix on a 404, when not the path prefix (e.g. an index name)

    @property
    def tries(self) -> str:
        return f"{self.attempts} attempt" + ("s" if self.attempts != 1 else "")

    @property
    def _prefix_hint(self) -> str:
        return f"check the path prefix in {self.name}_url (it should be the {self.kind} API's base URL)"

    @property
    def setting(self) -> str:
        return f"{self.name}_url (COPILOT_{self.name.upper()}_URL)"

    def sends_credentials(self) -> bool:
        return bool(self.cfg.token or self.username or any(k.lower() == "authorization" for k in self.cfg.headers))

    @property
    def http(self) -> httpx.Client:
        if self._http is None:
            headers = {"Accept": "application/json", "User-Agent": "sre-copilot"}
            headers.update(authorization(self.cfg.token))
            headers.update(self.cfg.headers)
            auth = httpx.BasicAuth(self.username, self.password) if self.username and not self.cfg.token else None
            self._http = httpx.Client(
                timeout=httpx.Timeout(self.cfg.timeout or None, connect=min(self.cfg.timeout or 10.0, 10.0)),
                verify=tls_verify(self.name, self.cfg.ca, self.cfg.insecure, self.shown), headers=headers, auth=auth,
                transport=self.transport, follow_redirects=True, trust_env=True,
            )
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def __enter__(self) -> "SourceHttp":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    # -- requests -------------------------------------------------------------------------

    def get(self, path: str, params: Any = None) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any = None, params: Any = None) -> Any:
        return self.request("POST", path, params=params, body=body)

    def _send(self, method: str, path: str, params: Any, body: Any) -> httpx.Response:
        response = self.http.request(method, self.base + path, params=params, json=body)
        if response.status_code == 429 or response.status_code >= 500:
            raise Retryable(response)
        return response

    def request(self, method: str, path: str, params: Any = None, body: Any = None) -> Any:
        """Call `path` under the base URL and return the parsed JSON; every failure is one line."""
        retrying = Retrying(retry=retry_if_exception(retryable), stop=stop_after_attempt(self.attempts),
                            wait=Wait(self.backoff, self.backoff_cap), reraise=True,
                            before_sleep=self._note_retry)
        try:
            response = retrying(self._send, method, path, params, body)
        except Retryable as exc:
            response = exc.response  # retries exhausted: report what the server said
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise CopilotError(self.scrub(self._connect_message(exc))) from None
        except httpx.TimeoutException:
            raise CopilotError(f"{self.name} at {self.shown} did not answer within {self.cfg.timeout:g}s; narrow "
                               f"the time range or raise {self.name}_timeout") from None
        except httpx.TransportError as exc:
            raise CopilotError(self.scrub(f"cannot talk to {self.name} at {self.shown} ({type(exc).__name__}: "
                                          f"{short(str(exc), 100)}); check {self.setting} and the network path")) from None
        return self._json(response, path)

    def _note_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        what = str(exc) if isinstance(exc, Retryable) else type(exc).__name__
        log.info("%s at %s: %s, retrying (attempt %d of %d)", self.name, self.shown, what,
                 state.attempt_number + 1, self.attempts)

    def _connect_message(self, exc: httpx.TransportError) -> str:
        text = str(exc)
        low = text.lower()
        if "certificate_verify_failed" in low or "certificate verify failed" in low:
            return (f"{self.name} at {self.shown}: TLS verification failed ({short(text, 100)}); set {self.name}_ca "
                    f"to the CA bundle that signed it, or {self.name}_insecure = true as a last resort")
        if "ssl" in low or "tls" in low:
            return (f"{self.name} at {self.shown}: TLS handshake failed ({short(text, 100)}); check http:// vs "
                    f"https:// in {self.name}_url")
        if "refused" in low:
            reason = "connection refused"
        elif "name or service not known" in low or "nodename nor servname" in low or "name resolution" in low \
                or "no address associated" in low or "getaddrinfo" in low:
            reason = f"cannot resolve {urlsplit(self.base).hostname}"
        elif isinstance(exc, httpx.ConnectTimeout):
            reason = "connection timed out"
        else:
            reason = short(text, 80) or "connection failed"
        return (f"{self.name} at {self.shown} is unreachable ({reason}, {self.tries}); "
                f"check {self.setting} and that the server is up")

    def _json(self, response: httpx.Response, path: str) -> Any:
        code = response.status_code
        where = f"{self.shown}{path}"
        if code in (401, 403):
            if self.sends_credentials():
                what = f"refused the credentials (HTTP {code})"
            else:
                what = f"requires credentials (HTTP {code})"
            raise CopilotError(f"{self.name} at {self.shown} {what}; set {self.name}_token "
                               f"(COPILOT_{self.name.upper()}_TOKEN), {self.name}_username and {self.name}_password, "
                               f"or {self.name}_header")
        if code == 404:
            raise CopilotError(self.scrub(f"{where} was not found (HTTP 404{self._server_says(response)}); "
                                          f"{self.not_found_hint or self._prefix_hint}"))
        if code == 429:
            raise CopilotError(f"{self.name} at {self.shown} is rate-limiting us (HTTP 429) after {self.tries}; "
                               "wait a minute or narrow the time range")
        if code >= 500:
            raise CopilotError(self.scrub(f"{self.name} at {self.shown} failed with HTTP {code} after {self.tries}"
                                          f"{self._server_says(response)}; check the server's health"))
        if code >= 400:
            raise CopilotError(self.scrub(f"{self.name} at {self.shown} rejected the request (HTTP {code})"
                                          f"{self._server_says(response)}"))
        try:
            return response.json()
        except ValueError:
            snippet = short(response.text, 60)
            raise CopilotError(self.scrub(f"{where} is not a {self.kind} API (HTTP {code}, not JSON: {snippet!r}); "
                                          f"check {self.name}_url")) from None

    def _server_says(self, response: httpx.Response) -> str:
        """": <the server's own error>" from common error shapes, or ""."""
        try:
            body = response.json()
        except ValueError:
            text = short(response.text, 160)
            return f": {text}" if text else ""
        return f": {short(error_text(body), 160)}" if error_text(body) else ""


def error_text(body: Any) -> str:
    """The error a JSON error body carries: Elasticsearch's error.reason (root cause first),
    Jaeger's errors[].msg, Loki/Tempo/Alertmanager's "error"/"message"."""
    if not isinstance(body, dict):
        return ""
    err = body.get("error")
    if isinstance(err, dict):
        causes = err.get("root_cause") or []
        first = causes[0] if causes and isinstance(causes[0], dict) else err
        return str(first.get("reason") or err.get("reason") or err.get("type") or "")
    if err:
        return str(err)
    errors = body.get("errors")
    if isinstance(errors, list) and errors:
        return "; ".join(str(e.get("msg", e)) if isinstance(e, dict) else str(e) for e in errors[:3])
    return str(body.get("message") or body.get("detail") or "")


class Capped:
    """Counts what a source fetches for one kind of data against its cap."""

    def __init__(self, source: str, kind: str, cap: int) -> None:
        self.source, self.kind, self.cap = source, kind, max(1, int(cap))
        self.count = 0
        self.reached = False

    @property
    def left(self) -> int:
        return max(0, self.cap - self.count)

    def take(self, n: int = 1) -> bool:
        """Count `n` more; False (and reached) when the cap is full."""
        if self.count + n > self.cap:
            self.reached = True
            return False
        self.count += n
        return True

    def say(self, meta: dict[str, Any], advice: str = "narrow the window or the components") -> None:
        """Record in `meta` that the cap was reached (when it was), with a warning line."""
        if not self.reached:
            return
        meta.setdefault("capped", {})[self.kind] = self.cap
        line = (f"{self.source}: stopped at {self.cap:,} {self.kind} (the cap, {self.source}_max_items); "
                f"{advice} or raise {self.source}_max_items")
        meta.setdefault("warnings", []).append(line)
        log.warning("%s", line)
