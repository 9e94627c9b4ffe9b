"""Find profile files along the search path, load and validate them, and build Profiles."""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from cmem_profiles.errors import ProfileInvalid, ProfileNotFound
from cmem_profiles.paths import profile_search_path
from cmem_profiles.problems import Problem
from cmem_profiles.secretref import SecretRef, secret_ref_from

if TYPE_CHECKING:
    from cmem_profiles.yamldoc import Document

PROFILE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
SUFFIX = ".yaml"
DEFAULT_HOSTS = {
    "claude": "api.anthropic.com",
    "gemini": "generativelanguage.googleapis.com",
    "openrouter": "openrouter.ai",
}


@dataclass(frozen=True)
class Profile:
    """A validated profile: what the user declared, with secrets still as references."""

    name: str
    file: Path
    description: str
    provider: str
    base_url: str | None = None
    model: str | None = None
    credentials: Mapping[str, SecretRef] = field(default_factory=dict)
    settings: Mapping[str, str] = field(default_factory=dict)

    def secret_refs(self) -> list[tuple[str, SecretRef]]:
        """Each secret reference with the field that holds it, e.g. ('credentials.api_key', ref)."""
        return [(f"credentials.{key}", ref) for key, ref in self.credentials.items()]

    @property
    def endpoint_host(self) -> str:
        if self.base_url:
            return urlsplit(self.base_url).netloc
        return DEFAULT_HOSTS[self.provider]


@dataclass(frozen=True)
class Entry:
    """A profile file found in the search path; shadowed when an earlier directory has the name."""

    name: str
    file: Path
    shadowed_by: Path | None = None


@dataclass
class Catalog:
    """Every profile file in the search path, the valid profiles, and all problems found."""

    dirs: list[Path]
    entries: list[Entry]
    profiles: dict[str, Profile] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def active_entries(self) -> list[Entry]:
        return [e for e in self.entries if e.shadowed_by is None]

    def get(self, name: str) -> Profile:
        if name in self.profiles:
            return self.profiles[name]
        entry = next((e for e in self.active_entries() if e.name == name), None)
        if entry is None:
            raise not_found(name, [e.name for e in self.active_entries()], self.dirs)
        raise ProfileInvalid([p for p in self.problems if p.file == display_path(entry.file)])


def display_path(path: Path) -> str:
    """A path as the user would type it: relative to the current directory when inside it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return rel if not rel.startswith("..") else str(path)


def not_found(name: str, known: list[str], dirs: list[Path]) -> ProfileNotFound:
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        hint = f"did you mean {close[0]!r}?"
    elif known:
        hint = f"known profiles: {', '.join(sorted(known))}"
    else:
        hint = (
            f"no profiles in {', '.join(display_path(d) for d in dirs)}; see 'cmem-profile --help'"
        )
    return ProfileNotFound(f"no profile {name!r}", hint=hint)


def discover(dirs: list[Path]) -> tuple[list[Entry], list[Path], list[Problem]]:
    """Profile files in search order, files whose names are not profile names, and dir errors.

    A name seen in an earlier directory shadows the same name in later ones.
    """
    entries: list[Entry] = []
    misnamed: list[Path] = []
    problems: list[Problem] = []
    first: dict[str, Path] = {}
    for directory in dirs:
        try:
            files = sorted(p for p in directory.iterdir() if p.name.endswith(SUFFIX))
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as err:
            problems.append(
                Problem(
                    display_path(directory), 1, 1, "$", f"cannot read directory: {err.strerror}"
                )
            )
            continue
        for path in files:
            name = path.name[: -len(SUFFIX)]
            if not PROFILE_NAME.match(name):
                misnamed.append(path)
                continue
            entries.append(Entry(name, path, shadowed_by=first.get(name)))
            first.setdefault(name, path)
    return entries, misnamed, problems


def _bad_name(path: Path, name: str) -> Problem:
    return Problem(
        display_path(path),
        1,
        1,
        "$",
        f"{name!r} is not a profile name: rename the file to lowercase letters, digits and '-'",
    )


def check_file(path: Path) -> tuple[Profile | None, list[Problem]]:
    """Load, validate and check one file: the profile if it has no errors, and every problem."""
    from cmem_profiles import cache
    from cmem_profiles.yamldoc import load_document

    shown = display_path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return None, [Problem(shown, 1, 1, "$", "no such file")]
    except UnicodeDecodeError as err:
        return None, [
            Problem(shown, 1, 1, "$", f"not UTF-8 text (byte {err.start}): save it as UTF-8")
        ]
    except OSError as err:
        return None, [Problem(shown, 1, 1, "$", f"cannot read: {err.strerror}")]
    doc = load_document(text, shown)
    if doc.problems:
        return None, sorted(doc.problems)
    # The validation cache: bytes judged clean before skip the schema and the rules.
    if cache.known_clean(text):
        problems = []
    else:
        problems = _judge(doc)
        if not problems:
            cache.remember_clean(text)
    name = path.name[: -len(SUFFIX)] if path.name.endswith(SUFFIX) else path.stem
    if not PROFILE_NAME.match(name):
        problems.append(_bad_name(path, name))
    problems.sort()
    if any(p.severity == "error" for p in problems):
        return None, problems
    return _build(name, path, doc.data), problems


def _judge(doc: Document) -> list[Problem]:
    """Every problem the schema, the plaintext scan and claude-mem's rules find in a document."""
    from cmem_profiles.rules import check_rules, scan_plaintext
    from cmem_profiles.schema import validate_document

    problems = validate_document(doc)
    # A value the schema already refused gets no second message from the scan or the rules.
    reported = {(p.line, p.column) for p in problems}
    problems += [
        p for p in [*scan_plaintext(doc), *check_rules(doc)] if (p.line, p.column) not in reported
    ]
    return problems


def _build(name: str, path: Path, data: dict[str, object]) -> Profile:
    credentials = {}
    for key, raw in dict(data.get("credentials") or {}).items():  # type: ignore[call-overload]
        ref = secret_ref_from(raw)
        assert ref is not None, "schema guarantees a secret reference"
        credentials[key] = ref
    return Profile(
        name=name,
        file=path,
        description=str(data["description"]),
        provider=str(data["provider"]),
        base_url=data.get("base_url"),  # type: ignore[arg-type]
        model=data.get("model"),  # type: ignore[arg-type]
        credentials=credentials,
        settings=dict(data.get("settings") or {}),  # type: ignore[call-overload]
    )


def load_catalog(profiles_dir: list[str] | None = None) -> Catalog:
    """Discover and validate every unshadowed profile in the search path."""
    dirs = profile_search_path(profiles_dir)
    entries, misnamed, problems = discover(dirs)
    problems += [_bad_name(path, path.name[: -len(SUFFIX)]) for path in misnamed]
    catalog = Catalog(dirs=dirs, entries=entries, problems=problems)
    for entry in catalog.active_entries():
        profile, found = check_file(entry.file)
        catalog.problems += found
        if profile is not None:
            catalog.profiles[entry.name] = profile
    return catalog


def find_profile(name: str, profiles_dir: list[str] | None = None) -> Profile:
    """Load just the named profile (the first in the search path); raise if missing or invalid."""
    dirs = profile_search_path(profiles_dir)
    if PROFILE_NAME.match(name):
        for directory in dirs:
            path = directory / f"{name}{SUFFIX}"
            if path.is_file():
                profile, problems = check_file(path)
                if profile is None:
                    raise ProfileInvalid([p for p in problems if p.severity == "error"])
                return profile
    entries, _, _ = discover(dirs)
    raise not_found(name, sorted({e.name for e in entries}), dirs)
