"""`secret set|get|list|rm`: store, inspect and remove the secrets profiles refer to."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from cmem_profiles import secrets
from cmem_profiles.errors import KeyringUnavailable, SecretError
from cmem_profiles.output import emit, emit_json, note, warn
from cmem_profiles.secretref import SecretRef, override_variable


class ProfileLike(Protocol):
    """What `secret list` needs of a profile."""

    @property
    def name(self) -> str: ...

    @property
    def file(self) -> Path: ...

    def secret_refs(self) -> list[tuple[str, SecretRef]]: ...


@dataclass
class SecretRow:
    """One referenced secret: where it comes from, whether it is there, who uses it."""

    ref: SecretRef
    status: str = ""
    where: str = ""
    references: list[tuple[str, str, str]] = field(default_factory=list)  # profile, file, field

    def as_record(self) -> dict[str, object]:
        return {
            "name": self.ref.short_name,
            "source": self.ref.source,
            "status": self.status,
            "where": self.where,
            "references": [
                {"profile": profile, "file": file, "field": path}
                for profile, file, path in self.references
            ],
        }


def run(args: argparse.Namespace) -> int:
    verb: str = args.secret_verb
    if verb == "set":
        if getattr(args, "secret_value", None) is not None:
            # Never echoed: it is a secret that just went into shell history and the process list.
            raise SecretError(
                "secret set takes no value on the command line; nothing stored",
                hint=f"run 'cmem-profile secret set {args.secret_name}' for a hidden prompt,"
                " or pipe the value in; then remove the value from your shell history",
            )
        return _set(args.secret_name)
    if verb == "get":
        return _get(args.secret_name, reveal=args.reveal)
    if verb == "rm":
        return _rm(args.secret_name)
    return _list(args)


def _set(name: str) -> int:
    secrets.check_name(name)
    secrets.keyring_name()  # fail on an unusable keyring before asking for the value
    if sys.stdin.isatty():
        value = secrets.prompt_value(name)
    else:
        value = sys.stdin.read()
        value = value.removesuffix("\n").removesuffix("\r") if value.endswith("\n") else value
        if not value:
            raise SecretError(
                f"nothing on stdin for {name}; nothing stored",
                hint=f'pipe the value in: printf %s "$VALUE" | cmem-profile secret set {name}',
            )
    where = secrets.store(name, value)
    emit(f"stored {name} in the keyring ({where})")
    variable = override_variable(name)
    if os.environ.get(variable):
        warn(f"{variable} is set and overrides the stored value")
    return 0


def _get(name: str, *, reveal: bool) -> int:
    value, where = secrets.lookup(name)
    if reveal:
        if value is None:
            raise SecretError(
                f"no secret {name!r} in the keyring ({where})",
                hint=f"store it with: cmem-profile secret set {name}",
            )
        emit(value)
        return 0
    if value is None:
        emit(f"{name}: not stored (keyring: {where})")
        note(f"store it with: cmem-profile secret set {name}")
        return 1
    if where == override_variable(name):
        emit(f"{name}: set by {where} (overrides the keyring)")
    else:
        emit(f"{name}: stored in the keyring ({where})")
    return 0


def _rm(name: str) -> int:
    where = secrets.delete(name)
    emit(f"removed {name} from the keyring ({where})")
    return 0


def _list(args: argparse.Namespace) -> int:
    from cmem_profiles.profiles import load_catalog

    catalog = load_catalog(args.profiles_dir)
    found = catalog.profiles
    # Accept a mapping of name -> Profile as well as a plain list.
    profiles: Iterable[ProfileLike] = found.values() if isinstance(found, Mapping) else found
    broken = len({p.file for p in catalog.problems if p.severity == "error"})
    if broken:
        files = "1 profile file" if broken == 1 else f"{broken} profile files"
        verb = "was" if broken == 1 else "were"
        warn(f"{files} could not be loaded and {verb} left out; run 'cmem-profile validate'")
    rows = secret_rows(profiles)
    unavailable = fill_status(rows)
    if args.json:
        emit_json({"secrets": [row.as_record() for row in rows]})
    elif not rows:
        emit("no profile references a secret")
    else:
        for line in render_rows(rows):
            emit(line)
    if unavailable is not None:
        warn(unavailable.message)
        if unavailable.hint:
            note(f"hint: {unavailable.hint}")
    return 0


def secret_rows(profiles: Iterable[ProfileLike]) -> list[SecretRow]:
    """One row per distinct reference, with every profile and field that uses it."""
    rows: dict[SecretRef, SecretRow] = {}
    for profile in profiles:
        for path, ref in profile.secret_refs():
            row = rows.setdefault(ref, SecretRow(ref))
            row.references.append((profile.name, str(profile.file), path))
    # Keyring secrets first: those are the ones a person stores and removes.
    order = {"keyring": 0, "env": 1, "command": 2}
    return sorted(
        rows.values(), key=lambda row: (order[row.ref.source], row.ref.label(), row.ref.argv)
    )


def fill_status(rows: list[SecretRow]) -> KeyringUnavailable | None:
    """Set each row's status and where; return the keyring's error if it could not be asked."""
    unavailable: KeyringUnavailable | None = None
    for row in rows:
        ref = row.ref
        if ref.source == "env":
            row.status = "env var set" if os.environ.get(ref.name) else "env var unset"
            row.where = ref.name
        elif ref.source == "command":
            row.status, row.where = "command: not run", shlex.join(ref.argv)
        elif unavailable is not None and not os.environ.get(override_variable(ref.name)):
            row.status, row.where = "unknown", "keyring unavailable"
        else:
            try:
                value, row.where = secrets.lookup(ref.name)
            except KeyringUnavailable as err:
                unavailable = err
                row.status, row.where = "unknown", "keyring unavailable"
                continue
            if row.where == override_variable(ref.name):
                row.status = "override set"
            else:
                row.status = "stored" if value is not None else "missing"
    return unavailable


def render_rows(rows: list[SecretRow]) -> list[str]:
    """A table: name, source, status, where, and the profiles (fields) that use each secret."""
    table = [("NAME", "SOURCE", "STATUS", "WHERE", "USED BY")]
    for row in rows:
        used_by = ", ".join(f"{profile} ({path})" for profile, _, path in row.references)
        table.append((row.ref.short_name, row.ref.source, row.status, row.where, used_by))
    widths = [max(len(cells[i]) for cells in table) for i in range(4)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(cells[:4], widths, strict=True))
        + "  "
        + cells[4]
        for cells in table
    ]
