"""`list` and `show` on the bundled profiles and on a search path with shadowing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REPO

from cmem_profiles.main import main

NAMES = [
    "bedrock-shim",
    "corporate",
    "gemini",
    "local-openai",
    "openrouter",
    "subscription",
    "third-party",
]


def test_list_from_repo_root_needs_no_flags(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO)
    assert main(["list", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in records] == NAMES
    corporate = records[1]
    assert corporate == {
        "name": "corporate",
        "active": False,
        "valid": True,
        "provider": "claude",
        "model": "claude-haiku-4-5-20251001",
        "endpoint": "llm-gateway.corp.example.com",
        "description": "Corporate gateway in front of api.anthropic.com (API key)",
        "abstract": False,
        "extends": None,
        "file": "profiles/corporate.yaml",
        "repo": None,
        "shadowed_by": None,
    }


def test_list_text_table(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO)
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "NAME",
        "PROVIDER",
        "MODEL",
        "ENDPOINT",
        "DESCRIPTION",
        "REPO",
        "FILE",
    ]
    assert lines[2].split()[:4] == [
        "corporate",
        "claude",
        "claude-haiku-4-5-20251001",
        "llm-gateway.corp.example.com",
    ]
    assert lines[2].endswith("profiles/corporate.yaml")
    assert len(lines) == 8


def _profile(directory: Path, name: str, description: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.yaml").write_text(f"description: {description}\nprovider: claude\n")


def test_search_path_first_wins_and_shadowed_is_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _profile(tmp_path / "a", "work", "from a")
    _profile(tmp_path / "b", "work", "from b")
    _profile(tmp_path / "b", "home", "only in b")
    monkeypatch.setenv("CMEM_PROFILES_PATH", f"{tmp_path / 'a'}:{tmp_path / 'b'}")
    assert main(["list", "--json"]) == 0
    records = {(r["name"], r["file"]): r for r in json.loads(capsys.readouterr().out)}
    assert records["work", "a/work.yaml"]["description"] == "from a"
    assert records["work", "b/work.yaml"]["shadowed_by"] == "a/work.yaml"
    assert records["home", "b/home.yaml"]["description"] == "only in b"
    assert main(["show", "work"]) == 0
    assert capsys.readouterr().out.startswith("work: from a\n")


def test_profiles_dir_option_beats_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _profile(tmp_path / "a", "one", "a")
    _profile(tmp_path / "b", "two", "b")
    monkeypatch.setenv("CMEM_PROFILES_PATH", str(tmp_path / "a"))
    assert main(["--profiles-dir", str(tmp_path / "b"), "list", "--json"]) == 0
    assert [r["name"] for r in json.loads(capsys.readouterr().out)] == ["two"]


def test_user_profiles_dir_is_searched_after_local(
    isolated: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _profile(isolated / ".config" / "cmem-profile" / "profiles", "mine", "personal")
    _profile(tmp_path / "profiles", "mine", "local")
    assert main(["list", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [(r["file"], r["shadowed_by"]) for r in records] == [
        ("profiles/mine.yaml", None),
        ("home/.config/cmem-profile/profiles/mine.yaml", "profiles/mine.yaml"),
    ]


def test_list_marks_invalid_profiles_and_warns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _profile(tmp_path / "profiles", "good", "fine")
    (tmp_path / "profiles" / "bad.yaml").write_text("provider: claude\n")
    assert main(["list"]) == 0
    out, err = capsys.readouterr()
    assert "bad  " in out and "(invalid: run 'cmem-profile validate')" in out
    assert (
        err
        == "warning: 1 invalid profile file(s): profiles/bad.yaml; run 'cmem-profile validate'\n"
    )


def test_unknown_profile_suggests(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO)
    assert main(["show", "corprate"]) == 1
    assert (
        capsys.readouterr().err
        == "cmem-profile: error: no profile 'corprate'\nhint: did you mean 'corporate'?\n"
    )


def test_show_invalid_profile_names_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _profile(tmp_path / "profiles", "p", "x")
    (tmp_path / "profiles" / "p.yaml").write_text("description: x\nprovider: claud\n")
    assert main(["show", "p"]) == 1
    assert capsys.readouterr().err == (
        "cmem-profile: error: profiles/p.yaml:2:11: 'claud' is not one of: claude, gemini, openrouter\n"
        "hint: run 'cmem-profile validate' to see every problem\n"
    )


def test_show_corporate(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO)
    assert main(["show", "corporate"]) == 0
    assert capsys.readouterr().out == (
        "corporate: Corporate gateway in front of api.anthropic.com (API key)\n"
        "  file:      profiles/corporate.yaml\n"
        "  provider:  claude\n"
        "  endpoint:  https://llm-gateway.corp.example.com\n"
        "  model:     claude-haiku-4-5-20251001\n"
        "  api_key:   keyring:corp-gateway\n"
        ".env:\n"
        "  ANTHROPIC_BASE_URL=https://llm-gateway.corp.example.com\n"
        "  ANTHROPIC_API_KEY=<secret keyring:corp-gateway>\n"
        "  ANTHROPIC_AUTH_TOKEN (removed)\n"
        "settings.json:\n"
        "  CLAUDE_MEM_PROVIDER=claude\n"
        "  CLAUDE_MEM_CLAUDE_AUTH_METHOD=gateway\n"
        "  CLAUDE_MEM_MODEL=claude-haiku-4-5-20251001\n"
        "  CLAUDE_MEM_TIER_ROUTING_ENABLED=false\n"
    )


@pytest.mark.parametrize("name", NAMES)
def test_show_json_each_bundled_profile(
    name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO)
    assert main(["show", name, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["name"] == name
    settings = {k["key"]: k["value"] for k in shown["plan"]["settings.json"]}
    assert settings["CLAUDE_MEM_PROVIDER"] == shown["provider"]
    assert all(isinstance(v, str) for v in settings.values())


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["show"])
    assert exc.value.code == 2
    assert "the following arguments are required: name" in capsys.readouterr().err


def test_closed_pipe_is_quiet(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    for i in range(60):  # more output than a pipe buffer holds
        _profile(
            tmp_path / "many", f"p{i}", "a profile with a description long enough to fill pipes"
        )
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first byte is written
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cmem_profiles",
            "--profiles-dir",
            str(tmp_path / "many"),
            "list",
            "--json",
        ],
        stdout=write_end,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    os.close(write_end)
    assert done.stderr == ""
    assert done.returncode == 141
