"""claude-mem's traps that a schema cannot express, checked on a schema-valid profile."""

from __future__ import annotations

import re
from typing import Any

from cmem_profiles.document import Document
from cmem_profiles.problems import Problem
from cmem_profiles.secretref import SECRET_SUFFIXES
from cmem_profiles.secrets_scan import comment_secrets, iter_strings, secret_reason

TIER_MODELS = (
    "CLAUDE_MEM_TIER_SIMPLE_MODEL",
    "CLAUDE_MEM_TIER_SUMMARY_MODEL",
    "CLAUDE_MEM_TIER_FAST_MODEL",
    "CLAUDE_MEM_TIER_SMART_MODEL",
)


REQUIRED = ("description", "provider")


def check_required(doc: Document) -> list[Problem]:
    """A profile that extends another still needs, after merging, what every profile needs.

    Without `extends` the schema itself requires these keys.
    """
    data = doc.data if isinstance(doc.data, dict) else {}
    parent = data.get("extends")
    if not isinstance(parent, str):
        return []
    return [
        doc.problem(
            ("extends",),
            f"missing required key {key!r}: set it here or in {parent!r}",
            at_key=True,
        )
        for key in REQUIRED
        if key not in data
    ]


def check_rules(doc: Document) -> list[Problem]:
    """Semantic errors and warnings, in the same file:line:col form as schema errors."""
    # Runs on documents with schema errors too, so every check guards its types.
    data = doc.data if isinstance(doc.data, dict) else {}
    provider = data.get("provider")
    credentials = _mapping(data.get("credentials"))
    settings = _mapping(data.get("settings"))
    problems: list[Problem] = []

    if "api_key" in credentials and "auth_token" in credentials:
        problems.append(
            doc.problem(
                ("credentials", "auth_token"),
                "set api_key or auth_token, not both: claude-mem then sends only the API key",
                at_key=True,
            )
        )
    if provider in ("gemini", "openrouter") and "api_key" not in credentials:
        problems.append(
            doc.problem(
                ("provider",),
                f"{provider} needs credentials.api_key: without a key claude-mem silently "
                "falls back to claude (use a dummy reference for a local server)",
            )
        )
    base_url = data.get("base_url")
    if provider == "claude" and isinstance(base_url, str):
        if base_url.rstrip("/").endswith("/v1"):
            problems.append(
                doc.problem(
                    ("base_url",),
                    "ends in /v1: claude-mem appends /v1/messages, so requests go to "
                    ".../v1/v1/messages; drop the /v1",
                    warning=True,
                )
            )
        routing_on = settings.get("CLAUDE_MEM_TIER_ROUTING_ENABLED", "true") != "false"
        if routing_on and not any(k in settings for k in TIER_MODELS):
            problems.append(
                doc.problem(
                    ("base_url",),
                    "a gateway with tier routing on: claude-mem sends the literal model 'haiku' "
                    'for simple batches; set settings.CLAUDE_MEM_TIER_ROUTING_ENABLED: "false" '
                    "or the CLAUDE_MEM_TIER_*_MODEL settings",
                    warning=True,
                )
            )
    for key, value in settings.items():
        if key.endswith(SECRET_SUFFIXES) and isinstance(value, dict):
            problems.append(
                doc.problem(
                    ("settings", key),
                    "claude-mem reads this secret only from settings.json, and cmem-profile "
                    "never writes secrets there (the file is not private): leave it out of "
                    "the profile and set it in claude-mem",
                    at_key=True,
                )
            )
    return problems + _control_characters(doc)


# A team repo feeds profiles, and list, show and diff print their values: text that steers a
# terminal (escape sequences, carriage returns, bidi overrides) must not get that far.
_STEERING = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _control_characters(doc: Document) -> list[Problem]:
    """A control character in any value is an error naming its code point, never the value."""
    found = []
    for path, value in iter_strings(doc.data):
        if steering := _STEERING.search(value):
            code = f"U+{ord(steering.group()):04X}"
            message = f"contains control character {code}, which a terminal acts on: remove it"
            found.append(doc.problem(path, message))
    return found


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def scan_plaintext(doc: Document) -> list[Problem]:
    """A pasted key in any value is an error naming the line, never the value."""
    fix = "store it with 'cmem-profile secret set NAME' and reference it as {keyring: NAME}"
    found = []
    for path, value in iter_strings(doc.data):
        reason = secret_reason(value)
        if reason:
            found.append(doc.problem(path, f"looks like a pasted secret ({reason}): {fix}"))
    return found


def scan_comments(doc: Document) -> list[Problem]:
    """A pasted key in a comment of one file is an error naming the line, never the value."""
    message = (
        "a comment holds what looks like a pasted secret ({reason}): delete it, "
        "and rotate the key if it was ever pushed"
    )
    return [
        Problem(doc.file, line, column, "$", message.format(reason=reason))
        for line, column, reason in comment_secrets(doc.text)
    ]
