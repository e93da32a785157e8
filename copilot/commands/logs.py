"""`copilot logs parse FILE [--format csv|json]`: one template per log line.

Reads raw log lines (a file, or `-` for stdin; one message a line), learns the header
shape and the templates from the whole input, and writes `line_id,template` for every
line (line ids start at 1). The header (timestamp, level, pid, host, component) is not
part of the template.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import TextIO

from copilot.errors import CopilotError
from copilot.terminal_text import terminal_safe


def register(subparsers) -> None:
    logs = subparsers.add_parser("logs", help="work with raw log files (template mining)")
    logs_sub = logs.add_subparsers(dest="logs_command", metavar="ACTION")
    logs_sub.required = True
    parse = logs_sub.add_parser(
        "parse",
        help="print the template of every log line",
        description="Mine log templates and write line_id,template for every input line.",
    )
    parse.add_argument("file", metavar="FILE", help="raw log file, one message a line; '-' reads stdin")
    parse.add_argument("--format", choices=("csv", "json"), default="csv", help="output format (default csv)")
    parse.set_defaults(func=run_parse)


def read_log_lines(path: str, stdin: TextIO | None = None) -> list[str]:
    """The lines of a log file (or stdin for '-'), line endings removed, bad bytes replaced."""
    if path == "-":
        stream = stdin if stdin is not None else sys.stdin
        return stream.read().splitlines()
    file = Path(path)
    if not file.exists():
        raise CopilotError(f"{path}: no such file; give a raw log file or '-' for stdin")
    if file.is_dir():
        raise CopilotError(f"{path} is a directory; give one raw log file")
    if not file.is_file():  # a FIFO or device would block forever; pipe it through '-' instead
        raise CopilotError(f"{path}: not a regular file (a FIFO or device); give a log file, or '-' to read stdin")
    return file.read_bytes().decode("utf-8", errors="replace").splitlines()


def templates_for(lines: list[str]) -> list[str]:
    """The template of each line, as `copilot logs parse` prints it."""
    from copilot.plugins.detectors.logparse import mine_templates

    return [mined.template for mined in mine_templates(lines)]


def write_templates(templates: list[str], fmt: str, out: TextIO) -> None:
    if fmt == "json":
        rows = [{"line_id": i, "template": t} for i, t in enumerate(templates, start=1)]
        json.dump(rows, out, ensure_ascii=False)
        out.write("\n")
        return
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["line_id", "template"])
    for i, template in enumerate(templates, start=1):
        writer.writerow([i, template])


@terminal_safe  # data reaches a terminal: no raw control characters
def run_parse(args: argparse.Namespace) -> int:
    lines = read_log_lines(args.file)
    from copilot.redact import redact

    # a raw log file is a source too: no secret reaches the screen
    write_templates([redact(t) for t in templates_for(lines)], args.format, sys.stdout)
    return 0
