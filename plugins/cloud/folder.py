"""Saved AWS CLI output in a folder, read as one telemetry source.

    DIR/cloudwatch/<resource>/*.json   get-metric-data or get-metric-statistics output
    DIR/cloudwatch/*.json              the same, labelled '<resource> <metric>'
    DIR/rds/*.json                     rds describe-events output (any depth below rds/)
    DIR/pi/<resource>/*.json           pi get-resource-metrics and describe-dimension-keys output

(`performance-insights/` works for `pi/`, and the folders may sit under `DIR/aws/`.) The folder
is `--data DIR` (beside other telemetry files, which the files source reads) or the
`cloudwatch_dir` setting. Each file's shape is recognised by its top-level field, so names are
free. A file that is not such output is one line naming it and the field to fix.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from copilot.errors import CopilotError, DataError
from copilot.sources import SourceCheck, SourceQuery
from copilot.plugins.telemetry.model import Telemetry
from copilot.plugins.telemetry.tables import READ_ERRORS, read_problem

from .shapes import Parsed, parse

SERVICES = {"cloudwatch": "cloudwatch", "rds": "rds", "pi": "pi", "performance-insights": "pi",
            "performance_insights": "pi"}
PARENT = "aws"
SUFFIXES = (".json", ".json.gz")


def service_folders(root: Path) -> list[Path]:
    """The service folders under `root` (or `root/aws`), in a stable order."""
    out: list[Path] = []
    for base in (root, root / PARENT):
        if not base.is_dir():
            continue
        for child in sorted(base.iterdir()):
            if child.is_dir() and child.name.lower() in SERVICES:
                out.append(child)
    return out


def has_cloud_data(root: Path) -> bool:
    return any(files_of(folder) for folder in service_folders(root))


def files_of(folder: Path) -> list[tuple[Path, str]]:
    """(file, resource named by its folder or "") for each saved output under a service folder."""
    out = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).parts
        if not path.is_file() or len(rel) > 3 or not path.name.lower().endswith(SUFFIXES):
            continue
        out.append((path, rel[0] if len(rel) >= 2 else ""))
    return out


def read_json(path: Path) -> Any:
    try:
        raw = gzip.decompress(path.read_bytes()) if path.name.lower().endswith(".gz") else path.read_bytes()
        return json.loads(raw.decode("utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}); save the AWS CLI output "
                        "with --output json") from None
    except READ_ERRORS as exc:
        raise read_problem(path, exc) from None


def load_folder(root: Path) -> Telemetry:
    parsed = Parsed()
    files = [f for folder in service_folders(root) for f in files_of(folder)]
    if not files:
        raise DataError(f"{root}: no AWS CLI output found; expected cloudwatch/<resource>/*.json, rds/*.json or "
                        "pi/<resource>/*.json")
    for path, resource in files:
        parsed.extend(parse(str(path), read_json(path), resource))
    return telemetry_of(parsed, f"AWS CLI output in {root}", "cloudwatch")


def telemetry_of(parsed: Parsed, label: str, source: str) -> Telemetry:
    """The telemetry model of parsed output: metrics, changes and alerts in their tables; the
    Performance Insights top keys and the database resources in meta."""
    from .detect import database_resources

    tel = Telemetry(metrics=parsed.metrics, changes=sorted(parsed.changes, key=lambda c: c.timestamp),
                    alerts=sorted(parsed.alerts, key=lambda a: a.timestamp), meta={"source": source, "label": label})
    tel.meta["pi_top"] = [k.to_dict() for k in parsed.top]
    tel.meta["cloud_resources"] = sorted(parsed.resources)
    if parsed.parameters:
        tel.meta["db_parameters"] = parsed.parameters
    databases = database_resources(tel)
    if databases:
        tel.meta["database"] = databases
    if parsed.warnings:
        tel.meta["source_errors"] = list(parsed.warnings)
    return tel


@dataclass
class CloudFolderSource:
    """AWS CLI output saved in a folder: CloudWatch metrics, RDS events, Performance Insights."""

    path: Path
    label: str = ""
    name: str = "cloudwatch"
    kinds: frozenset[str] = field(default=frozenset({"metrics", "changes", "alerts"}))
    live: bool = False
    reads_data_dir: bool = True  # inside --data DIR: its folders are read here, not by the files source
    claims: tuple[str, ...] = tuple(SERVICES) + (PARENT,)

    def __post_init__(self) -> None:
        self.path = Path(self.path).expanduser()
        if not self.label:
            self.label = f"AWS CLI output in {self.path}"

    def collect(self, query: SourceQuery) -> Telemetry:
        return load_folder(self.path)

    def component_names(self) -> list[str]:
        names: set[str] = set()
        for folder in service_folders(self.path):
            names.update(resource for _, resource in files_of(folder) if resource)
        return sorted(names)

    def check(self) -> SourceCheck:
        try:
            tel = self.collect(SourceQuery(0.0, float("inf")))
        except CopilotError as exc:
            return SourceCheck(self.name, self.label, False, str(exc))
        return SourceCheck(self.name, self.label, True,
                           f"{len(tel.metrics)} series, {len(tel.changes) + len(tel.alerts)} RDS events, "
                           f"{len(tel.meta.get('pi_top', []))} Performance Insights keys, resources: "
                           + (", ".join(tel.meta.get("cloud_resources", [])) or "none"))
