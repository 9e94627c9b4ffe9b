"""claude-mem's settings.json format: read like JSON.parse, written like JSON.stringify.

claude-mem writes the file as ``JSON.stringify(data, null, 2) + "\n"``; writing the same bytes
keeps a switch's diff to the keys it changed. The legacy ``{"env": {...}}`` shape is read and
written back the way claude-mem 13.25 does.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Mapping
from decimal import Decimal

from cmem_profiles.errors import TargetError

_FIX_HINT = "fix it by hand, or run 'cmem-profile rollback'"
# claude-mem's settings are flat. Far deeper nesting overflows json's recursion (past ~1000
# levels) and the writer's (past ~450), so it is refused like any other unreadable file.
MAX_DEPTH = 100


def _reject_constant(name: str) -> object:
    # Python's json takes NaN and Infinity; JSON.parse (claude-mem) does not.
    raise ValueError(name)


def _parse_int(text: str) -> int | float:
    # JSON.parse reads any number as a double; Python refuses int literals past 4300 digits.
    try:
        return int(text)
    except ValueError:
        return float(text)


def _line_col(text_before: str) -> tuple[int, int]:
    line = text_before.count("\n") + 1
    return line, len(text_before) - (text_before.rfind("\n") + 1) + 1


def _not_json(file: str, line: int, col: int, reason: str) -> TargetError:
    return TargetError(f"{file}:{line}:{col}: not valid JSON: {reason}", hint=_FIX_HINT)


def parse_settings_document(data: bytes, file: str) -> dict[str, object]:
    """The top-level object of settings.json, read like claude-mem's JSON.parse; {} if empty."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _line_col(data[: exc.start].decode("utf-8"))
        raise _not_json(file, line, col, f"invalid UTF-8 byte 0x{data[exc.start]:02x}") from None
    # claude-mem strips one leading BOM before JSON.parse (atomic-json.ts parseJsonWithBom).
    text = text.removeprefix("\ufeff")
    if not text.strip(" \t\r\n"):
        return {}
    try:
        document = json.loads(text, parse_constant=_reject_constant, parse_int=_parse_int)
    except RecursionError:
        raise _too_deep(file) from None
    except json.JSONDecodeError as exc:
        # json says "Invalid control character at" and puts the position after it.
        raise _not_json(file, exc.lineno, exc.colno, exc.msg.removesuffix(" at")) from None
    except ValueError as exc:  # from _reject_constant: the first bare NaN/Infinity is the culprit
        tokens = re.finditer(r'"(?:[^"\\]|\\.)*"|-?Infinity|NaN', text)
        at = next(m.start() for m in tokens if not m.group().startswith('"'))
        raise _not_json(file, *_line_col(text[:at]), f"{exc} is not a JSON value") from None
    if _depth(document) > MAX_DEPTH:
        raise _too_deep(file)
    if not isinstance(document, dict):
        kind = {list: "an array", str: "a string", bool: "true or false"}.get(type(document))
        found = kind or ("null" if document is None else "a number")
        raise TargetError(f"{file}: the top level is {found}, not a JSON object", hint=_FIX_HINT)
    return document


def _depth(value: object) -> int:
    """How many arrays and objects deep value nests, counted without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in item)
    return deepest


def _too_deep(file: str) -> TargetError:
    return TargetError(
        f"{file}: nested more than {MAX_DEPTH} levels deep; claude-mem's settings are flat",
        hint=_FIX_HINT,
    )


def is_legacy_shape(obj: Mapping[str, object]) -> bool:
    """True for the nested {"env": {...}} shape, whose env object holds claude-mem's keys."""
    # claude-mem 13.25 loadFromFile: `settings.env && typeof settings.env === 'object'`, no array.
    return isinstance(obj.get("env"), dict)


def settings_of(document: Mapping[str, object]) -> dict[str, object]:
    """The flat key/value mapping claude-mem reads from a settings.json document."""
    env = document.get("env")
    return dict(env) if isinstance(env, dict) else dict(document)


def parse_settings(data: bytes, file: str) -> dict[str, object]:
    """claude-mem's settings from settings.json bytes; a legacy {"env": ...} file is flattened."""
    return settings_of(parse_settings_document(data, file))


def rewrap_settings(
    document: Mapping[str, object], settings: Mapping[str, object]
) -> dict[str, object]:
    """The document to write back: flat, or the legacy wrapper when env has siblings."""
    # claude-mem 13.25 flattens a lone {"env": ...} but keeps a wrapper that has siblings
    # (hooks, permissions...) and writes {...settings, env: flat}: so no sibling is lost here.
    # A flat form holding its own "env" object would read back as a wrapper: keep the wrapper.
    if is_legacy_shape(document) and (len(document) > 1 or is_legacy_shape(settings)):
        return {**document, "env": dict(settings)}
    return dict(settings)


def merge_settings(
    current: Mapping[str, object],
    set_keys: Mapping[str, str],
    *,
    remove_keys: Collection[str] = (),
) -> dict[str, object]:
    """current with set_keys applied in place (new keys last) and remove_keys dropped."""
    merged = {key: value for key, value in current.items() if key not in remove_keys}
    merged.update(set_keys)
    return merged


def render_settings(settings: Mapping[str, object]) -> bytes:
    """Exactly the bytes claude-mem writes: JSON.stringify(data, null, 2) + "\\n", UTF-8."""
    return (_js_json(settings, "") + "\n").encode("utf-8")


def _js_json(value: object, indent: str) -> str:
    if isinstance(value, str):
        return _js_string(value)
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, int | float):
        return _js_number(value)
    inner = indent + "  "
    if isinstance(value, Mapping):
        items = [f"{inner}{_js_string(k)}: {_js_json(v, inner)}" for k, v in _js_order(value)]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}" if items else "{}"
    if isinstance(value, list | tuple):
        items = [inner + _js_json(v, inner) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + indent + "]" if items else "[]"
    raise TypeError(f"cannot render {type(value).__name__} as JSON")


_INDEX_KEY = re.compile(r"0|[1-9][0-9]{0,9}")


def _js_order(obj: Mapping[str, object]) -> list[tuple[str, object]]:
    # A JS object lists array-index keys ("0".."4294967294") first, ascending, then the rest.
    index = sorted((k for k in obj if _INDEX_KEY.fullmatch(k) and int(k) < 2**32 - 1), key=int)
    first = set(index)  # once: built per key, it made many numeric keys quadratic
    return [(k, obj[k]) for k in index] + [(k, v) for k, v in obj.items() if k not in first]


def _js_string(text: str) -> str:
    # json.dumps escapes what JSON.stringify escapes, but for lone surrogates (ES2019 escapes them).
    out = json.dumps(text, ensure_ascii=False)
    return re.sub(r"[\ud800-\udfff]", lambda m: f"\\u{ord(m.group()):04x}", out)


def _js_number(value: int | float) -> str:
    # JSON.parse makes every number a double and JSON.stringify prints it with Number#toString.
    try:
        x = float(value)
    except OverflowError:
        return "null"
    if not math.isfinite(x):
        return "null"
    if x == 0:
        return "0"
    _, digit_tuple, exponent = Decimal(repr(abs(x))).normalize().as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple))
    k, n = len(digits), exponent + len(digits)
    if k <= n <= 21:
        body = digits + "0" * (n - k)
    elif 0 < n <= 21:
        body = f"{digits[:n]}.{digits[n:]}"
    elif -6 < n <= 0:
        body = "0." + "0" * -n + digits
    else:
        mantissa = digits if k == 1 else f"{digits[0]}.{digits[1:]}"
        body = f"{mantissa}e{'+' if n >= 1 else '-'}{abs(n - 1)}"
    return ("-" if x < 0 else "") + body
