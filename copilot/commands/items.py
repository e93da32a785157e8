"""`copilot items list | show | run NAME --param k=v | validate FILE`: the team's diagnosis
items (YAML under <config dir>/items/, the items_paths setting, and bundled examples)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_window_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--param", "-p", action="append", metavar="NAME=VALUE", help="a parameter (repeatable)")
    p.add_argument("--since", metavar="TIME", help="window start: '30m ago' / 'last 2 hours' / '14:05' (default: the last hour)")
    p.add_argument("--until", metavar="TIME", help="window end (default: now)")
    p.add_argument("--format", choices=("text", "json"), default="text")


def window_from_args(args: argparse.Namespace, settings: Any, default_s: float = 3600.0) -> tuple[float, float]:
    from datetime import datetime

    from copilot.errors import CopilotError
    from copilot.timeparse import parse_window
    from copilot.timezones import local_zone

    now = datetime.now(local_zone(settings))
    end = now.timestamp()
    if args.until:
        w = parse_window(args.until, now)
        if w is None:
            raise CopilotError(f"--until {args.until!r}: not a time; e.g. 14:30 or '10m ago'")
        end = w.start if w.start < now.timestamp() - 1 else w.end
    start = end - default_s
    if args.since:
        text = args.since if any(x in args.since for x in (":", "last", "past", "最近", "过去")) else f"last {args.since}"
        w = parse_window(text, now)
        if w is None:
            raise CopilotError(f"--since {args.since!r}: not a time; e.g. 30m, 'last 2 hours' or 14:05")
        start = w.start
    if end <= start:
        raise CopilotError("--since must be before --until")
    return start, end


def register(sub) -> None:
    p = sub.add_parser("items", help="diagnosis items: list, show, run, validate (the team's checks in YAML)")
    s = p.add_subparsers(dest="items_command", metavar="ACTION", required=True)
    ls = s.add_parser("list", help="every item and where it comes from")
    ls.add_argument("--format", choices=("text", "json"), default="text")
    ls.set_defaults(func=_list)
    show = s.add_parser("show", help="one item's definition")
    show.add_argument("name")
    show.set_defaults(func=_show)
    run = s.add_parser("run", help="run an item and print its findings")
    run.add_argument("name")
    add_window_flags(run)
    run.add_argument("--data", metavar="DIR", help="saved output to read instead of the live source (e.g. aws cloudwatch "
                     "get-metric-data output under DIR/cloudwatch/<dimension value>/)")
    run.set_defaults(func=_run)
    val = s.add_parser("validate", help="check an item file; exit 1 with FILE:LINE: field: what to fix")
    val.add_argument("file", nargs="+")
    val.set_defaults(func=_validate)


def _catalog(args: argparse.Namespace):
    from copilot.config import load_settings
    from copilot.plugins.items.catalog import load_catalog

    settings = load_settings()
    return settings, load_catalog(settings)


def _list(args: argparse.Namespace) -> int:
    _, catalog = _catalog(args)
    rows = [dict(item.summary(), bundled=name in catalog.bundled) for name, item in sorted(catalog.items.items())]
    if args.format == "json":
        print(json.dumps({"items": rows}, ensure_ascii=False, indent=2))
        return 0
    for r in rows:
        params = ", ".join(f"{k}{'*' if v['required'] else ''}" for k, v in r["params"].items())
        print(f"{r['name']:<24} {r['kind']:<7} {r['description']}  ({params or 'no params'}){'  [bundled]' if r['bundled'] else ''}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from pathlib import Path

    _, catalog = _catalog(args)
    item = catalog.get(args.name)
    print(f"# {item.file}")
    print(Path(item.file).read_text(encoding="utf-8").rstrip())
    return 0


def _run(args: argparse.Namespace) -> int:
    import asyncio

    from copilot.workflows.params import parse_assignments
    from copilot.plugins.items.catalog import run_item
    from copilot.plugins.items.model import ItemResult

    settings, catalog = _catalog(args)
    if args.data:
        settings.data = args.data
    item = catalog.get(args.name)
    given = parse_assignments(args.param)
    window = window_from_args(args, settings)
    result: ItemResult = asyncio.run(run_item(item, given, window, settings=settings, catalog=catalog))
    prefix = {"metrics": "M", "logs": "L", "traces": "T", "changes": "C", "alerts": "A"}
    for i, f in enumerate(result.findings, 1):
        f.id = f"{prefix.get(f.source, 'F')}{i}"
    if args.format == "json":
        print(json.dumps(dict(result.to_dict(), window=list(window)), ensure_ascii=False, indent=2, default=str))
        return 0
    if not result.findings:
        print(f"{item.name}: no problem found")
    for f in result.findings:
        print(f"[{f.id}] {f.component}: {f.summary}")
    if result.truncated:
        print("(the filter's output was capped)", file=sys.stderr)
    return 0


def _validate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from copilot.config import load_settings
    from copilot.plugins.items.catalog import Catalog, load_catalog, validate_item_file
    from copilot.plugins.items.rules import RuleGroup

    settings = load_settings()
    for name in args.file:
        item = validate_item_file(Path(name))
        if isinstance(item, RuleGroup):
            known = load_catalog(settings)
            known.items[item.name] = item
            item.check_references(Catalog(known.items))
        print(f"{name}: ok ({item.kind} item {item.name})")
    return 0
