"""`copilot detect` on imperfect real series: rows out of time order, duplicate
timestamps and gaps are repaired (one warning line), scored in time order, and the output
keeps the input's rows in the input's order."""

from __future__ import annotations

import argparse

import numpy as np

from copilot.commands import detect
from copilot.plugins.detectors.series_repair import regularize

T0 = 1_700_000_000


def series(n=240, spike=200, seed=3):
    x = np.random.default_rng(seed).normal(100.0, 2.0, n)
    x[spike] += 40
    return [(T0 + 60 * i, float(v)) for i, v in enumerate(x)]


def write(path, rows):
    path.write_text("timestamp,value\n" + "".join(f"{t},{v!r}\n" for t, v in rows))


def run(path, capsys):
    parser = argparse.ArgumentParser()
    detect.register(parser.add_subparsers())
    args = parser.parse_args(["detect", str(path)])
    assert args.func(args) == 0
    cap = capsys.readouterr()
    lines = cap.out.strip().splitlines()[1:]
    out = [(int(r.split(",")[0]), float(r.split(",")[2]), r.split(",")[3] == "1") for r in lines]
    return out, cap.err


def test_rows_out_of_time_order_are_scored_in_order_and_output_keeps_input_order(tmp_path, capsys):
    rows = series()
    write(tmp_path / "sorted.csv", rows)
    ordered, err = run(tmp_path / "sorted.csv", capsys)
    assert err == ""
    shuffled = rows[:50] + rows[53:] + rows[50:53]  # three rows arrive late
    shuffled[120], shuffled[121] = shuffled[121], shuffled[120]  # and one pair is swapped
    write(tmp_path / "late.csv", shuffled)
    got, err = run(tmp_path / "late.csv", capsys)
    assert err.count("\n") == 1 and "4 rows out of time order were scored in time order" in err
    assert [t for t, _, _ in got] == [t for t, _ in shuffled]  # aligned with the input rows
    by_time = {t: (s, f) for t, s, f in ordered}
    assert all(by_time[t] == (s, f) for t, s, f in got)  # the same scores as the sorted file
    assert by_time[T0 + 60 * 200][1]


def test_duplicate_timestamps_are_averaged_and_every_row_gets_the_score(tmp_path, capsys):
    rows = series()
    dup = rows[:100] + [(rows[99][0], rows[99][1] + 2.0)] + rows[100:]
    dup = dup[:201] + [(rows[200][0], rows[200][1] - 0.5)] + dup[201:]  # a duplicate of the spike
    write(tmp_path / "dup.csv", dup)
    got, err = run(tmp_path / "dup.csv", capsys)
    assert "2 duplicate timestamp rows averaged into 2 points" in err and "out of time order" not in err
    assert len(got) == len(dup)
    spike_rows = [r for r in got if r[0] == rows[200][0]]
    assert len(spike_rows) == 2 and spike_rows[0] == spike_rows[1] and spike_rows[0][2]


def test_gaps_are_scored_as_missing_points(tmp_path, capsys):
    rows = series()
    gapped = rows[:80] + rows[90:150] + rows[153:]
    write(tmp_path / "gap.csv", gapped)
    got, err = run(tmp_path / "gap.csv", capsys)
    assert "2 gaps (13 missing points) scored as missing" in err
    assert [t for t, _, _ in got] == [t for t, _ in gapped]
    flagged = [t for t, _, f in got if f]
    assert T0 + 60 * 200 in flagged and len(flagged) <= 3


def test_all_repairs_in_one_line(tmp_path, capsys):
    rows = series()
    messy = rows[:80] + rows[90:] + [rows[5], (rows[6][0], rows[6][1] + 1)]
    write(tmp_path / "messy.csv", messy)
    got, err = run(tmp_path / "messy.csv", capsys)
    assert err.count("\n") == 1 and err.startswith("warning: ")
    assert "2 rows out of time order" in err and "2 duplicate timestamp rows averaged into 2 points" in err
    assert "1 gap (10 missing points)" in err
    assert len(got) == len(messy)


def test_regularize_maps_rows_to_points():
    reg = regularize([30, 10, 20, 20, 60], [3.0, 1.0, 2.0, 4.0, 6.0])
    assert reg.timestamps.tolist() == [10, 20, 30, 40, 50, 60]
    assert np.allclose(reg.values, [1.0, 3.0, 3.0, np.nan, np.nan, 6.0], equal_nan=True)
    assert reg.row_index.tolist() == [2, 0, 1, 1, 5]
    clean = regularize([1, 2, 3], [1.0, 2.0, 3.0])
    assert clean.repairs == [] and clean.warning() == ""


def test_irregular_series_with_a_huge_gap_is_not_filled():
    reg = regularize([0, 1, 2, 3, 1000], [1.0, 1.0, 1.0, 1.0, 1.0])
    assert reg.timestamps.tolist() == [0, 1, 2, 3, 1000]
    assert "scored without filling" in reg.warning()
