"""Pure: a profile becomes a plan, per file the keys to set and the keys to clear. No I/O."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace

from cmem_profiles.profiles import Profile
from cmem_profiles.secretref import SecretRef

ENV = ".env"
SETTINGS = "settings.json"
# The only .env keys claude-mem's worker reads (claude-mem.md): cmem-profile owns no others there.
ENV_KEYS = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "GEMINI_API_KEY",
    "OPENROUTER_API_KEY",
)


@dataclass(frozen=True)
class PlannedKey:
    """One key of one file: the value to write, or None to clear it.

    A key whose value comes from a secret carries the reference; its value is None until the
    plan is bound to resolved secrets, and such a key is never a clear.
    """

    key: str
    value: str | None
    secret: SecretRef | None = None
    source: str = ""

    @property
    def clears(self) -> bool:
        return self.value is None and self.secret is None


@dataclass(frozen=True)
class Plan:
    """What switching to a profile writes: keys for .env and for settings.json."""

    profile: str
    env: tuple[PlannedKey, ...]
    settings: tuple[PlannedKey, ...]

    def files(self) -> Iterator[tuple[str, tuple[PlannedKey, ...]]]:
        yield ENV, self.env
        yield SETTINGS, self.settings

    def secret_refs(self) -> list[SecretRef]:
        refs = [k.secret for _, keys in self.files() for k in keys if k.secret is not None]
        return list(dict.fromkeys(refs))

    def bind(self, values: Mapping[SecretRef, str]) -> Plan:
        """The same plan with every secret's resolved value filled in."""

        def fill(keys: tuple[PlannedKey, ...]) -> tuple[PlannedKey, ...]:
            return tuple(replace(k, value=values[k.secret]) if k.secret else k for k in keys)

        return replace(self, env=fill(self.env), settings=fill(self.settings))


def claude_auth_method(profile: Profile) -> str:
    """CLAUDE_MEM_CLAUDE_AUTH_METHOD matching what .env will hold (informational for claude-mem)."""
    if profile.base_url or "auth_token" in profile.credentials:
        return "gateway"
    if "api_key" in profile.credentials:
        return "api-key"
    return "subscription"


def render_plan(profile: Profile) -> Plan:
    """claude-mem's rules for each backend (claude-mem.md, 'How each backend is expressed')."""
    env: list[PlannedKey] = []
    settings = [PlannedKey("CLAUDE_MEM_PROVIDER", profile.provider, source="provider")]
    api_key = profile.credentials.get("api_key")
    if profile.provider == "claude":
        token = profile.credentials.get("auth_token")
        # Every ANTHROPIC_* the profile does not set is cleared: a stale base URL or token
        # left in .env silently sends requests to the previous backend.
        env += [
            PlannedKey("ANTHROPIC_BASE_URL", profile.base_url, source="base_url"),
            _secret("ANTHROPIC_API_KEY", api_key, "credentials.api_key"),
            _secret("ANTHROPIC_AUTH_TOKEN", token, "credentials.auth_token"),
        ]
        settings.append(
            PlannedKey(
                "CLAUDE_MEM_CLAUDE_AUTH_METHOD", claude_auth_method(profile), source="credentials"
            )
        )
        if profile.model:
            settings.append(PlannedKey("CLAUDE_MEM_MODEL", profile.model, source="model"))
    elif profile.provider == "gemini":
        env.append(_secret("GEMINI_API_KEY", api_key, "credentials.api_key"))
        if profile.model:
            settings.append(PlannedKey("CLAUDE_MEM_GEMINI_MODEL", profile.model, source="model"))
        # A non-empty settings key silently beats .env's GEMINI_API_KEY.
        settings.append(PlannedKey("CLAUDE_MEM_GEMINI_API_KEY", "", source="credentials.api_key"))
    else:
        env.append(_secret("OPENROUTER_API_KEY", api_key, "credentials.api_key"))
        if profile.model:
            settings.append(
                PlannedKey("CLAUDE_MEM_OPENROUTER_MODEL", profile.model, source="model")
            )
        # Empty means openrouter.ai: a profile without base_url must not inherit a local server's.
        settings.append(
            PlannedKey("CLAUDE_MEM_OPENROUTER_BASE_URL", profile.base_url or "", source="base_url")
        )
        settings.append(
            PlannedKey("CLAUDE_MEM_OPENROUTER_API_KEY", "", source="credentials.api_key")
        )
    settings += [PlannedKey(k, v, source=f"settings.{k}") for k, v in profile.settings.items()]
    return Plan(profile=profile.name, env=tuple(env), settings=tuple(settings))


def _secret(key: str, ref: SecretRef | None, source: str) -> PlannedKey:
    return PlannedKey(key, None, secret=ref, source=source)
