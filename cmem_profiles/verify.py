"""Does the running worker use what a switch wrote? Its health and settings against the plan."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from cmem_profiles.errors import WorkerError, WorkerNotRunning
from cmem_profiles.paths import DataPaths
from cmem_profiles.render import ENV, SETTINGS, Plan
from cmem_profiles.secretref import SECRET_SUFFIXES
from cmem_profiles.worker import Health, WorkerClient, locate

PROVIDERS = ("claude", "gemini", "openrouter")
PROVIDER_KEY = "CLAUDE_MEM_PROVIDER"
KEY_VARIABLES = {"gemini": "GEMINI_API_KEY", "openrouter": "OPENROUTER_API_KEY"}
# /api/health's ai.authMethod starts with one of these (claude-mem 13.25 D0()).
AUTH_PREFIXES = {
    "API key": "api-key",
    "Gateway auth token": "gateway-token",
    "Claude Code OAuth token": "oauth",
}
AUTH_WORDS = {
    "api-key": "an API key (ANTHROPIC_API_KEY)",
    "gateway-token": "a gateway auth token (ANTHROPIC_AUTH_TOKEN)",
    "oauth": "Claude Code's OAuth login",
}
# Keys the worker reads only when it starts: a switch that changes one needs a restart.
START_ONLY = (
    "CLAUDE_MEM_WORKER_PORT",
    "CLAUDE_MEM_WORKER_HOST",
    "CLAUDE_MEM_DATA_DIR",
    "CLAUDE_MEM_LOG_LEVEL",
    "CLAUDE_MEM_QUEUE_ENGINE",
    "CLAUDE_MEM_QUEUE_REDIS_PREFIX",
)
START_ONLY_PREFIXES = ("CLAUDE_MEM_CHROMA_", "CLAUDE_MEM_REDIS_")


@dataclass(frozen=True)
class Expected:
    """The backend a plan selects: provider, claude's auth kind, and whether its key is there."""

    provider: str
    auth: str | None  # claude only: api-key, gateway-token or oauth
    has_key: bool


@dataclass
class Verification:
    """The worker's answer after a switch, compared with the plan."""

    status: str  # verified, mismatch, not-running or unverified
    expected: Expected
    address: str
    pid: int | None = None
    provider: str | None = None
    auth: str | None = None
    reasons: list[str] = field(default_factory=list)
    overridden: list[str] = field(default_factory=list)
    detail: str = ""  # why nothing was compared (not-running, unverified)

    def as_json(self) -> dict[str, object]:
        return {
            "status": self.status,
            "worker": self.address,
            "pid": self.pid,
            "provider": self.provider,
            "auth": self.auth,
            "expected_provider": self.expected.provider,
            "expected_auth": self.expected.auth,
            "reasons": self.reasons,
            "overridden_keys": self.overridden,
            "detail": self.detail,
        }


def expected_backend(plan: Plan) -> Expected:
    """What a bound plan makes claude-mem use."""
    env = {k.key: k.value for k in plan.env}
    settings = {k.key: k.value for k in plan.settings}
    provider = settings.get(PROVIDER_KEY) or "claude"
    if provider != "claude":
        return Expected(provider, None, bool(env.get(KEY_VARIABLES.get(provider, ""))))
    if env.get("ANTHROPIC_API_KEY"):
        auth = "api-key"
    elif env.get("ANTHROPIC_AUTH_TOKEN"):
        auth = "gateway-token"
    else:
        auth = "oauth"
    return Expected(provider, auth, True)


def auth_kind(auth_method: str) -> str | None:
    return next((k for p, k in AUTH_PREFIXES.items() if auth_method.startswith(p)), None)


def start_only_keys(changes: Iterable[tuple[str, str]]) -> list[str]:
    """The (file, key) changes that the worker picks up only at its next start."""
    return [
        key
        for file, key in changes
        if file == SETTINGS and (key in START_ONLY or key.startswith(START_ONLY_PREFIXES))
    ]


def written_settings(plan: Plan) -> dict[str, str]:
    """Settings values the plan writes and the worker reports back unmasked."""
    return {
        k.key: k.value
        for k in plan.settings
        if k.value is not None and not (k.value and k.key.endswith(SECRET_SUFFIXES))
    }


def compare(
    expected: Expected,
    health: Health,
    written: Mapping[str, str],
    effective: Mapping[str, str] | None,
) -> tuple[list[str], list[str]]:
    """The reasons the worker does not use the plan's backend, and the overridden keys."""
    overridden = sorted(
        key for key, value in written.items() if effective and effective.get(key, value) != value
    )
    reasons = [
        f"{key} is set in the worker's environment and overrides settings.json"
        for key in overridden
    ]
    got = health.provider
    if got != expected.provider and PROVIDER_KEY not in overridden:
        reasons.append(_provider_reason(expected, got))
    elif got == "claude" and expected.auth:
        kind = auth_kind(health.auth_method)
        if kind and kind != expected.auth:
            reasons.append(
                f"the worker authenticates with {AUTH_WORDS[kind]}, not "
                f"{AUTH_WORDS[expected.auth]}: it reads another {ENV} (check CLAUDE_MEM_ENV_FILE "
                "and CLAUDE_MEM_DATA_DIR in its environment)"
            )
    return reasons, overridden


def _provider_reason(expected: Expected, got: str) -> str:
    if got not in PROVIDERS:
        return f"the worker reports provider '{got}', which cmem-profile does not know"
    variable = KEY_VARIABLES.get(expected.provider)
    if got == "claude" and variable:
        if not expected.has_key:
            return (
                f"the worker fell back to claude because {variable} is missing or empty: "
                f"claude-mem needs a key for {expected.provider}"
            )
        return (
            f"the worker fell back to claude: it finds no {variable}, so it reads another "
            f"{ENV} (check CLAUDE_MEM_ENV_FILE and CLAUDE_MEM_DATA_DIR in its environment)"
        )
    return (
        f"the worker reports provider {got}, not {expected.provider}: it reads another "
        "settings.json (check CLAUDE_MEM_DATA_DIR in its environment)"
    )


def _effective_settings(client: WorkerClient) -> dict[str, str] | None:
    try:
        return client.effective_settings()
    except WorkerNotRunning:
        raise
    except WorkerError:
        return None  # an older worker without /api/settings: compare the health only


def verify_worker(paths: DataPaths, plan: Plan) -> Verification:
    """Ask the running worker which backend it uses now and compare with the bound plan."""
    expected = expected_backend(plan)
    address = "?"
    try:
        located = locate(paths)
        address = str(located)
        client = WorkerClient(located)
        health = client.health()
        effective = _effective_settings(client)
    except WorkerNotRunning:
        return Verification(
            "not-running", expected, address, detail=f"nothing answers on {address}"
        )
    except WorkerError as err:
        return Verification("unverified", expected, address, detail=err.message)
    reasons, overridden = compare(expected, health, written_settings(plan), effective)
    return Verification(
        "mismatch" if reasons else "verified",
        expected,
        address,
        pid=health.pid,
        provider=health.provider,
        auth=auth_kind(health.auth_method),
        reasons=reasons,
        overridden=overridden,
    )
