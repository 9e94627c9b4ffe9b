"""The pre-commit hook for real: pre-commit installs this project from a clone and runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO
from test_team_repo import git

from cmem_profiles.main import main

KEY = "sk-ant-api03-Q2w3E4r5T6y7U8i9O0pAsDfGhJkL"


def pre_commit(team: Path, home: Path) -> subprocess.CompletedProcess[str]:
    # The installed cmem-profile (beside this interpreter) is what a local hook runs.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", "--all-files", "--color", "never"],
        cwd=team,
        capture_output=True,
        text=True,
        env={**os.environ, "PRE_COMMIT_HOME": str(home), "PATH": path},
        check=False,
    )


def verdict(out: str) -> str:
    """The hook's result word from pre-commit's `cmem-profile validate......Passed` line."""
    (line,) = [line for line in out.splitlines() if line.startswith("cmem-profile validate.")]
    return line.rstrip(".").rsplit(".", 1)[-1]


@pytest.mark.slow
def test_hook_passes_good_profiles_and_fails_on_a_pasted_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The hook repository is a clone of this one at HEAD: what a team would fetch by URL + rev.
    hooks = tmp_path / "cmem-profile"
    subprocess.run(["git", "clone", "-q", str(REPO), str(hooks)], check=True)
    rev = git(hooks, "rev-parse", "HEAD")
    _check_hook(tmp_path, capsys, ["--hook-repo", str(hooks), "--hook-rev", rev])


def test_the_default_local_hook_runs_the_installed_cmem_profile(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _check_hook(tmp_path, capsys, [])


def _check_hook(tmp_path: Path, capsys: pytest.CaptureFixture[str], options: list[str]) -> None:
    team = tmp_path / "team"
    assert main(["init", str(team), *options]) == 0
    capsys.readouterr()
    git(team, "add", "-A")
    git(team, "commit", "-q", "-m", "Team profiles")
    home = tmp_path / "pre-commit-home"

    good = pre_commit(team, home)
    assert good.returncode == 0, good.stdout + good.stderr
    assert verdict(good.stdout) == "Passed"

    (team / "profiles" / "leaky.yaml").write_text(
        "description: A gateway\n"
        "provider: claude\n"
        f"# the key, for now: {KEY}\n"
        "credentials:\n"
        "  api_key: {keyring: leaky}\n"
    )
    git(team, "add", "profiles/leaky.yaml")
    bad = pre_commit(team, home)
    assert bad.returncode == 1
    assert verdict(bad.stdout) == "Failed"
    assert (
        "profiles/leaky.yaml:3:1: $: a comment holds what looks like a pasted secret "
        "(key prefix sk-ant-): delete it, and rotate the key if it was ever pushed"
    ) in bad.stdout.splitlines()
    assert KEY not in bad.stdout + bad.stderr
