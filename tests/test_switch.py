"""Switching: only owned keys change, baselines come back, secrets stay in .env, rollback works."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import REPO, no_worker_line

from cmem_profiles.envfile import parse_claude_mem, parse_dotenv
from cmem_profiles.main import main

FIXTURE = REPO / "tests" / "fixtures" / "claude-mem-13.25-settings.json"
PROFILES = str(REPO / "profiles")
SECRETS = {
    "CMEM_PROFILE_SECRET_CORP_GATEWAY": "sk-ant-api03-corpSECRETmarker0001",
    "CMEM_PROFILE_SECRET_GEMINI": "AIzaGEMINISECRETmarker0002",
    "CMEM_PROFILE_SECRET_OPENROUTER": "sk-or-v1-ORSECRETmarker0003",
    "CMEM_PROFILE_SECRET_BEDROCK_SHIM": "bedrock-SHIMSECRET-marker0004",
    "CMEM_PROFILE_SECRET_THIRD_PARTY_TOKEN": "tp.TOKENSECRET_marker0005",
}
ENV_TEXT = (
    "# claude-mem credentials, edited by hand\n"
    "export OTHER_TOOL_TOKEN=abc123\n"
    "\n"
    "MY_VAR=1 # a note\n"
    "ANTHROPIC_BASE_URL=https://old-gateway.example.com\n"
)
ALL = [
    "corporate",
    "bedrock-shim",
    "third-party",
    "openrouter",
    "local-openai",
    "gemini",
    "subscription",
]


@pytest.fixture
def data_dir(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """claude-mem's real 13.25 settings plus unknown keys, and a hand-written .env."""
    for var, value in SECRETS.items():
        monkeypatch.setenv(var, value)
    data = isolated / ".claude-mem"
    data.mkdir(mode=0o700)
    settings = json.loads(FIXTURE.read_text())
    settings["ZZ_UNKNOWN_USER_KEY"] = "keep me"
    settings["CUSTOM_FLAG"] = True
    (data / "settings.json").write_text(json.dumps(settings, indent=2) + "\n")
    (data / ".env").write_text(ENV_TEXT)
    (data / ".env").chmod(0o600)
    return data


def use(*args: str) -> int:
    return main(["--profiles-dir", PROFILES, *args])


def _settings(data: Path) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((data / "settings.json").read_text())
    return loaded


def _env(data: Path) -> dict[str, str]:
    return parse_claude_mem((data / ".env").read_text())


def test_every_profile_and_back_keeps_unrelated_keys_and_lines(data_dir: Path) -> None:
    before_settings = _settings(data_dir)
    for name in [*ALL, *reversed(ALL)]:
        assert use("use", name) == 0, name
        env_lines = (data_dir / ".env").read_text().splitlines()
        assert env_lines[:4] == ENV_TEXT.splitlines()[:4], name
        after = _settings(data_dir)
        for key, value in before_settings.items():
            if not key.startswith(
                (
                    "CLAUDE_MEM_PROVIDER",
                    "CLAUDE_MEM_CLAUDE_AUTH",
                    "CLAUDE_MEM_MODEL",
                    "CLAUDE_MEM_TIER",
                    "CLAUDE_MEM_GEMINI",
                    "CLAUDE_MEM_OPENROUTER",
                )
            ):
                assert after[key] == value, (name, key)
        assert list(after)[: len(before_settings)] == list(before_settings), "key order kept"


def test_subscription_after_gateway_leaves_no_anthropic_keys(data_dir: Path) -> None:
    assert use("use", "corporate") == 0
    assert _env(data_dir)["ANTHROPIC_API_KEY"] == SECRETS["CMEM_PROFILE_SECRET_CORP_GATEWAY"]
    assert use("use", "subscription") == 0
    env = _env(data_dir)
    assert not [k for k in env if k.startswith("ANTHROPIC_")]
    assert _settings(data_dir)["CLAUDE_MEM_CLAUDE_AUTH_METHOD"] == "subscription"


def test_released_key_returns_to_its_baseline(data_dir: Path) -> None:
    assert _settings(data_dir)["CLAUDE_MEM_TIER_ROUTING_ENABLED"] == "true"
    assert use("use", "corporate") == 0
    assert _settings(data_dir)["CLAUDE_MEM_TIER_ROUTING_ENABLED"] == "false"
    assert use("use", "gemini") == 0  # gemini does not set tier routing or ANTHROPIC_*
    assert _settings(data_dir)["CLAUDE_MEM_TIER_ROUTING_ENABLED"] == "true"
    env = _env(data_dir)
    assert env["ANTHROPIC_BASE_URL"] == "https://old-gateway.example.com"
    assert "ANTHROPIC_API_KEY" not in env
    assert env["GEMINI_API_KEY"] == SECRETS["CMEM_PROFILE_SECRET_GEMINI"]


@pytest.mark.parametrize("name", ALL)
def test_written_values_read_back_exactly_in_every_parser(data_dir: Path, name: str) -> None:
    assert use("use", name) == 0
    text = (data_dir / ".env").read_text()
    ours, dotenv = parse_claude_mem(text), parse_dotenv(text)
    assert ours == {k: v for k, v in dotenv.items()}
    node = shutil.which("node")
    if node:
        script = 'process.stdout.write(JSON.stringify(require("util").parseEnv(require("fs").readFileSync(0, "utf8"))))'
        result = subprocess.run(
            [node, "-e", script], input=text, capture_output=True, text=True, check=True
        )
        assert json.loads(result.stdout) == ours
    assert all(
        isinstance(v, str) for k, v in _settings(data_dir).items() if k.startswith("CLAUDE_MEM_")
    )


def test_use_prints_the_plan_with_secrets_masked(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert use("use", "corporate") == 0
    out, err = capsys.readouterr()
    tag = hashlib.sha256(SECRETS["CMEM_PROFILE_SECRET_CORP_GATEWAY"].encode()).hexdigest()[:4]
    assert out == (
        "switched to corporate (generation 1):\n"
        ".env:\n"
        "  ~ ANTHROPIC_BASE_URL: https://old-gateway.example.com -> https://llm-gateway.corp.example.com\n"
        f"  + ANTHROPIC_API_KEY=<secret keyring:corp-gateway …{tag}>\n"
        "settings.json:\n"
        "  ~ CLAUDE_MEM_CLAUDE_AUTH_METHOD: subscription -> gateway\n"
        "  ~ CLAUDE_MEM_TIER_ROUTING_ENABLED: true -> false\n" + no_worker_line()
    )
    assert err == ""


def test_diff_is_the_same_plan_and_writes_nothing(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = {p.name: p.read_bytes() for p in data_dir.iterdir()}
    assert use("diff", "corporate", "--exit-code") == 1
    preview = capsys.readouterr().out
    assert {p.name: p.read_bytes() for p in data_dir.iterdir()} == before
    assert use("use", "corporate") == 0
    switched = capsys.readouterr().out.removesuffix(no_worker_line())
    assert preview.splitlines()[1:] == switched.splitlines()[1:]
    assert use("diff", "corporate", "--exit-code") == 0
    assert capsys.readouterr().out == "corporate: would change nothing\n"


def test_use_json(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert use("use", "gemini", "--json") == 0
    result = json.loads(capsys.readouterr().out)
    assert result["profile"] == "gemini" and result["generation"] == 1 and result["changed"]
    ops = {(c["file"], c["key"]): c["op"] for c in result["changes"]}
    assert ops[".env", "GEMINI_API_KEY"] == "add"
    assert ops["settings.json", "CLAUDE_MEM_PROVIDER"] == "change"
    assert SECRETS["CMEM_PROFILE_SECRET_GEMINI"] not in json.dumps(result)


def test_secret_lives_only_in_env_and_its_private_generations(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = SECRETS["CMEM_PROFILE_SECRET_CORP_GATEWAY"]
    for args in (
        ["use", "corporate"],
        ["current", "--check"],
        ["history", "--json"],
        ["use", "subscription"],
        ["rollback"],
    ):
        use(*args)
    out, err = capsys.readouterr()
    assert marker not in out + err
    holders = sorted(
        str(p.relative_to(tmp_path))
        for p in tmp_path.rglob("*")
        if p.is_file() and marker.encode() in p.read_bytes()
    )
    assert holders == [
        "home/.claude-mem/.cmem-profile/generations/1/.env",
        "home/.claude-mem/.cmem-profile/generations/3/.env",
        "home/.claude-mem/.env",
    ]
    for holder in holders:
        assert (tmp_path / holder).stat().st_mode & 0o777 == 0o600


def test_missing_secret_fails_before_writing(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CMEM_PROFILE_SECRET_CORP_GATEWAY")
    before = {p.name: p.read_bytes() for p in data_dir.iterdir()}
    assert use("use", "corporate", "--no-input") == 1
    err = capsys.readouterr().err
    assert "corp-gateway: not stored; run: cmem-profile secret set corp-gateway" in err
    assert {p.name: p.read_bytes() for p in data_dir.iterdir()} == before


def test_current_history_and_rollback(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    original = {name: (data_dir / name).read_bytes() for name in (".env", "settings.json")}
    assert main(["current", "--short"]) == 0
    assert capsys.readouterr().out == "\n"
    assert use("use", "corporate") == 0
    assert use("use", "openrouter") == 0
    capsys.readouterr()
    assert main(["current", "--short"]) == 0
    assert capsys.readouterr().out == "openrouter\n"
    assert main(["current", "--json"]) == 0
    current = json.loads(capsys.readouterr().out)
    assert (current["active"], current["generation"], current["drift"]) == ("openrouter", 2, None)
    assert main(["history", "--json"]) == 0
    history = json.loads(capsys.readouterr().out)
    assert [(g["number"], g["kind"], g["profile"], g["current"]) for g in history] == [
        (0, "found", None, False),
        (1, "use", "corporate", False),
        (2, "use", "openrouter", True),
    ]
    assert main(["rollback"]) == 0
    assert capsys.readouterr().out.startswith("rolled back (corporate active; now generation 3):\n")
    assert _settings(data_dir)["CLAUDE_MEM_PROVIDER"] == "claude"
    assert main(["current", "--short"]) == 0
    assert capsys.readouterr().out == "corporate\n"
    assert main(["rollback", "0"]) == 0
    assert {name: (data_dir / name).read_bytes() for name in original} == original
    assert main(["rollback", "99"]) == 1
    assert capsys.readouterr().err.endswith(
        "error: no generation 99\nhint: generations kept: 0, 1, 2, 3, 4\n"
    )


def test_rollback_0_removes_a_file_that_did_not_exist(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CMEM_PROFILE_SECRET_GEMINI", "AIzaXYZ")
    assert use("use", "gemini") == 0
    data = isolated / ".claude-mem"
    assert (data / ".env").exists() and (data / "settings.json").exists()
    assert main(["rollback", "0"]) == 0
    assert not (data / ".env").exists()
    assert not (data / "settings.json").exists()


def test_hand_edit_is_caught_then_forced_or_adopted(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert use("use", "corporate") == 0
    settings = _settings(data_dir)
    settings["CLAUDE_MEM_TIER_ROUTING_ENABLED"] = "true"
    (data_dir / "settings.json").write_text(json.dumps(settings, indent=2) + "\n")
    capsys.readouterr()
    edited = (data_dir / "settings.json").read_bytes()
    assert use("use", "openrouter") == 1
    assert capsys.readouterr().err == (
        "cmem-profile: error: owned keys were edited by hand; nothing was written:\n"
        "  settings.json: CLAUDE_MEM_TIER_ROUTING_ENABLED was changed by hand since 'corporate' was applied\n"
        "hint: --force overwrites the edits; --adopt keeps them as the values to restore later\n"
    )
    assert (data_dir / "settings.json").read_bytes() == edited
    assert main(["current", "--check"]) == 1
    assert "CLAUDE_MEM_TIER_ROUTING_ENABLED was changed by hand" in capsys.readouterr().out
    assert use("use", "corporate", "--adopt") == 0
    assert _settings(data_dir)["CLAUDE_MEM_TIER_ROUTING_ENABLED"] == "false"
    assert (
        use("use", "openrouter") == 0
    )  # openrouter leaves tier routing alone: the adopted edit returns
    assert _settings(data_dir)["CLAUDE_MEM_TIER_ROUTING_ENABLED"] == "true"


def test_force_overwrites_a_hand_edit(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert use("use", "corporate") == 0
    text = (
        (data_dir / ".env")
        .read_text()
        .replace("llm-gateway.corp.example.com", "edited.example.com")
    )
    (data_dir / ".env").write_text(text)
    assert use("use", "corporate", "--force") == 0
    assert _env(data_dir)["ANTHROPIC_BASE_URL"] == "https://llm-gateway.corp.example.com"
    assert (
        "warning: .env: ANTHROPIC_BASE_URL was changed by hand; the edit is replaced"
        in capsys.readouterr().err
    )


def test_value_that_cannot_be_written_safely_is_refused(
    data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CMEM_PROFILE_SECRET_CORP_GATEWAY", "abc#def")
    before = (data_dir / ".env").read_bytes()
    assert use("use", "corporate") == 1
    err = capsys.readouterr().err
    assert "ANTHROPIC_API_KEY" in err and "abc#def" not in err
    assert (data_dir / ".env").read_bytes() == before
    # nothing kept either: no generation of the files as found, no state
    assert not (data_dir / ".cmem-profile" / "generations").exists()
    assert not (data_dir / ".cmem-profile" / "state.json").exists()


def test_env_file_mode_is_0600(data_dir: Path) -> None:
    (data_dir / ".env").chmod(0o644)
    assert use("use", "corporate") == 0
    assert os.stat(data_dir / ".env").st_mode & 0o777 == 0o600


def test_pruning_keeps_generation_0_the_last_20_and_every_baseline(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert use("use", "corporate") == 0  # generation 1: tier routing's baseline is generation 0
    for i in range(12):
        assert use("use", "gemini" if i % 2 else "openrouter") == 0
    capsys.readouterr()
    assert main(["history", "--json"]) == 0
    numbers = [g["number"] for g in json.loads(capsys.readouterr().out)]
    assert numbers == list(range(14))
    for i in range(12):
        assert use("use", "gemini" if i % 2 else "openrouter") == 0
    capsys.readouterr()
    assert main(["history", "--json"]) == 0
    numbers = [g["number"] for g in json.loads(capsys.readouterr().out)]
    assert numbers == [0, *range(6, 26)]
    on_disk = sorted(int(p.name) for p in (data_dir / ".cmem-profile" / "generations").iterdir())
    assert on_disk == [0, 5, *numbers[1:]]  # 5 holds the baselines of generation 6's keys
    assert main(["rollback", "5"]) == 1  # a baseline source only, not a rollback target
    assert main(["rollback", "6"]) == 0
    assert use("use", "subscription") == 0  # releases generation 6's keys through 5's files
    assert main(["rollback", "0"]) == 0
    assert _settings(data_dir)["CLAUDE_MEM_TIER_ROUTING_ENABLED"] == "true"


def test_legacy_nested_settings_keep_their_shape_and_siblings(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CMEM_PROFILE_SECRET_GEMINI", "AIzaLEGACY")
    data = isolated / ".claude-mem"
    data.mkdir()
    legacy = {"env": {"CLAUDE_MEM_PROVIDER": "claude", "CLAUDE_MEM_MODE": "code"}, "theme": "dark"}
    (data / "settings.json").write_text(json.dumps(legacy, indent=2) + "\n")
    assert use("use", "gemini") == 0
    written = _settings(data)
    assert written["theme"] == "dark"
    assert written["env"]["CLAUDE_MEM_PROVIDER"] == "gemini"  # type: ignore[index]
    assert written["env"]["CLAUDE_MEM_MODE"] == "code"  # type: ignore[index]
    assert "CLAUDE_MEM_PROVIDER" not in written


def test_an_emptied_secret_setting_shows_as_empty_not_masked(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert use("use", "local-openai") == 0
    out = capsys.readouterr().out
    assert "  + CLAUDE_MEM_OPENROUTER_API_KEY=\n" in out
    assert "  + OPENROUTER_API_KEY=<secret command:printf …" in out
