"""Remediation, proposed and approved: from the root cause, the fault kind's standard
mitigation and the evidence, a concrete plan and script (kubectl rollout undo / restart /
scale, a disk cleanup, a SQL that ends runaway queries) with what it changes, how to check
it worked and how to undo it.

Commands come only from the templates below, filled with a validated component name and
namespace: no text from a log line or a model is ever executed. `execute` runs a plan only
after a human approved it, dry-runs every step first where the target supports it, and
appends every step to the audit log.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from .audit import AuditLog
from .faults import fault_info
from .redact import redact

# A Kubernetes object name (RFC 1123 subdomain); anything else gets no script.
NAME = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$")
_DATABASES = ("db", "database", "postgres", "postgresql", "pg", "pgsql")

RUNAWAY_SQL = ("SELECT pid, now() - query_start AS running, left(query, 120) AS query FROM pg_stat_activity "
               "WHERE state = 'active' AND pid <> pg_backend_pid() AND now() - query_start > interval '5 minutes'")
END_RUNAWAY_SQL = ("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                   "WHERE state = 'active' AND pid <> pg_backend_pid() AND now() - query_start > interval '5 minutes'")
CLEANUP = ("find /var/log /tmp -xdev -type f \\( -name '*.gz' -o -name '*.log.[0-9]*' -o -name '*.tmp' "
           "-o -name 'core.*' -o -name '*.hprof' \\) -mmin +60")


@dataclass
class Step:
    argv: list[str]  # what runs (no shell)
    dry_run: list[str] | None = None  # the same change checked without applying it, where supported
    note: str = ""


@dataclass
class Remediation:
    session_id: str
    component: str
    fault_type: str
    title: str
    mitigation: str  # the fault kind's standard mitigation, in words
    changes: str  # what running it changes
    steps: list[Step]
    verify: list[list[str]]  # read-only commands that show whether it worked
    undo: list[str]  # how to undo it (commands, or why it cannot be undone)
    snapshot: list[list[str]] = field(default_factory=list)  # read-only state recorded before the change
    evidence: list[str] = field(default_factory=list)  # finding ids and reasons it rests on
    namespace: str = "default"
    risk: str = "write"

    @property
    def tools(self) -> list[str]:
        return sorted({s.argv[0] for s in self.steps})

    def script(self) -> str:
        lines = ["#!/usr/bin/env bash", f"# {self.title}", f"# changes: {self.changes}",
                 "# review, then run with `copilot remediate " + self.session_id + " --run`", "set -euo pipefail", ""]
        for cmd in self.snapshot:
            lines.append(f"{shlex.join(cmd)}   # state before the change")
        for step in self.steps:
            if step.note:
                lines.append(f"# {step.note}")
            if step.dry_run:
                lines.append(f"{shlex.join(step.dry_run)}   # dry run")
            lines.append(shlex.join(step.argv))
        lines += ["", "# check it worked:"] + [shlex.join(c) for c in self.verify]
        lines += ["", "# undo:"] + [f"#   {u}" for u in self.undo]
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["tools"] = self.tools
        out["script"] = self.script()
        return out


def _kubectl(namespace: str, *args: str) -> list[str]:
    return ["kubectl", "-n", namespace, *args]


def _deployed(diagnosis: dict[str, Any], component: str) -> bool:
    return any(f.get("source") == "changes" and f.get("component") == component and f.get("kind") in ("deploy", "release")
               for f in diagnosis.get("findings", []))


def propose(diagnosis: dict[str, Any], session_id: str = "", namespace: str = "default",
            replicas: int | None = None) -> Remediation | None:
    """The plan for the top root cause, or None when there is no cause or no safe template."""
    causes = diagnosis.get("root_causes") or []
    if not causes:
        return None
    top = causes[0]
    component, kind = str(top.get("component", "")), str(top.get("fault_type", "unknown"))
    if not NAME.match(component) or not NAME.match(namespace):
        return None
    info = fault_info(kind)
    deploy = f"deployment/{component}"
    evidence = [str(e) for e in top.get("evidence", [])][:8] + [redact(str(r)) for r in top.get("reasons", [])][:3]
    base: dict[str, Any] = dict(session_id=session_id or str(diagnosis.get("session_id", "")), component=component, fault_type=kind,
                mitigation=info.mitigation("en"), evidence=evidence, namespace=namespace)
    status = [_kubectl(namespace, "rollout", "status", deploy, "--timeout=180s"),
              _kubectl(namespace, "get", "pods", "-l", f"app={component}", "-o", "wide")]
    history = _kubectl(namespace, "rollout", "history", deploy)

    if kind == "cpu_saturation" and component.split("-")[0] in _DATABASES:
        return Remediation(
            **base, title=f"End runaway queries on {component} (PostgreSQL)",
            changes="terminates backends whose query has run for more than 5 minutes; their clients get an error",
            steps=[Step(["psql", "--no-psqlrc", "-X", "-c", END_RUNAWAY_SQL],
                        ["psql", "--no-psqlrc", "-X", "-c", RUNAWAY_SQL], "connection from the PG* environment")],
            verify=[["psql", "--no-psqlrc", "-X", "-c", RUNAWAY_SQL]],
            undo=["not reversible: ended queries are rolled back; their clients must retry them"],
            snapshot=[["psql", "--no-psqlrc", "-X", "-c", RUNAWAY_SQL]])
    if kind == "code_exception" or (kind in ("memory_leak", "unknown") and _deployed(diagnosis, component)):
        return Remediation(
            **base, title=f"Roll back the latest deploy of {component}",
            changes=f"{deploy} in namespace {namespace} goes back to its previous revision",
            steps=[Step(_kubectl(namespace, "rollout", "undo", deploy), _kubectl(namespace, "rollout", "undo", deploy,
                                                                                   "--dry-run=server"))],
            verify=status, snapshot=[history],
            undo=[shlex.join(_kubectl(namespace, "rollout", "undo", deploy)) + "   # back to the revision before"])
    if kind == "traffic_surge":
        n = replicas or 4
        return Remediation(
            **base, title=f"Scale out {component} to {n} replicas",
            changes=f"{deploy} in namespace {namespace} runs {n} replicas",
            steps=[Step(_kubectl(namespace, "scale", deploy, f"--replicas={n}"),
                        _kubectl(namespace, "scale", deploy, f"--replicas={n}", "--dry-run=server"),
                        "then rate-limit the hot clients at the gateway")],
            verify=status,
            snapshot=[_kubectl(namespace, "get", deploy, "-o", "jsonpath={.spec.replicas}")],
            undo=[shlex.join(_kubectl(namespace, "scale", deploy, "--replicas=<N>"))
                  + "   # N: the count recorded before the change (audit log, snapshot)"])
    if kind == "disk_full":
        return Remediation(
            **base, title=f"Clean up old rotated logs, dumps and temp files on {component}",
            changes="deletes rotated/compressed logs, core and heap dumps and temp files older than 1 hour "
                    "under /var/log and /tmp in the pod",
            steps=[Step(_kubectl(namespace, "exec", f"deploy/{component}", "--", "sh", "-c", CLEANUP + " -print -delete"),
                        _kubectl(namespace, "exec", f"deploy/{component}", "--", "sh", "-c", CLEANUP + " -print"),
                        "the dry run lists what would be deleted")],
            verify=[_kubectl(namespace, "exec", f"deploy/{component}", "--", "df", "-h")],
            snapshot=[_kubectl(namespace, "exec", f"deploy/{component}", "--", "df", "-h")],
            undo=["not reversible: deleted files are gone; snapshot the volume first if they matter",
                  "then expand the volume (PVC resize) if the disk fills again"])
    if kind in ("cpu_saturation", "memory_leak", "jvm_gc", "network_delay", "network_loss"):
        return Remediation(
            **base, title=f"Restart {component} (rolling)",
            changes=f"every pod of {deploy} in namespace {namespace} is replaced, one by one; they may land on other nodes",
            steps=[Step(_kubectl(namespace, "rollout", "restart", deploy),
                        _kubectl(namespace, "rollout", "restart", deploy, "--dry-run=server"))],
            verify=status, snapshot=[history],
            undo=["a restart needs no undo; if the new pods are worse: "
                  + shlex.join(_kubectl(namespace, "rollout", "undo", deploy))])
    return None


Runner = Callable[..., subprocess.CompletedProcess]


def _run(runner: Runner, argv: list[str], timeout: float) -> tuple[bool, str, int | None]:
    try:
        done = runner(argv, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError:
        return False, f"{argv[0]} not found on PATH", None
    except subprocess.TimeoutExpired:
        return False, f"timed out after {timeout:.0f}s", None
    output = ((done.stdout or "") + (done.stderr or "")).strip()
    return done.returncode == 0, redact(output[-2000:]), done.returncode


def execute(rem: Remediation, audit: AuditLog, *, approved_by: str, runner: Runner = subprocess.run,
            timeout: float = 300.0) -> bool:
    """Run an approved plan: snapshot, dry runs, then each step once; stop at the first failure.
    `approved_by` names the human who approved; every step lands in the audit log."""
    if not approved_by:
        raise PermissionError("a remediation runs only with a named approver")
    sid = rem.session_id
    for cmd in rem.snapshot:
        ok, out, code = _run(runner, cmd, timeout)
        audit.record("snapshot", shlex.join(cmd), "ok" if ok else "failed", session_id=sid, exit_code=code, output=out)
    for step in rem.steps:
        if step.dry_run:
            ok, out, code = _run(runner, step.dry_run, timeout)
            audit.record("dry_run", shlex.join(step.dry_run), "ok" if ok else "failed", session_id=sid,
                         exit_code=code, output=out, approved_by=approved_by)
            if not ok:
                return False
    for step in rem.steps:
        ok, out, code = _run(runner, step.argv, timeout)
        audit.record("ran", shlex.join(step.argv), "ok" if ok else "failed", session_id=sid, exit_code=code,
                     output=out, approved_by=approved_by)
        if not ok:
            return False
    return True


def proposal(diagnosis: dict[str, Any], session_id: str = "") -> dict[str, Any] | None:
    """The `"remediation"` section of the JSON outputs: the proposed plan (never run), or None."""
    plan = propose(diagnosis, session_id)
    return plan.to_dict() if plan else None
