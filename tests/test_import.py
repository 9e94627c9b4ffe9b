"""`import`: live claude-mem files or Claude Code's env block become a profile; secrets to the keyring."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REPO
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cmem_profiles import secrets
from cmem_profiles.envfile import parse_claude_mem
from cmem_profiles.importer import DEFAULTS, field_keys
from cmem_profiles.main import main
from cmem_profiles.profile_yaml import render_profile
from cmem_profiles.yamldoc import load_document

FIXTURE = REPO / "tests" / "fixtures" / "claude-mem-13.25-settings.json"
PROFILES = str(REPO / "profiles")
SHOWN = "home/.config/cmem-profile/profiles"  # the user's profiles dir, as shown from the cwd
KEY = "sk-ant-api03-IMPORTsecretMARKER0001"
TOKEN = "zai.BRIDGEtokenSECRET0002marker"
CORP = "sk-ant-api03-corpSECRETmarker0003"
ENV_TEXT = (
    "# claude-mem credentials, edited by hand\n"
    "export OTHER_TOOL_TOKEN=abc123\n"
    "\n"
    "MY_VAR=1 # a note\n"
    "ANTHROPIC_BASE_URL=https://gateway.example.com\n"
    f"ANTHROPIC_API_KEY={KEY}\n"
)
BRIDGE = {
    "ANTHROPIC_BASE_URL": "https://api.z.ai/api/anthropic",
    "ANTHROPIC_AUTH_TOKEN": TOKEN,
    "ANTHROPIC_DEFAULT_HAIKU_MODEL": "glm-4.7",
    "ANTHROPIC_DEFAULT_SONNET_MODEL": "glm-5",
}


def write_settings(data: Path, **changes: object) -> None:
    settings_ = json.loads(FIXTURE.read_text())
    settings_["ZZ_UNKNOWN_USER_KEY"] = "keep me"
    settings_.update(changes)
    (data / "settings.json").write_text(json.dumps(settings_, indent=2) + "\n")


@pytest.fixture
def data_dir(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A hand-made gateway setup: claude-mem 13.25's settings with a model, a key in .env."""
    for name, value in {
        "CORP_GATEWAY": CORP,
        "GEMINI": "AIzaSyGEMINIkeyMARKER000000001",
        "OPENROUTER": "sk-or-v1-OPENROUTERkeyMARKER0005",
    }.items():
        monkeypatch.setenv(f"CMEM_PROFILE_SECRET_{name}", value)
    data = isolated / ".claude-mem"
    data.mkdir(mode=0o700)
    write_settings(
        data,
        CLAUDE_MEM_MODEL="gw-haiku",
        CLAUDE_MEM_CLAUDE_AUTH_METHOD="gateway",
        CLAUDE_MEM_TIER_ROUTING_ENABLED="false",
    )
    (data / ".env").write_text(ENV_TEXT)
    (data / ".env").chmod(0o600)
    return data


@pytest.fixture
def user_dir(isolated: Path) -> Path:
    return isolated / ".config" / "cmem-profile" / "profiles"


def cli(*args: str) -> int:
    """The CLI with the user's profiles first (where import writes) and the bundled ones."""
    user = Path.home() / ".config" / "cmem-profile" / "profiles"
    return main(["--profiles-dir", str(user), "--profiles-dir", PROFILES, *args])


def files(data: Path) -> dict[str, bytes]:
    return {name: (data / name).read_bytes() for name in (".env", "settings.json")}


def keyring() -> dict[str, str]:
    path = Path.home().parent / "keyring.json"
    return json.loads(path.read_text()) if path.exists() else {}


def outputs(capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    out, err = capsys.readouterr()
    for secret in (KEY, TOKEN, CORP):
        assert secret not in out + err
    return out, err


# From claude-mem's files


def test_import_writes_a_profile_that_diff_finds_unchanged(
    data_dir: Path, user_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = files(data_dir)
    assert cli("import", "mine") == 0
    out, _ = outputs(capsys)
    assert out.splitlines() == [
        f"wrote {SHOWN}/mine.yaml",
        "stored in the keyring: mine-api-key (from .env ANTHROPIC_API_KEY)",
        "verified: 'cmem-profile diff mine' changes nothing",
        "mine is now the active profile (generation 1)",
    ]
    assert files(data_dir) == before
    text = (user_dir / "mine.yaml").read_text()
    assert KEY not in text
    assert load_document(text, "mine.yaml").data == {
        "description": text.split("description: ")[1].splitlines()[0],
        "provider": "claude",
        "base_url": "https://gateway.example.com",
        "model": "gw-haiku",
        "credentials": {"api_key": {"keyring": "mine-api-key"}},
        "settings": {"CLAUDE_MEM_TIER_ROUTING_ENABLED": "false"},
    }
    assert "# was .env ANTHROPIC_API_KEY; now in the OS keyring as mine-api-key" in text
    assert keyring() == {"cmem-profile/mine-api-key": KEY}
    assert cli("validate", str(user_dir / "mine.yaml")) == 0
    assert cli("diff", "mine", "--exit-code") == 0
    assert cli("current", "--short") == 0
    out, _ = outputs(capsys)
    assert out.endswith("mine: would change nothing\nmine\n")


def test_switching_away_and_back_gives_the_original_files(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = files(data_dir)
    assert cli("import", "mine") == 0
    for other in ("corporate", "gemini", "subscription"):
        assert cli("use", other) == 0
        assert files(data_dir) != before
        assert cli("use", "mine") == 0
        assert files(data_dir) == before, other
    outputs(capsys)


def test_first_switch_away_restores_values_from_before_cmem_profile(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli("use", "corporate") == 0
    # Hand edits of keys corporate owns: the import makes them the new profile's values.
    env = data_dir / ".env"
    env.write_text(env.read_text().replace("llm-gateway.corp.example.com", "mine.example.com"))
    write_settings(
        data_dir,
        **{
            **json.loads((data_dir / "settings.json").read_text()),
            "CLAUDE_MEM_MODEL": "my-model",
        },
    )
    assert cli("import", "mine") == 0
    _, err = outputs(capsys)
    assert "ANTHROPIC_BASE_URL was edited by hand; the edit is now the profile's" in err
    assert cli("diff", "mine", "--exit-code") == 0
    assert keyring() == {"cmem-profile/mine-api-key": CORP}
    # gemini sets neither: both go back to what they were before cmem-profile took them over.
    assert cli("use", "gemini") == 0
    env_values = parse_claude_mem(env.read_text())
    assert env_values["ANTHROPIC_BASE_URL"] == "https://gateway.example.com"
    assert env_values["ANTHROPIC_API_KEY"] == KEY
    assert json.loads((data_dir / "settings.json").read_text())["CLAUDE_MEM_MODEL"] == "gw-haiku"
    assert cli("use", "mine") == 0
    assert parse_claude_mem(env.read_text())["ANTHROPIC_BASE_URL"] == "https://mine.example.com"
    outputs(capsys)


def test_a_key_claude_mem_only_displays_is_brought_in_line(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A hand-made gateway setup usually leaves claude-mem's default auth method in place.
    settings_ = json.loads((data_dir / "settings.json").read_text())
    write_settings(data_dir, **{**settings_, "CLAUDE_MEM_CLAUDE_AUTH_METHOD": "subscription"})
    assert cli("import", "mine") == 0
    out, _ = outputs(capsys)
    assert out.endswith(
        "claude-mem behaves the same; these keys were brought in line:\n"
        "  settings.json: ~ CLAUDE_MEM_CLAUDE_AUTH_METHOD: subscription -> gateway\n"
    )
    settings_after = json.loads((data_dir / "settings.json").read_text())
    assert settings_after == {**settings_, "CLAUDE_MEM_CLAUDE_AUTH_METHOD": "gateway"}
    assert cli("diff", "mine", "--exit-code") == 0


def test_dry_run_prints_the_profile_and_secret_names_and_writes_nothing(
    data_dir: Path, user_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = files(data_dir)
    assert cli("import", "mine", "--dry-run") == 0
    out, err = outputs(capsys)
    assert load_document(out, "out").data["credentials"] == {"api_key": {"keyring": "mine-api-key"}}
    assert "would store in the keyring: mine-api-key (from .env ANTHROPIC_API_KEY)" in err
    assert f"would write {SHOWN}/mine.yaml" in err
    assert not user_dir.exists()
    assert keyring() == {}
    assert files(data_dir) == before
    assert not (data_dir / ".cmem-profile").exists()


def test_json(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("import", "mine", "--json") == 0
    out, _ = outputs(capsys)
    record = json.loads(out)
    assert record["secrets"] == [{"name": "mine-api-key", "from": ".env ANTHROPIC_API_KEY"}]
    assert (record["active"], record["generation"], record["changes"]) == (True, 1, [])
    assert load_document(record["yaml"], "yaml").data["provider"] == "claude"


def test_writes_to_dot_profiles_when_it_exists(
    data_dir: Path, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (isolated.parent / "profiles").mkdir()
    assert main(["import", "mine"]) == 0
    assert (isolated.parent / "profiles" / "mine.yaml").is_file()
    assert main(["current", "--short"]) == 0
    assert outputs(capsys)[0].endswith("mine\n")


@pytest.mark.parametrize("name", ["mine", "corporate"])
def test_an_existing_profile_is_never_replaced(
    data_dir: Path, user_dir: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    user_dir.mkdir(parents=True)
    (user_dir / "mine.yaml").write_text("description: x\nprovider: claude\n")
    assert cli("import", name) == 1
    _, err = outputs(capsys)
    assert f"a profile {name!r} already exists" in err
    assert "import never overwrites a profile" in err
    assert keyring() == {}
    assert not (data_dir / ".cmem-profile").exists()


def test_an_existing_secret_needs_force(
    data_dir: Path, user_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secrets.store("mine-api-key", "old-value-0001")
    assert cli("import", "mine") == 1
    _, err = outputs(capsys)
    assert "a secret 'mine-api-key' is already in the keyring" in err
    assert "hint: --force replaces a stored secret" in err
    assert not user_dir.exists()
    assert cli("import", "mine", "--force") == 0
    assert keyring() == {"cmem-profile/mine-api-key": KEY}
    outputs(capsys)


def test_a_failed_takeover_undoes_the_profile_and_the_secrets(
    data_dir: Path,
    user_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    secrets.store("mine-api-key", "old-value-0001")
    before = files(data_dir)

    def fail(*_: object) -> None:
        from cmem_profiles.errors import CmemProfileError

        raise CmemProfileError("switching to mine would still change: something")

    monkeypatch.setattr("cmem_profiles.commands.import_profile._take_over", fail)
    assert cli("import", "mine", "--force") == 1
    _, err = outputs(capsys)
    assert "switching to mine would still change" in err
    assert f"import of mine undone: removed {SHOWN}/mine.yaml; restored secret mine-api-key" in err
    assert not (user_dir / "mine.yaml").exists()
    assert keyring() == {"cmem-profile/mine-api-key": "old-value-0001"}
    assert files(data_dir) == before


def test_a_crashed_write_undoes_too(
    data_dir: Path,
    user_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings_ = json.loads((data_dir / "settings.json").read_text())
    write_settings(data_dir, **{**settings_, "CLAUDE_MEM_CLAUDE_AUTH_METHOD": "api-key"})
    before = files(data_dir)
    monkeypatch.setenv("CMEM_PROFILE_TEST_FAULT", "raise:after-temp:settings.json")
    assert cli("import", "mine") == 3
    outputs(capsys)
    assert not (user_dir / "mine.yaml").exists()
    assert keyring() == {}
    assert files(data_dir) == before
    assert cli("current", "--short") == 0
    assert outputs(capsys)[0] == "\n"


def test_keys_a_profile_cannot_hold_fail_before_anything_is_written(
    data_dir: Path, user_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli("use", "openrouter") == 0
    outputs(capsys)
    # By hand back to a gateway: the openrouter keys cmem-profile owns would be restored.
    settings_ = json.loads((data_dir / "settings.json").read_text())
    write_settings(data_dir, **{**settings_, "CLAUDE_MEM_PROVIDER": "claude"})
    assert cli("import", "mine") == 1
    _, err = outputs(capsys)
    assert "switching to mine would still change:" in err
    assert ".env: - OPENROUTER_API_KEY (restored)" in err
    assert not user_dir.exists()
    assert keyring() == {}


@pytest.mark.parametrize(
    ("env", "changes", "message"),
    [
        ("", {"CLAUDE_MEM_PROVIDER": "bedrock"}, "CLAUDE_MEM_PROVIDER is 'bedrock'"),
        (
            "GEMINI_API_KEY=AIzaSyGEMINIkeyMARKER000000000\n",
            {"CLAUDE_MEM_PROVIDER": "gemini", "CLAUDE_MEM_GEMINI_API_KEY": TOKEN},
            "settings.json: CLAUDE_MEM_GEMINI_API_KEY holds a key, which silently beats .env",
        ),
        (
            f"ANTHROPIC_AUTH_TOKEN={TOKEN}\n",
            {},
            "both an API key and a Bearer token are set",
        ),
        (
            f'ANTHROPIC_AUTH_TOKEN="{TOKEN}#x"\nANTHROPIC_API_KEY=\n',
            {},
            "cannot import ANTHROPIC_AUTH_TOKEN: cannot write ANTHROPIC_AUTH_TOKEN to .env safely",
        ),
        (
            "",
            {"CLAUDE_MEM_TIER_ROUTING_ENABLED": False},
            "CLAUDE_MEM_TIER_ROUTING_ENABLED is not a string",
        ),
        (
            "GEMINI_API_KEY=AIzaSyGEMINIkeyMARKER000000000\n",
            {"CLAUDE_MEM_PROVIDER": "gemini", "CLAUDE_MEM_GEMINI_MODEL": "gemini-9"},
            "mine.yaml:8:8: $.model: 'gemini-9' is not one of",
        ),
    ],
)
def test_a_setup_that_cannot_be_a_profile_is_refused(
    data_dir: Path,
    user_dir: Path,
    env: str,
    changes: dict[str, object],
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (data_dir / ".env").write_text(ENV_TEXT + env)
    settings_ = json.loads((data_dir / "settings.json").read_text())
    write_settings(data_dir, **{**settings_, **changes})
    assert cli("import", "mine") == 1
    _, err = outputs(capsys)
    assert message in err
    assert not user_dir.exists()
    assert keyring() == {}


def test_nothing_to_import(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("import", "mine") == 1
    assert "nothing to import: neither" in outputs(capsys)[1]


def test_to_a_directory_outside_the_search_path_is_refused(
    data_dir: Path, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli("import", "mine", "--to", str(isolated / "elsewhere")) == 1
    _, err = outputs(capsys)
    assert "is not in the profile search path" in err
    assert not (isolated / "elsewhere").exists()


# From Claude Code's settings


def claude_settings(path: Path, env: dict[str, object] | None, **other: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {**other, **({"env": env} if env is not None else {})}
    path.write_text(json.dumps(document, indent=2))
    return path


def test_a_bridge_config_becomes_a_profile_that_use_renders(
    isolated: Path, user_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    claude_settings(isolated / ".claude" / "settings.json", BRIDGE, permissions={})
    assert cli("import", "glm", "--from-claude-code") == 0
    out, err = outputs(capsys)
    assert out.splitlines() == [
        f"wrote {SHOWN}/glm.yaml",
        "stored in the keyring: glm-auth-token (from ANTHROPIC_AUTH_TOKEN)",
        "switch to it with: cmem-profile use glm",
    ]
    assert err == ""
    assert keyring() == {"cmem-profile/glm-auth-token": TOKEN}
    text = (user_dir / "glm.yaml").read_text()
    assert TOKEN not in text
    assert "from Claude Code's ~/.claude/settings.json" in text
    assert not (isolated / ".claude-mem").exists(), "not switched"
    assert cli("use", "glm") == 0
    data = isolated / ".claude-mem"
    assert parse_claude_mem((data / ".env").read_text()) == {
        "ANTHROPIC_BASE_URL": "https://api.z.ai/api/anthropic",
        "ANTHROPIC_AUTH_TOKEN": TOKEN,
    }
    assert json.loads((data / "settings.json").read_text()) == {
        "CLAUDE_MEM_PROVIDER": "claude",
        "CLAUDE_MEM_CLAUDE_AUTH_METHOD": "gateway",
        "CLAUDE_MEM_MODEL": "glm-4.7",
        "CLAUDE_MEM_TIER_SIMPLE_MODEL": "glm-4.7",
        "CLAUDE_MEM_TIER_FAST_MODEL": "glm-4.7",
        "CLAUDE_MEM_TIER_SMART_MODEL": "glm-5",
    }
    outputs(capsys)


def test_project_settings_with_the_local_file_winning(
    isolated: Path, user_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = isolated / "app"
    claude_settings(project / ".claude" / "settings.json", BRIDGE)
    claude_settings(
        project / ".claude" / "settings.local.json",
        {"ANTHROPIC_DEFAULT_HAIKU_MODEL": "glm-4.5-air", "ANTHROPIC_DEFAULT_SONNET_MODEL": ""},
    )
    assert cli("import", "glm", "--project", str(project)) == 0
    data = load_document((user_dir / "glm.yaml").read_text(), "glm.yaml").data
    assert data["model"] == "glm-4.5-air"
    # An empty variable is unset for Claude Code: no sonnet mapping, so the smart tier follows.
    assert data["settings"] == {
        "CLAUDE_MEM_TIER_SIMPLE_MODEL": "glm-4.5-air",
        "CLAUDE_MEM_TIER_FAST_MODEL": "glm-4.5-air",
        "CLAUDE_MEM_TIER_SMART_MODEL": "glm-4.5-air",
    }
    outputs(capsys)


def test_claude_config_dir_and_an_api_key(
    isolated: Path,
    user_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(isolated / "cc"))
    claude_settings(isolated / "cc" / "settings.json", {"ANTHROPIC_API_KEY": KEY})
    assert cli("import", "direct", "--from-claude-code", "--dry-run") == 0
    out, err = outputs(capsys)
    assert load_document(out, "out").data["credentials"] == {
        "api_key": {"keyring": "direct-api-key"}
    }
    assert "would store in the keyring: direct-api-key (from ANTHROPIC_API_KEY)" in err
    assert keyring() == {}
    assert not user_dir.exists()


def test_from_claude_code_into_another_directory_says_how_to_use_it(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    claude_settings(isolated / ".claude" / "settings.json", BRIDGE)
    # A team repo with the schema beside profiles/: editors get the schema line.
    (isolated.parent / "team" / "schemas").mkdir(parents=True)
    (isolated.parent / "team" / "schemas" / "profile.schema.json").write_text("{}")
    assert cli("import", "glm", "--from-claude-code", "--to", "team/profiles") == 0
    out, _ = outputs(capsys)
    assert (
        out.splitlines()[-1]
        == "switch to it with: cmem-profile --profiles-dir team/profiles use glm"
    )
    text = (isolated.parent / "team" / "profiles" / "glm.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=../schemas/profile.schema.json\n#\n")


def test_warnings_for_native_modes_and_claude_mem_variables(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {
        **BRIDGE,
        "CLAUDE_CODE_USE_BEDROCK": "1",
        "CLAUDE_CODE_USE_VERTEX": "true",
        "CLAUDE_MEM_OPENROUTER_API_KEY": "sk-or-v1-NEVERprintedMARKER0004",
        "ANTHROPIC_CUSTOM_HEADERS": "X-Team: a",
    }
    claude_settings(isolated / ".claude" / "settings.json", env)
    assert cli("import", "glm", "--from-claude-code") == 0
    _, err = outputs(capsys)
    assert "sk-or-v1-NEVER" not in err
    lines = err.splitlines()
    assert lines[0].startswith(
        "warning: CLAUDE_CODE_USE_BEDROCK is set: Claude Code talks to Amazon Bedrock natively"
    )
    assert lines[1].startswith(
        "warning: CLAUDE_CODE_USE_VERTEX is set: Claude Code talks to Google Vertex AI"
    )
    assert lines[2].startswith(
        "warning: the env block sets CLAUDE_MEM_OPENROUTER_API_KEY: the claude-mem worker"
    )
    assert (
        lines[3] == "warning: not imported, claude-mem has no setting for: ANTHROPIC_CUSTOM_HEADERS"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '{\n  "env": {\n    "A": "b",\n  }\n}\n',
            "settings.json:4:3: not valid JSON: Expecting property name",
        ),
        ('{"permissions": {}}', "no env block in"),
        ('{"env": ["x"]}', '"env" is not an object'),
        ("[]", "the top level is not a JSON object"),
        (
            '{"env": {"CLAUDE_CODE_USE_BEDROCK": "1", "AWS_REGION": "us-east-1"}}',
            "nothing to import from",
        ),
    ],
)
def test_claude_code_settings_errors(
    isolated: Path, user_dir: Path, text: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = isolated / ".claude" / "settings.json"
    path.parent.mkdir()
    path.write_text(text)
    assert cli("import", "glm", "--from-claude-code") == 1
    _, err = outputs(capsys)
    assert message in err
    assert not user_dir.exists()


def test_no_claude_code_settings(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("import", "glm", "--from-claude-code") == 1
    assert "no Claude Code settings:" in outputs(capsys)[1]


# The pure parts


def test_claude_mem_defaults_match_claude_mem_13_25() -> None:
    fixture = json.loads(FIXTURE.read_text())
    assert {k: fixture[k] for k in DEFAULTS} == DEFAULTS


def test_fields_map_to_the_keys_use_writes() -> None:
    assert field_keys("claude") == {
        "base_url": (".env", "ANTHROPIC_BASE_URL"),
        "credentials.api_key": (".env", "ANTHROPIC_API_KEY"),
        "credentials.auth_token": (".env", "ANTHROPIC_AUTH_TOKEN"),
        "model": ("settings.json", "CLAUDE_MEM_MODEL"),
    }
    assert field_keys("gemini") == {
        "credentials.api_key": (".env", "GEMINI_API_KEY"),
        "model": ("settings.json", "CLAUDE_MEM_GEMINI_MODEL"),
    }
    assert field_keys("openrouter") == {
        "credentials.api_key": (".env", "OPENROUTER_API_KEY"),
        "model": ("settings.json", "CLAUDE_MEM_OPENROUTER_MODEL"),
        "base_url": ("settings.json", "CLAUDE_MEM_OPENROUTER_BASE_URL"),
    }


# Any printable text without surrogates; YAML readers refuse some characters outright.
TEXT = st.text(st.characters(blacklist_categories=["Cs"]), max_size=40)


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    top=st.dictionaries(st.sampled_from(["description", "model", "base_url"]), TEXT),
    values=st.dictionaries(st.from_regex(r"CLAUDE_MEM_[A-Z0-9_]{1,8}", fullmatch=True), TEXT),
    argv=st.lists(TEXT.filter(bool), min_size=1, max_size=3),
    comment=TEXT,
)
def test_written_yaml_reads_back_as_the_same_document(
    top: dict[str, str], values: dict[str, str], argv: list[str], comment: str
) -> None:
    document = {
        **top,
        "credentials": {"api_key": {"command": argv}, "auth_token": {"keyring": "x-1"}},
        "settings": values,
    }
    text = render_profile(document, header=[comment], comments={"model": comment})
    loaded = load_document(text, "t.yaml")
    assert loaded.problems == []
    assert loaded.data == document


BUNDLED = ["corporate", "bedrock-shim", "third-party", "openrouter", "local-openai", "gemini"]


@pytest.mark.parametrize("name", [*BUNDLED, "subscription"])
def test_importing_what_a_profile_wrote_gives_that_profile_back(
    data_dir: Path,
    user_dir: Path,
    name: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CMEM_PROFILE_SECRET_BEDROCK_SHIM", "bedrock-SHIMSECRET-marker0006")
    monkeypatch.setenv("CMEM_PROFILE_SECRET_THIRD_PARTY_TOKEN", "tp.TOKENSECRET_marker0007")
    write_settings(data_dir)  # claude-mem's defaults: nothing set by hand
    assert cli("use", name) == 0
    before = files(data_dir)
    assert cli("import", "mine") == 0
    assert files(data_dir) == before
    assert cli("diff", "mine", "--exit-code") == 0
    original = load_document((Path(PROFILES) / f"{name}.yaml").read_text(), name).data
    imported = load_document((user_dir / "mine.yaml").read_text(), "mine").data
    for field in ("provider", "base_url", "model", "settings"):
        assert imported.get(field) == original.get(field), field
    assert set(imported.get("credentials", {})) == set(original.get("credentials", {}))
    outputs(capsys)
