"""The minimal request claude-mem would send through a profile's endpoint, built from the plan.

Pure: no I/O. probe.py sends it and says in plain words what went wrong.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from urllib.parse import quote, urlsplit

from cmem_profiles.errors import EndpointError
from cmem_profiles.render import Plan, PlannedKey

ANTHROPIC_BASE = "https://api.anthropic.com"
ANTHROPIC_VERSION = "2023-06-01"
CLAUDE_MODEL = "claude-haiku-4-5-20251001"
GEMINI_BASE = "https://generativelanguage.googleapis.com"
GEMINI_MODELS = (
    "gemini-flash-latest",
    "gemini-flash-lite-latest",
    "gemini-3.5-flash",
    "gemini-3.1-flash-lite",
    "gemini-3-flash-preview",
)
OPENROUTER_URL = "https://openrouter.ai/api/v1/chat/completions"
OPENROUTER_MODEL = "xiaomi/mimo-v2-flash:free"
CHAT_COMPLETIONS = "/chat/completions"
OPENROUTER_REFERER = "https://github.com/thedotmack/claude-mem"
OPENROUTER_TITLE = "Claude-Mem"
PROMPT = "ping"
X_API_KEY = "x-api-key"
BEARER = "Authorization: Bearer"
KEY_PARAMETER = "key parameter"


@dataclass(frozen=True)
class Probe:
    """One request ready to send. The secret travels in a header or the query, never in `shown`."""

    provider: str
    url: str
    headers: Mapping[str, str]
    body: bytes
    model: str
    auth: str  # how the secret travels: x-api-key, Authorization: Bearer, key parameter, none
    secret: str = ""
    secret_source: PlannedKey | None = None  # the plan entry holding the secret, for hints

    @property
    def shown_url(self) -> str:
        return self.url.split("?", 1)[0]

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc


def chat_completions_url(base: str) -> str:
    """claude-mem's rule: empty is openrouter.ai; /chat/completions is appended unless present."""
    trimmed = base.strip()
    if not trimmed:
        return OPENROUTER_URL
    trimmed = trimmed.rstrip("/")
    return trimmed if trimmed.lower().endswith(CHAT_COMPLETIONS) else trimmed + CHAT_COMPLETIONS


def build_probe(plan: Plan, base_url: str | None = None) -> Probe:
    """The request claude-mem would send for a bound plan; base_url replaces the endpoint."""
    env = {k.key: k for k in plan.env}
    settings = {k.key: k.value or "" for k in plan.settings}
    provider = settings.get("CLAUDE_MEM_PROVIDER") or "claude"
    if base_url is not None:
        _check_url(base_url)
    if provider == "gemini":
        return _gemini(env, settings, base_url)
    if provider == "openrouter":
        return _openrouter(env, settings, base_url)
    return _claude(plan.profile, env, settings, base_url)


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EndpointError(f"{url!r} is not an http(s) URL")


def _value(env: Mapping[str, PlannedKey], key: str) -> str:
    entry = env.get(key)
    return entry.value or "" if entry else ""


def _json(data: object) -> bytes:
    return json.dumps(data).encode()


def _claude(
    name: str, env: Mapping[str, PlannedKey], settings: Mapping[str, str], base_url: str | None
) -> Probe:
    configured = _value(env, "ANTHROPIC_BASE_URL")
    api_key, token = _value(env, "ANTHROPIC_API_KEY"), _value(env, "ANTHROPIC_AUTH_TOKEN")
    if not (api_key or token or configured or base_url):
        raise EndpointError(
            f"{name} has no key and no gateway: claude-mem then uses Claude Code's own login, "
            "which cmem-profile cannot test",
        )
    # The Anthropic client claude-mem runs appends /v1/messages to the base URL.
    base = (base_url or configured or ANTHROPIC_BASE).rstrip("/")
    headers = {"content-type": "application/json", "anthropic-version": ANTHROPIC_VERSION}
    model = settings.get("CLAUDE_MEM_MODEL") or CLAUDE_MODEL
    probe = Probe(
        "claude",
        base + "/v1/messages",
        headers,
        _json({"model": model, "max_tokens": 1, "messages": [{"role": "user", "content": PROMPT}]}),
        model,
        "none",
    )
    # With both set, claude-mem sends only the API key.
    if api_key:
        return with_auth(probe, X_API_KEY, api_key, env["ANTHROPIC_API_KEY"])
    if token:
        return with_auth(probe, BEARER, token, env["ANTHROPIC_AUTH_TOKEN"])
    return probe


def with_auth(probe: Probe, auth: str, secret: str, source: PlannedKey | None) -> Probe:
    """The same Anthropic request with the secret sent as x-api-key or as a Bearer token."""
    headers = {k: v for k, v in probe.headers.items() if k not in ("x-api-key", "authorization")}
    if auth == X_API_KEY:
        headers["x-api-key"] = secret
    else:
        headers["authorization"] = f"Bearer {secret}"
    return replace(probe, headers=headers, auth=auth, secret=secret, secret_source=source)


def other_header_mode(probe: Probe) -> Probe | None:
    """For a claude probe with a secret: the same request with the other header mode."""
    if probe.provider != "claude" or probe.auth not in (X_API_KEY, BEARER):
        return None
    other = BEARER if probe.auth == X_API_KEY else X_API_KEY
    return with_auth(probe, other, probe.secret, probe.secret_source)


def _provider_key(env: Mapping[str, PlannedKey], settings: Mapping[str, str], name: str) -> str:
    """The gemini or openrouter key claude-mem uses: a non-empty settings key beats .env."""
    variable = f"{name.upper()}_API_KEY"
    key = settings.get(f"CLAUDE_MEM_{variable}") or _value(env, variable)
    if not key:
        raise EndpointError(f"no {variable}: claude-mem would fall back to claude")
    return key


def _gemini(
    env: Mapping[str, PlannedKey], settings: Mapping[str, str], base_url: str | None
) -> Probe:
    key = _provider_key(env, settings, "gemini")
    # claude-mem replaces a model it does not know by its default.
    model = settings.get("CLAUDE_MEM_GEMINI_MODEL", "")
    model = model if model in GEMINI_MODELS else GEMINI_MODELS[0]
    base = (base_url or GEMINI_BASE).rstrip("/")
    body = {
        "contents": [{"role": "user", "parts": [{"text": PROMPT}]}],
        "generationConfig": {"maxOutputTokens": 1},
    }
    return Probe(
        "gemini",
        f"{base}/v1beta/models/{model}:generateContent?key={quote(key, safe='')}",
        {"content-type": "application/json"},
        _json(body),
        model,
        KEY_PARAMETER,
        key,
        env.get("GEMINI_API_KEY"),
    )


def _openrouter(
    env: Mapping[str, PlannedKey], settings: Mapping[str, str], base_url: str | None
) -> Probe:
    key = _provider_key(env, settings, "openrouter")
    # claude-mem takes the first of a comma- or space-separated list; the rest are fallbacks.
    models = settings.get("CLAUDE_MEM_OPENROUTER_MODEL", "").replace(",", " ").split()
    model = models[0] if models else OPENROUTER_MODEL
    headers = {
        "content-type": "application/json",
        "authorization": f"Bearer {key}",
        "HTTP-Referer": settings.get("CLAUDE_MEM_OPENROUTER_SITE_URL") or OPENROUTER_REFERER,
        "X-OpenRouter-Title": settings.get("CLAUDE_MEM_OPENROUTER_APP_NAME") or OPENROUTER_TITLE,
    }
    body = {"model": model, "messages": [{"role": "user", "content": PROMPT}], "max_tokens": 1}
    return Probe(
        "openrouter",
        chat_completions_url(base_url or settings.get("CLAUDE_MEM_OPENROUTER_BASE_URL", "")),
        headers,
        _json(body),
        model,
        BEARER,
        key,
        env.get("OPENROUTER_API_KEY"),
    )
