"""The built-in `live-sources` plugin: telemetry sources read live over HTTP.

Alertmanager (alerts), Loki and Elasticsearch/OpenSearch (logs), Jaeger and Tempo
(traces). Each is opened by its factory from `<name>_url` (config key, `[sources.<name>]`
table, or COPILOT_<NAME>_URL) and is absent when that is not set. Modules load lazily so
`copilot --help` stays fast.
"""

from __future__ import annotations

from typing import Any, Callable

from copilot.plugin_manager import Plugin

SOURCES = {  # name -> (module, class)
    "alertmanager": ("copilot.plugins.sources.alertmanager", "AlertmanagerSource"),
    "loki": ("copilot.plugins.sources.loki", "LokiSource"),
    "elasticsearch": ("copilot.plugins.sources.elasticsearch", "ElasticsearchSource"),
    "jaeger": ("copilot.plugins.sources.jaeger", "JaegerSource"),
    "tempo": ("copilot.plugins.sources.tempo", "TempoSource"),
}


def source_factory(name: str) -> Callable[[Any], Any]:
    """settings -> the `name` source, or None when `<name>_url` is not set."""
    module, cls = SOURCES[name]

    def make(settings: Any) -> Any:
        if not str(((getattr(settings, "sources", None) or {}).get(name) or {}).get("url") or "").strip():
            return None  # not configured: nothing to import
        import importlib

        return getattr(importlib.import_module(module), cls).from_settings(settings)

    make.__name__ = f"{name}_source"
    make.__qualname__ = make.__name__
    return make


plugin = Plugin(
    name="live-sources",
    description="live telemetry over HTTP: Alertmanager alerts, Loki and Elasticsearch/OpenSearch logs, "
                "Jaeger and Tempo traces; each needs its <name>_url",
    sources=[source_factory(name) for name in SOURCES],
)
