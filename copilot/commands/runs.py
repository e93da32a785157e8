"""`copilot runs list | show RUN_ID | label RUN_ID STEP LABEL [--suggest TEXT]`: the run
history of workflows, per step (the seed's 故障管理), and the human's labels."""

from __future__ import annotations

import argparse
import json


def register(sub) -> None:
    p = sub.add_parser("runs", help="workflow run history per step: list, show, label")
    s = p.add_subparsers(dest="runs_command", metavar="ACTION", required=True)
    ls = s.add_parser("list", help="recent runs")
    ls.add_argument("--workflow", default="", help="only this workflow's runs")
    ls.add_argument("--limit", type=int, default=20)
    ls.add_argument("--format", choices=("text", "json"), default="text")
    ls.set_defaults(func=_list)
    show = s.add_parser("show", help="every step of a run: input, output, raw output, label")
    show.add_argument("run_id")
    show.add_argument("--format", choices=("text", "json"), default="text")
    show.set_defaults(func=_show)
    lab = s.add_parser("label", help="label a step's output (confirmed, wrong, partial, unclear)")
    lab.add_argument("run_id")
    lab.add_argument("step")
    lab.add_argument("label")
    lab.add_argument("--suggest", default="", metavar="TEXT", help="what the output should have been")
    lab.set_defaults(func=_label)


def _when(ts: float) -> str:
    from copilot.config import load_settings
    from copilot.timezones import format_time

    return format_time(ts, load_settings(), seconds=True)


def _list(args: argparse.Namespace) -> int:
    from copilot.workflows.history import RunHistory

    runs = RunHistory().runs(args.limit, args.workflow)
    if args.format == "json":
        print(json.dumps({"runs": runs}, ensure_ascii=False, indent=2))
        return 0
    if not runs:
        print("no workflow runs recorded yet; `copilot workflows run NAME` records one")
    for r in runs:
        params = " ".join(f"{k}={v}" for k, v in r["input"].get("params", {}).items())
        print(f"{r['run_id']}  {_when(r['at'])}  {r['workflow']:<18} {params:<24} {r['steps']} steps"
              f"{', ' + str(r['errors']) + ' failed' if r['errors'] else ''}{', ' + str(r['labels']) + ' labelled' if r['labels'] else ''}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from copilot.workflows.history import RunHistory

    steps = RunHistory().steps(args.run_id)
    if args.format == "json":
        print(json.dumps({"run_id": steps[0]["run_id"], "steps": steps}, ensure_ascii=False, indent=2, default=str))
        return 0
    head = steps[0]
    print(f"run {head['run_id']} · {head['workflow']} · {_when(head['at'])} · input {json.dumps(head['input'], ensure_ascii=False)}")
    for s in steps:
        print(f"\n[{s['step_index']}] {s['step']} ({s['kind']} {s['target']}) {s['status']}"
              + (f"  label: {s['label']}" + (f" → {s['suggested']}" if s['suggested'] else "") if s['label'] else ""))
        print(f"    input:  {json.dumps(s['step_input'], ensure_ascii=False)[:300]}")
        out = s["output"]
        if isinstance(out, list) and out and isinstance(out[0], dict) and "summary" in out[0]:
            for f in out[:10]:
                print(f"    [{f['id']}] {f['component']}: {f['summary']}")
        else:
            print(f"    output: {json.dumps(out, ensure_ascii=False)[:300]}")
    return 0


def _label(args: argparse.Namespace) -> int:
    from copilot.workflows.history import RunHistory

    row = RunHistory().label(args.run_id, args.step, args.label, args.suggest)
    print(f"labelled {row['run_id']} {row['step']}: {row['label']}" + (f" → {row['suggested']}" if row["suggested"] else ""))
    return 0
