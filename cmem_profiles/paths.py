"""Where things live: claude-mem's data dir and files, our state, and the profile search path."""

from __future__ import annotations

import os
from pathlib import Path


def _expand(raw: str) -> Path:
    # claude-mem expands a leading ~ in CLAUDE_MEM_DATA_DIR; so do we.
    return Path(raw).expanduser()


class DataPaths:
    """claude-mem's data dir, the two files cmem-profile writes there, and our state dir."""

    # A plain class, not a dataclass: `current` runs in shell prompts, and importing
    # dataclasses alone would cost it a quarter of the interpreter's own start-up.
    __slots__ = ("data_dir", "env_file", "settings_file")

    def __init__(self, data_dir: Path, env_file: Path, settings_file: Path) -> None:
        self.data_dir = data_dir
        self.env_file = env_file
        self.settings_file = settings_file

    @property
    def state_dir(self) -> Path:
        return self.data_dir / ".cmem-profile"

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "worker.pid"

    @property
    def trust_file(self) -> Path:
        """Which hosts each secret may go to (trust.py)."""
        return self.state_dir / "trust.json"


def data_paths(data_dir_option: str | None = None) -> DataPaths:
    """Locate claude-mem's files exactly as claude-mem does, with --data-dir winning."""
    raw = data_dir_option or os.environ.get("CLAUDE_MEM_DATA_DIR") or "~/.claude-mem"
    data_dir = _expand(raw)
    env_override = os.environ.get("CLAUDE_MEM_ENV_FILE")
    env_file = _expand(env_override) if env_override else data_dir / ".env"
    return DataPaths(data_dir=data_dir, env_file=env_file, settings_file=data_dir / "settings.json")


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME")
    return (Path(base) if base else Path.home() / ".config") / "cmem-profile"


def config_file() -> Path:
    """The user configuration: registered team repositories and defaults."""
    return config_dir() / "config.yaml"


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "cmem-profile"


def user_profiles_dir() -> Path:
    return config_dir() / "profiles"


def clones_dir() -> Path:
    """Where `repo add URL` clones team repositories."""
    base = os.environ.get("XDG_DATA_HOME")
    return (Path(base) if base else Path.home() / ".local" / "share") / "cmem-profile" / "repos"


def profile_search_path(profiles_dirs: list[str] | None = None) -> list[Path]:
    """The directories searched for profiles, first match wins.

    --profiles-dir (repeatable) or CMEM_PROFILES_PATH replace the defaults; otherwise
    ./profiles when it exists, then the user's own directory, then each registered repo's
    profiles/ in the order they were added: what a person keeps for themselves shadows the team's.
    """
    if profiles_dirs:
        return [_expand(d) for d in profiles_dirs]
    from_env = os.environ.get("CMEM_PROFILES_PATH")
    if from_env:
        return [_expand(d) for d in from_env.split(os.pathsep) if d]
    dirs = []
    local = Path("profiles")
    if local.is_dir():
        dirs.append(local)
    dirs.append(user_profiles_dir())
    from cmem_profiles.userconfig import load_config

    dirs += [repo.profiles_dir for repo in load_config().repos]
    return _distinct(dirs)


def _distinct(dirs: list[Path]) -> list[Path]:
    # Inside a registered repo's clone, ./profiles is that repo's directory: list it once.
    seen: set[str] = set()
    kept = []
    for directory in dirs:
        real = os.path.realpath(directory)
        if real not in seen:
            seen.add(real)
            kept.append(directory)
    return kept
