"""Pure: claude-mem's live files become the profile that `use` renders back to them.

The inverse of render.py: which key each profile field is written to is read off render_plan
itself, so an import cannot drift from what `use` writes. No I/O here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from cmem_profiles.envfile import check_value
from cmem_profiles.errors import CmemProfileError, TargetError
from cmem_profiles.filepair import Files
from cmem_profiles.profile_yaml import render_profile
from cmem_profiles.profiles import DEFAULT_HOSTS, PROFILE_NAME, Profile
from cmem_profiles.render import ENV, SETTINGS, render_plan
from cmem_profiles.secretref import SECRET_NAME, SECRET_SUFFIXES, SecretRef

PROVIDERS = ("claude", "gemini", "openrouter")
SECRET_FIELDS = ("api_key", "auth_token")
AUTH_METHOD = "CLAUDE_MEM_CLAUDE_AUTH_METHOD"
TIERS = ("SIMPLE", "SUMMARY", "FAST", "SMART")
# claude-mem 13.25's defaults of the keys an import reads (tests pin them to the fixture).
DEFAULTS = {
    "CLAUDE_MEM_PROVIDER": "claude",
    AUTH_METHOD: "subscription",
    "CLAUDE_MEM_GEMINI_API_KEY": "",
    "CLAUDE_MEM_OPENROUTER_API_KEY": "",
    "CLAUDE_MEM_OPENROUTER_BASE_URL": "",
    "CLAUDE_MEM_API_TIMEOUT_MS": "30000",
    "CLAUDE_MEM_TIER_ROUTING_ENABLED": "true",
    "CLAUDE_MEM_TIER_SIMPLE_MODEL": "haiku",
    "CLAUDE_MEM_TIER_SUMMARY_MODEL": "",
    "CLAUDE_MEM_TIER_FAST_MODEL": "haiku",
    "CLAUDE_MEM_TIER_SMART_MODEL": "sonnet",
    "CLAUDE_MEM_GEMINI_RATE_LIMITING_ENABLED": "true",
    "CLAUDE_MEM_OPENROUTER_SITE_URL": "",
    "CLAUDE_MEM_OPENROUTER_APP_NAME": "claude-mem",
}
# Settings that shape a backend beyond its fields: imported when they differ from the default.
BACKEND_SETTINGS = {
    "claude": (
        "CLAUDE_MEM_TIER_ROUTING_ENABLED",
        *(f"CLAUDE_MEM_TIER_{tier}_MODEL" for tier in TIERS),
        "CLAUDE_MEM_API_TIMEOUT_MS",
    ),
    "gemini": ("CLAUDE_MEM_GEMINI_RATE_LIMITING_ENABLED", "CLAUDE_MEM_API_TIMEOUT_MS"),
    "openrouter": (
        "CLAUDE_MEM_OPENROUTER_SITE_URL",
        "CLAUDE_MEM_OPENROUTER_APP_NAME",
        "CLAUDE_MEM_API_TIMEOUT_MS",
    ),
}
_PROBE_URL = "https://probe.invalid"
_PROBE_MODEL = "probe-model"


@dataclass(frozen=True)
class ImportedSecret:
    """A secret found in a file, the keyring name it goes to, and where it was found."""

    name: str
    origin: str
    value: str = field(repr=False)


@dataclass
class ImportedProfile:
    """A profile built from live files: its fields, its secrets' values, and why each is there."""

    name: str
    provider: str
    description: str = ""
    base_url: str | None = None
    model: str | None = None
    credentials: dict[str, ImportedSecret] = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)  # dotted field -> where it came from
    warnings: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)

    def set(self, dotted: str, value: str, origin: str) -> None:
        """Set a field ('base_url', 'credentials.api_key', 'settings.KEY') and note its origin."""
        group, _, key = dotted.partition(".")
        if group == "credentials":
            name = secret_name(self.name, key)
            self.credentials[key] = ImportedSecret(name, origin, value)
            origin = f"was {origin}; now in the OS keyring as {name}"
        elif group == "settings":
            self.settings[key] = value
        elif group in ("base_url", "model"):
            setattr(self, group, value)
        else:  # pragma: no cover - callers pass the fields above
            raise ValueError(dotted)
        self.origins[dotted] = origin

    def document(self) -> dict[str, object]:
        """The profile as the loader reads it: secrets as keyring references."""
        doc: dict[str, object] = {"description": self.description, "provider": self.provider}
        if self.base_url:
            doc["base_url"] = self.base_url
        if self.model:
            doc["model"] = self.model
        if self.credentials:
            doc["credentials"] = {f: {"keyring": s.name} for f, s in self.credentials.items()}
        if self.settings:
            doc["settings"] = dict(self.settings)
        return doc

    def secret_values(self) -> dict[SecretRef, str]:
        return {SecretRef("keyring", s.name): s.value for s in self.credentials.values()}

    def yaml(self, schema: str | None = None) -> str:
        header = [f"yaml-language-server: $schema={schema}", ""] if schema else []
        return render_profile(self.document(), header=header + self.header, comments=self.origins)


def secret_name(profile: str, credential: str) -> str:
    """The keyring name an imported credential gets: mine-api-key, mine-auth-token."""
    name = f"{profile}-{credential.replace('_', '-')}"
    if not SECRET_NAME.fullmatch(name):
        raise CmemProfileError(
            f"profile name {profile!r} is too long: its secret {credential} would need a "
            "name of more than 64 characters",
            hint="choose a shorter name",
        )
    return name


def check_profile_name(name: str) -> None:
    if not PROFILE_NAME.fullmatch(name):
        raise CmemProfileError(
            f"{name!r} is not a profile name",
            hint="use lowercase letters, digits and '-', starting with a letter or digit",
        )


def field_keys(provider: str) -> dict[str, tuple[str, str]]:
    """Where `use` writes each field of a profile of this provider: field -> (file, key)."""
    probe = Profile(
        name="probe",
        file=Path("probe.yaml"),
        description="probe",
        provider=provider,
        base_url=_PROBE_URL,
        model=_PROBE_MODEL,
        credentials={f: SecretRef("keyring", f"probe-{f}") for f in SECRET_FIELDS},
    )
    found = {}
    for file, keys in render_plan(probe).files():
        for key in keys:
            if key.secret is not None or key.value in (_PROBE_URL, _PROBE_MODEL):
                found[key.source] = (file, key.key)
    return found


def blanked_keys(provider: str) -> list[tuple[str, str]]:
    """Keys `use` keeps empty for this provider whatever the profile says (they beat .env)."""
    probe = Profile(name="probe", file=Path("probe.yaml"), description="", provider=provider)
    return [
        (file, key.key)
        for file, keys in render_plan(probe).files()
        for key in keys
        if key.value == "" and key.source.startswith("credentials.")
    ]


def neutral_change(file: str, key: str, old: str | None, new: str | None) -> bool:
    """A change a takeover may make because claude-mem behaves the same before and after."""
    if file != SETTINGS:
        return False
    if key == AUTH_METHOD:
        return True  # claude-mem only displays it: .env decides how it authenticates
    return old is None and new == DEFAULTS.get(key)  # a missing settings key reads as its default


def from_claude_mem(
    name: str, files: Files, *, owned_settings: Iterable[str] = (), origin: str, today: str
) -> ImportedProfile:
    """The profile that `use` renders to the live files' owned keys."""
    check_profile_name(name)
    provider = files.get(SETTINGS, "CLAUDE_MEM_PROVIDER") or DEFAULTS["CLAUDE_MEM_PROVIDER"]
    if provider not in PROVIDERS:
        raise CmemProfileError(
            f"settings.json: CLAUDE_MEM_PROVIDER is {provider!r}, which claude-mem does not know",
            hint="set it to claude, gemini or openrouter, then import again",
        )
    for file, key in blanked_keys(provider):
        if files.get(file, key):
            raise CmemProfileError(
                f"{file}: {key} holds a key, which silently beats .env; a profile keeps it empty",
                hint=f"move the value into .env ({_env_twin(key)}=...), empty {key}, "
                "then import again",
            )
    imported = ImportedProfile(name, provider)
    for dotted, (file, key) in field_keys(provider).items():
        value = files.get(file, key)
        if value:
            imported.set(dotted, value, f"{file} {key}")
    for key in BACKEND_SETTINGS[provider]:
        value = files.get(SETTINGS, key)
        if value is not None and value != DEFAULTS[key]:
            default = DEFAULTS[key] or "empty"
            imported.set(
                f"settings.{key}", value, f"settings.json (claude-mem's default: {default})"
            )
    for key in owned_settings:
        value = files.get(SETTINGS, key)
        if value is not None and key not in imported.settings and settable(key):
            imported.set(f"settings.{key}", value, "settings.json; cmem-profile already set it")
    for key in imported.settings:
        if not isinstance(files.settings.get(key), str):
            raise CmemProfileError(
                f"settings.json: {key} is not a string; claude-mem reads only string values",
                hint=f'write it as a string (e.g. "{imported.settings[key]}"), then import again',
            )
    return finish(imported, origin, today, f"'cmem-profile import {name}'")


def settable(key: str) -> bool:
    """Whether a profile's settings may hold key: not a field's key, not a secret."""
    from cmem_profiles.schema import load_schema

    known = load_schema()["properties"]["settings"]["properties"]
    return "not" not in known.get(key, {}) and not key.endswith(SECRET_SUFFIXES)


def _env_twin(settings_key: str) -> str:
    return settings_key.removeprefix("CLAUDE_MEM_")


def finish(imported: ImportedProfile, origin: str, today: str, how: str) -> ImportedProfile:
    """Checks every import shares, then the description and the header comment."""
    if len(imported.credentials) > 1:
        raise CmemProfileError(
            "both an API key and a Bearer token are set; claude-mem then sends only the API key",
            hint="remove the one the endpoint does not use, then import again",
        )
    keys = field_keys(imported.provider)
    values = {"base_url": imported.base_url, "model": imported.model}
    values |= {f"credentials.{f}": s.value for f, s in imported.credentials.items()}
    for dotted, value in values.items():
        file, key = keys.get(dotted, ("", ""))
        if value is not None and file == ENV:
            try:
                check_value(key, value)
            except TargetError as err:
                raise CmemProfileError(f"cannot import {key}: {err.message}", err.hint) from None
    host = _host(imported) or DEFAULT_HOSTS[imported.provider]
    description = f"{imported.provider} via {host}, imported from {origin} on {today}"
    if len(description) > 200:  # the schema's limit; a long path is the part to drop
        description = f"{imported.provider} via {host}, imported on {today}"[:200]
    imported.description = description
    imported.header = [f"Imported by {how} from {origin} on {today}."]
    if imported.credentials:
        names = ", ".join(s.name for s in imported.credentials.values())
        imported.header.append(f"The secrets are in the OS keyring, not in this file: {names}.")
    imported.header += ["Each comment says where the value below it was found.", ""]
    return imported


def _host(imported: ImportedProfile) -> str | None:
    if not imported.base_url:
        return None
    where = imported.origins["base_url"]
    try:
        url = urlsplit(imported.base_url)
        host = url.hostname
    except ValueError:
        raise CmemProfileError(f"{where} is not a URL", hint="fix it, then import again") from None
    # Never echoed: a user name and password there are credentials.
    if url.username is not None or url.password is not None:
        raise CmemProfileError(
            f"{where} carries a user name or password before the host; "
            "a profile holds no credentials",
            hint="move the credential to a key or token, drop it from the URL, then import again",
        )
    return host
