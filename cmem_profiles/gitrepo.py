"""The user's own `git`, run as a subprocess: a working copy's commit and state, clone, init."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cmem_profiles.errors import RepoError

State = Literal["clean", "dirty", "no-commits", "not-a-git-repo", "missing", "git-unavailable"]
# Set inside git hooks (pre-commit among them); they would point our git at the hook's repo.
_LOCATORS = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_PREFIX")
_TIMEOUT = 30.0


@dataclass(frozen=True)
class WorkingCopy:
    """What git says of a directory: its state and the short sha of HEAD, when it has one."""

    state: State
    commit: str | None = None


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in _LOCATORS}


def _git(directory: Path | None, *args: str) -> subprocess.CompletedProcess[str] | None:
    """Run git (in directory, when given); None when git cannot run at all."""
    where = ["-C", str(directory)] if directory else []
    try:
        return subprocess.run(
            ["git", *where, *args],
            capture_output=True,
            text=True,
            env=_env(),
            timeout=_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None


def working_copy(directory: Path) -> WorkingCopy:
    """The state of directory's git working copy; every failure is a state, never an error."""
    if not directory.is_dir():
        return WorkingCopy("missing")
    top = toplevel(directory)
    if top is None:
        return WorkingCopy("git-unavailable" if not git_available() else "not-a-git-repo")
    head = _git(directory, "rev-parse", "--short", "HEAD")
    if head is None or head.returncode != 0:
        return WorkingCopy("no-commits")
    status = _git(directory, "status", "--porcelain", "--untracked-files=normal")
    dirty = status is None or status.returncode != 0 or bool(status.stdout.strip())
    return WorkingCopy("dirty" if dirty else "clean", head.stdout.strip())


def git_available() -> bool:
    return _git(None, "--version") is not None


def toplevel(directory: Path) -> Path | None:
    """The top directory of the working tree that holds directory, or None."""
    found = _git(directory, "rev-parse", "--show-toplevel")
    if found is None or found.returncode != 0:
        return None
    return Path(found.stdout.strip())


def init(directory: Path) -> None:
    done = _git(directory, "init", "--quiet")
    if done is None or done.returncode != 0:
        reason = done.stderr.strip() if done else "git did not run"
        raise RepoError(f"git init {directory} failed: {reason}")


def clone(url: str, shown_url: str, destination: Path) -> None:
    """Clone url into destination; git shows its progress and credential prompts on a terminal."""
    try:
        done = subprocess.run(
            ["git", "clone", "--", url, str(destination)],
            env=_env(),
            check=False,
        )
    except OSError as err:
        raise RepoError(
            f"cannot run git: {err.strerror}",
            hint="install git, or clone the repository yourself and run "
            "'cmem-profile repo add PATH'",
        ) from None
    if done.returncode != 0:
        raise RepoError(
            f"git clone {shown_url} failed (exit {done.returncode})",
            hint="git printed the reason above; check the URL and your access to it",
        )
