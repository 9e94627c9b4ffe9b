"""A loaded document: its data, and the file, line and column of every key and value.

Pure data with no parser attached, so code that only carries documents around (merging
profile layers, locating problems) never pays for importing YAML.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cmem_profiles.problems import Problem

JsonPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Mark:
    """A 1-based line and column, the scalar's source text when it is a plain scalar, and the
    file it sits in when the document was merged from several (see layers.py)."""

    line: int
    column: int
    text: str | None = None
    file: str | None = None


@dataclass
class Document:
    """A loaded YAML file: its data, where each value and key sits, and the problems found."""

    file: str
    data: Any
    text: str = ""
    values: dict[JsonPath, Mark] = field(default_factory=dict)
    keys: dict[JsonPath, Mark] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def value_mark(self, path: JsonPath) -> Mark:
        """The position of the value at path, or of its nearest ancestor we know."""
        while path not in self.values and path:
            path = path[:-1]
        return self.values.get(path, Mark(1, 1))

    def key_mark(self, path: JsonPath) -> Mark:
        return self.keys.get(path) or self.value_mark(path)

    def problem(
        self, path: JsonPath, message: str, *, at_key: bool = False, warning: bool = False
    ) -> Problem:
        mark = self.key_mark(path) if at_key else self.value_mark(path)
        return Problem(
            mark.file or self.file,
            mark.line,
            mark.column,
            json_path(path),
            message,
            "warning" if warning else "error",
        )


def json_path(path: JsonPath) -> str:
    # A key is shown only when short, printable and secret-free, as values are.
    from cmem_profiles.secrets_scan import shown

    return "$" + "".join(
        f"[{p}]" if isinstance(p, int) else f".{p}" if shown(p) else ".<key not shown>"
        for p in path
    )
