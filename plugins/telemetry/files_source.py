"""The files source: a telemetry directory on disk (`--data DIR`, or the bundled demo).

A saved dataset, not a live system: time words in the question are read against the
data's own day, and the whole directory is loaded (the window is applied by the detectors).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from copilot.errors import CopilotError
from copilot.sources import SourceCheck, SourceQuery

from .model import Telemetry


@dataclass
class FilesSource:
    path: Path
    label: str = ""
    name: str = "files"
    kinds: frozenset[str] = field(default=frozenset({"metrics", "logs", "traces", "changes", "alerts", "topology"}))
    live: bool = False
    skip: frozenset[str] = frozenset()  # top-level folders another source of the run reads (copilot/sources.py)

    def __post_init__(self) -> None:
        self.path = Path(self.path).expanduser()
        if not self.label:
            self.label = f"files in {self.path}"

    def collect(self, query: SourceQuery) -> Telemetry:
        from .files import load_directory

        return load_directory(self.path, self.skip)

    def has_files(self) -> bool:
        from .files import discover

        return any(discover(self.path, self.skip).values())

    def check(self) -> SourceCheck:
        try:
            tel = self.collect(SourceQuery(0.0, float("inf")))
        except CopilotError as exc:
            return SourceCheck(self.name, self.label, False, str(exc))
        rng = tel.time_range()
        held = (f"{len(tel.metrics)} series, {len(tel.logs)} log records, {len(tel.spans)} spans, "
                f"{len(tel.alerts)} alerts, {len(tel.components())} components")
        return SourceCheck(self.name, self.label, True, held + ("" if rng else "; no timestamps"))


def files_source(settings: object) -> FilesSource | None:
    """The source for `--data DIR` (settings.data); None when no directory is given."""
    data = str(getattr(settings, "data", "") or "")
    if not data:
        return None
    path = Path(data).expanduser()
    if not path.is_dir():
        raise CopilotError(f"--data {data}: no such directory; point it at a telemetry directory")
    return FilesSource(path)
