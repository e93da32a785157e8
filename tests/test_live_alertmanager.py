"""The Alertmanager source against a real Alertmanager (Debian `prometheus-alertmanager`):
the test starts it on a free port with a temporary config and storage, posts alerts to its
v2 API, creates a silence and lets an inhibit rule mute one alert, then collects. A second
Alertmanager behind TLS (self-signed) and basic auth, from a web config, checks credentials
and the CA bundle."""

from __future__ import annotations

import shutil
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

from copilot.config import Settings
from copilot.sources import SourceQuery, TelemetrySource
from copilot.plugins.sources.alertmanager import AlertmanagerSource, alert_window
from tests.http_stub import open_source
from tests.servers import free_port, self_signed_cert, start, stop

BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
pytestmark = pytest.mark.skipif(
    BINARY is None,
    reason="needs the Alertmanager binary (Debian package `prometheus-alertmanager`; .ci/run installs it)",
)

USER = "copilot"
PASSWORD = "s3cret"
PASSWORD_BCRYPT = "$2b$04$791Xt7DhlosbC6DAnJjHPuwZBD2HoyTTituQgFEQucYPqRtOJDRKW"  # bcrypt of PASSWORD, cost 4
CONFIG = """\
route:
  receiver: "null"
  group_wait: 1h
receivers:
  - name: "null"
inhibit_rules:
  - source_matchers: ['alertname="NodeDown"']
    target_matchers: ['severity="warning"']
    equal: [cluster]
"""


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def start_alertmanager(workdir: Path, port: int, extra: list[str], ready) -> subprocess.Popen:
    (workdir / "alertmanager.yml").write_text(CONFIG)
    return start([BINARY, f"--config.file={workdir / 'alertmanager.yml'}", f"--storage.path={workdir / 'data'}",
                  f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=", "--log.level=error", *extra],
                 workdir, ready)


@pytest.fixture(scope="module")
def am(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("alertmanager")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_alertmanager(workdir, port, [], lambda: httpx.get(f"{url}/-/ready", timeout=1).status_code == 200)
    now = time.time()
    alerts = [
        {"labels": {"alertname": "OrdersLatencyHigh", "service": "orders", "severity": "critical"},
         "annotations": {"summary": "orders p99 latency above 2s", "description": "p99 2.4s for 10m"},
         "startsAt": iso(now - 20 * 60)},
        {"labels": {"alertname": "PodCrashLooping", "pod": "payment-7d9f8b6c5d-x2k4p", "severity": "warning"},
         "annotations": {"summary": "payment pod restarting"}, "startsAt": iso(now - 10 * 60)},
        {"labels": {"alertname": "DiskFillingUp", "instance": "db1:9100", "severity": "warning"},
         "annotations": {"description": "disk 91% full"}, "startsAt": iso(now - 50 * 60)},
        {"labels": {"alertname": "NodeDown", "job": "node", "cluster": "c1", "severity": "critical"},
         "startsAt": iso(now - 5 * 60)},
        {"labels": {"alertname": "CartErrors", "app": "cart", "cluster": "c1", "severity": "warning"},
         "startsAt": iso(now - 4 * 60)},
        {"labels": {"alertname": "Yesterday", "service": "search", "severity": "info"},  # resolved: not listed
         "startsAt": iso(now - 26 * 3600), "endsAt": iso(now - 25 * 3600)},
    ]
    httpx.post(f"{url}/api/v2/alerts", json=alerts, timeout=5).raise_for_status()
    silence = httpx.post(f"{url}/api/v2/silences", timeout=5, json={
        "matchers": [{"name": "alertname", "value": "DiskFillingUp", "isRegex": False, "isEqual": True}],
        "startsAt": iso(now - 60), "endsAt": iso(now + 3600), "createdBy": "test", "comment": "known, ticket OPS-1"})
    silence.raise_for_status()
    yield {"url": url, "now": now, "silence": silence.json()["silenceID"], "port": port}
    stop(proc)


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    """An Alertmanager behind TLS (self-signed) and basic auth, as on a jump host."""
    workdir = tmp_path_factory.mktemp("alertmanager_tls")
    cert, _ = self_signed_cert(workdir)
    (workdir / "web.yml").write_text(
        f"tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\nbasic_auth_users:\n  {USER}: {PASSWORD_BCRYPT}\n")
    port = free_port()
    url = f"https://127.0.0.1:{port}"
    proc = start_alertmanager(workdir, port, [f"--web.config.file={workdir / 'web.yml'}"],
                              lambda: httpx.get(f"{url}/-/ready", verify=False, timeout=1).status_code in (200, 401))
    yield {"url": url, "ca": cert}
    stop(proc)


def source(url: str, **options) -> AlertmanagerSource:
    return open_source(AlertmanagerSource, url, **options)


def collect(am, **options):
    now = am["now"]
    return source(am["url"], **options).collect(SourceQuery(start=now - 3600, end=now + 60))


def by_name(tel):
    return {a.name: a for a in tel.alerts}


def test_it_is_a_telemetry_source_and_unconfigured_is_none():
    assert isinstance(source("http://127.0.0.1:9"), TelemetrySource)
    assert AlertmanagerSource.from_settings(Settings()) is None


def test_firing_alerts_become_alerts_with_components_from_labels(am):
    tel = collect(am)
    alerts = by_name(tel)
    assert set(alerts) == {"OrdersLatencyHigh", "PodCrashLooping", "DiskFillingUp", "NodeDown", "CartErrors"}
    orders = alerts["OrdersLatencyHigh"]
    assert orders.component == "orders" and orders.severity == "critical"
    assert orders.description == "orders p99 latency above 2s — p99 2.4s for 10m"
    assert abs(orders.timestamp - (am["now"] - 1200)) < 1
    assert alerts["PodCrashLooping"].component == "payment"  # the pod's replica suffix is dropped
    assert alerts["CartErrors"].component == "cart"
    assert alerts["NodeDown"].component == "node"  # from `job`
    assert alerts["DiskFillingUp"].component == "db1:9100"  # from `instance`, the last resort
    assert [a.timestamp for a in tel.alerts] == sorted(a.timestamp for a in tel.alerts)
    assert tel.meta["source"] == "alertmanager" and "capped" not in tel.meta


def test_silenced_and_inhibited_alerts_are_kept_and_marked(am):
    alerts = by_name(collect(am))
    disk = alerts["DiskFillingUp"]
    assert disk.labels["state"] == "suppressed" and disk.labels["silenced_by"] == am["silence"]
    assert disk.description == f"disk 91% full (silenced by {am['silence']})"
    cart = alerts["CartErrors"]
    assert cart.labels["state"] == "suppressed" and cart.labels["inhibited_by"]
    assert "inhibited by" in cart.description
    assert alerts["OrdersLatencyHigh"].labels["state"] == "active"
    assert "silenced_by" not in alerts["OrdersLatencyHigh"].labels


def test_component_labels_are_configurable(am):
    alerts = by_name(collect(am, component_labels="severity"))
    assert alerts["OrdersLatencyHigh"].component == "critical"


def test_the_window_keeps_alerts_that_fired_in_it_and_the_cap_is_said(am):
    now = am["now"]
    early = source(am["url"]).collect(SourceQuery(start=now - 7200, end=now - 15 * 60))
    assert set(by_name(early)) == {"OrdersLatencyHigh", "DiskFillingUp"}  # the others started later
    capped = source(am["url"], max_items=2).collect(SourceQuery(start=now - 3600, end=now + 60))
    assert [a.name for a in capped.alerts] == ["DiskFillingUp", "OrdersLatencyHigh"]
    assert capped.meta["capped"] == {"alerts": 2}
    assert any("alertmanager_max_items" in w for w in capped.meta["warnings"])


def test_alert_window_starts_at_the_earliest_active_alert(am):
    tel = collect(am)
    start, end = alert_window(tel.alerts, now=am["now"] + 5)
    assert abs(start - (am["now"] - 1200)) < 1  # OrdersLatencyHigh; the silenced disk alert started earlier
    assert end == am["now"] + 5
    assert alert_window([]) is None


def test_check_reports_version_and_what_is_firing(am):
    check = source(am["url"]).check()
    assert check.ok, check.detail
    assert check.detail.startswith("reachable, no auth, Alertmanager 0.")
    assert "5 alerts firing (2 silenced or inhibited), 5 started in the last hour" in check.detail


def test_connection_refused_is_one_line_naming_the_setting():
    url = f"http://127.0.0.1:{free_port()}"
    check = source(url).check()
    assert not check.ok
    assert check.detail == (f"alertmanager at {url} is unreachable (connection refused, 2 attempts); "
                            "check alertmanager_url (COPILOT_ALERTMANAGER_URL) and that the server is up")


def test_basic_auth_and_ca_bundle_reach_the_secured_server(secured):
    good = source(secured["url"], username=USER, password=PASSWORD, ca=secured["ca"]).check()
    assert good.ok, good.detail
    assert good.detail.startswith("reachable, auth ok, Alertmanager")
    insecure = source(secured["url"], username=USER, password=PASSWORD, insecure=True).check()
    assert insecure.ok, insecure.detail


def test_wrong_or_missing_credentials_and_untrusted_tls_say_what_to_set(secured):
    wrong = source(secured["url"], username=USER, password="guess-again", ca=secured["ca"]).check()
    assert not wrong.ok
    assert "refused the credentials (HTTP 401); set alertmanager_token" in wrong.detail
    assert "guess-again" not in wrong.detail
    missing = source(secured["url"], ca=secured["ca"]).check()
    assert "requires credentials (HTTP 401)" in missing.detail
    untrusted = source(secured["url"], username=USER, password=PASSWORD).check()
    assert not untrusted.ok
    assert "TLS verification failed" in untrusted.detail
    assert "set alertmanager_ca to the CA bundle that signed it, or alertmanager_insecure = true" in untrusted.detail
