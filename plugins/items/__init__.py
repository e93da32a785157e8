"""Diagnosis items: a team's checks in YAML, each a read-only tool (the seed's 诊断项).

    model     the fields every item shares, the result of a run, findings from outputs
    jqfilter  jq response filters, run in a child process (no environment, time limit, output cap)
    http      HTTP items: URL/query/body templates, auth, TLS, retries
    registry  metric registry entries: Prometheus (PromQL) or InfluxDB 1.x (InfluxQL), normal range, drill-down
    rules     rule groups: above/below for N points or minutes, rate of change, absent data
    catalog   every item file under the config dir, settings paths and the bundled examples
"""
