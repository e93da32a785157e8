"""The Elasticsearch / OpenSearch source against recorded responses of their documented
REST API (`GET /`, `POST /<index>/_search`, `_count`, and their error bodies), served by a
local HTTP server that asserts the pushed-down bool filter, sort and search_after paging."""

from __future__ import annotations

import base64

import pytest

from copilot.errors import CopilotError
from copilot.sources import TelemetrySource
from copilot.plugins.sources.elasticsearch import ElasticsearchSource, field
from tests.http_stub import T0, Stub, open_source
from tests.http_stub import hour_query as query

SHARDS = {"total": 1, "successful": 1, "skipped": 0, "failed": 0}
ROOT = {"name": "es01", "cluster_name": "docker-cluster", "cluster_uuid": "6yL2ZbqbQ0-m3ZvD4VgYXA",
        "version": {"number": "8.13.4", "build_flavor": "default", "build_type": "docker",
                    "build_hash": "da95df118650b55a500dcc181889ac35c6d8da7c", "build_date": "2024-05-06T22:04:45.107454559Z",
                    "build_snapshot": False, "lucene_version": "9.10.0", "minimum_wire_compatibility_version": "7.17.0",
                    "minimum_index_compatibility_version": "7.0.0"},
        "tagline": "You Know, for Search"}
OPENSEARCH_ROOT = {"name": "opensearch-node1", "cluster_name": "opensearch-cluster", "cluster_uuid": "Fq9tQ1sBSWWmY3ug9aFSXw",
                   "version": {"distribution": "opensearch", "number": "2.13.0", "build_type": "tar",
                               "build_hash": "7ec678d1b7c87d6e779fdef94e33623e1f1e2647",
                               "build_date": "2024-03-26T00:02:39.691117435Z", "build_snapshot": False,
                               "lucene_version": "9.10.0", "minimum_wire_compatibility_version": "7.10.0",
                               "minimum_index_compatibility_version": "7.0.0"},
                   "tagline": "The OpenSearch Project: https://opensearch.org/"}


def hit(n: int, t_ms: int, source: dict) -> dict:
    return {"_index": ".ds-logs-shop-2024.05.14-000001", "_id": f"doc{n}", "_score": None, "_source": source,
            "sort": [t_ms]}


HITS = [
    hit(1, (T0 + 60) * 1000, {"@timestamp": "2024-05-14T13:01:00.000Z", "service": {"name": "cart"},
                              "log": {"level": "error"}, "message": "redis timeout after 500ms",
                              "host": {"name": "node-a"}}),
    hit(2, (T0 + 90) * 1000, {"@timestamp": "2024-05-14T13:01:30.000Z", "service.name": "payment",
                              "message": "WARN slow upstream 812ms"}),
    hit(3, (T0 + 120) * 1000, {"@timestamp": "2024-05-14T13:02:00.000Z", "service": {"name": "cart"},
                               "log.level": "info", "message": "retry succeeded"}),
]


def answer(hits: list[dict]) -> dict:
    return {"took": 3, "timed_out": False, "_shards": SHARDS, "hits": {"max_score": None, "hits": hits}}


def source(url: str, **options) -> ElasticsearchSource:
    return open_source(ElasticsearchSource, url, **options)


def test_a_bool_filter_pushes_down_the_window_and_components_and_hits_become_records():
    with Stub() as es:
        es.route("POST", "/logs-shop/_search", (200, answer(HITS)))
        tel = source(es.url, index="logs-shop").collect(query("cart", "payment"))
    (call,) = es.calls("/logs-shop/_search")
    assert call.body == {
        "query": {"bool": {"filter": [
            {"range": {"@timestamp": {"gte": T0 * 1000, "lte": (T0 + 3600) * 1000, "format": "epoch_millis"}}},
            {"terms": {"service.name": ["cart", "payment"]}},
        ]}},
        "sort": [{"@timestamp": {"order": "asc"}}], "track_total_hits": False, "size": 1000,
    }
    assert call.headers["content-type"] == "application/json"
    assert [(r.timestamp, r.component, r.level, r.message, r.instance) for r in tel.logs] == [
        (T0 + 60, "cart", "ERROR", "redis timeout after 500ms", "node-a"),
        (T0 + 90, "payment", "WARN", "WARN slow upstream 812ms", ""),  # flat dotted key; level from the text
        (T0 + 120, "cart", "INFO", "retry succeeded", ""),  # a mix of both
    ]
    assert tel.meta["index"] == "logs-shop" and "capped" not in tel.meta


def test_fields_are_configurable_dotted_paths():
    doc = {"ts": 1715691660123, "kubernetes": {"labels": {"app": "cart"}}, "severity": "err", "msg": "boom"}
    with Stub() as es:
        es.route("POST", "/app-logs/_search", (200, answer([hit(1, 1715691660123, doc)])))
        tel = source(es.url, index="app-logs", time_field="ts", component_field="kubernetes.labels.app",
                     level_field="severity", message_field="msg").collect(query("cart"))
    body = es.seen[0].body
    assert body["sort"] == [{"ts": {"order": "asc"}}]
    assert body["query"]["bool"]["filter"][1] == {"terms": {"kubernetes.labels.app": ["cart"]}}
    (r,) = tel.logs
    assert (r.timestamp, r.component, r.level, r.message) == (1715691660.123, "cart", "ERROR", "boom")
    assert field({"a": {"b.c": {"d": 1}}}, "a.b.c.d") == 1 and field({"a": 1}, "a.b") is None


def like_elasticsearch(seen):
    """What Elasticsearch does with `size` and `search_after` on the recorded hits."""
    after = (seen.body.get("search_after") or [float("-inf")])[0]
    return 200, answer([h for h in HITS if h["sort"][0] > after][: seen.body["size"]])


def test_search_after_pages_until_the_cap_which_is_said():
    with Stub() as es:
        es.route("POST", "/logs-*/_search", like_elasticsearch)
        tel = source(es.url, page_size=2).collect(query())
        first, second = es.calls("/logs-*/_search")
        assert first.body["size"] == 2 and "search_after" not in first.body
        assert second.body["search_after"] == [(T0 + 90) * 1000]
        assert [r.timestamp for r in tel.logs] == [T0 + 60, T0 + 90, T0 + 120] and "capped" not in tel.meta
        es.seen.clear()
        capped = source(es.url, page_size=5, max_items=2).collect(query())
    assert [r.timestamp for r in capped.logs] == [T0 + 60, T0 + 90]
    assert [s.body["size"] for s in es.seen] == [3]  # one more than the cap tells the cap was reached
    assert capped.meta["capped"] == {"log records": 2}
    assert "elasticsearch_max_items" in capped.meta["warnings"][0]


def test_api_key_header_and_basic_auth_are_sent():
    with Stub() as es:
        es.require = lambda seen: seen.headers.get("authorization") == "ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="
        es.route("POST", "/logs-*/_search", (200, answer(HITS)))
        tel = source(es.url, token="ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==").collect(query())
        assert len(tel.logs) == 3
        es.require = lambda seen: seen.headers.get("authorization") == "Basic " + base64.b64encode(b"elastic:changeme").decode()
        assert len(source(es.url, username="elastic", password="changeme").collect(query()).logs) == 3


def test_server_errors_are_one_line_with_the_reason():
    missing_index = {"error": {"root_cause": [{"type": "index_not_found_exception", "reason": "no such index [logs-x]",
                                               "index_uuid": "_na_", "resource.type": "index_or_alias",
                                               "resource.id": "logs-x", "index": "logs-x"}],
                               "type": "index_not_found_exception", "reason": "no such index [logs-x]",
                               "index_uuid": "_na_", "resource.type": "index_or_alias", "resource.id": "logs-x",
                               "index": "logs-x"}, "status": 404}
    bad_sort = {"error": {"root_cause": [{"type": "query_shard_exception",
                                          "reason": "No mapping found for [ts] in order to sort on",
                                          "index_uuid": "b1T6SfOaQ8e1yFaHdIsAcw", "index": "logs-shop"}],
                          "type": "search_phase_execution_exception", "reason": "all shards failed", "phase": "query",
                          "grouped": True, "failed_shards": []}, "status": 400}
    with Stub() as es:
        es.route("POST", "/logs-x/_search", (404, missing_index))
        es.route("POST", "/logs-shop/_search", (400, bad_sort))
        with pytest.raises(CopilotError) as err:
            source(es.url, index="logs-x").collect(query())
        assert str(err.value) == (f"{es.url}/logs-x/_search was not found (HTTP 404: no such index [logs-x]); "
                                  "check elasticsearch_index and the path prefix in elasticsearch_url")
        with pytest.raises(CopilotError) as err:
            source(es.url, index="logs-shop", time_field="ts").collect(query())
        assert str(err.value) == (f"elasticsearch at {es.url} rejected the request (HTTP 400): "
                                  "No mapping found for [ts] in order to sort on")
        es.route("POST", "/logs-shop/_search", (503, {"error": {"root_cause": [], "type": "search_phase_execution_exception",
                                                                 "reason": "all shards failed"}, "status": 503}))
        with pytest.raises(CopilotError) as err:
            source(es.url, index="logs-shop").collect(query())
        assert str(err.value) == (f"elasticsearch at {es.url} failed with HTTP 503 after 2 attempts: all shards failed; "
                                  "check the server's health")


def test_check_names_the_cluster_and_counts_the_last_hour():
    with Stub() as es:
        es.route("GET", "/", (200, ROOT))
        es.route("POST", "/logs-*/_count", (200, {"count": 1204, "_shards": SHARDS}))
        check = source(es.url).check()
        assert check.ok, check.detail
        assert check.detail == ("reachable, no auth, Elasticsearch 8.13.4 cluster 'docker-cluster', "
                                "1,204 log records in the last hour in 'logs-*'")
        rng = es.calls("/logs-*/_count")[0].body["query"]["bool"]["filter"][0]["range"]["@timestamp"]
        assert rng["lte"] - rng["gte"] == 3_600_000
        es.route("GET", "/", (200, OPENSEARCH_ROOT))
        check = source(es.url, username="admin", password="admin").check()
    assert check.detail.startswith("reachable, auth ok, OpenSearch 2.13.0 cluster 'opensearch-cluster'")
    assert isinstance(source("http://es:9200"), TelemetrySource)
