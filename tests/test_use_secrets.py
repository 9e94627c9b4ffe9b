"""`use` and its secrets: prompt on a terminal, overrides without a keyring, commands, failures."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from conftest import REPO
from terminal import run_in_pty

from cmem_profiles.envfile import parse_claude_mem
from cmem_profiles.main import main

PROFILES = str(REPO / "profiles")
VALUE = "sk-ant-api03-promptedVALUE0001"


def _files(data: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in data.iterdir() if p.is_file()} if data.exists() else {}


def test_missing_secret_on_a_terminal_is_asked_for_stored_and_used(isolated: Path) -> None:
    argv = [sys.executable, "-m", "cmem_profiles", "--profiles-dir", PROFILES, "use", "corporate"]
    code, transcript = run_in_pty(argv, [VALUE, VALUE])
    assert code == 0, transcript
    assert "corp-gateway is not in the keyring" in transcript
    assert VALUE not in transcript  # the prompt is hidden: the terminal never echoes it
    env = parse_claude_mem((isolated / ".claude-mem" / ".env").read_text())
    assert env["ANTHROPIC_API_KEY"] == VALUE
    stored = json.loads(Path(os.environ["CMEM_TEST_KEYRING"]).read_text())
    assert stored == {"cmem-profile/corp-gateway": VALUE}


def test_override_works_with_no_keyring_at_all(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.setenv("CMEM_PROFILE_SECRET_CORP_GATEWAY", VALUE)
    assert main(["--profiles-dir", PROFILES, "use", "corporate", "--no-input"]) == 0
    env = parse_claude_mem((isolated / ".claude-mem" / ".env").read_text())
    assert env["ANTHROPIC_API_KEY"] == VALUE
    assert VALUE not in "".join(capsys.readouterr())


def test_no_keyring_and_no_override_writes_nothing_and_names_the_ways_out(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    data = isolated / ".claude-mem"
    assert main(["--profiles-dir", PROFILES, "use", "corporate", "--no-input"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("cmem-profile: error: ")
    for way_out in ("gnome-keyring-daemon --unlock", "CMEM_PROFILE_SECRET_", "command"):
        assert way_out in err
    assert "Traceback" not in err
    assert _files(data) == {}


def test_command_reference_feeds_env(isolated: Path) -> None:
    assert main(["--profiles-dir", PROFILES, "use", "local-openai"]) == 0
    env = parse_claude_mem((isolated / ".claude-mem" / ".env").read_text())
    assert env["OPENROUTER_API_KEY"] == "local-no-key"


def test_failing_command_shows_its_stderr_not_its_stdout(
    tmp_path: Path, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profiles = tmp_path / "team"
    profiles.mkdir()
    script = "import sys; print('LEAKED-STDOUT-VALUE'); print('vault: permission denied', file=sys.stderr); sys.exit(3)"
    (profiles / "vaulted.yaml").write_text(
        "description: v\nprovider: openrouter\n"
        f'credentials:\n  api_key: {{command: [{sys.executable}, -c, "{script}"]}}\n'
    )
    assert main(["--profiles-dir", str(profiles), "use", "vaulted"]) == 1
    out, err = capsys.readouterr()
    assert "vault: permission denied" in err
    assert "LEAKED-STDOUT-VALUE" not in out + err
    assert _files(isolated / ".claude-mem") == {}


def test_env_reference(tmp_path: Path, isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    profiles = tmp_path / "ci"
    profiles.mkdir()
    (profiles / "ci.yaml").write_text(
        "description: c\nprovider: gemini\ncredentials:\n  api_key: {env: CI_GEMINI_KEY}\n"
    )
    monkeypatch.setenv("CI_GEMINI_KEY", "AIzaFROMCI")
    assert main(["--profiles-dir", str(profiles), "use", "ci"]) == 0
    assert (
        parse_claude_mem((isolated / ".claude-mem" / ".env").read_text())["GEMINI_API_KEY"]
        == "AIzaFROMCI"
    )
