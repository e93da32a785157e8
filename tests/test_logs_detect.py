"""detect_log_anomalies on synthetic per-component logs."""

from __future__ import annotations

import itertools
import random

from copilot.plugins.detectors.logs import detect_log_anomalies, poisson_sigma
from copilot.plugins.telemetry.model import LogRecord

T0 = 1_700_000_000.0  # baseline hour starts here; the window is the hour after
WINDOW = (T0 + 3600, T0 + 7200)
BASELINE = (T0, T0 + 3600)


def _ids():
    counter = itertools.count(1)
    return lambda prefix: f"{prefix}{next(counter)}"


def _steady(component: str, start: float, end: float, every: float, rng: random.Random) -> list[LogRecord]:
    out = []
    t = start
    while t < end:
        out.append(LogRecord(t, component, f"request {rng.randint(1, 9999)} served in {rng.randint(5, 80)}ms", "INFO"))
        t += every
    return out


def _incident() -> list[LogRecord]:
    rng = random.Random(7)
    records = _steady("checkout", T0, T0 + 7200, 30, rng) + _steady("cart", T0, T0 + 7200, 45, rng)
    # Baseline: a few declined cards now and then.
    records += [LogRecord(T0 + 600 * k, "checkout", f"PaymentException: card declined {4000 + k}", "ERROR")
                for k in range(2)]
    # Window: a surge of the same error from 14:05 (5 min into the window).
    onset = WINDOW[0] + 300
    records += [LogRecord(onset + 5 * k, "checkout", f"PaymentException: card declined {5000 + k}", "ERROR")
                for k in range(120)]
    # Window: cart starts logging a message never seen before.
    records += [LogRecord(WINDOW[0] + 900 + 60 * k, "cart", f"cache miss for key user:{k}", "WARN")
                for k in range(6)]
    rng.shuffle(records)
    return records


def test_error_surge_and_new_template_are_found_per_component():
    findings = detect_log_anomalies(_incident(), WINDOW, BASELINE, _ids())
    by_kind = {(f.component, f.kind): f for f in findings}
    surge = by_kind[("checkout", "error_surge")]
    assert surge.source == "logs" and surge.id.startswith("L")
    assert surge.signal == "PaymentException: card declined <*>"
    assert surge.details.count == 120 and surge.details.baseline_count == 2
    assert surge.onset == WINDOW[0] + 300
    assert len(surge.details.examples) == 3 and "card declined" in surge.details.examples[0]
    assert "120 errors" in surge.summary and "2 in the previous hour" in surge.summary
    assert surge.score > 10
    new = by_kind[("cart", "new_template")]
    assert new.details.count == 6 and new.details.baseline_count == 0
    assert new.onset == WINDOW[0] + 900
    # Steady traffic is not reported, and the strongest finding comes first.
    assert "never seen in the previous hour" in new.summary
    assert not any(f.signal.startswith("request") for f in findings)
    assert findings[0] is surge
    assert len({f.id for f in findings}) == len(findings)


def test_template_burst_against_baseline_rate():
    rng = random.Random(3)
    records = _steady("api", T0, T0 + 3600, 60, rng)  # 60 lines in the baseline hour
    records += _steady("api", WINDOW[0], WINDOW[1], 6, rng)  # 600 in the window hour
    findings = detect_log_anomalies(records, WINDOW, BASELINE, _ids())
    assert [f.kind for f in findings] == ["template_burst"]
    burst = findings[0]
    assert burst.details.count == 600 and burst.details.baseline_count == 60
    assert burst.score >= 4.0


def test_baseline_defaults_to_records_before_the_window():
    records = _incident()
    with_default = detect_log_anomalies(records, WINDOW, None, _ids())
    explicit = detect_log_anomalies(records, WINDOW, BASELINE, _ids())
    assert [(f.component, f.kind, f.details.count) for f in with_default] == \
           [(f.component, f.kind, f.details.count) for f in explicit]


def test_quiet_window_gives_no_findings():
    rng = random.Random(11)
    records = _steady("checkout", T0, T0 + 7200, 30, rng)
    assert detect_log_anomalies(records, WINDOW, BASELINE, _ids()) == []


def test_poisson_sigma_grows_with_surprise():
    assert abs(poisson_sigma(10, 10.0)) < 0.01
    assert poisson_sigma(40, 10.0) > poisson_sigma(20, 10.0) > 2.0


def test_more_lines_than_the_budget_are_thinned_alike_keeping_every_error():
    from copilot.plugins.detectors.logs import thin

    records = _incident()
    errors = [r for r in records if r.level == "ERROR"]
    kept = thin(records, budget=100)
    assert all(r in kept for r in errors)
    assert len(kept) < 0.5 * len(records)
    assert thin(records, budget=100) == kept  # the same input thins the same way
    found = detect_log_anomalies(records, WINDOW, BASELINE, _ids(), budget=100)
    assert any(f.component == "checkout" and f.kind == "error_surge" for f in found)


def test_an_error_level_in_a_plain_text_header_counts_when_the_collector_gave_none():
    # Spring Boot lines as a container runtime collects them: no level field, the level
    # is in the text, and the message itself has no error wording.
    def line(t: float, level: str, text: str) -> LogRecord:
        stamp = "2023-01-29 08:43:12.123"
        return LogRecord(t, "ts-order-service", f"{stamp} {level} 1 --- [nio-exec-5] c.OrderService : {text}", "")

    rng = random.Random(3)
    records = [line(T0 + 20 * k, "INFO", f"order {rng.randint(1, 999)} created") for k in range(360)]
    records += [line(WINDOW[0] + 20 * k, "INFO", f"order {rng.randint(1, 999)} created") for k in range(180)]
    records += [line(T0 + 900 * k, "ERROR", f"order {k} not in the database") for k in range(2)]
    records += [line(WINDOW[0] + 600 + 10 * k, "ERROR", f"order {k} not in the database") for k in range(40)]
    # An INFO header decides over a word in the message.
    records += [line(WINDOW[0] + 600 + 10 * k, "INFO", "error counter reset") for k in range(3)]
    found = detect_log_anomalies(records, WINDOW, BASELINE, _ids())
    surges = [f for f in found if f.kind == "error_surge"]
    assert len(surges) == 1 and "not in the database" in surges[0].signal
    assert surges[0].details.count == 40 and surges[0].details.baseline_count == 2
