"""The univariate detector and `copilot detect`."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from copilot.commands import detect
from copilot.errors import CopilotError
from copilot.plugins.detectors.univariate import drift_z_matrix, infer_period, robust_z_matrix, score_matrix, score_series


def _noise(n: int, seed: int = 0) -> np.ndarray:
    return 100 + np.random.default_rng(seed).normal(0, 1, n)


def test_spike_scores_high_and_noise_low():
    x = _noise(200)
    x[150] += 15
    r = score_series(x)
    assert r.scores.min() >= 0 and r.scores.max() <= 1
    assert r.flags[150] and r.scores[150] > 0.8
    assert r.flags.sum() <= 2  # Gaussian noise at 5 sigma: essentially no false alarms


def test_scores_are_causal():
    x = _noise(150, seed=1)
    x[120:] += 30  # the future changes a lot
    full = score_series(x, period=None).scores
    prefix = score_series(x[:100], period=None).scores
    np.testing.assert_allclose(full[:100], prefix)


def test_level_shift_flagged_at_onset_then_absorbed():
    x = _noise(300, seed=2)
    x[200:] += 20
    r = score_series(x, period=None)
    assert r.flags[200]
    assert not r.flags[290]  # the new level has become the baseline


def test_seasonal_series_daily_job_is_normal_off_phase_spike_is_not():
    hours = np.arange(24 * 10)
    x = np.random.default_rng(3).normal(0, 0.5, hours.size)
    x[hours % 24 == 12] += 50  # a daily batch job
    x[24 * 8 + 3] += 50  # the same jump at an unusual hour
    ts = 1_700_000_000 + hours * 3600.0
    seasonal = score_series(x, ts)
    assert seasonal.period == 24
    assert seasonal.flags[24 * 8 + 3]
    assert not seasonal.flags[24 * 9 + 12]
    plain = score_series(x, ts, period=None)
    assert plain.scores[24 * 9 + 12] > seasonal.scores[24 * 9 + 12]


def test_missing_values_do_not_break_scoring():
    x = _noise(100, seed=4)
    x[[10, 50, 51]] = np.nan
    x[80] += 20
    r = score_series(x)
    assert np.isfinite(r.scores).all()
    assert r.scores[50] == 0 and r.flags[80]


def test_matrix_matches_single_series():
    rng = np.random.default_rng(5)
    m = rng.normal(0, 1, (50, 120))
    m[7, 100] += 12
    batch = score_matrix(m)
    assert batch.shape == m.shape
    np.testing.assert_allclose(batch[7], score_series(m[7], period=None).scores)
    assert batch[7, 100] >= 0.5


def test_constant_series_then_change():
    x = np.zeros(50)
    x[40] = 1.0
    z = robust_z_matrix(x.reshape(1, -1))[0]
    assert z[40] > 100 and z[:40].max() == 0


@pytest.mark.parametrize(
    "step,n,expected",
    [(3600, 24 * 5, 24), (60, 1440 * 3, 1440), (3600, 24 * 2, None), (7, 10_000, None)],
)
def test_infer_period(step, n, expected):
    assert infer_period(np.arange(n) * float(step)) == expected


def _run_detect(argv: list[str], capsys) -> str:
    parser = argparse.ArgumentParser()
    detect.register(parser.add_subparsers())
    args = parser.parse_args(["detect", *argv])
    assert args.func(args) == 0
    return capsys.readouterr().out


def _write_series(path, header: bool = True, label: bool = True) -> None:
    x = _noise(120, seed=6)
    x[100] += 25
    lines = ["TimeStamp,Value,Label"] if header else []
    for i, v in enumerate(x):
        ts = f"2024-01-01T{i // 60:02d}:{i % 60:02d}:00Z"
        lines.append(f"{ts},{v}" + (f",{int(i == 100)}" if label else ""))
    path.write_text("\n".join(lines) + "\n")


def test_detect_command_csv(tmp_path, capsys):
    f = tmp_path / "s.csv"
    _write_series(f)
    out = _run_detect([str(f)], capsys).strip().splitlines()
    assert out[0] == "timestamp,value,anomaly_score,is_anomaly"
    rows = [r.split(",") for r in out[1:]]
    assert len(rows) == 120
    assert rows[100][0] == "2024-01-01T01:40:00Z"
    assert rows[100][3] == "1" and float(rows[100][2]) >= 0.5
    assert sum(int(r[3]) for r in rows) <= 3


def test_detect_command_json_headerless(tmp_path, capsys):
    f = tmp_path / "s.csv"
    _write_series(f, header=False, label=False)
    data = json.loads(_run_detect([str(f), "--format", "json"], capsys))
    assert set(data[0]) == {"timestamp", "value", "anomaly_score", "is_anomaly"}
    assert data[100]["is_anomaly"] is True
    assert data[0]["is_anomaly"] is False


def test_detect_command_bad_value_names_the_row(tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("timestamp,value\n1700000000,1\n1700000060,abc\n")
    with pytest.raises(CopilotError, match="row 3"):
        detect.read_series(f)


def test_detect_reads_unix_milliseconds(tmp_path):
    f = tmp_path / "ms.csv"
    f.write_text("1700000000000,1\n1700000060000,2\n")
    s = detect.read_series(f)
    assert s.timestamps == [1700000000.0, 1700000060.0]


# -- probability-like scores, onsets, seasonality ------------------------------------------
def test_scores_are_low_almost_everywhere_on_noise():
    r = score_series(_noise(2000, seed=11), mode="onset")
    assert np.quantile(r.scores, 0.99) < 0.05 and r.flags.sum() <= 2


def test_onset_mode_reports_a_level_shift_where_it_starts():
    x = _noise(400, seed=12)
    x[250:] += 20
    level = score_series(x, period=None, mode="level")
    onset = score_series(x, period=None, mode="onset")
    assert level.flags[250:260].all()  # the level score stays high while the shift is new
    assert onset.flags[250] and onset.flags.sum() == 1
    assert onset.scores[251:260].max() < 0.05  # low while it merely persists


def test_onset_mode_reports_a_second_spike_after_a_quiet_stretch():
    x = _noise(300, seed=13)
    x[[150, 220]] += 25
    r = score_series(x, period=None, mode="onset")
    assert r.flags[150] and r.flags[220]


def _daily(days: int, seed: int, weekly: bool = False):
    step = 300
    t = np.arange(days * 288)
    ts = 1_709_510_400 + t * float(step)  # a Monday, 00:00 UTC
    rng = np.random.default_rng(seed)
    x = 100 + 30 * np.sin(2 * np.pi * t / 288) + rng.normal(0, 1.0, t.size)
    if weekly:
        x[(t // 288) % 7 >= 5] -= 25  # weekends are quieter
    return ts, x


def test_spike_on_a_strong_daily_cycle_is_found_by_the_daily_baseline():
    ts, x = _daily(6, seed=14)
    i = 5 * 288 + 70  # on the steep part of the cycle
    x[i] += 8  # 8 noise sigmas, small beside the 60-unit daily swing
    r = score_series(x, ts, mode="onset")
    assert r.period == 288
    assert r.flags[i] and r.flags[4 * 288:].sum() <= 3


def test_weekly_seasonality_weekends_are_normal_a_weekend_on_a_weekday_is_not():
    ts, x = _daily(22, seed=15, weekly=True)
    monday = 21 * 288
    x[monday + 100: monday + 200] -= 25  # Monday afternoon looks like a Sunday
    r = score_series(x, ts, mode="onset")
    weekend = slice(19 * 288 + 20, 21 * 288)  # the third weekend, after two weeks of history
    assert r.flags[weekend].sum() == 0
    assert r.flags[monday + 100: monday + 110].any()


@pytest.mark.parametrize("chunk", [1, 17, 100, 333])
def test_scores_do_not_depend_on_the_block_size(chunk):
    """Scoring in blocks (each with its look-back) gives exactly the whole-series scores:
    a daily and weekly cycle (both seasonal baselines in play), a gap and a spike."""
    n = 24 * 18  # hourly, 18 days: more than two weeks, so the weekly baseline is used
    ts = 1_700_000_000 + 3600.0 * np.arange(n)
    x = 100 + 20 * np.sin(2 * np.pi * np.arange(n) / 24) + np.random.default_rng(7).normal(0, 1, n)
    x[(np.arange(n) // 24) % 7 >= 5] -= 30  # weekends are quieter
    x[200:230] = np.nan  # a collector gap
    x[380] += 60  # a spike in the third week
    whole = score_series(x, ts, mode="level")
    assert whole.period == 24 and whole.flags[380]
    blocks = score_series(x, ts, mode="level", chunk=chunk)
    np.testing.assert_array_equal(blocks.zscores, whole.zscores)
    np.testing.assert_array_equal(blocks.scores, whole.scores)
    matrix = np.vstack([x, x[::-1]])
    np.testing.assert_array_equal(robust_z_matrix(matrix, window=30, period=24, chunk=chunk),
                                  robust_z_matrix(matrix, window=30, period=24, chunk=n))
    drift = drift_z_matrix(matrix, period=24, chunk=chunk)
    assert (drift > 0).mean() > 0.3  # the long look-back test is in play, not all zeros
    np.testing.assert_array_equal(drift, drift_z_matrix(matrix, period=24, chunk=n))


def test_a_slow_drift_is_flagged_near_its_start():
    """A ramp of 10 noise sigmas over a day, on a daily cycle of 60 units: each step (0.03
    sigma) is far below what the short-horizon baselines notice."""
    ts, x = _daily(12, seed=16)
    onset = 9 * 288 + 40
    x[onset:] += 10.0 * np.minimum(1.0, (np.arange(x.size - onset) + 1) / 288)
    level_only = robust_z_matrix(x.reshape(1, -1), period=288)[0]
    assert level_only[onset: onset + 288].max() < 5  # missed by the point-by-point test
    r = score_series(x, ts, mode="onset")
    assert drift_z_matrix(x.reshape(1, -1), period=288)[0, :onset].max() < 5  # quiet before the ramp
    assert r.flags[onset - 288: onset].sum() == 0
    first = int(np.flatnonzero(r.flags[onset:])[0])
    assert first <= 120  # within 10 hours of the start, while the ramp is under 4.2 sigmas
    assert r.flags[onset:].sum() <= 2  # reported once (not again while it persists)


def test_a_flat_noisy_series_stays_quiet_over_weeks():
    ts = 1_709_510_400 + 300.0 * np.arange(16 * 288)
    r = score_series(_noise(ts.size, seed=17), ts, mode="onset")
    assert r.period == 288
    assert r.flags.sum() == 0 and np.mean(r.scores < 0.05) > 0.98
