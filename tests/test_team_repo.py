"""`init` scaffolds a team repository; `repo add|list|rm` put its profiles on the search path."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import REPO

from cmem_profiles.main import main
from cmem_profiles.scaffold import HOOK_ID

INIT_FILES = [
    "profiles/team-gateway.yaml",
    "schemas/profile.schema.json",
    ".gitignore",
    ".pre-commit-config.yaml",
    "README.md",
]
GIT_ID = {
    "GIT_AUTHOR_NAME": "Team",
    "GIT_AUTHOR_EMAIL": "team@example.com",
    "GIT_COMMITTER_NAME": "Team",
    "GIT_COMMITTER_EMAIL": "team@example.com",
}


def git(directory: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(directory), *args],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **GIT_ID},
    )
    return done.stdout.strip()


def team_repo(path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A team repository made by init and committed."""
    assert main(["init", str(path)]) == 0
    capsys.readouterr()
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "Team profiles")
    return path


def config_text(home: Path) -> str:
    return (home / ".config" / "cmem-profile" / "config.yaml").read_text()


# --- init ---------------------------------------------------------------------------------


def test_init_scaffolds_a_working_team_repo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", "team"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        *(f"created team/{name}" for name in INIT_FILES),
        "initialized a git repository in team",
        "next: commit it, check every commit, and search its profiles:",
        "  cd team",
        "  git add -A && git commit -m 'Team profiles'",
        "  pre-commit install",
        "  cmem-profile repo add .",
    ]
    assert err == ""
    team = tmp_path / "team"
    assert git(team, "rev-parse", "--show-toplevel") == str(team)

    example = (team / "profiles" / "team-gateway.yaml").read_text()
    assert example.startswith("# yaml-language-server: $schema=../schemas/profile.schema.json\n")
    assert (team / "schemas" / "profile.schema.json").read_text() == (
        REPO / "schemas" / "profile.schema.json"
    ).read_text()
    assert (team / ".gitignore").read_text().splitlines()[-1] == "*.local.yaml"
    # Without a hook repository, the config runs this project's hook as installed locally.
    shipped = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())[0]
    local = yaml.safe_load((team / ".pre-commit-config.yaml").read_text())
    assert local["repos"][0]["repo"] == "local"
    (hook,) = local["repos"][0]["hooks"]
    assert {k: hook[k] for k in ("id", "name", "entry", "files")} == {
        k: shipped[k] for k in ("id", "name", "entry", "files")
    }
    assert hook["language"] == "system"
    assert "cmem-profile repo add" in (team / "README.md").read_text()

    # The example validates with neither errors nor warnings, by cmem-profile and by the copy
    # of the schema that editors use.
    assert main(["validate", "team/profiles/team-gateway.yaml"]) == 0
    assert capsys.readouterr() == ("", "1 file checked: 0 errors, 0 warnings\n")
    import jsonschema

    schema = json.loads((team / "schemas" / "profile.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(yaml.safe_load(example))


def test_init_refuses_to_overwrite_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    team = tmp_path / "team"
    team.mkdir()
    (team / "README.md").write_text("ours\n")
    (team / ".gitignore").write_text("build/\n")
    assert main(["init", "team"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "cmem-profile: error: team already has .gitignore, README.md; init never overwrites a file\n"
        "hint: move those files aside, or run init in a new directory\n"
    )
    assert sorted(p.name for p in team.iterdir()) == [".gitignore", "README.md"]
    assert (team / "README.md").read_text() == "ours\n"


def test_init_in_an_existing_clone_keeps_its_git(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    team = tmp_path / "team"
    team.mkdir()
    git(team, "init", "-q")
    assert main(["init", str(team)]) == 0
    assert f"{team} is already a git repository\n" in capsys.readouterr().out


def test_init_inside_another_repo_does_not_nest_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    git(tmp_path, "init", "-q")
    assert main(["init", "sub/team"]) == 0
    out, err = capsys.readouterr()
    assert "initialized" not in out
    assert err == (
        f"warning: sub/team is inside the git repository {tmp_path}: the pre-commit hook checks "
        "profiles/ at a repository's top, so keep the team repository on its own\n"
    )
    assert not (tmp_path / "sub" / "team" / ".git").exists()


def test_init_on_a_file_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "team").write_text("")
    assert main(["init", "team"]) == 1
    assert capsys.readouterr().err.startswith("cmem-profile: error: team exists and is not a dir")


def test_init_takes_the_hook_repo_and_rev(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "t", "--hook-repo", "/srv/my hooks", "--hook-rev", "abc123"]) == 0
    assert yaml.safe_load(Path("t/.pre-commit-config.yaml").read_text())["repos"][0] == {
        "repo": "/srv/my hooks",
        "rev": "abc123",
        "hooks": [{"id": HOOK_ID}],
    }


def test_init_needs_both_hook_repo_and_rev(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "t", "--hook-repo", "/srv/hooks"]) == 1
    assert "--hook-repo and --hook-rev go together" in capsys.readouterr().err
    assert not Path("t").exists()


def test_the_project_ships_the_hook_init_refers_to() -> None:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert hooks == [
        {
            "id": HOOK_ID,
            "name": "cmem-profile validate",
            "description": "Validate claude-mem backend profiles and refuse pasted secrets.",
            "entry": "cmem-profile validate",
            "language": "python",
            "files": r"^profiles/.*\.ya?ml$",
        }
    ]


# --- repo add / list / rm ------------------------------------------------------------------


def test_registered_repo_joins_the_search_path_after_the_users_own(
    tmp_path: Path, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    team = team_repo(tmp_path / "team", capsys)
    (team / "profiles" / "shared.yaml").write_text("description: Shared\nprovider: claude\n")
    mine = isolated / ".config" / "cmem-profile" / "profiles"
    mine.mkdir(parents=True)
    (mine / "shared.yaml").write_text("description: Mine\nprovider: claude\n")

    assert main(["repo", "add", "team"]) == 0
    out, err = capsys.readouterr()
    assert out == f"registered 'team': 2 profiles in {team}/profiles\n"
    assert (
        err == "its profiles are searched after ./profiles and your own; see 'cmem-profile list'\n"
    )
    assert config_text(isolated).endswith(f"repos:\n  team:\n    path: {team}\n")

    assert main(["list", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["repo"], r["description"], r["shadowed_by"]) for r in records] == [
        ("shared", None, "Mine", None),
        ("shared", "team", None, "home/.config/cmem-profile/profiles/shared.yaml"),
        ("team-gateway", "team", records[2]["description"], None),
    ]
    assert main(["list"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == [
        "NAME",
        "PROVIDER",
        "MODEL",
        "ENDPOINT",
        "DESCRIPTION",
        "REPO",
        "FILE",
    ]
    assert table[3].split()[0] == "team-gateway"
    assert table[3].split()[-2:] == ["team", "team/profiles/team-gateway.yaml"]
    assert main(["show", "team-gateway"]) == 0
    capsys.readouterr()


def test_inside_the_registered_clone_its_profiles_are_listed_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    team = team_repo(tmp_path / "team", capsys)
    assert main(["repo", "add", str(team)]) == 0
    monkeypatch.chdir(team)
    capsys.readouterr()
    assert main(["list", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["repo"], r["file"]) for r in records] == [
        ("team-gateway", "team", "profiles/team-gateway.yaml")
    ]


def test_repo_list_shows_commit_state_and_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    team = team_repo(tmp_path / "team", capsys)
    plain = tmp_path / "plain"
    (plain / "profiles").mkdir(parents=True)
    fresh = tmp_path / "fresh"
    (fresh / "profiles").mkdir(parents=True)
    git(fresh, "init", "-q")
    for path in (team, plain, fresh):
        assert main(["repo", "add", str(path)]) == 0
    gone = tmp_path / "gone"
    (gone / "profiles").mkdir(parents=True)
    assert main(["repo", "add", str(gone)]) == 0
    (gone / "profiles").rmdir()
    gone.rmdir()
    capsys.readouterr()
    sha = git(team, "rev-parse", "--short", "HEAD")

    assert main(["repo", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [
        {
            "name": "team",
            "path": str(team),
            "url": None,
            "commit": sha,
            "state": "clean",
            "profiles": 1,
        },
        {
            "name": "plain",
            "path": str(plain),
            "url": None,
            "commit": None,
            "state": "not-a-git-repo",
            "profiles": 0,
        },
        {
            "name": "fresh",
            "path": str(fresh),
            "url": None,
            "commit": None,
            "state": "no-commits",
            "profiles": 0,
        },
        {
            "name": "gone",
            "path": str(gone),
            "url": None,
            "commit": None,
            "state": "missing",
            "profiles": None,
        },
    ]

    (team / "profiles" / "new.yaml").write_text("description: New\nprovider: claude\n")
    assert main(["repo", "list"]) == 0
    rows = [line.split("  ") for line in capsys.readouterr().out.splitlines()]
    assert [[cell.strip() for cell in row if cell.strip()] for row in rows] == [
        ["NAME", "PATH", "COMMIT", "STATE", "PROFILES"],
        ["team", str(team), sha, "dirty", "2"],
        ["plain", str(plain), "-", "not a git repository", "0"],
        ["fresh", str(fresh), "-", "no commits", "0"],
        ["gone", str(gone), "-", "missing", "-"],
    ]


def test_repo_list_when_none(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["repo", "list"]) == 0
    assert capsys.readouterr() == (
        "",
        "no repositories registered; add one with 'cmem-profile repo add PATH|URL'\n",
    )
    assert main(["repo", "list", "--json"]) == 0
    assert capsys.readouterr().out == "[]\n"


def test_repo_list_tolerates_no_git(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    team = team_repo(tmp_path / "team", capsys)
    assert main(["repo", "add", str(team)]) == 0
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    capsys.readouterr()
    assert main(["repo", "list", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)[0]
    assert (record["commit"], record["state"], record["profiles"]) == (None, "git-unavailable", 1)


def test_repo_add_clones_a_url(
    tmp_path: Path, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    team = team_repo(tmp_path / "team", capsys)
    bare = tmp_path / "team-profiles.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(team), str(bare)], check=True)
    url = f"file://{bare}"
    clone = isolated / ".local" / "share" / "cmem-profile" / "repos" / "team-profiles"

    assert main(["repo", "add", url]) == 0
    out, err = capsys.readouterr()
    assert out == f"registered 'team-profiles': 1 profile in {clone}/profiles\n"
    assert err.splitlines()[0] == f"cloning {url} into {clone} ..."
    assert (clone / "profiles" / "team-gateway.yaml").is_file()
    assert config_text(isolated).endswith(
        f"repos:\n  team-profiles:\n    path: {clone}\n    url: {url}\n"
    )

    assert main(["repo", "add", url, "--name", "again"]) == 1
    assert capsys.readouterr().err.startswith(
        f"cmem-profile: error: {url} is already registered as 'team-profiles'\n"
    )
    assert main(["repo", "list", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)[0]
    assert (record["url"], record["state"], record["profiles"]) == (url, "clean", 1)


def test_repo_add_url_without_profiles_leaves_nothing(
    tmp_path: Path, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q")
    (other / "README").write_text("x\n")
    git(other, "add", "-A")
    git(other, "commit", "-q", "-m", "x")
    assert main(["repo", "add", f"file://{other}"]) == 1
    err = capsys.readouterr().err
    assert f"error: file://{other} has no profiles/ directory at its top" in err
    assert not (isolated / ".local" / "share" / "cmem-profile" / "repos" / "other").exists()
    assert not (isolated / ".config" / "cmem-profile" / "config.yaml").exists()


def test_repo_add_failed_clone_names_the_url_without_its_password(
    tmp_path: Path, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"file://me:hunter2@{tmp_path}/missing.git"
    assert main(["repo", "add", url]) == 1
    out, err = capsys.readouterr()
    assert "hunter2" not in out + err
    assert f"error: git clone file://me@{tmp_path}/missing.git failed (exit 128)" in err
    assert not (isolated / ".config" / "cmem-profile" / "config.yaml").exists()


@pytest.mark.parametrize(
    ("argv", "message", "hint"),
    [
        (
            ["repo", "add", "nowhere"],
            "nowhere: no such directory",
            "give a clone's directory or a git URL (https://..., ssh://..., git@host:path)",
        ),
        (
            ["repo", "add", "team/profiles"],
            "{team}/profiles has no profiles/ directory",
            "give the repository's top directory: cmem-profile repo add {team}",
        ),
        (
            ["repo", "add", "bare"],
            "{tmp}/bare has no profiles/ directory",
            "scaffold one with 'cmem-profile init {tmp}/bare'",
        ),
        (
            ["repo", "add", "team", "--name", "Team"],
            "'Team' is not a repository name",
            "pass --name NAME (lowercase letters, digits and '-')",
        ),
        (
            ["repo", "rm", "tema"],
            "no registered repository 'tema'",
            "did you mean 'team'?",
        ),
        (
            ["repo", "rm", "zzz"],
            "no registered repository 'zzz'",
            "registered: team",
        ),
    ],
)
def test_repo_errors(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
    hint: str,
) -> None:
    team = team_repo(tmp_path / "team", capsys)
    (tmp_path / "bare").mkdir()
    if argv[1] == "rm":
        assert main(["repo", "add", "team"]) == 0
        capsys.readouterr()
    assert main(argv) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"cmem-profile: error: {message.format(team=team, tmp=tmp_path)}\n"
        f"hint: {hint.format(team=team, tmp=tmp_path)}\n"
    )


def test_repo_add_twice_and_rm(
    tmp_path: Path, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    team = team_repo(tmp_path / "team", capsys)
    assert main(["repo", "add", "team"]) == 0
    assert main(["repo", "add", "team", "--name", "other"]) == 1
    assert capsys.readouterr().err.endswith(f"error: {team} is already registered as 'team'\n")
    assert main(["repo", "add", str(tmp_path / "team" / ".")]) == 1
    assert "a repository named 'team' is already registered" in capsys.readouterr().err

    assert main(["repo", "rm", "team"]) == 0
    assert capsys.readouterr().out == (
        f"removed 'team' from the search path; {team} is left as it is\n"
    )
    assert (team / "profiles" / "team-gateway.yaml").is_file()
    assert "repos" not in config_text(isolated)
    assert main(["list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
