"""Live telemetry sources read over HTTP: Alertmanager, Loki, Elasticsearch/OpenSearch,
Jaeger and Tempo. They share one client (`http.py`); each module holds one source."""
