"""A Problem is one located finding about a file: an error or a warning."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Problem:
    """One finding, pointing at a file, line and column (1-based) and a JSON path."""

    file: str
    line: int
    column: int
    path: str
    message: str
    severity: Severity = "error"

    def location(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def format(self) -> str:
        label = "warning: " if self.severity == "warning" else ""
        return f"{self.location()}: {self.path}: {label}{self.message}"

    def as_record(self) -> dict[str, object]:
        return asdict(self)
