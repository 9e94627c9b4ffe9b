"""`cmem-profile doctor`: keyring round trip, file modes, and the environment."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cmem_profiles.main import main

BACKEND = "test_keyring.FileTestKeyring"
KEYRING_OK = (
    f"ok    keyring      {BACKEND} (priority 1, set by PYTHON_KEYRING_BACKEND):"
    " write, read and delete work\n"
)
LOCATOR = "info  environment  CLAUDE_MEM_DATA_DIR is set and chooses the files\n"


@pytest.fixture
def data_dir(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # The isolation fixture's worker port is not part of the environment doctor reports on.
    monkeypatch.delenv("CLAUDE_MEM_WORKER_PORT")
    return isolated / ".claude-mem"


def make(data_dir: Path, dir_mode: int = 0o700, env_mode: int | None = 0o600) -> None:
    data_dir.mkdir()
    data_dir.chmod(dir_mode)
    if env_mode is not None:
        env = data_dir / ".env"
        env.write_text("CLAUDE_MEM_PROVIDER=claude\n")
        env.chmod(env_mode)


def test_all_good(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make(data_dir)
    assert main(["doctor"]) == 0
    assert capsys.readouterr() == (
        KEYRING_OK + f"ok    data dir     {data_dir} is 0700\n"
        f"ok    .env         {data_dir}/.env is 0600\n" + LOCATOR,
        "",
    )
    assert json.loads(Path(os.environ["CMEM_TEST_KEYRING"]).read_text()) == {}


def test_loose_modes_are_warnings(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make(data_dir, 0o755, 0o644)
    assert main(["doctor"]) == 0
    assert capsys.readouterr().out == (
        KEYRING_OK + f"warn  data dir     {data_dir} is 0755, expected 0700\n"
        f"                   hint: chmod 700 {data_dir}\n"
        f"warn  .env         {data_dir}/.env is 0644, expected 0600\n"
        f"                   hint: chmod 600 {data_dir}/.env\n" + LOCATOR
    )


def test_missing_files(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor"]) == 0
    assert capsys.readouterr().out == (
        KEYRING_OK + f"info  data dir     {data_dir} does not exist (claude-mem has not run yet)\n"
        f"info  .env         {data_dir}/.env does not exist (no profile has been applied yet)\n"
        + LOCATOR
    )


def test_data_dir_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "other"
    make(other)
    assert main(["--data-dir", str(other), "doctor"]) == 0
    assert f"ok    data dir     {other} is 0700\n" in capsys.readouterr().out


def test_environment_names_variables_never_values(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make(data_dir)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-ambient-123")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "https://gw.example")
    monkeypatch.setenv("CLAUDE_MEM_MODEL", "claude-haiku")
    monkeypatch.setenv("CMEM_PROFILE_SECRET_CORP_GATEWAY", "sk-override-456")
    assert main(["doctor"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.splitlines()[3:] == [
        "warn  environment  ANTHROPIC_API_KEY is set: claude-mem's worker strips ANTHROPIC_*"
        " variables, so it does nothing there",
        "                   hint: configure the backend with a profile instead",
        "warn  environment  ANTHROPIC_BASE_URL is set: claude-mem's worker strips ANTHROPIC_*"
        " variables, so it does nothing there",
        "                   hint: configure the backend with a profile instead",
        "info  environment  CLAUDE_MEM_DATA_DIR is set and chooses the files",
        "warn  environment  CLAUDE_MEM_MODEL is set: in the worker's environment it overrides"
        " settings.json",
        "                   hint: unset CLAUDE_MEM_MODEL unless you mean to override the profile",
        "info  environment  CMEM_PROFILE_SECRET_CORP_GATEWAY is set and overrides the keyring",
    ]
    for value in ("sk-ant-ambient-123", "https://gw.example", "claude-haiku", "sk-override-456"):
        assert value not in out


def test_clean_environment(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CLAUDE_MEM_DATA_DIR")
    assert main(["--data-dir", str(data_dir), "doctor"]) == 0
    assert capsys.readouterr().out.endswith(
        "ok    environment  no CLAUDE_MEM_* or ANTHROPIC_* variables set\n"
    )


def test_unusable_keyring_exits_1(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make(data_dir)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    assert main(["doctor"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == [
        "fail  keyring      refusing the keyring backend keyring.backends.null.Keyring"
        " (set by PYTHON_KEYRING_BACKEND): the null backend silently drops every secret;"
        " set CMEM_PROFILE_ALLOW_INSECURE_KEYRING=1 to use it anyway",
        "                   hint: start and unlock a Secret Service first, e.g.",
        '                           dbus-run-session -- sh -c \'printf %s "$PASSWORD" |'
        " gnome-keyring-daemon --unlock --components=secrets; cmem-profile ...'",
    ]


def test_json(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make(data_dir, env_mode=None)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-ambient-123")
    assert main(["doctor", "--json"]) == 0
    out = capsys.readouterr().out
    assert "sk-ant-ambient-123" not in out
    assert json.loads(out) == {
        "ok": True,
        "keyring": {
            "backend": BACKEND,
            "priority": 1.0,
            "selected_by": "PYTHON_KEYRING_BACKEND",
            "round_trip": True,
        },
        "checks": [
            {
                "check": "keyring",
                "status": "ok",
                "message": f"{BACKEND} (priority 1, set by PYTHON_KEYRING_BACKEND):"
                " write, read and delete work",
                "hint": None,
            },
            {"check": "data dir", "status": "ok", "message": f"{data_dir} is 0700", "hint": None},
            {
                "check": ".env",
                "status": "info",
                "message": f"{data_dir}/.env does not exist (no profile has been applied yet)",
                "hint": None,
            },
            {
                "check": "environment",
                "status": "warn",
                "message": "ANTHROPIC_API_KEY is set: claude-mem's worker strips ANTHROPIC_*"
                " variables, so it does nothing there",
                "hint": "configure the backend with a profile instead",
            },
            {
                "check": "environment",
                "status": "info",
                "message": "CLAUDE_MEM_DATA_DIR is set and chooses the files",
                "hint": None,
            },
        ],
    }


def test_json_with_a_bogus_backend(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "bogus.Keyring")
    assert main(["doctor", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert report["keyring"] == {
        "backend": "bogus.Keyring",
        "priority": None,
        "selected_by": "PYTHON_KEYRING_BACKEND",
        "round_trip": False,
    }
    assert report["checks"][0]["status"] == "fail"
