"""Elasticsearch / OpenSearch as a source of logs: `POST /<index>/_search`.

The window is pushed down as a `range` filter on `elasticsearch_time_field` (default
`@timestamp`) and the components as a `terms` filter on `elasticsearch_component_field`
(default `service.name`), inside a bool filter; hits come sorted by time, `size` at a time,
paged with `search_after` until the window is done or `elasticsearch_max_items` is reached
(said in meta["capped"]). Which fields hold the time, component, level and message is
configurable (`*_field` options, dotted paths into `_source`; ECS names by default).
`GET /` (cluster and version) and `_count` over the last hour answer check().
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from copilot.errors import CopilotError
from copilot.sources import SourceQuery
from copilot.plugins.telemetry.files import _guess_level, norm_level
from copilot.plugins.telemetry.model import LogRecord, Telemetry
from copilot.plugins.telemetry.tables import parse_time, service_of, unwrap_log_message

from .base import HOUR_S, HttpSource
from .http import Capped, SourceHttp

FIELDS = {"time_field": "@timestamp", "component_field": "service.name", "level_field": "log.level",
          "message_field": "message", "instance_field": "host.name"}
DEFAULT_INDEX = "logs-*"
PAGE = 1000


def field(doc: Any, path: str) -> Any:
    """A dotted path in `_source`: nested objects ({"service": {"name": ...}}), a flat key
    that contains dots ({"service.name": ...}), or a mix."""
    if not isinstance(doc, dict) or not path:
        return None
    if path in doc:
        return doc[path]
    parts = path.split(".")
    for i in range(1, len(parts)):
        head = doc.get(".".join(parts[:i]))
        if isinstance(head, dict):
            found = field(head, ".".join(parts[i:]))
            if found is not None:
                return found
    return None


class ElasticsearchSource(HttpSource):
    name = "elasticsearch"
    kind_label = "Elasticsearch"
    kinds = frozenset({"logs"})

    def client(self) -> SourceHttp:
        client = super().client()
        client.not_found_hint = "check elasticsearch_index and the path prefix in elasticsearch_url"
        return client

    def fields(self) -> dict[str, str]:
        return {k: str(self.option(k, v)).strip() for k, v in FIELDS.items()}

    @property
    def index(self) -> str:
        return str(self.option("index", DEFAULT_INDEX)).strip()

    def search_path(self, what: str = "_search") -> str:
        return f"/{quote(self.index, safe='*,-_.')}/{what}"

    def filters(self, start: float, end: float, components: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        f = self.fields()
        out: list[dict[str, Any]] = [{"range": {f["time_field"]: {
            "gte": int(start * 1000), "lte": int(end * 1000), "format": "epoch_millis"}}}]
        if components:
            out.append({"terms": {f["component_field"]: list(components)}})
        return out

    def collect(self, query: SourceQuery) -> Telemetry:
        tel = Telemetry(meta={"source": self.name, "label": self.label, "index": self.index})
        cap = Capped(self.name, "log records", self.cap(query))
        f = self.fields()
        page = max(1, int(self.option("page_size", PAGE)))
        body: dict[str, Any] = {
            "query": {"bool": {"filter": self.filters(query.start, query.end, query.components)}},
            "sort": [{f["time_field"]: {"order": "asc"}}],
            "track_total_hits": False,
        }
        with self.client() as client:
            while not cap.reached:
                body["size"] = min(page, cap.left + 1)  # one more than the cap tells it was reached
                hits = self._hits(client.post(self.search_path(), body), client)
                for hit in hits:
                    if not cap.take():
                        break
                    tel.logs.append(self.record(hit, f))
                if len(hits) < body["size"] or not hits[-1].get("sort"):
                    break
                body["search_after"] = hits[-1]["sort"]
        cap.say(tel.meta)
        return tel

    def _hits(self, answer: Any, client: SourceHttp) -> list[dict[str, Any]]:
        if not isinstance(answer, dict) or "hits" not in answer:
            raise CopilotError(f"{client.shown}{self.search_path()} answered without hits; is elasticsearch_url an "
                               "Elasticsearch or OpenSearch API?")
        if (answer.get("_shards") or {}).get("failed"):
            failures = (answer["_shards"].get("failures") or [{}])[0]
            reason = ((failures.get("reason") or {}).get("reason")) or "shard failures"
            raise CopilotError(f"Elasticsearch at {client.shown} failed on some shards: {reason}; check "
                               "elasticsearch_time_field and elasticsearch_component_field")
        return [h for h in (answer["hits"].get("hits") or []) if isinstance(h, dict)]

    def record(self, hit: dict[str, Any], f: dict[str, str]) -> LogRecord:
        doc = hit.get("_source") or {}
        stamp = field(doc, f["time_field"])
        if stamp is None and hit.get("sort"):
            stamp = hit["sort"][0]
        try:
            ts = parse_time(stamp)
        except (TypeError, ValueError):
            raise CopilotError(f"Elasticsearch document {hit.get('_id', '?')} in {hit.get('_index', self.index)}: "
                               f"{f['time_field']} {str(stamp)[:40]!r} is not a time; set elasticsearch_time_field") from None
        raw = field(doc, f["message_field"])
        if raw is None:
            raw = field(doc, "log") if isinstance(field(doc, "log"), str) else ""
        message, inner = unwrap_log_message(str(raw))
        level = norm_level(field(doc, f["level_field"])) or norm_level(inner) or _guess_level(message)
        component = field(doc, f["component_field"])
        instance = field(doc, f["instance_field"])
        return LogRecord(ts, service_of(str(component)) if component else "", message, level,
                         str(instance) if instance else "")

    def probe(self, client: SourceHttp, now: float) -> str:
        root = client.get("/")
        if not isinstance(root, dict) or "version" not in root:
            raise CopilotError(f"{client.shown}/ is not an Elasticsearch or OpenSearch API; check elasticsearch_url")
        version = root.get("version") or {}
        product = "OpenSearch" if version.get("distribution") == "opensearch" else "Elasticsearch"
        counted = client.post(self.search_path("_count"),
                              {"query": {"bool": {"filter": self.filters(now - HOUR_S, now)}}})
        count = int((counted or {}).get("count", 0)) if isinstance(counted, dict) else 0
        return (f"{product} {version.get('number', '?')} cluster {root.get('cluster_name', '?')!r}, "
                f"{count:,} log records in the last hour in {self.index!r}")
