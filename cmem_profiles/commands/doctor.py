"""`doctor`: check the keyring, claude-mem's data dir and .env, and the environment."""

from __future__ import annotations

import argparse
import os
import stat
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from cmem_profiles.output import emit, emit_json
from cmem_profiles.paths import config_file, data_paths
from cmem_profiles.secretref import OVERRIDE_PREFIX
from cmem_profiles.secrets import KeyringReport, chosen, probe_keyring

Status = Literal["ok", "warn", "fail", "info"]
# Variables that only locate claude-mem's files; cmem-profile honours them too.
LOCATORS = ("CLAUDE_MEM_DATA_DIR", "CLAUDE_MEM_ENV_FILE")


@dataclass(frozen=True)
class Check:
    """One finding: what was checked, how it went, and the fix when there is one."""

    check: str
    status: Status
    message: str
    hint: str | None = None


def run(args: argparse.Namespace) -> int:
    report = probe_keyring()
    checks = [
        keyring_check(report),
        *file_checks(args.data_dir),
        *config_checks(),
        *environment_checks(os.environ),
    ]
    if args.json:
        emit_json(
            {
                "ok": report.ok,
                "keyring": {
                    "backend": report.backend,
                    "priority": report.priority,
                    "selected_by": report.selected_by,
                    "round_trip": report.ok,
                },
                "checks": [asdict(check) for check in checks],
            }
        )
    else:
        for check in checks:
            emit(f"{check.status:<5} {check.check:<12} {check.message}")
            if check.hint:
                # Multi-line hints are indented for main's "hint: " prefix; shift them under ours.
                emit(f"{'':<18} hint: " + check.hint.replace("\n", "\n" + " " * 19))
    return 1 if any(check.status == "fail" for check in checks) else 0


def keyring_check(report: KeyringReport) -> Check:
    priority = f"priority {report.priority:g}, " if report.priority is not None else ""
    backend = f"{report.backend} ({priority}{chosen(report.selected_by)})"
    if report.problem is None:
        return Check("keyring", "ok", f"{backend}: write, read and delete work")
    return Check("keyring", "fail", report.problem, report.hint)


def file_checks(data_dir_option: str | None) -> list[Check]:
    """The data dir should be 0700 and .env 0600: .env holds the resolved secrets."""
    paths = data_paths(data_dir_option)
    return [
        _mode_check("data dir", paths.data_dir, 0o700, "claude-mem has not run yet"),
        _mode_check(".env", paths.env_file, 0o600, "no profile has been applied yet"),
    ]


def _mode_check(name: str, path: Path, wanted: int, when_missing: str) -> Check:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return Check(name, "info", f"{path} does not exist ({when_missing})")
    except OSError as err:
        return Check(name, "warn", f"cannot read {path}: {err.strerror}")
    if mode != wanted:
        return Check(
            name, "warn", f"{path} is {mode:04o}, expected {wanted:04o}", f"chmod {wanted:o} {path}"
        )
    return Check(name, "ok", f"{path} is {mode:04o}")


def config_checks() -> list[Check]:
    """The user config against its schema in full, and each registered repo's directory."""
    from cmem_profiles.userconfig import check_config, load_config

    path = config_file()
    if not path.exists():
        return []  # optional: most people never register a repository
    problems = check_config(path)
    if problems:
        hint = "fix the file (schema: schemas/config.schema.json)"
        return [Check("config", "fail", problem.format(), hint) for problem in problems]
    repos = load_config(path).repos
    checks = [Check("config", "ok", f"{path}: {len(repos)} repo(s) registered")]
    for repo in repos:
        if not repo.profiles_dir.is_dir():
            checks.append(
                Check(
                    "repo",
                    "warn",
                    f"{repo.name}: {repo.profiles_dir} does not exist",
                    f"cmem-profile repo rm {repo.name}",
                )
            )
    return checks


def environment_checks(environ: Mapping[str, str]) -> list[Check]:
    """Variables that shadow or confuse claude-mem's files; names only, never values."""
    checks: list[Check] = []
    for name in sorted(environ):
        if name.startswith("ANTHROPIC_"):
            checks.append(
                Check(
                    "environment",
                    "warn",
                    f"{name} is set: claude-mem's worker strips ANTHROPIC_* variables, "
                    "so it does nothing there",
                    "configure the backend with a profile instead",
                )
            )
        elif name in LOCATORS:
            checks.append(Check("environment", "info", f"{name} is set and chooses the files"))
        elif name.startswith("CLAUDE_MEM_"):
            checks.append(
                Check(
                    "environment",
                    "warn",
                    f"{name} is set: in the worker's environment it overrides settings.json",
                    f"unset {name} unless you mean to override the profile",
                )
            )
        elif name.startswith(OVERRIDE_PREFIX):
            checks.append(Check("environment", "info", f"{name} is set and overrides the keyring"))
    if not checks:
        checks.append(Check("environment", "ok", "no CLAUDE_MEM_* or ANTHROPIC_* variables set"))
    return checks
