"""CSV/TSV metrics stream: memory follows the series, not the file; the series and the
one-line errors are those of the whole-table reader, also past the first chunk."""

from __future__ import annotations

import gzip
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from copilot.errors import DataError
from copilot.plugins.telemetry import files
from copilot.plugins.telemetry.files import load_directory, read_metrics, stream_metrics
from copilot.plugins.telemetry.tables import read_table

BASE = 1_715_688_000


def long_csv(path: Path, steps: int, series: int = 20, bad_row: int | None = None) -> None:
    lines = ["timestamp,component,metric,value\n"]
    n = 1
    for i in range(steps):
        for s in range(series):
            n += 1
            value = "oops" if n == bad_row else f"{(s + 1) * 1.5 + (i % 7) * 0.1:.3f}"
            lines.append(f"{BASE + 15 * i},svc{s % 5},m{s // 5},{value}\n")
    text = "".join(lines)
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)


def by_key(series):
    return {(s.component, s.metric, tuple(sorted(s.labels.items()))): s for s in series}


@pytest.mark.parametrize("name", ["metrics.csv", "metrics.csv.gz"])
def test_streamed_series_equal_the_whole_table_reader(tmp_path, monkeypatch, name):
    monkeypatch.setattr(files, "STREAM_HEAD", 100)  # several chunks' worth past the head
    path = tmp_path / name
    long_csv(path, steps=50)
    streamed, whole = by_key(stream_metrics(path)), by_key(read_metrics(path, read_table(path)))
    assert streamed.keys() == whole.keys() and len(streamed) == 20
    for key, s in streamed.items():
        assert np.array_equal(s.timestamps, whole[key].timestamps) and np.array_equal(s.values, whole[key].values)


def test_wide_tables_stream_too(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "STREAM_HEAD", 3)
    path = tmp_path / "metrics.tsv"
    path.write_text("time\tcart_cpu\tcart_mem\n" + "".join(f"{BASE + 60 * i}\t{i}\t{2 * i}\n" for i in range(10)))
    streamed, whole = by_key(stream_metrics(path)), by_key(read_metrics(path, read_table(path)))
    assert sorted(streamed) == sorted(whole) == [("cart", "cpu", ()), ("cart", "mem", ())]
    assert np.array_equal(streamed[("cart", "mem", ())].values, np.arange(10) * 2.0)


def test_a_bad_cell_past_the_first_chunk_names_its_row(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "STREAM_HEAD", 100)
    (tmp_path / "data").mkdir()
    long_csv(tmp_path / "data" / "metrics.csv", steps=50, bad_row=777)
    with pytest.raises(DataError, match=r"metrics\.csv: row 777 column 'value': 'oops' is not a number"):
        load_directory(tmp_path / "data")
    path = tmp_path / "short.csv"
    path.write_text("timestamp,component,metric,value\n" + f"{BASE},a,m,1\n" * 150 + f"{BASE},a,m\n")
    with pytest.raises(DataError, match=r"row 152 has 3 columns, expected 4"):
        stream_metrics(path)
    path.write_text("timestamp,component,metric,value\n" + f"{BASE},a,m,1\n" * 150 + "yesterday,a,m,1\n")
    with pytest.raises(DataError, match=r"row 152 column 'timestamp': 'yesterday' is not a time"):
        stream_metrics(path)


def test_memory_follows_the_series_not_the_file(tmp_path):
    """400,000 rows (a 14 MB file): held as text rows this took ~120 MB of Python objects; streamed,
    the peak is the first chunk plus two float arrays per series."""
    (tmp_path / "data").mkdir()
    path = tmp_path / "data" / "metrics.csv"
    long_csv(path, steps=20_000, series=20)
    tracemalloc.start()
    try:
        tel = load_directory(tmp_path / "data")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert sum(len(s.values) for s in tel.metrics) == 400_000
    assert peak < 40 * 2**20, f"peak {peak / 2**20:.0f} MB"


def test_json_lines_metrics_stream_too(tmp_path, monkeypatch):
    import json

    monkeypatch.setattr(files, "STREAM_HEAD", 7)
    path = tmp_path / "metrics.jsonl"
    records = [{"timestamp": BASE + 15 * i, "service": f"svc{i % 3}", "metric": "latency", "value": i * 0.5}
               for i in range(60)]
    records[40]["region"] = "eu"  # a key first seen past the head becomes a label, as the whole reader does
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    streamed, whole = by_key(stream_metrics(path)), by_key(read_metrics(path, read_table(path)))
    assert streamed.keys() == whole.keys() and ("svc1", "latency", (("region", "eu"),)) in streamed
    for key, s in streamed.items():
        assert np.array_equal(s.timestamps, whole[key].timestamps) and np.array_equal(s.values, whole[key].values)
    records[50]["value"] = "n/a"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    with pytest.raises(DataError, match=r"metrics\.jsonl: row 52 column 'value': 'n/a' is not a number"):
        stream_metrics(path)
