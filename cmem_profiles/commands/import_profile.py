"""`import`: turn the live claude-mem files, or Claude Code's env block, into a profile.

From claude-mem's files, the import is verified (a switch to the new profile would change
nothing) and then takes the keys over as `use` would; a failed verification undoes it all.
"""

from __future__ import annotations

import argparse
import datetime
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cmem_profiles import output
from cmem_profiles.apply import Change, Outcome, switch
from cmem_profiles.claude_code import claude_code_env, from_claude_code
from cmem_profiles.commands.use import describe
from cmem_profiles.errors import CmemProfileError
from cmem_profiles.filepair import LiveFiles
from cmem_profiles.importer import (
    ImportedProfile,
    check_profile_name,
    from_claude_mem,
    neutral_change,
)
from cmem_profiles.layers import SUFFIX
from cmem_profiles.paths import DataPaths, data_paths, profile_search_path
from cmem_profiles.profiles import Profile, check_file, discover, display_path
from cmem_profiles.render import SETTINGS, render_plan
from cmem_profiles.secretref import SecretRef, override_variable
from cmem_profiles.state import load_state


@dataclass
class Written:
    """What an import has put in place so far, so a failure can take it back."""

    profile: Path | None = None
    secrets: dict[str, str | None] = field(default_factory=dict)  # name -> value it replaced


def run(args: argparse.Namespace) -> int:
    name = args.name
    check_profile_name(name)
    dirs = profile_search_path(args.profiles_dir)
    target = Path(args.to).expanduser() if args.to else dirs[0]
    path = target / f"{name}{SUFFIX}"
    _refuse_existing(name, path, dirs)
    findable = _in_search_path(target, dirs)
    today = datetime.date.today().isoformat()
    paths, next_step = None, None
    if args.from_claude_code or args.project is not None:
        imported = _from_claude_code(name, args.project, today)
        where = "" if findable else f" --profiles-dir {display_path(target)}"
        next_step = f"switch to it with: cmem-profile{where} use {name}"
    else:
        if not findable:
            raise CmemProfileError(
                f"{display_path(target)} is not in the profile search path, so "
                f"'cmem-profile use {name}' would not find the profile",
                hint=f"put --profiles-dir {display_path(target)} before 'import', "
                "or leave out --to",
            )
        paths = data_paths(args.data_dir)
        imported = _from_claude_mem(name, paths, today)
    # A team repo keeps the schema beside profiles/: point editors at it, as the examples do.
    schema = target.absolute().parent / "schemas" / "profile.schema.json"
    text = imported.yaml("../schemas/profile.schema.json" if schema.is_file() else None)
    profile, warnings = _validate(text, name)
    _check_secret_names(imported, force=args.force)
    result = Result(
        path, imported, text, imported.warnings + warnings, args.dry_run, next_step=next_step
    )
    if paths is not None:
        result.changes = verify(paths, profile, imported.secret_values())
    if not args.dry_run:
        _write_all(result, args.profiles_dir, paths)
    _report(result, args.json)
    return 0


def _write_all(result: Result, profiles_dir: list[str] | None, paths: DataPaths | None) -> None:
    """Store the secrets, write the profile and take over; on any failure, undo all of it."""
    written = Written()
    name = result.imported.name
    try:
        _store_secrets(result.imported, written)
        _write_profile(result.path, result.text, written)
        if paths is not None:
            result.outcome = _take_over(name, profiles_dir, paths)
            result.changes = result.outcome.changes
    except CmemProfileError as err:
        undone = _undo(written)
        raise CmemProfileError(
            f"{err.message}\nimport of {name} undone: {undone}", err.hint
        ) from None
    except BaseException:
        _undo(written)
        raise


def _refuse_existing(name: str, path: Path, dirs: list[Path]) -> None:
    entries, _, _ = discover(dirs)
    existing = [e.file for e in entries if e.name == name]
    if path.exists() and path not in existing:
        existing.insert(0, path)
    if existing:
        raise CmemProfileError(
            f"a profile {name!r} already exists: {display_path(existing[0])}; "
            "import never overwrites a profile",
            hint="choose another name, or move that file away first",
        )


def _in_search_path(target: Path, dirs: list[Path]) -> bool:
    return target.resolve() in {d.resolve() for d in dirs}


def _tilde(path: Path) -> str:
    """A path as people write it: ~/... inside the home directory."""
    absolute = path.absolute()
    try:
        return str(Path("~") / absolute.relative_to(Path.home()))
    except ValueError:
        return str(absolute)


def _from_claude_mem(name: str, paths: DataPaths, today: str) -> ImportedProfile:
    live = LiveFiles(paths)
    if all(contents is None for contents in live.contents.values()):
        raise CmemProfileError(
            f"nothing to import: neither {paths.env_file} nor {paths.settings_file} exists",
            hint="point at claude-mem's data directory with --data-dir DIR or CLAUDE_MEM_DATA_DIR",
        )
    owned = load_state(paths).owned.get(SETTINGS, {})
    return from_claude_mem(
        name, live, owned_settings=list(owned), origin=_tilde(paths.data_dir), today=today
    )


def _from_claude_code(name: str, project: str | None, today: str) -> ImportedProfile:
    if project is not None:
        folder = Path(project).expanduser() / ".claude"
        files = [folder / "settings.json", folder / "settings.local.json"]
    else:
        config = os.environ.get("CLAUDE_CONFIG_DIR")
        folder = Path(config).expanduser() if config else Path.home() / ".claude"
        files = [folder / "settings.json"]
    sources = []
    for file in files:
        try:
            sources.append((display_path(file), file.read_bytes()))
        except FileNotFoundError:
            continue
        except OSError as err:
            raise CmemProfileError(f"cannot read {file}: {err.strerror or err}") from None
    if not sources:
        raise CmemProfileError(
            f"no Claude Code settings: {' or '.join(display_path(f) for f in files)} not found",
            hint="--project DIR reads a project's .claude/ settings; CLAUDE_CONFIG_DIR names "
            "Claude Code's own directory when it is not ~/.claude",
        )
    origin = " and ".join(_tilde(Path(file)) for file, _ in sources)
    return from_claude_code(
        name, claude_code_env(sources), origin=f"Claude Code's {origin}", today=today
    )


def _validate(text: str, name: str) -> tuple[Profile, list[str]]:
    """The profile exactly as `use` will load it, with the validator's warnings."""
    with tempfile.TemporaryDirectory(prefix="cmem-profile-import-") as scratch:
        draft = Path(scratch) / f"{name}{SUFFIX}"
        draft.write_text(text, encoding="utf-8")
        profile, problems = check_file(draft)

    def shown(severity: str) -> list[str]:
        return [
            f"{name}{SUFFIX}:{p.line}:{p.column}: {p.path}: {p.message}"
            for p in problems
            if p.severity == severity
        ]

    if profile is None:
        errors = shown("error")
        raise CmemProfileError(
            "the imported profile would not be valid:\n  " + "\n  ".join(errors),
            hint="fix the value in claude-mem's files (or Claude Code's settings), then import "
            "again; --dry-run shows the profile with its line numbers",
        )
    return profile, shown("warning")


def _check_secret_names(imported: ImportedProfile, *, force: bool) -> None:
    if not imported.credentials:
        return
    from cmem_profiles.secrets import lookup

    problems = []
    for secret in imported.credentials.values():
        value, where = lookup(secret.name)
        if where == override_variable(secret.name):
            problems.append(
                f"{where} is set in the environment and would be used instead of the "
                f"imported secret {secret.name}: unset it first"
            )
        elif value is not None and not force:
            problems.append(f"a secret {secret.name!r} is already in the keyring ({where})")
    if problems:
        raise CmemProfileError(
            "nothing imported:\n  " + "\n  ".join(problems),
            hint="--force replaces a stored secret (a profile file is never replaced); "
            "or choose another profile name",
        )


def verify(paths: DataPaths, profile: Profile, values: dict[SecretRef, str]) -> list[Change]:
    """What switching to profile would change, as `diff` computes it; only neutral changes pass."""
    outcome = switch(paths, render_plan(profile).bind(values), dry_run=True, force=True)
    wrong = [c for c in outcome.changes if not neutral_change(c.file, c.key, c.old, c.new)]
    if wrong:
        keys = "\n  ".join(f"{c.file}: {describe(c)}" for c in wrong)
        raise CmemProfileError(
            f"switching to {profile.name} would still change:\n  {keys}",
            hint="these keys cannot be expressed by a profile as they are; fix them in "
            "claude-mem's files, or switch with 'cmem-profile use' and edit the profile",
        )
    return outcome.changes


def _store_secrets(imported: ImportedProfile, written: Written) -> None:
    from cmem_profiles.secrets import lookup, store

    for secret in imported.credentials.values():
        written.secrets[secret.name] = lookup(secret.name)[0]
        store(secret.name, secret.value)


def _write_profile(path: Path, text: str, written: Written) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as out:
            written.profile = path
            out.write(text)
    except FileExistsError:
        raise CmemProfileError(f"{display_path(path)} appeared meanwhile; not replaced") from None
    except OSError as err:
        raise CmemProfileError(f"cannot write {display_path(path)}: {err.strerror}") from None


def _take_over(name: str, profiles_dir: list[str] | None, paths: DataPaths) -> Outcome:
    """Verify through the profile as `diff NAME` loads it, then switch as `use NAME` would."""
    from cmem_profiles.profiles import find_profile
    from cmem_profiles.secrets import resolve_all

    profile = find_profile(name, profiles_dir)
    plan = render_plan(profile)
    values = resolve_all(plan.secret_refs(), interactive=False)
    verify(paths, profile, values)
    # force: a hand edit of a key cmem-profile owned is now this profile's value, and the
    # key keeps its baseline, the value from before cmem-profile first took it over.
    return switch(paths, plan.bind(values), force=True)


def _undo(written: Written) -> str:
    """Take back what the import wrote; say what was undone and what could not be."""
    from cmem_profiles.secrets import delete, store

    done, failed = [], []
    if written.profile is not None:
        try:
            written.profile.unlink()
            done.append(f"removed {display_path(written.profile)}")
        except OSError as err:
            failed.append(f"could not remove {display_path(written.profile)}: {err.strerror}")
    for name, previous in written.secrets.items():
        try:
            if previous is None:
                delete(name)
                done.append(f"removed secret {name}")
            else:
                store(name, previous)
                done.append(f"restored secret {name}")
        except CmemProfileError as err:
            failed.append(f"could not take back secret {name}: {err.message}")
    return "; ".join([*done, *failed]) or "nothing was written"


def _report(result: Result, as_json: bool) -> None:
    if as_json:
        output.emit_json(result.record())
        return
    if result.dry_run:
        output.emit(result.text.rstrip("\n"))
    for warning in result.warnings:
        output.warn(warning)
    say = output.note if result.dry_run else output.emit
    would = "would " if result.dry_run else ""
    say(f"{'would write' if would else 'wrote'} {display_path(result.path)}")
    for s in result.imported.credentials.values():
        say(f"{'would store' if would else 'stored'} in the keyring: {s.name} (from {s.origin})")
    if result.next_step:
        if not result.dry_run:
            say(result.next_step)
        return
    outcome = result.outcome
    if outcome is None:
        say(f"would then make {result.imported.name} the active profile")
    else:
        for drift in outcome.drift:
            output.note(
                f"{drift.file}: {drift.key} was edited by hand; the edit is now the profile's"
            )
        generation = f" (generation {outcome.generation})" if outcome.generation is not None else ""
        say(f"verified: 'cmem-profile diff {result.imported.name}' changes nothing")
        say(f"{result.imported.name} is now the active profile{generation}")
    if result.changes:
        say(
            f"claude-mem behaves the same; these keys {'would be' if would else 'were'} "
            "brought in line:"
        )
        for change in result.changes:
            say(f"  {change.file}: {describe(change)}")


@dataclass
class Result:
    """An import, done or previewed: what it writes, stores and changes."""

    path: Path
    imported: ImportedProfile
    text: str
    warnings: list[str]
    dry_run: bool
    changes: list[Change] = field(default_factory=list)
    outcome: Outcome | None = None
    next_step: str | None = None  # how to switch to a profile that was not made active

    def record(self) -> dict[str, object]:
        return {
            "profile": self.imported.name,
            "file": display_path(self.path),
            "dry_run": self.dry_run,
            "secrets": [
                {"name": s.name, "from": s.origin} for s in self.imported.credentials.values()
            ],
            "warnings": self.warnings,
            "active": self.outcome is not None,
            "generation": self.outcome.generation if self.outcome else None,
            "changes": [{**asdict(c), "op": c.op} for c in self.changes],
            "yaml": self.text,
        }
