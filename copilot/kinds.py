"""Fault kinds as data: each kind has a category, and kinds grow with the team.

Three places define kinds, later ones adding to (never renaming) earlier ones:

1. the built-ins below: the contest's nine (copilot/diagnosis.py FAULT_KINDS) and the
   platform kinds of the Kubernetes detectors (plugins/platform/detect.py);
2. plugins: `Plugin.kinds = {"rds_storage_full": "resource_exhaustion", ...}`
   (copilot/plugin_manager.py), registered when plugins load;
3. expert experiences in the knowledge base: an experience whose `fault_kind` is a new
   snake_case name and whose tags say `category:<category>` defines that kind.

`category_of(kind)` is what `root_causes[].category` in JSON and the report show.
"""

from __future__ import annotations

import re
import threading
from typing import Any, Iterable

CATEGORIES: tuple[str, ...] = (
    "resource_exhaustion", "configuration_error", "infrastructure", "dependency_failure",
    "code_defect", "network", "traffic", "data_quality",
)

CATEGORY_NAMES: dict[str, tuple[str, str]] = {
    "resource_exhaustion": ("resource exhaustion", "资源耗尽"),
    "configuration_error": ("configuration error", "配置错误"),
    "infrastructure": ("infrastructure", "基础设施"),
    "dependency_failure": ("dependency failure", "依赖故障"),
    "code_defect": ("code defect", "代码缺陷"),
    "network": ("network", "网络"),
    "traffic": ("traffic", "流量"),
    "data_quality": ("data quality", "数据质量"),
}

BUILTIN: dict[str, str] = {
    # the contest's kinds
    "cpu_saturation": "resource_exhaustion",
    "memory_leak": "resource_exhaustion",
    "disk_full": "resource_exhaustion",
    "jvm_gc": "resource_exhaustion",
    "network_delay": "network",
    "network_loss": "network",
    "traffic_surge": "traffic",
    "code_exception": "code_defect",
    # Kubernetes (plugins/platform/detect.py)
    "oom_killed": "resource_exhaustion",
    "crash_loop": "code_defect",
    "container_restarts": "code_defect",
    "image_pull_error": "configuration_error",
    "missing_config": "configuration_error",
    "pod_pending": "resource_exhaustion",
    "pod_unschedulable_resources": "resource_exhaustion",
    "pod_unschedulable_constraints": "configuration_error",
    "pvc_unbound": "infrastructure",
    "quota_exceeded": "resource_exhaustion",
    "limit_range_refused": "configuration_error",
    "probe_failure": "configuration_error",
    "pod_evicted": "resource_exhaustion",
    "node_not_ready": "infrastructure",
    "node_pressure": "resource_exhaustion",
    "rollout_stuck": "configuration_error",
    "replicas_unavailable": "infrastructure",
    "service_selector_mismatch": "configuration_error",
    "job_failed": "code_defect",
    "hpa_at_max": "traffic",
    "dns_failure": "network",
    "tls_failure": "configuration_error",
    "cert_expiring": "configuration_error",
}

_NAME = re.compile(r"^[a-z][a-z0-9_]{2,63}$")
_lock = threading.Lock()
_plugin_kinds: dict[str, str] = {}
_kb_kinds: dict[str, str] = {}


class KindError(ValueError):
    pass


def check_kind(kind: str, category: str, where: str) -> None:
    if not _NAME.match(kind or ""):
        raise KindError(f"{where}: fault kind {kind!r} must be snake_case (a-z, 0-9, _), 3 to 64 characters")
    if category not in CATEGORIES:
        raise KindError(f"{where}: fault kind {kind!r} has category {category!r}; use one of {', '.join(CATEGORIES)}")


def register_plugin_kinds(plugin: str, kinds: dict[str, str]) -> list[str]:
    """A plugin's kinds; returns one problem line per kind refused (bad name or category,
    or a built-in kind given another category)."""
    problems = []
    with _lock:
        for kind, category in (kinds or {}).items():
            try:
                check_kind(kind, category, f"plugin {plugin!r}")
            except KindError as exc:
                problems.append(str(exc))
                continue
            if BUILTIN.get(kind, category) != category:
                problems.append(f"plugin {plugin!r}: fault kind {kind!r} is built in as {BUILTIN[kind]}; it cannot be {category}")
                continue
            _plugin_kinds[kind] = category
    return problems


def category_tag(tags: Iterable[Any]) -> str:
    for tag in tags or ():
        text = str(tag).strip().lower()
        if text.startswith("category:"):
            return text.split(":", 1)[1].strip()
    return ""


def experience_kind(entry: dict[str, Any]) -> tuple[str, str] | None:
    """(kind, category) an experience defines: a fault_kind not known otherwise, with a
    `category:<name>` tag. None when it defines none (a known kind, or no fault_kind)."""
    kind = str(entry.get("fault_kind") or "").strip()
    if not kind or kind in BUILTIN or kind in _plugin_kinds:
        return None
    category = category_tag(entry.get("tags") or [])
    return kind, category


def register_experiences(entries: Iterable[dict[str, Any]]) -> None:
    """Kinds the knowledge base's experiences define (entries already validated)."""
    with _lock:
        for entry in entries:
            found = experience_kind(entry)
            if found and found[1] in CATEGORIES and _NAME.match(found[0]):
                _kb_kinds[found[0]] = found[1]


_bundled_loaded = False


def all_kinds() -> dict[str, str]:
    """Every known kind -> its category (built-ins, then plugins', then the knowledge base's)."""
    global _bundled_loaded
    if not _bundled_loaded:
        _bundled_loaded = True
        bundled_experience_kinds()
    with _lock:
        return {**_kb_kinds, **_plugin_kinds, **BUILTIN}


def prompt_kinds() -> str:
    """Every known kind for a model to choose from: the built-ins first, then the plugins'
    and the knowledge base's (a platform or database fault is a kind like any other)."""
    kinds = all_kinds()
    return ", ".join(list(BUILTIN) + sorted(k for k in kinds if k not in BUILTIN))


def is_detector_kind(kind: str) -> bool:
    """A kind that detectors name (built in or a plugin's): the rules' call, which an
    experience may cite but not impose on a cause of another kind."""
    with _lock:
        return kind in BUILTIN or kind in _plugin_kinds


def is_kind(kind: str) -> bool:
    return kind in all_kinds()


def category_of(kind: str) -> str:
    """The kind's category; "" for `unknown` and for kinds nobody defined."""
    return all_kinds().get(kind or "", "")


def category_name(category: str, lang: str = "en") -> str:
    names = CATEGORY_NAMES.get(category)
    return (names[1] if lang == "zh" else names[0]) if names else category


_bundled: list[dict[str, Any]] | None = None


def bundled_experiences() -> list[dict[str, Any]]:
    """The bundled expert experiences (kb/bundled/*.yaml), read once."""
    global _bundled
    if _bundled is None:
        from pathlib import Path

        import yaml

        out: list[dict[str, Any]] = []
        for path in sorted((Path(__file__).resolve().parent.parent / "kb" / "bundled").glob("*.yaml")):
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            except (OSError, yaml.YAMLError):
                continue
            out += [e for e in (data.get("experiences") or []) if isinstance(e, dict)]
        _bundled = out
    return _bundled


def bundled_experience_kinds() -> None:
    """The bundled experiences' own kinds, so they are known before any store opens."""
    register_experiences(bundled_experiences())
