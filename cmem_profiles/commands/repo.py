"""`repo`: register team profile repositories (a clone, or a URL to clone), list, remove."""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shutil
from pathlib import Path

from cmem_profiles import gitrepo, output
from cmem_profiles.errors import RepoError
from cmem_profiles.paths import clones_dir
from cmem_profiles.profiles import discover
from cmem_profiles.userconfig import (
    REPO_NAME,
    RegisteredRepo,
    UserConfig,
    load_config,
    save_config,
    without_password,
)

# scheme://... or scp-like user@host:path, as git accepts them.
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://|[\w.-]+@[\w.-]+:)")
_STATES = {
    "clean": "clean",
    "dirty": "dirty",
    "no-commits": "no commits",
    "not-a-git-repo": "not a git repository",
    "missing": "missing",
    "git-unavailable": "git not found",
}


def run(args: argparse.Namespace) -> int:
    verbs = {"add": _add, "list": _list, "rm": _remove}
    return verbs[args.repo_verb](args)


def _add(args: argparse.Namespace) -> int:
    config = load_config()
    local = Path(args.source).expanduser()
    if local.is_dir():
        repo = _local_repo(config, local.resolve(), args.name)
    elif _URL.match(args.source):
        repo = _cloned_repo(config, args.source, args.name)
    else:
        raise RepoError(
            f"{args.source}: no such directory",
            hint="give a clone's directory or a git URL (https://..., ssh://..., git@host:path)",
        )
    save_config(config.with_repo(repo))
    count = _profile_count(repo)
    output.emit(
        f"registered {repo.name!r}: {output.plural(count, 'profile')} in {repo.profiles_dir}"
    )
    output.note("its profiles are searched after ./profiles and your own; see 'cmem-profile list'")
    return 0


def _local_repo(config: UserConfig, top: Path, name: str | None) -> RegisteredRepo:
    if not (top / "profiles").is_dir():
        hint = (
            f"give the repository's top directory: cmem-profile repo add {top.parent}"
            if top.name == "profiles"
            else f"scaffold one with 'cmem-profile init {top}'"
        )
        raise RepoError(f"{top} has no profiles/ directory", hint=hint)
    repo = RegisteredRepo(_name(name, top.name), str(top))
    _check_new(config, repo)
    return repo


def _cloned_repo(config: UserConfig, url: str, name: str | None) -> RegisteredRepo:
    shown = without_password(url)
    repo_name = _name(name, re.split(r"[/:]", shown.rstrip("/"))[-1])
    destination = clones_dir() / repo_name
    repo = RegisteredRepo(repo_name, str(destination), shown)
    _check_new(config, repo)
    if os.path.lexists(destination):
        raise RepoError(
            f"{destination} already exists",
            hint=f"register it with 'cmem-profile repo add {destination}', or pass --name",
        )
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise RepoError(f"cannot create {destination.parent}: {err.strerror}") from None
    output.note(f"cloning {shown} into {destination} ...")
    gitrepo.clone(url, shown, destination)
    if not repo.profiles_dir.is_dir():
        shutil.rmtree(destination, ignore_errors=True)
        raise RepoError(
            f"{shown} has no profiles/ directory at its top: not a team profile repository",
            hint="scaffold one in a clone of it with 'cmem-profile init DIR', push, and retry",
        )
    if shown != url:
        output.warn(
            f"the URL holds a password, which git keeps in {destination}/.git/config; "
            "prefer a git credential helper"
        )
    return repo


def _name(given: str | None, tail: str) -> str:
    name = given or re.sub(r"[^a-z0-9]+", "-", tail.lower().removesuffix(".git")).strip("-")[:64]
    if not REPO_NAME.match(name):
        raise RepoError(
            f"{name!r} is not a repository name" if name else "cannot derive a repository name",
            hint="pass --name NAME (lowercase letters, digits and '-')",
        )
    return name


def _check_new(config: UserConfig, repo: RegisteredRepo) -> None:
    if config.find(repo.name):
        raise RepoError(
            f"a repository named {repo.name!r} is already registered",
            hint="pass --name NAME, or remove it first with 'cmem-profile repo rm'",
        )
    for known in config.repos:
        if os.path.realpath(known.path) == os.path.realpath(repo.path):
            raise RepoError(f"{repo.path} is already registered as {known.name!r}")
        if repo.url and known.url == repo.url:
            raise RepoError(
                f"{repo.url} is already registered as {known.name!r}",
                hint=f"update that clone with 'git -C {known.path} pull'",
            )


def _profile_count(repo: RegisteredRepo) -> int:
    entries, _, _ = discover([repo.profiles_dir])
    return len(entries)


def _list(args: argparse.Namespace) -> int:
    records = []
    for repo in load_config().repos:
        copy = gitrepo.working_copy(repo.path)
        records.append(
            {
                "name": repo.name,
                "path": str(repo.path),
                "url": repo.url,
                "commit": copy.commit,
                "state": copy.state,
                "profiles": _profile_count(repo) if copy.state != "missing" else None,
            }
        )
    if args.json:
        output.emit_json(records)
    elif not records:
        output.note("no repositories registered; add one with 'cmem-profile repo add PATH|URL'")
    else:
        rows = [
            [
                str(r["name"]),
                str(r["path"]),
                str(r["commit"] or "-"),
                _STATES[str(r["state"])],
                "-" if r["profiles"] is None else str(r["profiles"]),
            ]
            for r in records
        ]
        output.table(["NAME", "PATH", "COMMIT", "STATE", "PROFILES"], rows)
    return 0


def _remove(args: argparse.Namespace) -> int:
    config = load_config()
    repo = config.find(args.repo_name)
    if repo is None:
        known = [r.name for r in config.repos]
        close = difflib.get_close_matches(args.repo_name, known, n=1)
        raise RepoError(
            f"no registered repository {args.repo_name!r}",
            hint=f"did you mean {close[0]!r}?"
            if close
            else f"registered: {', '.join(known)}"
            if known
            else "none is registered",
        )
    save_config(config.without_repo(repo.name))
    output.emit(f"removed {repo.name!r} from the search path; {repo.path} is left as it is")
    return 0
