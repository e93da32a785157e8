"""Metric anomaly detection on synthetic series, and the metric-name -> signal family mapping."""

from __future__ import annotations

import time

import numpy as np
import pytest

from copilot.diagnosis import Finding
from copilot.plugins.detectors.metrics import change_points, detect_metric_anomalies, score_series
from copilot.plugins.detectors.signals import family, normalise
from copilot.plugins.telemetry.model import MetricSeries

T0 = 1715688000.0
N = 120
TS = T0 + 60.0 * np.arange(N)
WINDOW = (TS[80], TS[-1])
BASELINE = (TS[0], TS[80])


def ids():
    counter = iter(range(1, 100000))
    return lambda prefix: f"{prefix}{next(counter)}"


def noisy(seed: int, level: float = 30.0, sd: float = 1.0) -> np.ndarray:
    return level + np.random.default_rng(seed).normal(0, sd, N)


def series(comp: str, metric: str, values: np.ndarray) -> MetricSeries:
    return MetricSeries(comp, metric, TS.copy(), values)


def test_level_shift_found_with_onset_ratio_and_sentence():
    v = noisy(1)
    v[95:] += 60  # cpu from ~30 to ~90 at minute 95
    (f,) = detect_metric_anomalies([series("catalogue", "cpu_usage", v), series("cart", "cpu_usage", noisy(2))], WINDOW, BASELINE, ids())
    assert isinstance(f, Finding) and f.id == "M1" and f.source == "metrics"
    assert (f.component, f.signal, f.kind) == ("catalogue", "cpu_usage", "level_shift")
    assert f.onset == TS[95]
    assert f.score > 20 and f.details.direction == "up" and f.details.family == "cpu"
    assert f.details.baseline == pytest.approx(30, abs=1) and f.details.after == pytest.approx(90, abs=1.5)
    assert f.summary.startswith("catalogue cpu_usage rose 3.0x (30")
    assert "at 13:35" in f.summary and "sigma above its baseline" in f.summary


def test_pure_noise_gives_no_findings_and_tiny_shifts_are_ignored():
    many = [series(f"c{i}", "latency_p90", noisy(i, 50, 2)) for i in range(200)]
    small = noisy(999, 1000, 1)
    small[90:] += 20  # 20 sigma but only 2% of the level
    assert detect_metric_anomalies(many + [series("x", "request_rate", small)], WINDOW, BASELINE, ids()) == []


def test_steady_growth_is_a_trend_with_its_slope():
    v = noisy(3, 50, 0.5)
    v[90:] += 2.0 * np.arange(1, N - 90 + 1)  # +2 %/min
    (f,) = detect_metric_anomalies([series("cart", "memory_usage", v)], WINDOW, BASELINE, ids())
    assert f.kind == "trend" and f.details.slope_per_min == pytest.approx(2.0, rel=0.1)
    assert abs(f.onset - TS[90]) <= 180
    assert "climbed steadily" in f.summary


def test_drop_and_spike_directions():
    drop = noisy(4, 100, 2)
    drop[100:] = 20 + np.random.default_rng(5).normal(0, 1, N - 100)
    spike = noisy(6, 10, 0.5)
    spike[104] = 60
    found = {f.component: f for f in detect_metric_anomalies(
        [series("gateway", "request_rate", drop), series("payment", "gc_pause_ms", spike)], WINDOW, BASELINE, ids())}
    assert found["gateway"].details.direction == "down" and found["gateway"].onset == TS[100]
    assert "fell" in found["gateway"].summary and "below its baseline" in found["gateway"].summary
    assert found["payment"].kind == "spike" and found["payment"].onset == TS[104]
    assert found["payment"].details.harmful is True


def test_missing_values_and_series_on_different_grids():
    v = noisy(7)
    v[10:20] = np.nan
    v[100:] += 40
    other = MetricSeries("db", "disk_usage", TS[::2].copy(), np.concatenate([np.full(40, 50.0), np.full(20, 99.0)]) + 0.0)
    other.values[:40] += np.random.default_rng(8).normal(0, 0.3, 40)
    found = {f.component: f for f in detect_metric_anomalies([series("a", "cpu_usage", v), other], WINDOW, BASELINE, ids())}
    assert set(found) == {"a", "db"}
    assert found["db"].onset == TS[80]


def test_change_point_finds_the_split():
    z = np.zeros((2, 50))
    z[0, 30:] = 5
    z[1, 12:] = -3
    assert change_points(z, 5).tolist() == [30, 12]


def test_thousands_of_series_are_scored_fast():
    rng = np.random.default_rng(0)
    values = rng.normal(50, 3, (3000, N))
    values[::100, 100:] += 40
    many = [series(f"c{i}", "cpu", values[i]) for i in range(3000)]
    started = time.perf_counter()
    scored = score_series(many, WINDOW, BASELINE)
    elapsed = time.perf_counter() - started
    hot = {s.series.component for s in scored if s.score >= 5}
    assert hot == {f"c{i}" for i in range(0, 3000, 100)}
    assert elapsed < 5.0  # ~0.2 s here; the bound only catches accidental per-point Python loops


@pytest.mark.parametrize(
    "name, expected",
    [
        ("cpu_usage", "cpu"), ("container_cpu_usage_seconds_total", "cpu"), ("carts_cpu", "cpu"), ("PodCpuUsage", "cpu"),
        ("CpuUsageRate(%)", "cpu"), ("memory_usage", "memory"), ("carts_mem", "memory"), ("MemoryUsageRate(%)", "memory"),
        ("container_memory_working_set_bytes", "memory"), ("disk_usage", "disk"), ("node_filesystem_avail_bytes", "disk"),
        ("gc_count", "gc"), ("gc_pause_ms", "gc"), ("jvm_gc_pause_seconds", "gc"), ("lat_90", "latency"),
        ("latency_p99", "latency"), ("PodServerLatencyP90(s)", "latency"), ("http_request_duration_seconds", "latency"),
        ("error_rate", "error_rate"), ("http_requests_errors_total", "error_rate"), ("PodSuccessRate(%)", "success_rate"),
        ("request_rate", "request_rate"), ("carts_lod", "request_rate"), ("qps", "request_rate"),
        ("PodWorkload(Ops)", "request_rate"), ("net_rtt_ms", "net_latency"), ("tcp_retransmits", "packet_loss"),
        ("node_network_receive_drop_total", "packet_loss"), ("NetworkReceiveBytes", "network"), ("threads", "other"),
    ],
)
def test_signal_families(name, expected):
    assert family(name) == expected


def test_normalise_splits_camel_case_and_separators():
    assert normalise("PodCpuUsage") == "pod_cpu_usage"
    assert normalise("front-end.lat-90") == "front_end_lat_90"
    assert normalise("HTTPRequestsTotal") == "http_requests_total"


def test_a_resource_shift_on_most_components_is_marked_common_mode_unless_one_moved_far_more():
    def shifted(seed: int, by: float, level: float = 30.0) -> np.ndarray:
        v = noisy(seed, level)
        v[90:] *= by
        return v

    # network bytes double on four of five hosts at once (the cluster, not one host); on one
    # the CPU rises thirtyfold while the others' CPU rises 1.5x: that one stands out
    metrics = [series(f"node-{i}", "net_receive_bytes", shifted(i, 2.0)) for i in range(4)]
    metrics.append(series("node-4", "net_receive_bytes", noisy(9)))
    metrics += [series(f"svc-{i}", "cpu_usage", shifted(20 + i, 1.5)) for i in range(3)]
    metrics.append(series("svc-3", "cpu_usage", shifted(30, 30.0, level=2.0)))
    found = {(f.component, f.signal): f for f in detect_metric_anomalies(metrics, WINDOW, BASELINE, ids())}
    assert all(found[(f"node-{i}", "net_receive_bytes")].details.common_mode == 0.8 for i in range(4))
    assert all(found[(f"svc-{i}", "cpu_usage")].details.common_mode is not None for i in range(3))
    assert found[("svc-3", "cpu_usage")].details.common_mode is None
    # two of five moving together is not a shared cause
    two = detect_metric_anomalies(metrics[:2] + [series(f"node-{i}", "net_receive_bytes", noisy(i)) for i in range(2, 5)],
                                  WINDOW, BASELINE, ids())
    assert two and not any(f.details.common_mode is not None for f in two)


def test_a_jump_that_drifts_back_is_not_a_steady_climb():
    v = noisy(5, level=10.0, sd=0.2)
    v[90:] = 100.0 - 2.5 * np.arange(30)  # jumps to 100, then falls back steadily towards its level
    (f,) = detect_metric_anomalies([series("frontend", "latency_p90", v)], WINDOW, BASELINE, ids())
    assert f.details.direction == "up" and f.kind != "trend"
    assert "climbed steadily" not in f.summary and "fell steadily" not in f.summary
    w = noisy(6, level=50.0, sd=0.2)
    w[90:] = 50.0 - 1.5 * np.arange(30)  # a steady fall is a trend, and says so
    (g,) = detect_metric_anomalies([series("cache", "memory_free", w)], WINDOW, BASELINE, ids())
    assert g.kind == "trend" and "fell steadily" in g.summary and "below its baseline" in g.summary


def test_a_utilisation_driven_to_its_limit_is_reported_even_from_a_noisy_baseline():
    rng = np.random.default_rng(11)
    v = 55 + rng.uniform(-30, 25, N)  # a busy CPU swinging 25-80 %
    v[100:] = 92 + rng.normal(0, 3, N - 100)  # then pinned near its limit
    noisy_cpu = series("currency", "CpuUsageRate(%)", v)
    w = v.copy()
    w[100:] = 70 + rng.normal(0, 3, N - 100)  # busier, but not at its limit: still judged by sigma alone
    found = {f.component: f for f in detect_metric_anomalies([noisy_cpu, series("other", "CpuUsageRate(%)", w)], WINDOW, BASELINE, ids())}
    f = found["currency"]
    assert f.details.after >= 80 and f.details.baseline < 80
    assert "other" not in found


def test_findings_record_how_closely_they_moved_with_the_alerted_series():
    from copilot.plugins.detectors.metrics import alerted_series
    from copilot.plugins.telemetry.model import Alert

    step = np.zeros(N)
    step[85:100] = 1.0  # the alerted latency rises at minute 85 and recovers at 100
    front = series("web", "latency_average", noisy(1, 100, 1) + 80 * step)
    cause = series("search", "latency_p99", noisy(2, 30, 0.5) + 400 * step)  # rises and falls with it
    chronic = noisy(3, 5, 0.05)
    chronic[60:] += 3 + np.random.default_rng(4).uniform(0, 3, N - 60)  # already off before, wanders on its own
    other = series("lambda", "latency_p50", chronic)
    alert = Alert(TS[85], "web", "latency Average")
    alerted = alerted_series([front, cause, other], [alert])
    assert alerted == [front]  # 'latency Average' names web's latency_average
    assert alerted_series([front, cause], [Alert(TS[85], "web", "HighLatency")]) == [front]  # web's latency series
    assert alerted_series([front], [Alert(TS[85], "web", "InstanceDown")]) == []  # names no metric family
    per_instance = [MetricSeries("web", "latency_p99", TS.copy(), noisy(k), {"instance": i}) for k, i in enumerate("ab")]
    two_alerts = [Alert(TS[85], "web", "HighLatency"), Alert(TS[86], "web", "LatencySLOBurn")]
    assert alerted_series(per_instance, two_alerts) == per_instance  # each series once, two alerts or not
    found = {f.component: f for f in detect_metric_anomalies([front, cause, other], WINDOW, BASELINE, ids(), alerted=alerted)}
    assert found["search"].details.moves_with_alert > 0.9
    assert found["lambda"].details.moves_with_alert < 0.5
    plain = detect_metric_anomalies([cause], WINDOW, BASELINE, ids())
    assert plain[0].details.moves_with_alert is None  # no alert, nothing claimed
    short = [MetricSeries(s.component, s.metric, s.timestamps[78:82], s.values[78:82]) for s in (front, cause)]
    found = detect_metric_anomalies(short, (TS[80], TS[81]), (TS[78], TS[80]), ids(), min_score=0, alerted=[short[0]])
    assert all(f.details.moves_with_alert is None for f in found)  # four points say nothing


def _daily(days: int = 3, step: float = 300.0, seed: int = 7):
    """A request rate with a daily cycle (low at night, peak at 14:00 UTC) and 2% noise."""
    ts = T0 - T0 % 86400 + step * np.arange(int(days * 86400 / step))
    hour = (ts % 86400) / 3600.0
    level = 1000 + 800 * np.exp(-((hour - 14) ** 2) / 8)
    return ts, level * (1 + 0.02 * np.random.default_rng(seed).normal(size=len(ts)))


def test_a_rise_that_happens_every_day_at_this_hour_is_not_an_anomaly_but_a_fault_on_top_is():
    ts, v = _daily()
    day3 = ts[0] + 2 * 86400
    window, baseline = (day3 + 11.5 * 3600, day3 + 13.5 * 3600), (day3 + 9.5 * 3600, day3 + 11.5 * 3600)
    recent = ts >= baseline[0]
    only_today = MetricSeries("checkout", "http_requests_rate", ts[recent], v[recent])
    flagged = detect_metric_anomalies([only_today], window, baseline, ids())
    assert flagged and "its baseline" in flagged[0].summary  # with two hours of history the morning ramp looks like a surge
    assert detect_metric_anomalies([MetricSeries("checkout", "http_requests_rate", ts, v)], window, baseline, ids()) == []
    faulty = v.copy()
    faulty[(ts >= window[0] + 1800) & (ts <= window[1])] *= 0.6  # a real drop on top of the daily ramp
    (f,) = detect_metric_anomalies([MetricSeries("checkout", "http_requests_rate", ts, faulty)], window, baseline, ids())
    assert f.details.direction == "down" and f.details.seasonal == "1d"
    assert f.onset == pytest.approx(window[0] + 1800, abs=300)
    assert "sigma below the same time a day earlier" in f.summary


def test_a_series_without_a_daily_cycle_keeps_its_plain_baseline():
    ts = T0 + 300.0 * np.arange(3 * 288)
    v = 50 + np.random.default_rng(3).normal(0, 1, len(ts))
    v[-12:] += 10
    (f,) = detect_metric_anomalies([MetricSeries("cart", "latency_p90", ts, v)], (ts[-24], ts[-1]), (ts[-60], ts[-24]), ids())
    assert f.details.seasonal is None and f.details.baseline == pytest.approx(50, abs=1)


def test_a_seasonal_finding_reads_the_same_in_chinese():
    from copilot.phrases.findings import finding_sentence

    ts, v = _daily()
    day3 = ts[0] + 2 * 86400
    window, baseline = (day3 + 11.5 * 3600, day3 + 13.5 * 3600), (day3 + 9.5 * 3600, day3 + 11.5 * 3600)
    v[(ts >= window[0] + 1800) & (ts <= window[1])] *= 0.6
    (f,) = detect_metric_anomalies([MetricSeries("checkout", "http_requests_rate", ts, v)], window, baseline, ids())
    assert "低于前一天同一时段" in finding_sentence(f, "zh")


def _availability(comp: str, requests: float, failing_after: float, seed: int) -> list[MetricSeries]:
    rng = np.random.default_rng(seed)
    n = rng.poisson(requests, N).astype(float)
    share = np.where(np.arange(N) >= 85, failing_after, 0.001)
    failed = rng.binomial(n.astype(int), share)
    ok = np.where(n > 0, 100.0 * (1 - failed / np.maximum(n, 1)), 100.0)
    return [MetricSeries(comp, "availability_average", TS.copy(), ok, {"unit": "%"}),
            MetricSeries(comp, "requests_sum", TS.copy(), n, {"unit": "req"})]


def test_availability_with_request_counts_is_a_beta_binomial_test_of_failures_per_request():
    # busy fails 3% of ~5000 requests a period; quiet fails about one of its 3 calls now and then
    found = detect_metric_anomalies(_availability("busy", 5000, 0.03, 1) + _availability("quiet", 3, 0.2, 2),
                                    WINDOW, BASELINE, ids())
    by = {f.component: f for f in found if f.details.family == "success_rate"}
    assert "busy" in by and by["busy"].details.test == "beta-binomial"
    assert by["busy"].details.requests > 50_000 and by["busy"].details.failing_after > 0.02
    assert "failed" in by["busy"].summary and "requests" in by["busy"].summary
    assert "quiet" not in by or by["quiet"].score < by["busy"].score / 3


def test_failures_per_request_allow_for_the_baselines_own_spread():
    from copilot.plugins.detectors.metrics import failure_z

    req = np.full(40, 1000.0)
    steady = np.full(40, 0.01)
    wobbly = np.where(np.arange(40) % 2 == 0, 0.0, 0.02)  # same mean share, far more spread than binomial
    window = (np.full(5, 0.02), np.full(5, 1000.0))
    z_steady = failure_z(steady, req, *window)[0]
    z_wobbly = failure_z(wobbly, req, *window)[0]
    assert z_steady > 4 and z_wobbly < z_steady / 2
