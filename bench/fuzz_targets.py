"""What each fuzz target checks, for any input bytes.

An input is either refused the expected way (a Problem, a TargetError) or keeps the promises
that tests/test_properties.py states; any other exception, or a failed assert, is a finding.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from cmem_profiles.envfile import EnvDocument, parse_claude_mem, parse_dotenv
from cmem_profiles.errors import TargetError
from cmem_profiles.render import ENV_KEYS
from cmem_profiles.rules import check_rules, scan_plaintext
from cmem_profiles.schema import validate_document
from cmem_profiles.secrets_scan import looks_like_secret
from cmem_profiles.settings_json import parse_settings_document, render_settings, settings_of
from cmem_profiles.transaction import settings_bytes
from cmem_profiles.yamldoc import load_document

# How secret_reason splits text into words: any such word that looks like a secret must
# never come back in a message.
_WORD = re.compile(r"[^\s\"'`,;:@?#&()\[\]{}<>|\\]+")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_KEY_LINE = re.compile(rf" *(?:export )?({_NAME.pattern}) *=")
_ENV_VALUES = ("https://gw.example.com", "sk-ant-api03-abc", "x", "tok_1.2~3:4")
_SETTINGS_CHANGES: dict[str, str | None] = {
    "CLAUDE_MEM_PROVIDER": "claude",
    "CLAUDE_MEM_MODEL": "model-1",
    "CLAUDE_MEM_GEMINI_API_KEY": None,
}


def check_yaml(data: bytes) -> None:
    """Load, validate and check a profile: only Problems, each one bounded line, no secret."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return  # reported before the loader runs
    doc = load_document(text, "p.yaml")
    problems = doc.problems or [*validate_document(doc), *scan_plaintext(doc), *check_rules(doc)]
    secrets = {word for word in _WORD.findall(text) if looks_like_secret(word)}
    for problem in problems:
        line = problem.format()
        assert problem.line >= 1 and problem.column >= 1, f"no position: {line!r}"
        assert line.isprintable() and len(line) < 2000, f"not one bounded line: {line[:200]!r}"
        assert not any(secret in line for secret in secrets), "a secret-looking word was echoed"
    json.dumps([problem.as_record() for problem in problems])  # what validate --json prints


def check_env(data: bytes) -> None:
    """Read .env both ways; an accepted file renders back unchanged and edits keep the rest.

    The last bytes of the input choose the edits: per credential key, keep, set or remove.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return  # refused before parsing
    parse_dotenv(text)
    before = parse_claude_mem(text)
    try:
        document = EnvDocument.parse(text, ".env")
    except TargetError:
        return
    assert document.render() == text, "an accepted file does not render back unchanged"
    edits: dict[str, str | None] = {}
    for key, byte in zip(ENV_KEYS, data[-len(ENV_KEYS) :], strict=False):
        if byte % 3:
            edits[key] = _ENV_VALUES[byte // 3 % len(_ENV_VALUES)] if byte % 3 == 1 else None
    for key in [key for key, value in edits.items() if value is None]:
        document.remove(key)
    for key, value in [(key, value) for key, value in edits.items() if value is not None]:
        document.set(key, value)
    after = document.render()
    for reading in (parse_claude_mem(after), parse_dotenv(after)):
        assert {k: reading.get(k) for k in edits} == edits, "an edit does not read back"
    assert _kept(parse_claude_mem(after), edits) == _kept(before, edits), "another key changed"
    assert _other_lines(after, edits) == _other_lines(text, edits), "another line changed"
    EnvDocument.parse(after, ".env")


def _kept(reading: dict[str, str], edits: dict[str, str | None]) -> dict[str, str]:
    # A name like '#A' comes from a last comment line without a newline, which an edit ends.
    return {k: v for k, v in reading.items() if k not in edits and _NAME.fullmatch(k)}


def _other_lines(text: str, edits: dict[str, str | None]) -> list[str]:
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line for line in lines if not ((m := _KEY_LINE.match(line)) and m[1] in edits)]


def check_settings(data: bytes) -> None:
    """Read settings.json; writing is stable and a merge keeps every other key in its place."""
    try:
        document = parse_settings_document(data, "settings.json")
    except TargetError:
        return
    written = render_settings(document)
    # The document as claude-mem would write it: doubles for numbers, index keys first.
    normal = parse_settings_document(written, "written")
    assert render_settings(normal) == written, "writing twice gives other bytes"
    merged = parse_settings_document(settings_bytes(document, _SETTINGS_CHANGES), "merged")
    before, after = settings_of(normal), settings_of(merged)
    kept = [(k, v) for k, v in before.items() if k not in _SETTINGS_CHANGES]
    assert [(k, v) for k, v in after.items() if k not in _SETTINGS_CHANGES] == kept, "key lost"
    assert {k: after.get(k) for k in _SETTINGS_CHANGES} == _SETTINGS_CHANGES, "change lost"
    if isinstance(normal.get("env"), dict) and len(normal) > 1:
        siblings = {k: v for k, v in normal.items() if k != "env"}
        assert {k: v for k, v in merged.items() if k != "env"} == siblings, "sibling lost"


def read_env_as_claude_mem(data: bytes) -> None:
    parse_claude_mem(data.decode("utf-8"))


def read_every_env_key(data: bytes) -> None:
    """What rollback does with a .env: read each of its keys."""
    document = EnvDocument.parse(data.decode("utf-8"), ".env")
    for key in document.keys():  # noqa: SIM118 - a method of EnvDocument, not a dict
        document.get(key)


TARGETS: dict[str, Callable[[bytes], None]] = {
    "yaml": check_yaml,
    "env": check_env,
    "settings": check_settings,
}
