"""Pure: the `env` block of Claude Code's settings becomes a claude profile, with warnings."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from cmem_profiles.errors import CmemProfileError
from cmem_profiles.importer import ImportedProfile, check_profile_name, finish

CLAUDE_CODE_USED = (
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_MODEL",
    "ANTHROPIC_DEFAULT_HAIKU_MODEL",
    "ANTHROPIC_SMALL_FAST_MODEL",
    "ANTHROPIC_DEFAULT_SONNET_MODEL",
)
NATIVE_MODES = {
    "CLAUDE_CODE_USE_BEDROCK": "Amazon Bedrock",
    "CLAUDE_CODE_USE_VERTEX": "Google Vertex AI",
    "CLAUDE_CODE_USE_FOUNDRY": "Microsoft Foundry",
}


def claude_code_env(sources: Sequence[tuple[str, bytes]]) -> dict[str, str]:
    """The `env` block of Claude Code settings files merged in order (later files win)."""
    env: dict[str, str] = {}
    seen = False
    for file, data in sources:
        block = _json_object(file, data).get("env")
        if block is None:
            continue
        if not isinstance(block, dict):
            raise CmemProfileError(
                f'{file}: "env" is not an object', hint='Claude Code reads "env": {"NAME": "value"}'
            )
        seen = True
        # Claude Code takes only strings; a number or true is kept in its JSON spelling.
        env |= {k: v if isinstance(v, str) else json.dumps(v) for k, v in block.items()}
    if not seen:
        files = " or ".join(file for file, _ in sources)
        raise CmemProfileError(
            f"no env block in {files}: nothing to import",
            hint='Claude Code takes ANTHROPIC_BASE_URL and its other variables from "env"',
        )
    return env


def _json_object(file: str, data: bytes) -> dict[str, object]:
    hint = "Claude Code ignores a settings file it cannot read: fix it, then import again"
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as err:
        raise CmemProfileError(f"{file}: not UTF-8 text (byte {err.start})", hint=hint) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        # The decoder's message names the token it expected, never the file's content.
        where = f"{file}:{err.lineno}:{err.colno}"
        raise CmemProfileError(f"{where}: not valid JSON: {err.msg}", hint=hint) from None
    if not isinstance(document, dict):
        raise CmemProfileError(f"{file}: the top level is not a JSON object", hint=hint)
    return document


def from_claude_code(
    name: str, env: Mapping[str, str], *, origin: str, today: str
) -> ImportedProfile:
    """A claude profile from Claude Code's ANTHROPIC_* variables, with warnings for the rest."""
    check_profile_name(name)
    imported = ImportedProfile(name, "claude")
    imported.warnings += _claude_code_warnings(env)
    for var, dotted in (
        ("ANTHROPIC_BASE_URL", "base_url"),
        ("ANTHROPIC_API_KEY", "credentials.api_key"),
        ("ANTHROPIC_AUTH_TOKEN", "credentials.auth_token"),
    ):
        if env.get(var):
            imported.set(dotted, env[var], var)
    # claude-mem's main model is Claude Code's small, fast one: its batches are simple.
    model = _first_set(
        env, "ANTHROPIC_DEFAULT_HAIKU_MODEL", "ANTHROPIC_SMALL_FAST_MODEL", "ANTHROPIC_MODEL"
    )
    if model:
        imported.set("model", env[model], model)
        # Otherwise the tiers send the literal 'haiku', which a gateway may not map.
        for tier in ("SIMPLE", "FAST"):
            imported.set(f"settings.CLAUDE_MEM_TIER_{tier}_MODEL", env[model], model)
    smart = _first_set(env, "ANTHROPIC_DEFAULT_SONNET_MODEL", "ANTHROPIC_MODEL") or model
    if smart:
        imported.set("settings.CLAUDE_MEM_TIER_SMART_MODEL", env[smart], smart)
    if not imported.base_url and not imported.credentials and not smart:
        raise CmemProfileError(
            f"nothing to import from {origin}: its env block sets none of "
            + ", ".join(CLAUDE_CODE_USED),
            hint=_native_hint(env),
        )
    how = f"'cmem-profile import {name} --from-claude-code'"
    return finish(imported, origin, today, how)


def _first_set(env: Mapping[str, str], *variables: str) -> str | None:
    """The first of variables with a non-empty value (Claude Code reads empty as unset)."""
    return next((v for v in variables if env.get(v)), None)


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _native_hint(env: Mapping[str, str]) -> str | None:
    native = [what for var, what in NATIVE_MODES.items() if _truthy(env.get(var))]
    if not native:
        return None
    return (
        f"Claude Code uses {native[0]} natively; claude-mem reaches it only through an "
        "Anthropic-compatible shim (see the bedrock-shim profile)"
    )


def _claude_code_warnings(env: Mapping[str, str]) -> list[str]:
    warnings = [
        f"{var} is set: Claude Code talks to {what} natively, which claude-mem cannot be set "
        "to through its files; the profile uses the Anthropic API or ANTHROPIC_BASE_URL "
        f"instead (for {what}, point base_url at an Anthropic-compatible shim)"
        for var, what in NATIVE_MODES.items()
        if _truthy(env.get(var))
    ]
    mem = sorted(k for k in env if k.startswith("CLAUDE_MEM_"))
    if mem:
        warnings.append(
            f"the env block sets {', '.join(mem)}: the claude-mem worker that Claude Code "
            "starts inherits these variables, and each overrides settings.json whatever "
            "profile is active; move them into a profile's settings and out of the env block"
        )
    ignored = sorted(k for k in env if k.startswith("ANTHROPIC_") and k not in CLAUDE_CODE_USED)
    if ignored:
        warnings.append(f"not imported, claude-mem has no setting for: {', '.join(ignored)}")
    return warnings
