"""Kubernetes state saved on disk: what engineers copy off a jump host.

- `kubectl get pods,events,nodes,deploy,rs,... -A -o json > state.json` (kind `List`), one
  file or several; events in the core/v1 or the events.k8s.io/v1 shape;
- a `kubectl cluster-info dump --output-directory DIR` tree (`nodes.json`,
  `<namespace>/{pods,events,deployments,replicasets,...}.json`, `<namespace>/<pod>/logs.txt`);
- `kubectl logs POD [--timestamps] > POD.log` text files, named after the pod.

A JSON file is Kubernetes state when it says so itself (`apiVersion` and a Kubernetes
`kind`), whatever its name. A log file belongs to a pod when its name (or, in a
cluster-info dump, its folder) is the pod's name; its lines become log records of the pod's
component with the pod as instance.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Iterable

from copilot.errors import DataError

from copilot.plugins.telemetry.model import LogRecord, Platform, Telemetry
from copilot.plugins.telemetry.tables import open_text, parse_time, stem_of

from . import objects

SNIFF_BYTES = 4096
MAX_DEPTH = 6
_K8S_HEAD = re.compile(r'"apiVersion"\s*:\s*"|"kind"\s*:\s*"(?:List|\w+List|Pod|Event|Node|Deployment|ReplicaSet)"')
_STAMP = re.compile(r"^\s*\[?(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?)\]?\s?")
_LEVEL = re.compile(r"\b(DEBUG|INFO|WARN(?:ING)?|ERROR|ERR|FATAL|CRITICAL|PANIC)\b", re.I)
LOG_SUFFIXES = (".log", ".txt", ".log.gz", ".txt.gz")


def looks_like_kubernetes(path: Path) -> bool:
    """A .json file whose head names an apiVersion or a Kubernetes list kind."""
    if not path.name.lower().endswith(".json"):
        return False
    try:
        with open(path, "rb") as fh:
            head = fh.read(SNIFF_BYTES).decode("utf-8", "replace")
    except OSError:
        return False
    return head.lstrip().startswith("{") and bool(_K8S_HEAD.search(head))


def walk(root: Path, depth: int = MAX_DEPTH) -> list[Path]:
    out: list[Path] = []
    base = len(root.parts)
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and len(here.parts) - base < depth)
        out += [here / f for f in sorted(files) if not f.startswith(".")]
    return out


def read_json(path: Path) -> Any:
    try:
        with open(path, "rb") as fh:
            return json.load(fh)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: line {exc.lineno}: not valid JSON ({exc.msg}); save it again with "
                        "`kubectl get ... -o json > FILE`") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror}); make it readable") from None


def read_state(paths: list[Path]) -> Platform:
    """Platform state from Kubernetes JSON files (owners resolved, capture time estimated)."""
    platform = Platform()
    for path in paths:
        doc = read_json(path)
        if not objects.is_kubernetes(doc):
            raise DataError(f"{path}: not Kubernetes JSON (no apiVersion/kind at the top); save it with "
                            "`kubectl get <kinds> -A -o json`")
        objects.add_objects(platform, objects.items_of(doc))
    objects.resolve_owners(platform)
    platform.captured_at = objects.latest_time(platform)
    return platform


def pod_of_log(path: Path, pods: dict[str, str]) -> str | None:
    """The "namespace/pod" a log file holds, from its name or (cluster-info dump) its folder."""
    stem = stem_of(path)
    if path.name == "logs.txt" and path.parent.name:
        stem = path.parent.name
    by_name = {k.split("/", 1)[1]: k for k in pods}
    if stem in by_name:
        return by_name[stem]
    for name, full in by_name.items():  # `kubectl logs POD -c CONTAINER > POD_CONTAINER.log`
        if stem.startswith(name) and stem[len(name):len(name) + 1] in ("_", ".", "-") and \
                not any(other != name and stem.startswith(other) and len(other) > len(name) for other in by_name):
            return full
    return None


def read_pod_log(path: Path, pod_key: str, platform: Platform) -> list[LogRecord]:
    """A `kubectl logs` file of the pod (see `pod_log_records`)."""
    try:
        with open_text(path) as fh:
            return pod_log_records(fh, pod_key, platform)
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot be read as text ({exc}); save it with `kubectl logs POD > {path.name}`") from None


def pod_log_records(lines: Iterable[str], pod_key: str, platform: Platform) -> list[LogRecord]:
    """`kubectl logs` output: lines with a leading time (`--timestamps` or the app's own)
    become records; lines without one continue the previous record (stack traces); a log
    with no time at all is dated at the pod's last container start (or the capture time)."""
    component = platform.owners.get(pod_key, pod_key.split("/", 1)[1])
    instance = pod_key.split("/", 1)[1]
    fallback = _pod_started(platform, pod_key) or platform.captured_at or 0.0
    out: list[LogRecord] = []
    timed = False
    for raw in lines:
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        m = _STAMP.match(line)
        t = None
        stamp_end = 0
        if m:
            stamp_end = m.end()
            try:
                t = parse_time(m.group(1))
            except ValueError:
                t = None
        if t is None:
            if timed and out:
                out[-1].message += "\n" + line
                continue
            t, rest = fallback, line.strip()
        else:
            timed = True
            rest = line[stamp_end:].strip()
        lm = _LEVEL.search(rest[:80])
        level = {"WARNING": "WARN", "ERR": "ERROR", "CRITICAL": "FATAL", "PANIC": "FATAL"}.get(
            lm.group(1).upper(), lm.group(1).upper()) if lm else ""
        out.append(LogRecord(t, component, rest, level, instance))
    return out


def _pod_started(platform: Platform, pod_key: str) -> float | None:
    for pod in platform.pods:
        if objects.key(pod) == pod_key:
            times: list[float] = []
            for cs in (pod.get("status") or {}).get("containerStatuses") or []:
                for state in (cs.get("state") or {}).values():
                    if isinstance(state, dict) and (started := objects.parse_time(state.get("startedAt"))):
                        times.append(started)
            return max(times) if times else objects.parse_time((pod.get("status") or {}).get("startTime"))
    return None


def split_platform(root: Path, candidates: list[Path] | None = None) -> tuple[list[Path], list[Path]]:
    """(Kubernetes JSON files, other files) under root."""
    files = candidates if candidates is not None else walk(root)
    state = [p for p in files if looks_like_kubernetes(p)]
    chosen = set(state)
    return state, [p for p in files if p not in chosen]


def load_platform(root: Path, candidates: list[Path] | None = None) -> tuple[Telemetry, set[Path]]:
    """The Kubernetes state under `root` as telemetry (platform, rollout changes, pod logs),
    and the files it consumed (so a caller reads the rest as other telemetry)."""
    state_files, rest = split_platform(root, candidates)
    tel = Telemetry(meta={"source": str(root)})
    if not state_files:
        return tel, set()
    tel.platform = read_state(state_files)
    used = set(state_files)
    for path in rest:
        if not path.name.lower().endswith(LOG_SUFFIXES):
            continue
        pod_key = pod_of_log(path, tel.platform.owners)
        if pod_key:
            tel.logs.extend(read_pod_log(path, pod_key, tel.platform))
            used.add(path)
    tel.changes = objects.rollout_changes(tel.platform)
    tel.logs.sort(key=lambda r: r.timestamp)
    tel.changes.sort(key=lambda c: c.timestamp)
    tel.meta["platform_files"] = [str(p.relative_to(root)) for p in sorted(used)]
    return tel, used
