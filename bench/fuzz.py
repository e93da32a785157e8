"""Rerun the hostile-input campaign of issue 16 and print its table.

    .venv/bin/python bench/fuzz.py [--kills 3]

Everything runs as a user would: `copilot` subprocesses over a corpus generated into a
temporary folder (tests/fuzz_corpus.py, tests/hostile.py, tests/data/secrets_corpus.yaml).
Counts, all of which should be zero: tracebacks, hangs (60 s), wrong exit codes or
messages that do not name the file (a hung model endpoint: the rules' result under one
warning line within its 2 s budget, else a hang); secrets leaked and raw escape sequences per output
channel; partial writes after `kb import` runs SIGKILLed mid-import. Also prints redaction
recall and precision on the corpus. Takes a few minutes; it is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from copilot.redact import redact  # noqa: E402
from copilot.terminal_text import has_raw_controls  # noqa: E402
from tests.fuzz_corpus import kb_cases, series_cases, telemetry_cases  # noqa: E402
from tests.hostile import ESCAPES, QUESTION, canaries, corpus, hostile_incident  # noqa: E402

HANG_S = 60.0


def run(argv: list[str], env: dict[str, str], timeout: float = HANG_S) -> tuple[int | None, str, str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("COPILOT_", "OPENAI_"))}
    full.update(LANCE_LOG="error", PYTHONPATH=str(ROOT), **env)
    try:
        p = subprocess.run([sys.executable, "-m", "copilot", *argv], capture_output=True, env=full, cwd=ROOT,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "", ""
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


class Tally:
    def __init__(self) -> None:
        self.rows: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def case(self, group: str, target: Path, code: int | None, err: str, want: int = 1) -> None:
        row = self.rows[group]
        row["inputs"] += 1
        if code is None:
            row["hangs"] += 1
            return
        row["tracebacks"] += "Traceback" in err
        lines = err.strip().splitlines()
        wrong = code != want or (want == 1 and not (len(lines) == 1 and str(target) in lines[0]))
        row["wrong exit/message"] += wrong


def bad_input(t: Tally, base: Path, env: dict[str, str], kb_env: dict[str, str]) -> None:
    for name, build in telemetry_cases().items():
        target = build(base / "tel" / name)
        code, _, err = run(["--query", "why is cart slow?", "--data", str(target), "--offline"], env)
        t.case("--query on malformed telemetry", target, code, err)
        code, _, err = run(["--query", "why is cart slow?", "--data", str(target), "--offline", "--format", "json"], env)
        t.case("--query on malformed telemetry", target, code, err)
    for name, build in series_cases().items():
        target = build(base / "series" / name)
        code, _, err = run(["detect", str(target)], env)
        t.case("detect", target, code, err)
    for name in ("fifo",):
        target = base / "logs-fifo"
        target.mkdir(parents=True)
        os.mkfifo(target / "app.log")
        code, _, err = run(["logs", "parse", str(target / "app.log")], env)
        t.case("logs parse", target / "app.log", code, err)
    for name, build in kb_cases().items():
        target = build(base / "kb" / name)
        code, _, err = run(["kb", "import", str(target)], kb_env)
        t.case("kb import", target if name != "duplicate_ids" else Path("duplicate ids"), code,
               err.replace("duplicate ids in this import", f"{target}: duplicate ids"))


def hung_model(t: Tally, base: Path, env: dict[str, str], budget: float = 2.0) -> None:
    """`--query` against a model endpoint that accepts and never answers, or stalls midway:
    the rules' result under one warning line (exit 0), within the budget of the first connection."""
    from tests.hung_endpoint import HungEndpoint

    for mode in ("silent", "stall"):
        cfg = base / f"hung-{mode}"
        (cfg / "sre-copilot").mkdir(parents=True)
        with HungEndpoint(mode) as hung:
            (cfg / "sre-copilot" / "config.toml").write_text(
                f'base_url = "{hung.base_url}"\nmodel = "m"\napi_key = "sk-local"\nmodel_budget = {budget}\n')
            code, out, err = run(["--query", "why is checkout slow?", "--no-memory"], dict(env, XDG_CONFIG_HOME=str(cfg)))
            late = not hung.accepted or time.monotonic() - hung.accepted[0] > 2 * budget + HANG_S / 6
        row = t.rows[f"--query, model endpoint hung ({budget:g} s budget)"]
        row["inputs"] += 1
        if code is None or late:
            row["hangs"] += 1
            continue
        row["tracebacks"] += "Traceback" in err
        row["wrong exit/message"] += code != 0 or sum("rules' result" in line for line in out.splitlines()) != 1


def channels(base: Path, env: dict[str, str], kb_env: dict[str, str]) -> dict[str, tuple[int, int]]:
    """channel -> (secrets leaked, outputs with raw escapes)."""
    incident = hostile_incident(base / "incident", env)
    secrets = [s for _, s in canaries()] + ["Chg_Canary_77", "Auth0rCanary"]
    outputs: dict[str, str] = {}
    _, out, err = run(["--query", QUESTION, "--data", str(incident)], env, timeout=300)
    outputs["--query text"], outputs["--query trace (stderr)"] = out, err
    _, out, _ = run(["--query", QUESTION, "--data", str(incident), "--format", "json", "--no-memory"], env, 300)
    outputs["--query json"] = out
    _, out, _ = run(["--query", QUESTION, "--data", str(incident), "--events", "--no-memory"], env, 300)
    outputs["--query events"] = out
    sid = sorted((Path(env["XDG_DATA_HOME"]) / "sre-copilot" / "sessions").glob("*.jsonl"))[0].stem
    outputs["sessions show"] = run(["sessions", "show", sid], env)[1]
    outputs["sessions list"] = run(["sessions", "list"], env)[1]
    outputs["report"] = run(["report", sid], env)[1]
    outputs["report json"] = run(["report", sid, "--format", "json"], env)[1]
    outputs["memory list"] = run(["memory", "list"], env)[1]
    log = base / "hostile.log"
    log.write_text("".join(f"2024-05-14 13:3{i}:00 ERROR cart {t} {e}\n"
                           for i, (t, e) in enumerate(zip([t for t, _ in canaries()], ESCAPES.values()))))
    outputs["logs parse"] = run(["logs", "parse", str(log)], env)[1]
    entry = base / "hostile-kb.yaml"
    entry.write_text(json.dumps([{"id": "exp-hostile-1", "fault_name": "Disk " + ESCAPES["title"],
                                  "root_cause": "full " + ESCAPES["osc52_clipboard"], "mitigation": "rotate " + ESCAPES["c1_csi"]}]))
    run(["kb", "import", str(entry)], kb_env)
    outputs["kb list"] = run(["kb", "list"], kb_env)[1]
    outputs["kb search"] = run(["kb", "search", "disk full rotate"], kb_env)[1]
    outputs["kb show"] = run(["kb", "show", "exp-hostile-1"], kb_env)[1]
    stored = b"".join(p.read_bytes() for p in Path(env["XDG_DATA_HOME"]).rglob("*") if p.is_file())
    result = {name: (sum(s in text for s in secrets), int(has_raw_controls(text))) for name, text in outputs.items()}
    result["stored: sessions + LanceDB"] = (sum(s.encode() in stored for s in secrets), 0)
    return result


def kills(base: Path, kb_env: dict[str, str], n: int) -> tuple[int, int, int]:
    """(runs, killed mid-import, partial states seen by the next command)."""
    killed = partial = 0
    for k in range(n):
        src = base / f"kill{k}"
        src.mkdir(parents=True)
        (src / "exp.yaml").write_text("".join(f"- {{id: exp-k{k}-{i}, fault_name: K {k} {i}, root_cause: c{i}, "
                                              f"mitigation: m{i}}}\n" for i in range(5)))
        (src / f"runbook-k{k}.md").write_text(f"# Runbook {k}\n\n## One\n\n" + "step " * 30 + "\n\n## Two\n\nmore\n")
        versions = Path(kb_env["COPILOT_KB_URI"]) / "experiences.lance" / "_versions"
        first = set(versions.iterdir())
        full = dict(os.environ, LANCE_LOG="error", PYTHONPATH=str(ROOT), **kb_env)
        proc = subprocess.Popen([sys.executable, "-m", "copilot", "kb", "import", str(src)], env=full, cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while proc.poll() is None and set(versions.iterdir()) == first:
            time.sleep(0.005)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            killed += 1
        proc.wait()
        ids = {e["id"] for e in json.loads(run(["kb", "list", "--json"], kb_env)[1] or "[]")}
        exps = sum(i.startswith(f"exp-k{k}-") for i in ids)
        docs = sum(i.startswith(f"sop-runbook-k{k}") for i in ids)
        partial += (exps, docs) not in ((0, 0), (5, 2))
    return n, killed, partial


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=3, help="kb imports to SIGKILL mid-way (default 3)")
    parser.add_argument("--large-rows", type=int, default=0, metavar="N",
                        help="also run bench/large_input.py on an N-row metrics file (e.g. 5000000) and print "
                             "its wall time and peak memory")
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="copilot-fuzz-") as tmp:
        base = Path(tmp)
        env = {"XDG_DATA_HOME": str(base / "data"), "XDG_CONFIG_HOME": str(base / "cfg"),
               "XDG_CACHE_HOME": os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache"))}
        kb_env = dict(env, COPILOT_KB_URI=str(base / "kb"))
        run(["kb", "list"], kb_env, timeout=600)  # seed the KB once
        tally = Tally()
        bad_input(tally, base, env, kb_env)
        hung_model(tally, base, env)
        per_channel = channels(base, env, kb_env)
        kill_runs, killed, partial = kills(base, kb_env, args.kills)
    data = corpus()
    recall = sum(str(c["secret"]) not in redact(str(c["text"])) for c in data["secrets"]) / len(data["secrets"])
    precision = sum(redact(t) == t for t in data["clean"]) / len(data["clean"])

    print("Bad input (each malformed input: exit 1, one line naming the file)")
    print(f"| {'group':<42} | inputs | tracebacks | hangs | wrong exit/message |")
    print(f"|{'-' * 44}|--------|------------|-------|--------------------|")
    for group, row in tally.rows.items():
        print(f"| {group:<42} | {row['inputs']:>6} | {row['tracebacks']:>10} | {row['hangs']:>5} | {row['wrong exit/message']:>18} |")
    print("\nSecrets and terminal escapes per channel (hostile incident: "
          f"{len(canaries()) + 2} canaries, {len(ESCAPES)} escape kinds)")
    print(f"| {'channel':<28} | secrets leaked | raw escapes |")
    print(f"|{'-' * 30}|----------------|-------------|")
    for name, (leaked, raw) in per_channel.items():
        print(f"| {name:<28} | {leaked:>14} | {raw:>11} |")
    print(f"\nRedaction on tests/data/secrets_corpus.yaml: recall {recall:.3f} ({len(data['secrets'])} shapes), "
          f"clean texts untouched {precision:.3f} ({len(data['clean'])})")
    print(f"kb import SIGKILLed mid-import: {killed} of {kill_runs} runs killed, partial writes after: {partial}")
    if args.large_rows:
        import subprocess
        import sys

        large = subprocess.run([sys.executable, str(Path(__file__).with_name("large_input.py")), "--rows",
                                str(args.large_rows)], capture_output=True, text=True)
        print(f"Large input ({args.large_rows:,} metric rows, goal < 60 s and < 2 GB): {large.stdout.strip() or large.stderr.strip()}")
    print(f"elapsed: {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
