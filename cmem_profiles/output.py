"""The one place that formats output for people and scripts; commands call it to print."""

from __future__ import annotations

import json
import os
import sys

# Not `from typing import ...`: every command imports this module, `current` too.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO


def use_color(stream: TextIO) -> bool:
    """Color only on a terminal, and never with NO_COLOR set (https://no-color.org)."""
    return stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def style(text: str, code: str, stream: TextIO | None = None) -> str:
    return f"\033[{code}m{text}\033[0m" if use_color(stream or sys.stdout) else text


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def emit(line: str = "") -> None:
    print(line)


def emit_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


def table(header: list[str], rows: list[list[str]]) -> None:
    """Columns padded to their widest cell, two spaces apart."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        emit("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def note(message: str) -> None:
    """A side remark for people (progress, warnings): stderr, so stdout stays parseable."""
    print(message, file=sys.stderr)


def warn(message: str) -> None:
    note(f"{style('warning', '33', sys.stderr)}: {message}")
