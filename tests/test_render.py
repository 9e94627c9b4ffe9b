"""render_plan encodes claude-mem's rules for each backend; pure, so tested without I/O."""

from __future__ import annotations

import pytest
from conftest import REPO

from cmem_profiles.profiles import find_profile
from cmem_profiles.render import render_plan

CLEARED = None
SECRET = "<secret>"


def _plan(name: str) -> tuple[dict[str, str | None], dict[str, str | None]]:
    plan = render_plan(find_profile(name, [str(REPO / "profiles")]))

    def view(keys):  # type: ignore[no-untyped-def]
        return {k.key: SECRET if k.secret else k.value for k in keys}

    return view(plan.env), view(plan.settings)


@pytest.mark.parametrize(
    ("name", "env", "settings"),
    [
        (
            "corporate",
            {
                "ANTHROPIC_BASE_URL": "https://llm-gateway.corp.example.com",
                "ANTHROPIC_API_KEY": SECRET,
                "ANTHROPIC_AUTH_TOKEN": CLEARED,
            },
            {
                "CLAUDE_MEM_PROVIDER": "claude",
                "CLAUDE_MEM_CLAUDE_AUTH_METHOD": "gateway",
                "CLAUDE_MEM_MODEL": "claude-haiku-4-5-20251001",
                "CLAUDE_MEM_TIER_ROUTING_ENABLED": "false",
            },
        ),
        (
            "bedrock-shim",
            {
                "ANTHROPIC_BASE_URL": "https://bedrock-shim.internal.example.com",
                "ANTHROPIC_API_KEY": CLEARED,
                "ANTHROPIC_AUTH_TOKEN": SECRET,
            },
            {
                "CLAUDE_MEM_PROVIDER": "claude",
                "CLAUDE_MEM_CLAUDE_AUTH_METHOD": "gateway",
                "CLAUDE_MEM_MODEL": "us.anthropic.claude-haiku-4-5-20251001-v1:0",
                "CLAUDE_MEM_TIER_SIMPLE_MODEL": "us.anthropic.claude-haiku-4-5-20251001-v1:0",
                "CLAUDE_MEM_TIER_FAST_MODEL": "us.anthropic.claude-haiku-4-5-20251001-v1:0",
                "CLAUDE_MEM_TIER_SMART_MODEL": "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            },
        ),
        (
            "subscription",
            {
                "ANTHROPIC_BASE_URL": CLEARED,
                "ANTHROPIC_API_KEY": CLEARED,
                "ANTHROPIC_AUTH_TOKEN": CLEARED,
            },
            {
                "CLAUDE_MEM_PROVIDER": "claude",
                "CLAUDE_MEM_CLAUDE_AUTH_METHOD": "subscription",
                "CLAUDE_MEM_MODEL": "claude-haiku-4-5-20251001",
            },
        ),
        (
            "gemini",
            {"GEMINI_API_KEY": SECRET},
            {
                "CLAUDE_MEM_PROVIDER": "gemini",
                "CLAUDE_MEM_GEMINI_MODEL": "gemini-flash-latest",
                "CLAUDE_MEM_GEMINI_API_KEY": "",
                "CLAUDE_MEM_GEMINI_RATE_LIMITING_ENABLED": "true",
            },
        ),
        (
            "openrouter",
            {"OPENROUTER_API_KEY": SECRET},
            {
                "CLAUDE_MEM_PROVIDER": "openrouter",
                "CLAUDE_MEM_OPENROUTER_MODEL": "anthropic/claude-haiku-4.5",
                "CLAUDE_MEM_OPENROUTER_BASE_URL": "",
                "CLAUDE_MEM_OPENROUTER_API_KEY": "",
                "CLAUDE_MEM_OPENROUTER_APP_NAME": "claude-mem",
            },
        ),
        (
            "local-openai",
            {"OPENROUTER_API_KEY": SECRET},
            {
                "CLAUDE_MEM_PROVIDER": "openrouter",
                "CLAUDE_MEM_OPENROUTER_MODEL": "qwen2.5-coder:7b",
                "CLAUDE_MEM_OPENROUTER_BASE_URL": "http://127.0.0.1:11434/v1",
                "CLAUDE_MEM_OPENROUTER_API_KEY": "",
            },
        ),
    ],
)
def test_render_rules(
    name: str, env: dict[str, str | None], settings: dict[str, str | None]
) -> None:
    assert _plan(name) == (env, settings)


def test_api_key_without_base_url_is_api_key_auth(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "direct.yaml").write_text(
        "description: d\nprovider: claude\ncredentials:\n  api_key: {keyring: a}\n"
    )
    plan = render_plan(find_profile("direct", [str(tmp_path)]))
    assert {k.key: k.value for k in plan.settings}["CLAUDE_MEM_CLAUDE_AUTH_METHOD"] == "api-key"
    assert [k.key for k in plan.env if k.clears] == ["ANTHROPIC_BASE_URL", "ANTHROPIC_AUTH_TOKEN"]


def test_every_settings_value_is_a_string() -> None:
    for path in (REPO / "profiles").glob("*.yaml"):
        plan = render_plan(find_profile(path.stem, [str(REPO / "profiles")]))
        assert all(isinstance(k.value, str) for k in plan.settings), path
