"""The user config: its schema, strict loading with file:line errors, atomic 0600 writes."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from conftest import REPO
from test_schema import _objects

from cmem_profiles.errors import ConfigInvalid
from cmem_profiles.main import main
from cmem_profiles.userconfig import (
    RegisteredRepo,
    UserConfig,
    _well_formed,
    check_config,
    load_config,
    save_config,
)

SCHEMA_PATH = REPO / "schemas" / "config.schema.json"


def _schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SCHEMA_PATH.read_text())
    return data


@pytest.fixture
def config(isolated: Path) -> Path:
    path = isolated / ".config" / "cmem-profile" / "config.yaml"
    path.parent.mkdir(parents=True)
    return path


def test_schema_is_valid_closed_and_documented() -> None:
    schema = _schema()
    assert schema["$id"] == "urn:cmem-profile:schema:config:1"
    jsonschema.Draft202012Validator.check_schema(schema)
    objects = list(_objects(schema))
    assert len(objects) == 4
    for path, obj in objects:
        assert obj.get("additionalProperties") is False, path
        for name, prop in obj.get("properties", {}).items():
            assert prop["title"] and prop["description"] and prop["examples"], f"{path}.{name}"
    for name, prop in schema["properties"].items():
        assert prop["title"] and prop["description"] and prop["examples"], name
        for example in prop["examples"]:
            assert jsonschema.Draft202012Validator(schema).is_valid({name: example}), name


def test_installed_package_carries_the_same_schema() -> None:
    from cmem_profiles.schema import schema_text

    assert schema_text("config.schema.json") == SCHEMA_PATH.read_text()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "repos:\n  Team:\n    path: /x\n",
            "config.yaml:2:3: $.repos.Team: 'Team' is not a repository name: "
            "use lowercase letters, digits and '-'",
            id="bad-name",
        ),
        pytest.param(
            "repos:\n  team:\n    path: src/team\n",
            "config.yaml:3:11: $.repos.team.path: 'src/team' must be an absolute path "
            "(or start with ~)",
            id="relative-path",
        ),
        pytest.param(
            "repos:\n  team: {}\n",
            "config.yaml:2:3: $.repos.team: missing required key 'path'",
            id="no-path",
        ),
        pytest.param(
            "repos:\n  team:\n    path: /x\n    branch: main\n",
            "config.yaml:4:5: $.repos.team.branch: unknown key 'branch'",
            id="unknown-key",
        ),
        pytest.param(
            "repos:\n  team:\n    path: /x\n    url: https://me:hunter2@git.example.com/t.git\n",
            "config.yaml:4:5: $.repos.team.url: is not allowed here: A password in the URL would "
            "be stored here in plain text: remove it (git asks its credential helper).",
            id="password-in-url",
        ),
        pytest.param(
            "repos:\n",
            "config.yaml:1:7: $.repos: must be a mapping, not null",
            id="null-repos",
        ),
        pytest.param(
            "repos:\n  - /x\n",
            "config.yaml:2:3: $.repos: must be a mapping, not a list",
            id="list-of-repos",
        ),
        pytest.param(
            "defaults:\n  import_dr: /x\n",
            "config.yaml:2:3: $.defaults.import_dr: unknown key 'import_dr': "
            "did you mean 'import_dir'?",
            id="typo",
        ),
        pytest.param(
            "repos:\n  team:\n    path: /x\n  team:\n    path: /y\n",
            "config.yaml:4:3: $.repos.team: duplicate key 'team' (first set on line 2): keep one",
            id="duplicate",
        ),
        pytest.param(
            "repos: [\n",
            "config.yaml:2:1: $: YAML syntax error: did not find expected node content",
            id="syntax",
        ),
    ],
)
def test_bad_config_is_one_error_with_file_and_line(
    config: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    text: str,
    expected: str,
) -> None:
    config.write_text(text)
    monkeypatch.chdir(config.parent)
    problems = check_config(Path("config.yaml"))
    assert [p.format() for p in problems] == [expected]
    with pytest.raises(ConfigInvalid) as caught:
        load_config(Path("config.yaml"))
    assert caught.value.message == expected
    assert "hunter2" not in caught.value.message

    assert main(["list"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines()[0] == f"cmem-profile: error: {config.parent}/{expected}"
    assert err.splitlines()[1].startswith("hint: fix the file (schema: schemas/config.schema.json)")


def test_reading_checks_the_schema_rules_without_jsonschema() -> None:
    """The light structural check agrees with the schema on every kind of document."""
    validator = jsonschema.Draft202012Validator(_schema())
    samples: list[object] = [
        None,
        {},
        {"repos": {}},
        {"repos": {"a": {"path": "/x"}}},
        {"repos": {"a-1": {"path": "~/x", "url": "git@h:t.git"}}},
        {"repos": {"a": {"path": "/x", "url": "https://u@h/t"}}},
        {"defaults": {"import_dir": "~/p"}},
        {"repos": {"a": {"path": "/x"}}, "defaults": {}},
        [],
        "text",
        {"other": 1},
        {"repos": None},
        {"repos": []},
        {"repos": {"A": {"path": "/x"}}},
        {"repos": {"-a": {"path": "/x"}}},
        {"repos": {"a" * 65: {"path": "/x"}}},
        {"repos": {"a": None}},
        {"repos": {"a": {}}},
        {"repos": {"a": {"path": "x"}}},
        {"repos": {"a": {"path": 1}}},
        {"repos": {"a": {"path": "/x", "url": ""}}},
        {"repos": {"a": {"path": "/x", "url": 5}}},
        {"repos": {"a": {"path": "/x", "url": "https://u:p@h/t"}}},
        {"repos": {"a": {"path": "/x", "extra": "y"}}},
        {"defaults": None},
        {"defaults": {"import_dir": "rel"}},
        {"defaults": {"import_dir": None}},
        {"defaults": {"other": "/x"}},
    ]
    for sample in samples:
        schema_ok = sample is None or validator.is_valid(sample)
        assert _well_formed(sample) == schema_ok, sample


def test_list_never_imports_jsonschema_for_a_good_config(config: Path, tmp_path: Path) -> None:
    (tmp_path / "team" / "profiles").mkdir(parents=True)
    config.write_text(f"repos:\n  team:\n    path: {tmp_path / 'team'}\n")
    code = (
        "import sys\n"
        "from cmem_profiles.paths import profile_search_path\n"
        "dirs = profile_search_path()\n"
        "print(dirs[-1], 'jsonschema' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout == f"{tmp_path / 'team' / 'profiles'} False\n"


def test_save_writes_0600_atomically_and_round_trips(config: Path) -> None:
    wanted = UserConfig(
        repos=(
            RegisteredRepo("team", "/srv/team", "https://git.example.com/team.git"),
            RegisteredRepo("mine", "~/src/mine"),
        ),
        import_dir="~/src/mine/profiles",
    )
    save_config(wanted)
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert load_config() == wanted
    assert check_config() == []
    assert yaml.safe_load(config.read_text()) == {
        "repos": {
            "team": {"path": "/srv/team", "url": "https://git.example.com/team.git"},
            "mine": {"path": "~/src/mine"},
        },
        "defaults": {"import_dir": "~/src/mine/profiles"},
    }
    assert [p.name for p in config.parent.iterdir()] == ["config.yaml"]  # no temp file left
    assert load_config().import_path == Path.home() / "src" / "mine" / "profiles"

    save_config(UserConfig())
    assert load_config() == UserConfig()
    assert check_config() == []


def test_save_refuses_what_the_schema_refuses(config: Path) -> None:
    with pytest.raises(ConfigInvalid):
        save_config(UserConfig(repos=(RegisteredRepo("team", "relative/path"),)))
    assert not config.exists()


def test_missing_or_comment_only_config_is_empty(config: Path) -> None:
    assert load_config() == UserConfig()
    config.write_text("# nothing yet\n")
    assert load_config() == UserConfig()
    assert check_config() == []


def test_profiles_dir_and_env_path_bypass_a_broken_config(
    config: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config.write_text("repos: [\n")
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "a.yaml").write_text("description: A\nprovider: claude\n")
    assert main(["--profiles-dir", str(tmp_path / "p"), "list", "--json"]) == 0
    assert [r["name"] for r in json.loads(capsys.readouterr().out)] == ["a"]
    monkeypatch.setenv("CMEM_PROFILES_PATH", str(tmp_path / "p"))
    assert main(["show", "a"]) == 0
    capsys.readouterr()


def test_current_never_reads_the_config(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config.write_text("repos: [\n")
    assert main(["current", "--short"]) == 0
    assert capsys.readouterr() == ("\n", "")


def test_doctor_reports_every_config_problem(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config.write_text("repos:\n  Team:\n    path: /x\n  ok:\n    path: rel\n")
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert f"fail  config       {config}:2:3: $.repos.Team: 'Team' is not a repository" in out
    assert f"fail  config       {config}:5:11: $.repos.ok.path: 'rel' must be an absolute" in out


def test_doctor_checks_registered_repos(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config.write_text(f"repos:\n  gone:\n    path: {tmp_path / 'gone'}\n")
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert f"ok    config       {config}: 1 repo(s) registered\n" in out
    assert (
        f"warn  repo         gone: {tmp_path / 'gone' / 'profiles'} does not exist\n"
        "                   hint: cmem-profile repo rm gone\n"
    ) in out
