"""Fast paths stay fast: a command imports jsonschema, keyring or YAML only when it needs them.

`current` runs in shell prompts and `list` dozens of times a day; importing jsonschema costs
several times the interpreter's own start-up and keyring's backend detection more. Each test
runs the command in a fresh interpreter and looks at sys.modules when it is done.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cmem_profiles.main import main

# Runs main(argv) and writes the names of every module loaded by then to the file in argv[1].
DUMP_MODULES = """
import json, sys
from cmem_profiles.main import main
code = main(sys.argv[2:])
with open(sys.argv[1], "w") as out:
    json.dump(sorted(sys.modules), out)
sys.exit(code)
"""
HEAVY = ("jsonschema", "keyring", "yaml")
ENV_PROFILE = (
    "description: Gateway with a token from the environment\n"
    "provider: claude\n"
    "base_url: https://gateway.corp.example.com\n"
    "credentials:\n"
    "  auth_token: {env: TEAM_GATEWAY_TOKEN}\n"
    "settings:\n"
    '  CLAUDE_MEM_TIER_ROUTING_ENABLED: "false"\n'
)


def modules(tmp_path: Path, *argv: str) -> set[str]:
    """Every module loaded once the CLI has run with argv, in a fresh interpreter."""
    dump = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", DUMP_MODULES, str(dump), *argv],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(dump.read_text()))


def loaded(tmp_path: Path, *argv: str) -> set[str]:
    """Which of jsonschema, keyring and yaml running the CLI with argv imported."""
    return {name.split(".")[0] for name in modules(tmp_path, *argv)} & set(HEAVY)


@pytest.fixture
def switched(repo_profiles: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A state to read: one switch to a profile without secrets."""
    assert main(["--profiles-dir", str(repo_profiles), "use", "subscription"]) == 0
    capsys.readouterr()


@pytest.mark.parametrize(
    "argv", [["current"], ["current", "--short"], ["current", "--json"]], ids=" ".join
)
def test_current_reads_the_state_alone(switched: None, tmp_path: Path, argv: list[str]) -> None:
    assert loaded(tmp_path, *argv) == set()


def test_current_in_a_prompt_before_any_switch(tmp_path: Path, isolated: Path) -> None:
    assert loaded(tmp_path, "current", "--json") == set()
    assert not (isolated / ".claude-mem").exists()


def test_list_of_unchanged_profiles_needs_no_jsonschema(
    repo_profiles: Path, tmp_path: Path
) -> None:
    listing = ["--profiles-dir", str(repo_profiles), "list"]
    # The first run judges every file (and shows this check can see an import at all)...
    assert loaded(tmp_path, *listing) == {"jsonschema", "yaml"}
    # ...the next ones only read them.
    assert loaded(tmp_path, *listing) == {"yaml"}
    assert loaded(tmp_path, *listing[:2], "list", "--json") == {"yaml"}


def test_use_with_env_secrets_loads_no_keyring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "env-gateway.yaml").write_text(ENV_PROFILE)
    monkeypatch.setenv("TEAM_GATEWAY_TOKEN", "token-0123456789abcdef")
    assert main(["validate"]) == 0
    assert loaded(tmp_path, "use", "env-gateway") == {"yaml"}
    assert loaded(tmp_path, "diff", "env-gateway") == {"yaml"}


def test_use_with_a_keyring_secret_loads_the_configured_backend_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "profiles").mkdir()
    keyring_profile = ENV_PROFILE.replace("env: TEAM_GATEWAY_TOKEN", "keyring: team-gateway")
    (tmp_path / "profiles" / "gateway.yaml").write_text(keyring_profile)
    monkeypatch.setenv("CMEM_PROFILE_SECRET_TEAM_GATEWAY", "token-0123456789abcdef")
    assert main(["validate"]) == 0
    # The override variable answers first: the keyring is not even opened.
    assert loaded(tmp_path, "use", "gateway") == {"yaml"}
    monkeypatch.delenv("CMEM_PROFILE_SECRET_TEAM_GATEWAY")
    Path(os.environ["CMEM_TEST_KEYRING"]).write_text(
        json.dumps({"cmem-profile/team-gateway": "token-0123456789abcdef"})
    )
    seen = modules(tmp_path, "use", "gateway")
    assert "test_keyring" in seen  # the backend PYTHON_KEYRING_BACKEND names
    backends = {name for name in seen if name.startswith("keyring.backends.")}
    # fail is keyring's own fallback, chainer what cmem-profile checks a backend against.
    assert backends <= {"keyring.backends.fail", "keyring.backends.chainer"}
    assert "jsonschema" not in {name.split(".")[0] for name in seen}
