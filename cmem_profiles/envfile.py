"""claude-mem's .env: how its worker reads the file, and an editor that keeps every other line."""

from __future__ import annotations

import io
import re
import string
from dataclasses import dataclass

from cmem_profiles.errors import TargetError

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_KEY_LINE = re.compile(rf"(?P<head> *(?:export )?(?P<key>{_KEY.pattern}) *= *)(?P<rest>.*)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# An inline comment survives a rewrite only when whitespace separates it from the value.
_KEPT_TAIL = re.compile(r" +#.*")
_QUOTES = "\"'`"
_SAFE = frozenset(string.ascii_letters + string.digits + "_.~+/:=@%,&?!*-")
_PARSE_HINT = "fix the line by hand, or run 'cmem-profile rollback'"
_VALUE_HINT = (
    "no quoting survives every .env reader, so cmem-profile writes only values made of "
    "letters, digits and _.~+/:=@%,&?!*-"
)


def parse_claude_mem(text: str) -> dict[str, str]:
    """Read .env text as claude-mem's worker does (util.parseEnv; pinned to Node 20 by tests).

    The parser is not line-based: it looks for the next '=' across line breaks, so a line
    without '=' or an indented line before a key becomes part of that key's name. Spaces
    (not tabs) are trimmed, every '\\r' is dropped, and a repeated key keeps its last value.
    """
    # Walks an index instead of slicing the rest of the text at each line: slices made a
    # large file quadratic (a 1 MB .env took a second per read).
    content = text.replace("\r", "").strip(" ")
    result: dict[str, str] = {}
    at, end = 0, len(content)
    while at < end:
        if content[at] in "\n#":
            newline = content.find("\n", at)
            if newline != -1:
                at = newline + 1
                continue
        equal = content.find("=", at)
        if equal == -1:
            break
        key = content[at:equal].strip(" ")
        at = equal + 1
        while at < end and content[at] == " ":
            at += 1
        if not key:
            break
        key = key.removeprefix("export ")
        if at == end:
            result[key] = ""
            break
        quote = content[at]
        if quote in _QUOTES:
            close = content.find(quote, at + 1)
            if close != -1:
                value = content[at + 1 : close]
                result[key] = value.replace("\\n", "\n") if quote == '"' else value
                newline = content.find("\n", close + 1)
                at = newline if newline != -1 else end
            elif (newline := content.find("\n", at)) != -1:
                # An unclosed quote keeps the quote and the rest of the line.
                result[key] = content[at:newline]
                at = newline
            continue
        newline = content.find("\n", at)
        line_end = end if newline == -1 else newline
        result[key] = content[at:line_end].split("#", 1)[0].strip(" ")
        at = line_end
    return result


def parse_dotenv(text: str) -> dict[str, str]:
    """Read .env text as python-dotenv's dotenv_values(interpolate=False) does."""
    from dotenv.parser import parse_stream

    # dotenv_values is this loop plus a logged warning per bad line, which would reach stderr.
    return {
        binding.key: binding.value
        for binding in parse_stream(io.StringIO(text))
        if binding.key is not None and binding.value is not None
    }


def check_value(key: str, value: str) -> None:
    """Refuse a value that would not read back unchanged when written bare as KEY=value."""
    reason = _unsafe_reason(value)
    if reason is not None:
        raise TargetError(f"cannot write {key} to .env safely: {reason}", hint=_VALUE_HINT)


def _unsafe_reason(value: str) -> str | None:
    if not value:
        return "the value is empty, which claude-mem reads as absent"
    bad = next((char for char in value if char not in _SAFE), None)
    if bad is None:
        return None
    if bad in " \t\n\r" or (bad.isspace() and not _CONTROL.match(bad)):
        return "it contains whitespace, which claude-mem trims or reads as the end of the value"
    if bad in "\"'":
        return "it contains a quote, which claude-mem strips or reads as an unclosed string"
    reasons = {
        "\\": "it contains a backslash, which .env readers treat as an escape",
        "#": "it contains '#', which claude-mem reads as the start of a comment",
        "$": "it contains '$', which python-dotenv and shells expand as a variable",
        "`": "it contains a backtick, which claude-mem reads as a quote",
    }
    if bad in reasons:
        return reasons[bad]
    if _CONTROL.match(bad):
        return "it contains a control character"
    if not bad.isascii():
        return "it contains a non-ASCII character"
    return f"it contains {bad!r}, which is outside the characters written unquoted"


@dataclass
class _Line:
    body: str
    ending: str
    key: str | None = None


class EnvDocument:
    """A .env file as lines: owned keys can be changed while every other byte stays put."""

    def __init__(self, lines: list[_Line]) -> None:
        self._lines = lines
        # What claude-mem reads, kept until the next edit: reading the whole file for each
        # key made a walk over every key of a large .env quadratic.
        self._read: dict[str, str] | None = None

    @classmethod
    def parse(cls, text: str, file: str) -> EnvDocument:
        """Split text into lines, refusing any line claude-mem could read differently."""
        lines: list[_Line] = []
        # An indented comment or a line of spaces glues itself onto the next key's name.
        hazard: tuple[int, str] | None = None
        for number, (body, ending) in enumerate(_split_lines(text), start=1):
            try:
                key = _line_key(body, first=number == 1)
            except ValueError as bad:
                raise _line_error(file, number, str(bad)) from None
            lines.append(_Line(body, ending, key))
            if key is not None and hazard is not None:
                what = f"{hazard[1]} before {key} makes claude-mem misread that key"
                raise _line_error(file, hazard[0], what)
            if hazard is None and _glues_to_next_key(body):
                hazard = (number, "an indented comment" if body.strip(" ") else "a line of spaces")
        return cls(lines)

    def get(self, key: str) -> str | None:
        """The value claude-mem reads for key ("" when empty), or None when the key is absent."""
        if self._read is None:
            self._read = parse_claude_mem(self.render())
        return self._read.get(key)

    def keys(self) -> list[str]:
        """Every key with a line, once each, in file order."""
        return list(dict.fromkeys(line.key for line in self._lines if line.key is not None))

    def set(self, key: str, value: str) -> None:
        """Give key this value: rewrite the line that wins, drop its duplicates, or append one."""
        if not _KEY.fullmatch(key):
            raise ValueError(f"not a .env key: {key!r}")
        check_value(key, value)
        self._read = None
        owned = [index for index, line in enumerate(self._lines) if line.key == key]
        if not owned:
            self._append(_Line(f"{key}={value}", "\n", key))
            return
        # claude-mem keeps the last occurrence of a repeated key.
        *duplicates, winner = owned
        line = self._lines[winner]
        match = _KEY_LINE.fullmatch(line.body)
        assert match is not None
        tail = _tail(match["rest"])
        line.body = match["head"] + value + (tail if _KEPT_TAIL.fullmatch(tail) else "")
        for index in reversed(duplicates):
            del self._lines[index]

    def _append(self, new: _Line) -> None:
        """Add a key line at the end, but above trailing lines that would glue onto it."""
        at = len(self._lines)
        while at and self._lines[at - 1].key is None:
            at -= 1
        at = next(
            (i for i in range(at, len(self._lines)) if _glues_to_next_key(self._lines[i].body)),
            len(self._lines),
        )
        if at == len(self._lines) and self._lines and not self._lines[-1].ending:
            self._lines[-1].ending = "\n"
        self._lines.insert(at, new)

    def remove(self, key: str) -> None:
        """Delete every line of key."""
        self._read = None
        self._lines = [line for line in self._lines if line.key != key]

    def render(self) -> str:
        """The text of the document."""
        return "".join(line.body + line.ending for line in self._lines)


def _line_key(body: str, *, first: bool) -> str | None:
    """The key a line sets (None for a blank or comment line); ValueError says what is wrong."""
    if first and body.startswith("\ufeff"):
        raise ValueError("the file starts with a byte order mark, which .env readers disagree on")
    if control := _CONTROL.search(body):
        raise ValueError(f"the line contains control character U+{ord(control.group()):04X}")
    if body.lstrip(" ")[:1] in ("", "#"):
        return None
    if "=" not in body:
        raise ValueError("not a comment or a KEY=VALUE line (no '=')")
    match = _KEY_LINE.fullmatch(body)
    if match is None:
        raise ValueError("not a KEY=VALUE line: the name before '=' is not a valid key")
    key, rest = match["key"], match["rest"]
    if rest[:1] and rest[0] in _QUOTES:
        close = rest.find(rest[0], 1)
        if close == -1:
            raise ValueError(
                f"{key}: the value opens a quote that this line does not close, "
                "so claude-mem would read the following lines into it"
            )
        if rest[close - 1] == "\\":
            raise ValueError(f"{key}: a backslash before the closing quote splits .env readers")
    return key


def _glues_to_next_key(body: str) -> bool:
    """An indented comment or a line of spaces: claude-mem's parser reads it into the next key."""
    return body[:1] == " " and body.lstrip(" ")[:1] in ("", "#")


def _line_error(file: str, number: int, what: str) -> TargetError:
    return TargetError(f"{file}:{number}: {what}", hint=_PARSE_HINT)


def _split_lines(text: str) -> list[tuple[str, str]]:
    """Each line's body and its ending ("\\n", "\\r\\n" or "" for an unterminated last line)."""
    parts = text.split("\n")
    lines = [(part[:-1], "\r\n") if part.endswith("\r") else (part, "\n") for part in parts[:-1]]
    if parts[-1]:
        lines.append((parts[-1], ""))
    return lines


def _tail(rest: str) -> str:
    """What follows the value on a key line: text after the closing quote, or spaces and comment."""
    if rest and rest[0] in _QUOTES:
        return rest[rest.find(rest[0], 1) + 1 :]
    value = rest.split("#", 1)[0].rstrip(" ")
    return rest[len(value) :]
