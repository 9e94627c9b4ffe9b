"""The user configuration file: registered team repositories and personal defaults.

Reading it sits on the path of `list` and `use`, so a read checks the structure in plain Python
and calls on the JSON Schema (and jsonschema's import) only to explain a file that fails that
check. Every write is validated against the schema in full before it replaces the file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cmem_profiles.errors import CmemProfileError, ConfigInvalid
from cmem_profiles.paths import config_file
from cmem_profiles.problems import Problem

if TYPE_CHECKING:
    from cmem_profiles.document import Document

SCHEMA_FILE = "config.schema.json"
REPO_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
# scheme://user:password@host: the password part, which must never be stored or shown.
URL_PASSWORD = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://[^/@:]*):[^/@]*@")
HEADER = (
    "# cmem-profile user configuration (schema: schemas/config.schema.json).\n"
    "# 'cmem-profile repo add' and 'repo rm' rewrite this file; comments are not kept.\n"
)


@dataclass(frozen=True)
class RegisteredRepo:
    """A team repository whose profiles/ joins the search path."""

    name: str
    path_text: str  # as written in the file (it may start with ~)
    url: str | None = None

    @property
    def path(self) -> Path:
        return Path(self.path_text).expanduser()

    @property
    def profiles_dir(self) -> Path:
        return self.path / "profiles"


@dataclass(frozen=True)
class UserConfig:
    """The file's content: repositories in search order, and the defaults."""

    repos: tuple[RegisteredRepo, ...] = ()
    import_dir: str | None = None

    @property
    def import_path(self) -> Path | None:
        """Where `import` writes a new profile by default, when the user chose a place."""
        return Path(self.import_dir).expanduser() if self.import_dir else None

    def find(self, name: str) -> RegisteredRepo | None:
        return next((r for r in self.repos if r.name == name), None)

    def with_repo(self, repo: RegisteredRepo) -> UserConfig:
        return replace(self, repos=(*self.repos, repo))

    def without_repo(self, name: str) -> UserConfig:
        return replace(self, repos=tuple(r for r in self.repos if r.name != name))


def without_password(url: str) -> str:
    return URL_PASSWORD.sub(r"\1@", url)


def load_config(path: Path | None = None) -> UserConfig:
    """The configuration (empty when there is no file); ConfigInvalid names file and line."""
    path = path or config_file()
    doc = _load(path)
    if doc is None:
        return UserConfig()
    if doc.problems:
        raise ConfigInvalid(sorted(doc.problems))
    if not _well_formed(doc.data):
        problems = _all_problems(doc) or [
            Problem(doc.file, 1, 1, "$", "not a cmem-profile configuration")
        ]
        raise ConfigInvalid(problems)
    return _build(doc.data)


def check_config(path: Path | None = None) -> list[Problem]:
    """Every problem of the configuration file, checked against the schema in full."""
    try:
        doc = _load(path or config_file())
    except ConfigInvalid as err:
        return err.problems
    return [] if doc is None else _all_problems(doc)


def _all_problems(doc: Document) -> list[Problem]:
    from cmem_profiles.schema import validate_document  # deferred: jsonschema costs ~150 ms

    if doc.problems or doc.data is None:  # an empty file is an empty configuration
        return sorted(doc.problems)
    return validate_document(doc, SCHEMA_FILE)


def save_config(config: UserConfig, path: Path | None = None) -> None:
    """Validate the configuration against the schema, then replace the file atomically (0600)."""
    import yaml

    from cmem_profiles.targets import write_atomic
    from cmem_profiles.yamldoc import load_document

    path = path or config_file()
    data = _data(config)
    text = HEADER + (yaml.safe_dump(data, sort_keys=False, allow_unicode=True) if data else "")
    doc = load_document(text, str(path), empty=None)
    problems = _all_problems(doc)
    if problems:
        raise ConfigInvalid(problems)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise CmemProfileError(f"cannot create {path.parent}: {err.strerror}") from None
    write_atomic(path, text.encode(), 0o600)


def repos_by_profiles_dir() -> dict[str, str]:
    """Each registered repo's profiles directory (real path) and the repo's name.

    Lenient: it only labels what the search path found, so a broken file labels nothing.
    """
    try:
        config = load_config()
    except CmemProfileError:
        return {}
    return {os.path.realpath(r.profiles_dir): r.name for r in config.repos}


def _load(path: Path) -> Document | None:
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError as err:
        problem = Problem(str(path), 1, 1, "$", f"not UTF-8 text (byte {err.start})")
        raise ConfigInvalid([problem]) from None
    except OSError as err:
        raise CmemProfileError(
            f"cannot read {path}: {err.strerror}", hint="check its owner and permissions"
        ) from None
    from cmem_profiles.yamldoc import load_document  # deferred: no file, no YAML

    return load_document(text, str(path), empty=None)


def _is_absolute(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("/", "~"))


def _well_formed(data: object) -> bool:
    """The schema's rules, checked without jsonschema; True exactly when the schema accepts."""
    if data is None:
        return True
    if not isinstance(data, dict) or not set(data) <= {"repos", "defaults"}:
        return False
    repos = data.get("repos", {})
    defaults = data.get("defaults", {})
    return (
        isinstance(repos, dict)
        and all(_repo_well_formed(name, repo) for name, repo in repos.items())
        and isinstance(defaults, dict)
        and set(defaults) <= {"import_dir"}
        and all(_is_absolute(value) for value in defaults.values())
    )


def _repo_well_formed(name: str, repo: object) -> bool:
    if not REPO_NAME.match(name) or not isinstance(repo, dict):
        return False
    url = repo.get("url", "-")
    return (
        set(repo) <= {"path", "url"}
        and _is_absolute(repo.get("path"))
        and isinstance(url, str)
        and bool(url)
        and not URL_PASSWORD.match(url)
    )


def _build(data: dict[str, Any] | None) -> UserConfig:
    data = data or {}
    repos = tuple(
        RegisteredRepo(name, raw["path"], raw.get("url"))
        for name, raw in data.get("repos", {}).items()
    )
    return UserConfig(repos=repos, import_dir=data.get("defaults", {}).get("import_dir"))


def _data(config: UserConfig) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if config.repos:
        data["repos"] = {
            r.name: {"path": r.path_text, **({"url": r.url} if r.url else {})} for r in config.repos
        }
    if config.import_dir:
        data["defaults"] = {"import_dir": config.import_dir}
    return data
