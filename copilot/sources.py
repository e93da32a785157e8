"""Telemetry sources: where an investigation reads its data.

A source is what a plugin contributes to say "I can answer these kinds of data for a
window and a set of components": files on disk (`--data`), Prometheus, Alertmanager,
Loki, Elasticsearch, Jaeger/Tempo, Kubernetes ... Each fills the same in-memory
`Telemetry` model (plugins/telemetry/model.py), so every detector reads every source.

    SourceQuery     what to fetch: the window (with its baseline) and the components
    TelemetrySource the protocol a source implements: name, kinds, label, collect(), check()
    SourceConfig    the connection settings every HTTP source shares (URL, auth, TLS, ...)
    SourceCheck     the answer of `copilot sources` for one source

Settings follow one pattern: config key `<name>_<option>` (or a `[sources.<name>]` table)
and environment `COPILOT_<NAME>_<OPTION>`, e.g. `loki_url` / `COPILOT_LOKI_URL`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol, runtime_checkable

from .errors import ConfigError, CopilotError

if TYPE_CHECKING:  # numpy-heavy; imported where telemetry is built
    from copilot.plugins.telemetry.model import Telemetry

KINDS = ("metrics", "logs", "traces", "changes", "alerts", "topology", "platform")

# Options every source understands; a source may document more (kept in `options`).
COMMON_OPTIONS = (
    "url", "token", "token_file", "username", "password", "password_file", "header",
    "ca", "insecure", "timeout", "retries", "max_items",
)
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_RETRIES = 3
DEFAULT_MAX_ITEMS = 5000


@dataclass(frozen=True)
class SourceQuery:
    """What an investigation asks a source for.

    `start`..`end` is everything to fetch: the baseline before the incident window and the
    window itself. `window` is the incident window inside it (None: the source's whole data).
    `components` narrows the fetch when the source can push it down (empty: all).
    """

    start: float
    end: float
    window: tuple[float, float] | None = None
    components: tuple[str, ...] = ()
    max_items: int = 0  # per kind of data; 0: the source's configured cap


@dataclass
class SourceCheck:
    name: str
    label: str
    ok: bool
    detail: str  # "reachable, auth ok, 1,204 series in the last hour" or what to fix

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "ok": self.ok, "detail": self.detail}


@runtime_checkable
class TelemetrySource(Protocol):
    name: str  # "prometheus", "files", ...
    kinds: frozenset[str]  # what it can answer, from KINDS
    label: str  # what it reads, as the user should see it: "Prometheus at http://prom:9090"
    live: bool  # True: the data is now (time words mean the wall clock); False: a saved dataset

    def collect(self, query: SourceQuery) -> "Telemetry":
        """The source's data for the query; raise CopilotError with one line on failure."""
        ...

    def check(self) -> SourceCheck:
        """Reachable? Auth accepted? What does it hold for the last hour?"""
        ...


# A plugin contributes sources through factories: settings in, a source out (None when the
# source is not configured, e.g. no URL set).
SourceFactory = Callable[[Any], "TelemetrySource | None"]


@dataclass
class SourceConfig:
    """Connection settings of one HTTP source, read from `settings.sources[name]`."""

    name: str
    url: str = ""
    token: str = ""
    username: str = ""
    password: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    ca: str = ""
    insecure: bool = False
    timeout: float = DEFAULT_TIMEOUT_S
    retries: int = DEFAULT_RETRIES
    max_items: int = DEFAULT_MAX_ITEMS
    options: dict[str, Any] = field(default_factory=dict)  # source-specific options

    @property
    def configured(self) -> bool:
        return bool(self.url.strip())

    @property
    def shown_url(self) -> str:
        """The URL without credentials, for messages."""
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(self.url)
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path, "", ""))

    @classmethod
    def from_settings(cls, settings: Any, name: str) -> "SourceConfig":
        raw: dict[str, Any] = dict((getattr(settings, "sources", None) or {}).get(name, {}))
        where = f"{name} source"

        def text(key: str) -> str:
            value = raw.pop(key, "")
            return "" if value is None else str(value)

        def secret(key: str) -> str:
            value = text(key)
            path = text(f"{key}_file")
            if value or not path:
                return value
            try:
                return Path(path).expanduser().read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"{where}: {name}_{key}_file {path!r} cannot be read ({exc.strerror}); fix the path") from None

        cfg = cls(name=name)
        cfg.url = text("url").strip()
        cfg.token = secret("token")
        cfg.username = text("username")
        cfg.password = secret("password")
        header = raw.pop("header", "") or ""
        for item in ([header] if isinstance(header, str) else list(header)):
            if not str(item).strip():
                continue
            key, sep, value = str(item).partition(":")
            if not sep or not key.strip():
                raise ConfigError(f"{where}: {name}_header must be 'Name: value', got {str(item)[:40]!r}")
            cfg.headers[key.strip()] = value.strip()
        cfg.ca = text("ca")
        cfg.insecure = _flag(raw.pop("insecure", False), f"{name}_insecure")
        cfg.timeout = _number(raw.pop("timeout", DEFAULT_TIMEOUT_S), f"{name}_timeout", float)
        cfg.retries = int(_number(raw.pop("retries", DEFAULT_RETRIES), f"{name}_retries", int))
        cfg.max_items = int(_number(raw.pop("max_items", DEFAULT_MAX_ITEMS), f"{name}_max_items", int))
        if cfg.url and "://" not in cfg.url:
            raise ConfigError(f"{where}: {name}_url must start with http:// or https://, got {cfg.url!r}")
        cfg.options = raw
        return cfg


def _flag(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{key} must be true or false, got {value!r}")


def _number(value: Any, key: str, kind: type) -> Any:
    try:
        out = kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be a number, got {value!r}") from None
    if out < 0:
        raise ConfigError(f"{key} must not be negative, got {value!r}")
    return out


def env_token(name: str) -> str:
    """A secret named by environment variable, e.g. token = "env:LOKI_TOKEN" in config."""
    return os.environ.get(name, "")


@dataclass
class DataSelection:
    """The sources one run reads, and how to say so to the user."""

    sources: list[Any]  # TelemetrySource
    demo: bool = False
    named: list[str] = field(default_factory=list)  # the sources the question named (copilot/source_names.py)

    @property
    def label(self) -> str:
        if self.demo:
            text = "bundled demo (" + ", ".join(s.label for s in self.sources) + ")"
        else:
            text = " + ".join(s.label for s in self.sources)
        if self.named:
            text += " — only this source, as the question asks" if len(self.sources) == 1 else \
                " — only these sources, as the question asks"
        return text

    @property
    def live(self) -> bool:
        return any(getattr(s, "live", False) for s in self.sources)

    def to_dict(self) -> dict[str, Any]:
        return {"demo": self.demo, "label": self.label, **({"named": list(self.named)} if self.named else {}),
                "sources": [{"name": s.name, "label": s.label, "live": bool(s.live), "kinds": sorted(s.kinds),
                             **({"path": str(s.path)} if getattr(s, "path", None) else {})}
                            for s in self.sources]}


def configured_sources(settings: Any, factories: list[SourceFactory]) -> list[Any]:
    """Every source whose plugin factory finds it configured (files excluded: that is --data)."""
    out = []
    for factory in factories:
        source = factory(settings)
        if source is not None and source.name != "files":
            out.append(source)
    return out


def select_sources(settings: Any, factories: list[SourceFactory]) -> DataSelection:
    """What this run reads: `--data DIR` beats configured sources; the bundled demo only with
    `--demo`, or when nothing at all is configured (and then every front end says so)."""
    from copilot.plugins.telemetry.files_source import FilesSource, files_source

    if getattr(settings, "demo", False):
        from .demo import ensure_demo

        return DataSelection([FilesSource(ensure_demo(), label=f"files in {ensure_demo()}")], demo=True)
    files = files_source(settings)
    if files is not None:
        return data_dir_selection(settings, factories, files)
    live = configured_sources(settings, factories)
    if live:
        return DataSelection(live)
    from .demo import ensure_demo

    return DataSelection([FilesSource(ensure_demo())], demo=True)


def data_dir_selection(settings: Any, factories: list[SourceFactory], files: Any) -> DataSelection:
    """`--data DIR`: the files source, plus every plugin source that reads its own part of the
    directory (`reads_data_dir`, e.g. saved AWS CLI output), whose folders (`claims`) the files
    source then leaves alone; the files source is dropped when nothing else is left for it."""
    own = []
    for factory in factories:
        try:
            source = factory(settings)
        except CopilotError:
            continue  # a live source's settings do not matter when --data is given
        if source is not None and getattr(source, "reads_data_dir", False):
            own.append(source)
    if not own:
        return DataSelection([files])
    files.skip = frozenset(c.lower() for s in own for c in getattr(s, "claims", ()))
    return DataSelection(([files] if files.has_files() else []) + own)
