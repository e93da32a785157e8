"""A generated corpus of malformed and hostile inputs, shared by the tests and bench/fuzz.py.

`telemetry_cases()` names each broken telemetry directory and how to build it;
`series_cases()` does the same for `copilot detect` files and `kb_cases()` for
`copilot kb import` files. Builders write into a directory they are given, so nothing
large is kept in the repository.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Callable

GOOD_METRICS = "timestamp,component,metric,value\n" + "".join(
    f"{1715690000 + 60 * i},cart,cpu_usage,{10 + i % 3}\n" for i in range(30)
)
GOOD_LOG = {"timestamp": 1715690000, "component": "cart", "level": "INFO", "message": "ok"}


def _write(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))


def _deep(n: int = 50_000) -> str:
    return "[" * n + "]" * n


def _file(name: str, data: bytes | str, folder: bool = False) -> Callable[[Path], Path]:
    """A builder writing `data` to `dir/name`; it returns the file, or the folder when `folder`."""

    def build(d: Path) -> Path:
        _write(d / name, data)
        return d if folder else d / name

    return build


def _metrics_with(cell_ts: str, value: str) -> str:
    return GOOD_METRICS + f"{cell_ts},cart,cpu_usage,{value}\n"


def telemetry_cases() -> dict[str, Callable[[Path], Path]]:
    """name -> builder(dir) returning the path to pass as --data (mostly `dir` itself)."""

    def one(name: str, data: bytes | str) -> Callable[[Path], Path]:
        return _file(name, data, folder=True)

    def not_a_dir(d: Path) -> Path:
        _write(d / "metrics.csv", GOOD_METRICS)
        return d / "metrics.csv"

    def fifo_folder(d: Path) -> Path:
        d.mkdir(parents=True, exist_ok=True)
        os.mkfifo(d / "pipe")
        return d / "pipe"

    truncated = gzip.compress(GOOD_METRICS.encode())
    return {
        "non_utf8_logs": one("logs.jsonl", json.dumps(GOOD_LOG).encode() + b"\n" + b'{"timestamp": 1715690060, '
                             b'"component": "c\xff\xfeart", "message": "x"}\n'),
        "non_utf8_metrics": one("metrics.csv", GOOD_METRICS.encode() + b"1715691900,ca\xffrt,cpu_usage,3\n"),
        "nul_bytes_csv": one("metrics.csv", GOOD_METRICS + "1715691900,ca\x00rt,cpu_usage,3\n"),
        "nul_bytes_jsonl": one("logs.jsonl", json.dumps(GOOD_LOG) + "\n" + '{"timestamp": 1715690060, "component": '
                               '"cart", "message": "a\x00b"}\n'),
        "bad_gzip": one("metrics.csv.gz", b"this is not gzip at all\n"),
        "truncated_gzip": one("metrics.csv.gz", truncated[: len(truncated) // 2]),
        "deep_json_jsonl": one("logs.jsonl", '{"timestamp": 1715690000, "message": ' + _deep() + "}\n"),
        "deep_json_topology": one("topology.json", _deep()),
        "deep_json_changes": one("changes.json", _deep()),
        "nan_timestamp_csv": one("metrics.csv", _metrics_with("nan", "1")),
        "inf_timestamp_csv": one("metrics.csv", _metrics_with("inf", "1")),
        "inf_timestamp_json": one("logs.jsonl", '{"timestamp": Infinity, "component": "cart", "message": "x"}\n'),
        "nan_timestamp_changes": one("changes.jsonl", '{"timestamp": NaN, "component": "cart", "kind": "deploy", '
                                     '"description": "x"}\n'),
        "huge_int_timestamp": one("logs.jsonl", '{"timestamp": ' + "9" * 400 + ', "component": "cart", "message": "x"}\n'),
        "huge_int_value": one("metrics.jsonl", "".join(
            json.dumps({"timestamp": 1715690000 + 60 * i, "component": "cart", "metric": "cpu", "value": 1}) + "\n"
            for i in range(5)) + '{"timestamp": 1715690400, "component": "cart", "metric": "cpu", "value": '
            + "9" * 400 + "}\n"),
        "value_1e400": one("metrics.csv", _metrics_with("1715691900", "1e400")),
        "odd_otlp_scope": one("traces.json", json.dumps({"resourceSpans": [{"resource": "x", "scopeSpans": 5}]})),
        "odd_otlp_spans": one("traces.json", json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": ["x", 3]}]}]})),
        "odd_otlp_attrs": one("traces.json", json.dumps({"resourceSpans": [{"resource": {"attributes": [1, "a"]},
                                                                            "scopeSpans": []}]})),
        "binary_junk": one("metrics.csv", bytes(range(256)) * 8),
        "huge_csv_field": one("metrics.csv", "timestamp,component,metric,value\n1715690000,"
                              + "x" * 200_000 + ",cpu,1\n"),
        "header_only": one("metrics.csv", "timestamp,component,metric,value\n"),
        "not_a_directory": not_a_dir,
        "fifo_as_folder": fifo_folder,
    }


def series_cases() -> dict[str, Callable[[Path], Path]]:
    """`copilot detect FILE` inputs: name -> builder(dir) returning the file."""

    one = _file
    good = "timestamp,value\n" + "".join(f"{1715690000 + 60 * i},{10 + i % 3}\n" for i in range(60))
    gz = gzip.compress(good.encode())

    def fifo(d: Path) -> Path:
        d.mkdir(parents=True, exist_ok=True)
        os.mkfifo(d / "series.csv")
        return d / "series.csv"

    return {
        "not_gzip": one("s.csv.gz", good),
        "truncated_gzip": one("s.csv.gz", gz[: len(gz) // 2]),
        "huge_csv_field": one("s.csv", "timestamp,value\n1715690000," + "9" * 200_000 + "\n"),
        "binary_junk": one("s.csv", bytes(range(256)) * 8),
        "header_only": one("s.csv", "timestamp,value\n"),
        "nul_bytes": one("s.csv", good + "1715699999,1\x002\n"),
        "nan_timestamp": one("s.csv", good + "nan,1\n"),
        "inf_timestamp": one("s.csv", good + "inf,1\n"),
        "directory": lambda d: (d / "dir").mkdir(parents=True) or d / "dir",
        "fifo": fifo,
    }


def extreme_series(d: Path) -> dict[str, Path]:
    """Series that must be scored, not refused: an inf point and a 1e308 spike."""
    base = [10 + i % 3 for i in range(80)]
    out = {}
    for name, spike in (("inf_point", "inf"), ("spike_1e308", "1e308"), ("neg_spike_1e308", "-1e308")):
        rows = [f"{1715690000 + 60 * i},{v}" for i, v in enumerate(base)]
        rows[60] = f"{1715690000 + 60 * 60},{spike}"
        path = d / f"{name}.csv"
        _write(path, "timestamp,value\n" + "\n".join(rows) + "\n")
        out[name] = path
    return out


def kb_cases() -> dict[str, Callable[[Path], Path]]:
    """`copilot kb import` inputs: name -> builder(dir) returning the file."""

    one = _file
    def fifo(d: Path) -> Path:
        d.mkdir(parents=True, exist_ok=True)
        os.mkfifo(d / "entries.yaml")
        return d / "entries.yaml"

    entry = {"fault_name": "Disk full", "root_cause": "logs filled /var", "mitigation": "rotate logs"}
    return {
        "deep_json": one("e.json", "[" + _deep() + "]"),
        "deep_yaml": one("e.yaml", "a: " + "[" * 5000 + "]" * 5000 + "\n"),
        "big_integer_json": one("e.json", json.dumps([dict(entry, id="exp-big")])[:-2] + ', "weight": ' + "9" * 5000 + "}]"),
        "big_integer_yaml": one("e.yaml", "- fault_name: x\n  root_cause: y\n  mitigation: z\n  weight: " + "9" * 5000 + "\n"),
        "huge_csv_field": one("e.csv", "fault_name,root_cause,mitigation\nx," + "y" * 200_000 + ",z\n"),
        "nul_bytes": one("e.yaml", "- fault_name: Disk\x00 full\n  root_cause: y\n  mitigation: z\n"),
        "nul_bytes_csv": one("e.csv", "fault_name,root_cause,mitigation\nDisk\x00,y,z\n"),
        "duplicate_ids": one("e.yaml", "- {id: exp-dup-1, fault_name: a, root_cause: b, mitigation: c}\n"
                                       "- {id: exp-dup-1, fault_name: d, root_cause: e, mitigation: f}\n"),
        "binary_junk": one("e.yaml", bytes(range(256)) * 8),
        "fifo": fifo,
    }
