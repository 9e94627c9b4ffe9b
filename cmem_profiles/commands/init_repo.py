"""`init DIR`: scaffold a team profile repository, and make it a git repository."""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
from pathlib import Path

from cmem_profiles import gitrepo, output
from cmem_profiles.errors import RepoError
from cmem_profiles.scaffold import team_repo_files
from cmem_profiles.schema import schema_text


def run(args: argparse.Namespace) -> int:
    if (args.hook_repo is None) != (args.hook_rev is None):
        raise RepoError(
            "--hook-repo and --hook-rev go together",
            hint="cmem-profile init DIR --hook-repo URL --hook-rev TAG",
        )
    top = Path(args.directory).expanduser()
    if top.exists() and not top.is_dir():
        raise RepoError(f"{top} exists and is not a directory", hint="choose another DIR")
    files = team_repo_files(schema_text(), args.hook_repo, args.hook_rev)
    present = [name for name in files if os.path.lexists(top / name)]
    if present:
        raise RepoError(
            f"{top} already has {', '.join(present)}; init never overwrites a file",
            hint="move those files aside, or run init in a new directory",
        )
    _create_all({top / name: text for name, text in files.items()})
    _git_init(top)
    output.emit("next: commit it, check every commit, and search its profiles:")
    for step in (
        f"cd {shlex.quote(str(top))}",
        "git add -A && git commit -m 'Team profiles'",
        "pre-commit install",
        "cmem-profile repo add .",
    ):
        output.emit(f"  {step}")
    return 0


def _create_all(files: dict[Path, str]) -> None:
    """Create every file, or none: a failure removes the ones already made."""
    made: list[Path] = []
    try:
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            # O_EXCL: a file that appeared since the check is still never overwritten.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            made.append(path)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
    except OSError as err:
        for path in made:
            with contextlib.suppress(OSError):
                path.unlink()
        raise RepoError(f"cannot create {err.filename}: {err.strerror}") from None
    for path in files:
        output.emit(f"created {path}")


def _git_init(top: Path) -> None:
    if not gitrepo.git_available():
        output.note("git is not installed: run 'git init' here once it is")
        return
    enclosing = gitrepo.toplevel(top)
    if enclosing is None:
        gitrepo.init(top)
        output.emit(f"initialized a git repository in {top}")
    elif enclosing.resolve() == top.resolve():
        output.emit(f"{top} is already a git repository")
    else:
        output.warn(
            f"{top} is inside the git repository {enclosing}: the pre-commit hook checks "
            "profiles/ at a repository's top, so keep the team repository on its own"
        )
