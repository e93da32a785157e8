"""Find and strip log line headers (timestamp, level, pid, host, component) generically.

A raw log line is usually `<header> <message>`, where the header is a timestamp in one of
a few dozen common spellings followed by a level, process/thread ids, a host and a
component ("sshd[24200]:", "WindowManager:", "chrome.exe - ", a padded column, a
`|`-delimited field). Nothing here knows any particular system: each line is read with a
small grammar of generic header fields, and the file-wide shape of the header (the most
common sequence of field kinds) decides how much to strip, so a message that happens to
start like a header field ("[client 10.0.0.1] ...", "3 retries left") is not eaten.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

_MON = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*"
_DAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*"
_HMS = r"\d{1,2}:\d{1,2}:\d{1,2}(?:[.,:]\d{1,9})?"
_ZONE = r"(?:\s?(?:Z|UTC|GMT|[+-]\d{2}:?\d{2}))?"

# Timestamp spellings, most specific first. Each must match at a token boundary.
_TIMESTAMPS = [
    rf"\d{{4}}[-/]\d{{1,2}}[-/]\d{{1,2}}[T\s]{_HMS}{_ZONE}",  # ISO 8601, 2016-09-28 04:30:30
    rf"\d{{1,2}}/{_MON}/\d{{4}}:\d{{2}}:\d{{2}}:\d{{2}}{_ZONE}",  # 10/Oct/2000:13:55:36 -0700
    rf"(?:{_DAY},?\s+)?{_MON}\s+\d{{1,2}},?\s+(?:\d{{4}}\s+)?{_HMS}(?:\s+\d{{4}})?{_ZONE}",  # syslog
    rf"(?:{_DAY},?\s+)?\d{{1,2}}\s+{_MON}\s+\d{{4}}\s+{_HMS}{_ZONE}",  # 04 Dec 2005 04:47:44
    rf"\d{{4}}[-./]\d{{2}}[-./]\d{{2}}[-T]\d{{2}}[.:]\d{{2}}[.:]\d{{2}}(?:[.,]\d{{1,9}})?",  # 2005-06-03-15.42.50.675
    rf"\d{{8}}[-T\s]?{_HMS}",  # 20171223-22:15:29:606
    rf"\d{{1,2}}[-./]\d{{1,2}}(?:[-./]\d{{2,4}})?[\sT-]{_HMS}",  # 03-17 16:13:38.811, 10.30 16:49:06
    rf"\d{{2}}\d{{2}}\d{{2}}\s+\d{{6}}",  # 081109 203615 (compact date and time)
    rf"{_HMS}",  # time only
    r"1\d{9}(?:\.\d+)?|1\d{12}",  # unix seconds / milliseconds (2001..2033)
]
# Full date-and-time spellings (not a bare time or number), to mask inside messages.
DATETIME_PATTERN = "|".join(_TIMESTAMPS[:6])
_TS_RE = re.compile(
    r"(?:\[\s*(?:" + "|".join(_TIMESTAMPS) + r")\s*\]|(?:" + "|".join(_TIMESTAMPS) + r"))(?=[\s|,;\]]|$),?"
)

_LEVELS = (
    "trace|debug|dbg|fine|finer|finest|info|information|informational|notice|warn|warning|"
    "error|err|crit|critical|fatal|severe|alert|emerg|emergency|verbose|panic"
)
_LEVEL_RE = re.compile(
    rf"(?:\[(?i:{_LEVELS})\]|<(?i:{_LEVELS})>|(?i:{_LEVELS})(?![\w.\-/])|[VDIWEFA](?=\s+\S))"
    r":?(?=\s|\||$)"
)
_NUM_RE = re.compile(r"(?:\[-?\d+\]|\(-?\d+\)|-?\d+)(?=\s|\||$)")
_BRACKET_RE = re.compile(r"\[(?=[^\]\s])(?:[^\[\]]|\[[^\[\]]*\]){1,200}\](?=\s|\||$)")
# A dotted logger name right after the level: "INFO org.apache.Foo [req-1] message"
_LOGGER_RE = re.compile(r"[A-Za-z_][\w$]*(?:\.[A-Za-z_$][\w$]*)+(?=\s)")
_UPPER_LEVEL_RE = re.compile(r"(?:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|CRIT|CRITICAL|FATAL|SEVERE)(?=\s)")
# A component that ends the header: "sshd[24200]:", "WindowManager:", "sandboxd[129] ([38132]):"
_COMP_COLON = (
    r"(?![\w.$]*(?:Exception|Error|Throwable)\b)"  # "PaymentException: ..." is the message
    r"[^\s:|\[\]][^\s:|]{0,80}?(?:\s[^\s:|\[\]]{1,40}(?=\[)|\s\d+(?:\.\d+)+)?"
    r"(?:\[[^\]\s]*\])?(?:\s\([^()\s]{1,200}\))?:(?=\s|$)"
)
_COMP_COLON_RE = re.compile(_COMP_COLON)
# "chrome.exe - " or "chrome.exe *64 - " (a program, an optional qualifier, a dash)
_COMP_DASH_RE = re.compile(r"[^\s\-][^\s]{0,80}(?:\s[^\s\-]{1,8})?\s-\s(?=\S)")
_HOST_RE = re.compile(r"[\w][\w.\-]{0,80}(?=\s+" + _COMP_COLON + ")")
_PIPE_FIELD_RE = re.compile(r"[^|\s][^|]{0,80}?(?=\|)")
_PADDED_RE = re.compile(r"[^\s:]{1,40}(?=\s{2,}\S)")
_SEP_RE = re.compile(r"[ \t]*(?:\|[ \t]*|-[ \t]+)?")
_TOKEN_RE = re.compile(r"[^\s|]+")
_LOOKAHEAD_TOKENS = 6

_TERMINAL = {"comp", "dash"}
# Share of lines that, reading the header without a trailing bracket group, show that
# group is message text (a header field is written on every line).
OPTIONAL_SHARE = 0.05
_MAX_PREFIX_TOKENS = 5


@dataclass(frozen=True)
class HeaderParse:
    """One line's header reading: field kinds in order and where each field ends."""

    kinds: tuple[str, ...]
    ends: tuple[int, ...]  # character offset just after each field (separators included)

    def cut(self, n_fields: int) -> int:
        return self.ends[n_fields - 1] if n_fields else 0


def _skip_sep(line: str, pos: int) -> int:
    m = _SEP_RE.match(line, pos)
    assert m is not None  # every part of _SEP_RE is optional: it matches (maybe empty) at any position
    return m.end()


def _find_timestamp(line: str) -> tuple[int, int, int] | None:
    """(tokens before, start, end) of the first timestamp among the first few tokens."""
    pos = 0
    for n_before in range(_MAX_PREFIX_TOKENS + 1):
        pos = _skip_sep(line, pos)
        m = _TS_RE.match(line, pos)
        if m:
            return n_before, m.start(), m.end()
        nxt = _TOKEN_RE.match(line, pos)
        if not nxt:
            return None
        pos = nxt.end()
    return None


def read_header(line: str) -> HeaderParse | None:
    """Read the header fields of one line, greedily; None when it has no timestamp."""
    found = _find_timestamp(line)
    if found is None:
        return None
    n_before, _, ts_end = found
    kinds: list[str] = []
    ends: list[int] = []
    if n_before:
        pos = 0
        for _ in range(n_before):
            pos = _skip_sep(line, pos)
            tok = _TOKEN_RE.match(line, pos)
            assert tok is not None  # _find_timestamp matched these n_before tokens the same way
            pos = tok.end()
            kinds.append("pre")
            ends.append(pos)
    kinds.append("ts")
    ends.append(ts_end)
    pos = ts_end
    while len(kinds) < 12:
        start = _skip_sep(line, pos)
        if start >= len(line):
            break
        step = _next_field(line, start, kinds[-1])
        if step is None:
            skipped = _skip_to_anchor(line, start)
            if skipped is None:
                break
            kinds.extend(["skip"] * len(skipped))
            ends.extend(skipped)
            pos = skipped[-1]
            continue
        kind, end = step
        if end >= len(line.rstrip()):
            break  # never swallow the whole message
        kinds.append(kind)
        ends.append(end)
        pos = end
        if kind in _TERMINAL:
            break
    return HeaderParse(tuple(kinds), tuple(ends))


def _skip_to_anchor(line: str, pos: int) -> list[int] | None:
    """Token ends up to a later timestamp or upper-case level a few tokens on, if any.

    Relayed or wrapped lines carry a second header ("- 1131566461 2005.11.09 node
    Nov 9 12:01:01 node/node crond[2915]: ..."); the level often ends a long header
    ("... RAS KERNEL INFO message")."""
    ends: list[int] = []
    cur = pos
    for _ in range(_LOOKAHEAD_TOKENS):
        cur = _skip_sep(line, cur)
        if ends and (_TS_RE.match(line, cur) or _UPPER_LEVEL_RE.match(line, cur)):
            return ends
        tok = _TOKEN_RE.match(line, cur)
        if not tok:
            return None
        cur = tok.end()
        ends.append(cur)
    return None


def _next_field(line: str, pos: int, previous: str) -> tuple[str, int] | None:
    if previous == "skip":
        m = _TS_RE.match(line, pos)
        if m:
            return "ts", m.end()
    if previous == "level":
        m = _LOGGER_RE.match(line, pos)
        if m and not _COMP_COLON_RE.match(line, pos):
            return "logger", m.end()
    for kind, regex in (
        ("level", _LEVEL_RE),
        ("num", _NUM_RE),
        ("comp", _COMP_COLON_RE),
        ("dash", _COMP_DASH_RE),
        ("bracket", _BRACKET_RE),
        ("host", _HOST_RE),
        ("pipe", _PIPE_FIELD_RE),
        ("padded", _PADDED_RE),
    ):
        if kind == "host" and previous != "ts":
            continue  # syslog: "<timestamp> <host> <program>[pid]:"
        m = regex.match(line, pos)
        if m:
            return kind, m.end()
    return None


class HeaderStripper:
    """Learns the header shape of one file and cuts it off each line.

    The shape is the most common sequence of field kinds, less a trailing bracket
    group that at least OPTIONAL_SHARE of the lines read without. A line whose own reading is
    longer than the shape (its message starts like a header field) is cut where the
    shape ends; a line that reads shorter keeps what it read. Lines without a
    timestamp, or files where no shape is shared by a fifth of the lines, are untouched.
    """

    def __init__(self, lines: list[str], min_share: float = 0.2) -> None:
        self._reads = [read_header(line) for line in lines]
        shapes = Counter(r.kinds for r in self._reads if r is not None)
        self.shape: tuple[str, ...] | None = None
        if shapes:
            shape, count = shapes.most_common(1)[0]
            if count >= min_share * max(1, len(lines)):
                # A trailing bracket group that some lines lack is the start of the
                # others' messages ("[instance: <id>] Took 3 s"), not a header field:
                # one format string writes the header, so its fields are in every line.
                while shape and shape[-1] == "bracket" and shapes[shape[:-1]] >= OPTIONAL_SHARE * len(lines):
                    shape = shape[:-1]
                self.shape = shape

    def content(self, index: int, line: str) -> str:
        if self.shape is None:
            return line.strip()
        parse = self._reads[index]
        if parse is None or parse.kinds[: _ts_index(parse.kinds) + 1] != self.shape[: _ts_index(self.shape) + 1]:
            return line.strip()
        n = _agreeing_prefix(parse.kinds, self.shape)
        return line[_skip_sep(line, parse.cut(n)):].strip()


def _ts_index(kinds: tuple[str, ...]) -> int:
    return kinds.index("ts") if "ts" in kinds else -1


def _agreeing_prefix(kinds: tuple[str, ...], shape: tuple[str, ...]) -> int:
    """How many fields of this line to cut, given the file's header shape."""
    if len(kinds) <= len(shape):
        return len(kinds)
    # Longer than the shape: cut where the shape ends, unless the shape's terminal
    # field kind appears later (a host or pid the shape lacks) and the prefix agrees.
    if shape and shape[-1] in _TERMINAL and shape[-1] in kinds[len(shape):]:
        return kinds.index(shape[-1], len(shape) - 1) + 1
    return len(shape)


def strip_headers(lines: list[str]) -> list[str]:
    """The message part of each line (the header learnt from all of them removed)."""
    stripper = HeaderStripper(lines)
    return [stripper.content(i, line) for i, line in enumerate(lines)]
