"""Recognise strings that look like credentials, so they are never echoed and never committed."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator

# Prefixes of real credential formats: Anthropic, OpenRouter, OpenAI-style, Google, GitHub,
# Slack, AWS access keys.
KNOWN_PREFIXES = (
    "sk-ant-",
    "sk-or-",
    "sk-proj-",
    "sk-",
    "AIza",
    "ghp_",
    "gho_",
    "github_pat_",
    "xoxb-",
    "xoxp-",
    "AKIA",
    "ASIA",
)
_TOKEN = re.compile(r"[A-Za-z0-9_\-+/=]{24,}")
# Anything secret_reason can flag contains a prefix or a long token: one pass rules most text out.
_CANDIDATE = re.compile("|".join(map(re.escape, KNOWN_PREFIXES)) + "|" + _TOKEN.pattern)
_MIN_ENTROPY = 3.5  # bits per character; hex ids sit near 4, words and model names lower


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def secret_reason(value: str) -> str | None:
    """Why value looks like a credential (a prefix or a high-entropy token), or None."""
    if not _CANDIDATE.search(value):
        return None
    for word in re.split(r"[\s\"'`,;:@?#&()\[\]{}<>|\\]+", value):
        for prefix in KNOWN_PREFIXES:
            if word.startswith(prefix) and len(word) >= len(prefix) + 16:
                return f"key prefix {prefix}"
        for token in _TOKEN.findall(word):
            mixed = any(c.isdigit() for c in token) and any(c.isalpha() for c in token)
            if mixed and _entropy(token) >= _MIN_ENTROPY and not _is_plain_words(token):
                return "a long random-looking token"
    return None


def _is_plain_words(token: str) -> bool:
    # Model ids and URLs are dash- or slash-joined words and numbers: short pieces, not noise.
    return all(len(piece) <= 12 for piece in re.split(r"[-_/.+=]", token))


def looks_like_secret(value: str) -> bool:
    return secret_reason(value) is not None


def _hides_a_token(value: str) -> bool:
    """A random-looking stretch inside a longer word (a key glued to filler) counts too."""
    for token in _TOKEN.findall(value):
        if len(token) > 32:
            windows = (token[i : i + 24] for i in range(0, len(token) - 23, 4))
            if any(looks_like_secret(window) for window in windows):
                return True
    return False


def shown(value: object) -> str | None:
    """value quoted for a message, or None when it is not short, printable and secret-free."""
    if (
        isinstance(value, str)
        and len(value) <= 80
        and value.isprintable()
        and not looks_like_secret(value)
        and not _hides_a_token(value)
    ):
        return repr(value)
    return None


def named(noun: str, value: object) -> str:
    """'key 'x'' when x may be shown, else just 'key'."""
    quoted = shown(value)
    return f"{noun} {quoted}" if quoted else noun


def iter_strings(
    data: object, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every string (keys' values and list items) in a loaded document, with its path."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from iter_strings(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from iter_strings(value, (*path, i))
    elif isinstance(data, str):
        yield path, data


def comment_secrets(text: str) -> Iterator[tuple[int, int, str]]:
    """Line, column and reason of each YAML comment that holds a credential-looking string.

    A key pasted into a comment of a shared profile leaks like any other. Lines are filtered
    cheaply first; only a suspect line costs a scan of the file to tell a comment from a value.
    """
    suspects = {
        number: line
        for number, line in enumerate(text.splitlines(), 1)
        if "#" in line and secret_reason(line[line.index("#") :])
    }
    if not suspects:
        return
    for line, column in _comments(text):
        if line in suspects:
            reason = secret_reason(suspects[line][column - 1 :])
            if reason:
                yield line, column, reason


def _comments(text: str) -> Iterator[tuple[int, int]]:
    """Where each comment starts (1-based): a '#' in the gaps between YAML tokens."""
    import yaml

    try:
        from yaml import CSafeLoader as Loader
    except ImportError:  # pragma: no cover - PyYAML built without libyaml
        from yaml import SafeLoader as Loader  # type: ignore[assignment]

    end = 0
    try:
        for token in yaml.scan(text, Loader=Loader):
            yield from _hashes(text, end, token.start_mark.index)
            end = max(end, token.end_mark.index)
    except yaml.YAMLError:
        return  # a file that does not scan is reported as a syntax error instead
    yield from _hashes(text, end, len(text))


def _hashes(text: str, start: int, stop: int) -> Iterator[tuple[int, int]]:
    index = text.find("#", start, stop)
    while index != -1:
        line_start = text.rfind("\n", 0, index) + 1
        yield text.count("\n", 0, index) + 1, index - line_start + 1
        newline = text.find("\n", index, stop)
        index = -1 if newline == -1 else text.find("#", newline, stop)
