"""JSON Schema validation of loaded documents, reported as file:line:col messages."""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import json
import re
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from cmem_profiles.document import Document, JsonPath, json_path
from cmem_profiles.problems import Problem
from cmem_profiles.secrets_scan import looks_like_secret, named, shown
from cmem_profiles.yamldoc import TaggedScalar

SCHEMA_FILE = "profile.schema.json"

_TYPE_NAMES = {
    bool: "a boolean",
    int: "a number",
    float: "a number",
    type(None): "null",
    datetime.date: "a date",
    datetime.datetime: "a date and time",
    str: "a string",
    list: "a list",
    dict: "a mapping",
}
# A scalar that YAML types but Python cannot build (2024-13-45, `!!int x`) is named by its tag.
_TAG_TYPES = {
    "bool": bool,
    "int": int,
    "float": float,
    "null": type(None),
    "timestamp": datetime.date,
}
_PATTERN_MESSAGES = {
    "base_url": "is not an http(s) URL with a host (like https://gateway.example.com)",
    "keyring": "is not a secret name: use lowercase letters, digits, '-' and '_' (up to 64)",
    "env": "is not an environment variable name",
    "description": "must be one line",
    "model": "must not contain whitespace",
    "CLAUDE_MEM_WORKER_PORT": "must be a port number, quoted",
    "CLAUDE_MEM_API_TIMEOUT_MS": "must be a number of milliseconds, quoted",
    "path": "must be an absolute path (or start with ~)",
    "import_dir": "must be an absolute path (or start with ~)",
}


def schema_text(name: str = SCHEMA_FILE) -> str:
    return (
        resources.files("cmem_profiles")
        .joinpath("schemas")
        .joinpath(name)
        .read_text(encoding="utf-8")
    )


@cache
def load_schema(name: str = SCHEMA_FILE) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(schema_text(name))
    return schema


def _is_http_url(value: object) -> bool:
    # Our own URL check: jsonschema's "uri" checker needs rfc3987_syntax (seconds at import).
    if not isinstance(value, str):
        return True
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a port that is not a number up to 65535
    except ValueError:  # also an unclosed '[' of an IPv6 host
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and " " not in value


@cache
def _validator(name: str = SCHEMA_FILE) -> Any:
    import jsonschema  # deferred: costs ~150 ms, only validation needs it

    checker = jsonschema.FormatChecker(formats=())
    checker.checks("uri")(_is_http_url)
    return jsonschema.Draft202012Validator(load_schema(name), format_checker=checker)


def validate_document(doc: Document, schema_name: str = SCHEMA_FILE) -> list[Problem]:
    """Every schema violation of doc, one Problem per path, pointing at the key or value."""
    best: dict[JsonPath, tuple[int, Problem]] = {}
    extra: list[Problem] = []
    for error in _validator(schema_name).iter_errors(doc.data):
        rank = _RANK.get(error.validator, len(_RANK))
        for path, problem in _describe(doc, error):
            if error.validator in ("additionalProperties", "required"):
                extra.append(problem)
            elif path not in best or rank < best[path][0]:
                # One message per value: "quote it" says more than the enum it then fails.
                best[path] = (rank, problem)
    return sorted({*extra, *(p for _, p in best.values())})


_RANK = {"not": 0, "type": 1}


def _describe(doc: Document, error: Any) -> Iterator[tuple[JsonPath, Problem]]:
    path: JsonPath = tuple(error.absolute_path)
    validator = error.validator
    instance = error.instance
    if validator == "additionalProperties":
        for key in _unexpected(error.schema, instance):
            child = (*path, key)
            problem = doc.problem(child, _unknown_key(key, error.schema, path), at_key=True)
            if looks_like_secret(key):  # the path would echo the key
                problem = dataclasses.replace(problem, path=json_path(path))
            yield child, problem
        return
    if validator == "required":
        missing = [k for k in error.validator_value if k not in instance]
        for key in missing:
            yield path, doc.problem(path, f"missing required key {key!r}", at_key=True)
        return
    message = _message(doc, path, validator, error)
    yield path, doc.problem(path, message, at_key=validator == "not")


def _message(doc: Document, path: JsonPath, validator: str, error: Any) -> str:
    instance = error.instance
    leaf = str(path[-1]) if path else "$"
    if validator == "type":
        return _type_message(doc, path, error)
    if validator == "not":
        why = error.schema.get("description", "")
        return f"is not allowed here: {why}" if why else "is not allowed here"
    if validator == "enum":
        choices = ", ".join(str(c) for c in error.validator_value)
        return f"{_show(instance)} is not one of: {choices}"
    if validator == "const":
        return f"must be {error.validator_value!r}"
    if validator in ("pattern", "format"):
        return f"{_show(instance)} {_PATTERN_MESSAGES.get(leaf, 'has the wrong form')}"
    if validator in ("minProperties", "maxProperties") and isinstance(instance, dict):
        return "a secret reference has exactly one of: keyring, env, command"
    if validator in ("minLength", "minItems"):
        return "must not be empty"
    if validator == "maxLength":
        return f"is too long (at most {error.validator_value} characters)"
    return (
        str(error.message) if not looks_like_secret(str(instance)) else f"is invalid ({validator})"
    )


def _type_message(doc: Document, path: JsonPath, error: Any) -> str:
    expected = error.validator_value
    instance = error.instance
    kind = (
        _TAG_TYPES.get(instance.tag, TaggedScalar)
        if isinstance(instance, TaggedScalar)
        else type(instance)
    )
    got = _TYPE_NAMES.get(kind, "a value of another kind")
    if expected == "object" and "keyring" in error.schema.get("properties", {}):
        # A literal where a secret reference belongs: never echo it, it is probably the secret.
        return (
            "must be a secret reference such as {keyring: NAME}, not a literal value: "
            "store the value with 'cmem-profile secret set NAME'"
        )
    if expected == "string" and got != "a string":
        shown = _show(doc.value_mark(path).text)
        return f"YAML reads {shown} as {got}; every value here is a string: quote it"
    wanted = _TYPE_NAMES.get(
        {"object": dict, "array": list, "string": str}.get(expected, str), expected
    )
    return f"must be {wanted}, not {got}"


def _unexpected(schema: dict[str, Any], instance: dict[str, Any]) -> list[str]:
    known = schema.get("properties", {})
    patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
    return [k for k in instance if k not in known and not any(p.search(k) for p in patterns)]


def _unknown_key(key: str, schema: dict[str, Any], path: JsonPath) -> str:
    if looks_like_secret(key):
        return "a key that looks like a pasted secret: remove it (and rotate the secret)"
    if path == ("repos",):
        return f"{key!r} is not a repository name: use lowercase letters, digits and '-'"
    if path and path[-1] == "settings":
        return (
            f"{shown(key) or 'this key'} is not a claude-mem setting: names start with "
            "CLAUDE_MEM_ and use A-Z, 0-9, _"
        )
    close = difflib.get_close_matches(key, list(schema.get("properties", {})), n=1)
    hint = f": did you mean {close[0]!r}?" if close else ""
    return f"unknown {named('key', key)}{hint}"


def _show(value: object) -> str:
    """A value fit to appear in a message: short, printable, and not secret-looking."""
    return shown(value) or "the value"
