"""What every live HTTP source shares: its config, label, client, cap and check()."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable

import httpx

from copilot.errors import CopilotError
from copilot.sources import SourceCheck, SourceConfig, SourceQuery

from copilot.plugins.telemetry.model import Span, Telemetry

from .http import Capped, SourceHttp

HOUR_S = 3600.0
CONCURRENCY = 4


class HttpSource:
    """Base of the live sources. Subclasses set `name`, `kind_label` ("Loki"), `kinds`, and
    implement `collect(query)` and `probe(client, now) -> detail line` for check()."""

    name = ""
    kind_label = ""
    kinds: frozenset[str] = frozenset()
    live = True

    def __init__(self, cfg: SourceConfig, transport: httpx.BaseTransport | None = None, **http: Any) -> None:
        self.cfg = cfg
        self.transport = transport
        self.http_options = http  # e.g. backoff=0.01 in tests
        self.label = f"{self.kind_label} at {cfg.shown_url}"

    @classmethod
    def from_settings(cls, settings: Any) -> "HttpSource | None":
        cfg = SourceConfig.from_settings(settings, cls.name)
        return cls(cfg) if cfg.configured else None

    def option(self, key: str, default: Any) -> Any:
        value = self.cfg.options.get(key)
        return default if value is None or value == "" else value

    def list_option(self, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = self.cfg.options.get(key)
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",")]
        names = tuple(str(v).strip() for v in (value or []) if str(v).strip())
        return names or default

    def client(self) -> SourceHttp:
        return SourceHttp(self.cfg, self.kind_label, transport=self.transport, **self.http_options)

    def cap(self, query: SourceQuery) -> int:
        return int(query.max_items or self.cfg.max_items or 1)

    def concurrently(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
        """fn over items on `<name>_concurrency` threads (default 4), results in order."""
        with ThreadPoolExecutor(max_workers=max(1, int(self.option("concurrency", CONCURRENCY)))) as pool:
            return list(pool.map(fn, items))

    def keep_traces(self, tel: Telemetry, cap: Capped, traces: Iterable[list[Span]], advice: str) -> Telemetry:
        """Whole traces into `tel.spans` until the span cap; the cap said when reached."""
        for spans in traces:
            if not cap.take(len(spans)):
                break
            tel.spans.extend(spans)
        tel.spans.sort(key=lambda s: s.start)
        cap.say(tel.meta, advice)
        return tel

    def check(self) -> SourceCheck:
        now = time.time()
        try:
            with self.client() as client:
                detail = self.probe(client, now)
        except CopilotError as exc:
            return SourceCheck(self.name, self.label, False, str(exc))
        auth = "auth ok" if client.sends_credentials() else "no auth"
        return SourceCheck(self.name, self.label, True, f"reachable, {auth}, {detail}")

    def probe(self, client: SourceHttp, now: float) -> str:  # pragma: no cover - every source overrides
        raise NotImplementedError


_REGEX_SPECIAL = set(".^$*+?()[]{}|\\")


def regex_alternatives(names: tuple[str, ...] | list[str]) -> str:
    """"a|b|c" for a regex matcher inside a double-quoted LogQL/TraceQL/PromQL string: regex
    metacharacters are escaped with a backslash, itself escaped for the string literal."""
    return "|".join("".join("\\\\" + c if c in _REGEX_SPECIAL else c for c in n) for n in names)
