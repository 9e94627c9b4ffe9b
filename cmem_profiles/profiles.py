"""Find profile files along the search path, load and validate them, and build Profiles."""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cmem_profiles.document import Document, JsonPath, Mark
from cmem_profiles.errors import ProfileInvalid, ProfileNotFound
from cmem_profiles.layers import OVERLAY_SUFFIX, SUFFIX, Layer, Resolved, Resolver, is_overlay
from cmem_profiles.paths import profile_search_path
from cmem_profiles.problems import Problem
from cmem_profiles.secretref import SecretRef, secret_ref_from

PROFILE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
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
    abstract: bool = False
    extends: str | None = None
    # The files merged into this profile, base first, and where each value was set.
    layers: tuple[Layer, ...] = ()
    marks: Mapping[JsonPath, Mark] = field(default_factory=dict)

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

    A name seen in an earlier directory shadows the same name in later ones. Overlays
    (`<name>.local.yaml`) are not profiles: they come with the profile beside them.
    """
    entries: list[Entry] = []
    misnamed: list[Path] = []
    problems: list[Problem] = []
    first: dict[str, Path] = {}
    for directory in dirs:
        try:
            files = sorted(
                p for p in directory.iterdir() if p.name.endswith(SUFFIX) and not is_overlay(p)
            )
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


def orphan_overlays(dirs: list[Path]) -> list[Path]:
    """Overlays with no profile beside them: probably a renamed profile's leftover."""
    found = []
    for directory in dirs:
        try:
            overlays = sorted(p for p in directory.iterdir() if is_overlay(p))
        except OSError:
            continue
        found += [p for p in overlays if not profile_of_overlay(p).is_file()]
    return found


def profile_of_overlay(path: Path) -> Path:
    return path.with_name(path.name[: -len(OVERLAY_SUFFIX)] + SUFFIX)


def _bad_name(path: Path, name: str) -> Problem:
    return Problem(
        display_path(path),
        1,
        1,
        "$",
        f"{name!r} is not a profile name: rename the file to lowercase letters, digits and '-'",
    )


def read_document(path: Path) -> Document:
    """One file parsed with marks; unreadable files become a document with a problem."""
    from cmem_profiles.yamldoc import load_document

    shown = display_path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        message = "no such file"
    except UnicodeDecodeError as err:
        message = f"not UTF-8 text (byte {err.start}): save it as UTF-8"
    except OSError as err:
        message = f"cannot read: {err.strerror}"
    else:
        return load_document(text, shown)
    return Document(file=shown, data=None, problems=[Problem(shown, 1, 1, "$", message)])


class Loader:
    """Loads profiles along one search path, each file read and resolved at most once."""

    def __init__(self, dirs: list[Path]) -> None:
        self.dirs = dirs
        self.resolver = Resolver(read_document, self._locate, display_path)

    def _locate(self, name: str, near: Path) -> Path | None:
        if not PROFILE_NAME.match(name):
            return None
        for directory in [near.parent, *self.dirs]:
            candidate = directory / f"{name}{SUFFIX}"
            # A profile may extend the one it shadows: `corporate` extending the team's.
            if candidate.is_file() and not candidate.samefile(near):
                return candidate
        return None

    def check(self, path: Path) -> tuple[Profile | None, list[Problem]]:
        """Load, merge, validate and check one profile: the profile if it has no errors."""
        if is_overlay(path):
            sibling = profile_of_overlay(path)
            if not sibling.is_file():
                return None, [
                    Problem(
                        display_path(path),
                        1,
                        1,
                        "$",
                        f"an overlay without its profile: {display_path(sibling)} does not exist",
                    )
                ]
            path = sibling
        resolved = self.resolver.resolve(path)
        problems = list(resolved.problems)
        if not resolved.broken:
            problems += _judge(resolved)
        name = path.name[: -len(SUFFIX)] if path.name.endswith(SUFFIX) else path.stem
        if not PROFILE_NAME.match(name):
            problems.append(_bad_name(path, name))
        problems = sorted(set(problems))
        if any(p.severity == "error" for p in problems):
            return None, problems
        return _build(name, path, resolved), problems


def _judge(resolved: Resolved) -> list[Problem]:
    """Every problem the schema, the scans and claude-mem's rules find in a merged profile.

    The validation cache: a chain of files whose bytes were judged clean before skips the
    schema and the rules (the same bytes in the same order merge to the same document).
    """
    from cmem_profiles import cache
    from cmem_profiles.rules import scan_comments

    texts = [source.text for source in resolved.sources]
    if cache.known_clean(*texts):
        return []
    problems = [p for source in resolved.sources for p in scan_comments(source)]
    problems += _check_document(resolved.doc)
    if not problems:
        cache.remember_clean(*texts)
    return problems


def _check_document(doc: Document) -> list[Problem]:
    from cmem_profiles.rules import check_required, check_rules, scan_plaintext
    from cmem_profiles.schema import validate_document

    problems = validate_document(doc)
    # A value the schema already refused gets no second message from the scan or the rules.
    reported = {(p.file, p.line, p.column) for p in problems}
    abstract = isinstance(doc.data, dict) and doc.data.get("abstract") is True
    found = scan_plaintext(doc)
    if not abstract:
        # An abstract base is checked through the profiles that extend it.
        found += check_required(doc) + check_rules(doc)
    return problems + [p for p in found if (p.file, p.line, p.column) not in reported]


def check_file(
    path: Path, profiles_dir: list[str] | None = None
) -> tuple[Profile | None, list[Problem]]:
    """Check one profile file (or overlay) with its bases found along the search path."""
    return Loader(profile_search_path(profiles_dir)).check(path)


def _build(name: str, path: Path, resolved: Resolved) -> Profile:
    data: dict[str, Any] = resolved.doc.data
    credentials = {}
    for key, raw in dict(data.get("credentials") or {}).items():
        ref = secret_ref_from(raw)
        assert ref is not None, "schema guarantees a secret reference"
        credentials[key] = ref
    return Profile(
        name=name,
        file=path,
        description=str(data.get("description", "")),
        provider=str(data.get("provider", "")),
        base_url=data.get("base_url"),
        model=data.get("model"),
        credentials=credentials,
        settings=dict(data.get("settings") or {}),
        abstract=data.get("abstract") is True,
        extends=data.get("extends"),
        layers=tuple(resolved.layers),
        marks=dict(resolved.doc.values),
    )


def load_catalog(profiles_dir: list[str] | None = None) -> Catalog:
    """Discover and validate every unshadowed profile in the search path."""
    dirs = profile_search_path(profiles_dir)
    entries, misnamed, problems = discover(dirs)
    problems += [_bad_name(path, path.name[: -len(SUFFIX)]) for path in misnamed]
    catalog = Catalog(dirs=dirs, entries=entries, problems=problems)
    loader = Loader(dirs)
    for entry in catalog.active_entries():
        profile, found = loader.check(entry.file)
        catalog.problems += found
        if profile is not None:
            catalog.profiles[entry.name] = profile
    catalog.problems = sorted(set(catalog.problems))
    return catalog


def find_profile(
    name: str, profiles_dir: list[str] | None = None, *, switchable: bool = True
) -> Profile:
    """Load just the named profile (the first in the search path); raise if missing or invalid.

    With switchable, an abstract profile is refused: it holds shared defaults, not a backend.
    """
    dirs = profile_search_path(profiles_dir)
    if PROFILE_NAME.match(name):
        for directory in dirs:
            path = directory / f"{name}{SUFFIX}"
            if path.is_file():
                profile, problems = Loader(dirs).check(path)
                if profile is None:
                    raise ProfileInvalid([p for p in problems if p.severity == "error"])
                if switchable and profile.abstract:
                    raise ProfileNotFound(
                        f"{name!r} is abstract: it holds shared defaults for other profiles",
                        hint="use a profile that extends it; 'cmem-profile list' shows them",
                    )
                return profile
    entries, _, _ = discover(dirs)
    raise not_found(name, sorted({e.name for e in entries}), dirs)
