"""Write a profile document as YAML text that people read: fixed order, comments, safe quoting.

yaml.dump would lose the comments and reorder nothing usefully; a profile is a small, known
shape (mappings of strings, secret references as flow mappings), so we write it ourselves.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Mapping, Sequence

# A plain scalar that YAML reads back as this very string: no leading indicator, no ': ',
# no ' #', no trailing ':' or space; flow context (inside {...} or [...]) also forbids ',',
# ':' and spaces.
_PLAIN_BLOCK = re.compile(r"[A-Za-z0-9](?:[\w.~+/@%=,()'-]| (?=[^\s#])|:(?=[^\s]))*", re.ASCII)
_PLAIN_FLOW = re.compile(r"[A-Za-z0-9][\w.~+/@%=-]*", re.ASCII)
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def scalar(value: str, *, flow: bool = False, quote: bool = False) -> str:
    """value as a YAML scalar: plain when that reads back as the same string, else quoted."""
    plain = _PLAIN_FLOW if flow else _PLAIN_BLOCK
    if not quote and plain.fullmatch(value) and _resolves_to_str(value):
        return value
    # A JSON string is a YAML double-quoted scalar. Escape all but printable ASCII the YAML
    # way (JSON's surrogate pairs are no YAML escape), so no character can stop the reader.
    body = json.dumps(value, ensure_ascii=False)[1:-1]
    return '"' + "".join(c if " " <= c <= "~" else _escape(c) for c in body) + '"'


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _resolves_to_str(value: str) -> bool:
    """False for words YAML 1.1 reads as another type: yes, on, null, 1.5, 0x1f, 2024-01-31."""
    import yaml

    resolver = yaml.resolver.Resolver()
    tag: str = resolver.resolve(yaml.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    return tag == "tag:yaml.org,2002:str"


def _key(key: str) -> str:
    return key if _KEY.fullmatch(key) and _resolves_to_str(key) else scalar(key, quote=True)


def _flow(value: object) -> str:
    """A secret reference or an argv list on one line: {keyring: name}, [op, read, ...]."""
    if isinstance(value, str):
        return scalar(value, flow=True)
    if isinstance(value, Mapping):
        items = ", ".join(f"{_key(k)}: {_flow(v)}" for k, v in value.items())
        return "{" + items + "}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} in a profile")


def comment_lines(text: str, indent: str = "", width: int = 96) -> list[str]:
    """Text as '# ...' lines wrapped to width ('#' alone for an empty line)."""
    # A YAML reader refuses a control character even in a comment.
    printable = ["".join(c if c.isprintable() else "?" for c in line) for line in text.splitlines()]
    wrapped = [
        piece
        for line in printable or [""]
        for piece in textwrap.wrap(
            line, width - len(indent) - 2, break_long_words=False, break_on_hyphens=False
        )
        or [""]
    ]
    return [f"{indent}# {line}".rstrip() for line in wrapped]


def render_profile(
    document: Mapping[str, object],
    *,
    header: Sequence[str] = (),
    comments: Mapping[str, str] | None = None,
    quoted: Sequence[str] = ("settings",),
) -> str:
    """The document as YAML, keys in its order, each preceded by its comment (dotted path).

    Values under a top-level key named in `quoted` are always quoted: claude-mem's settings
    are all strings, and "false" or "30000" quoted says so at a glance.
    """
    notes = comments or {}
    lines = [line for text in header for line in comment_lines(text)]
    for key, value in document.items():
        if key in notes:
            lines += comment_lines(notes[key])
        if isinstance(value, str):
            lines.append(f"{_key(key)}: {scalar(value)}")
            continue
        if not isinstance(value, Mapping):
            raise TypeError(f"{key}: cannot write {type(value).__name__} at the top level")
        lines.append(f"{_key(key)}:" if value else f"{_key(key)}: {{}}")
        for child, item in value.items():
            path = f"{key}.{child}"
            if path in notes:
                lines += comment_lines(notes[path], "  ")
            text = scalar(item, quote=key in quoted) if isinstance(item, str) else _flow(item)
            lines.append(f"  {_key(child)}: {text}")
    return "\n".join(lines) + "\n"
