"""Every item file: `<config dir>/items/`, the `items_paths` setting, and the bundled
examples (kb/bundled/items/). A user's item overrides a bundled one of the same name;
two user files with one name, or any bad file, stop the load (nothing half-loaded)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from copilot.config import config_dir
from copilot.errors import CopilotError
from copilot.workflows.params import bind
from copilot.workflows.yamlspec import Spec, read_spec

from .model import ItemBase, ItemResult, parse_common

BUNDLED = Path(__file__).resolve().parents[2] / "kb" / "bundled" / "items"


def yaml_files(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out += sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
        elif path.is_file():
            out.append(path)
    return out


def user_dirs(settings: Any, sub: str, setting: str) -> list[Path]:
    extra = [Path(p).expanduser() for p in (getattr(settings, setting, None) or []) if str(p).strip()]
    return [config_dir() / sub, *extra]


def parse_item(spec: Spec) -> ItemBase:
    common = parse_common(spec)
    kind = common["kind"]
    if kind == "http":
        from .http import parse_http

        return parse_http(spec, common)
    if kind == "metric":
        from .registry import parse_metric

        return parse_metric(spec, common)
    from .rules import parse_rules

    return parse_rules(spec, common)


def validate_item_file(path: Path) -> ItemBase:
    return parse_item(read_spec(path))


@dataclass
class Catalog:
    items: dict[str, ItemBase] = field(default_factory=dict)
    bundled: set[str] = field(default_factory=set)

    def get(self, name: str) -> ItemBase:
        if name not in self.items:
            known = ", ".join(sorted(self.items)) or "none (add YAML files under " + str(config_dir() / "items") + ")"
            raise CopilotError(f"no item named {name!r}; known items: {known}")
        return self.items[name]

    def check_references(self) -> None:
        from .rules import RuleGroup

        for item in self.items.values():
            if isinstance(item, RuleGroup):
                item.check_references(self)


def load_catalog(settings: Any = None, *, bundled: bool = True) -> Catalog:
    catalog = Catalog()
    if bundled:
        for path in yaml_files([BUNDLED]):
            item = validate_item_file(path)
            catalog.items[item.name] = item
            catalog.bundled.add(item.name)
    seen: dict[str, str] = {}
    for path in yaml_files(user_dirs(settings, "items", "items_paths")):
        spec = read_spec(path)
        item = parse_item(spec)
        if item.name in seen:
            raise spec.fail(("name",), f"another item is already named {item.name!r} ({seen[item.name]}); rename one")
        seen[item.name] = str(path)
        catalog.items[item.name] = item
        catalog.bundled.discard(item.name)
    catalog.check_references()
    return catalog


async def run_item(item: ItemBase, given: dict[str, Any], window: tuple[float, float], *,
                   settings: Any = None, catalog: Catalog | None = None) -> ItemResult:
    """Run one item with its parameters bound and typed; raises CopilotError with one line."""
    from copilot.timezones import local_zone

    values = bind(item.params, given, f"item {item.name}")
    tz = local_zone(settings)
    if item.kind == "http":
        from .http import run_http

        return await run_http(item, values, window, tz)  # type: ignore[arg-type]
    if item.kind == "metric":
        from .registry import run_metric

        return await run_metric(item, values, window, settings)  # type: ignore[arg-type]
    from .rules import run_rules

    return await run_rules(item, values, window, settings=settings, catalog=catalog or Catalog())  # type: ignore[arg-type]
