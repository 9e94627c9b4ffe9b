"""What cmem-profile wrote last: the active profile, owned keys, baselines, generations.

The state never holds a secret. An owned key records a salted fingerprint of the value
written and, as its baseline, the number of the generation whose saved files hold the value
from before cmem-profile took the key over; generations are 0600 copies of both files in a
0700 directory, so a secret baseline lives only where the .env copies already are.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cmem_profiles import statefile
from cmem_profiles.errors import TargetError
from cmem_profiles.paths import DataPaths
from cmem_profiles.statefile import STATE_FILE

GENERATIONS = "generations"
KEEP_GENERATIONS = 20
FILES = (".env", "settings.json")


@dataclass
class OwnedKey:
    """A key cmem-profile set or cleared, and where its pre-takeover value is kept."""

    fp: str | None  # fingerprint of the value written; None when cmem-profile removed the key
    baseline: int
    value: str | None = None  # the value written, kept only when it is not a secret
    secret: str | None = None  # label of the secret reference the value came from


@dataclass
class Generation:
    """One numbered pair of files: as found, as a switch wrote them, or as a rollback restored."""

    number: int
    time: str
    kind: str  # found | external | use | rollback
    profile: str | None
    changes: list[dict[str, str]] = field(default_factory=list)


Owned = dict[str, dict[str, OwnedKey]]


@dataclass
class State:
    """The whole state file."""

    salt: str = field(default_factory=lambda: secrets.token_hex(16))
    active: str | None = None
    generation: int | None = None  # the generation the live files were last written as
    owned: Owned = field(default_factory=lambda: {f: {} for f in FILES})
    generations: list[Generation] = field(default_factory=list)
    # Written before the files are touched and cleared after: a switch or rollback that was
    # interrupted leaves it behind, and the next one undoes the half-written files.
    pending: dict[str, Any] | None = None

    def fingerprint(self, value: str) -> str:
        return hmac.new(self.salt.encode(), value.encode(), hashlib.sha256).hexdigest()[:32]

    @staticmethod
    def tag(value: str) -> str:
        """A 4-hex display tag: the same in a preview and a switch, too short to reveal anything."""
        return hashlib.sha256(value.encode()).hexdigest()[:4]

    def find(self, number: int) -> Generation | None:
        return next((g for g in self.generations if g.number == number), None)

    def next_number(self) -> int:
        # The state alone decides: a directory left by an interrupted write is reused, never
        # counted, so the files as first found are always generation 0.
        return max((g.number for g in self.generations), default=-1) + 1


def state_file(paths: DataPaths) -> Path:
    return paths.state_dir / STATE_FILE


def read_state(paths: DataPaths) -> dict[str, Any] | None:
    """The raw state, or None before the first switch (or when it is unreadable)."""
    return statefile.read_state(paths.state_dir)


def load_state(paths: DataPaths) -> State:
    raw = read_state(paths)
    if raw is None:
        if state_file(paths).exists():
            raise TargetError(
                f"{state_file(paths)}: unreadable state",
                hint="move it aside; cmem-profile then treats the live files as first found",
            )
        return State()
    try:
        return State(
            salt=raw["salt"],
            active=raw.get("active"),
            generation=raw.get("generation"),
            owned=_owned_from(raw.get("owned", {})),
            generations=[Generation(**g) for g in raw.get("generations", [])],
            pending=raw.get("pending"),
        )
    except (KeyError, TypeError) as err:
        raise TargetError(f"{state_file(paths)}: unexpected content ({err})") from None


def _owned_from(raw: dict[str, Any]) -> Owned:
    owned: Owned = {f: {} for f in FILES}
    for file, keys in raw.items():
        owned[file] = {k: OwnedKey(**v) for k, v in keys.items()}
    return owned


def owned_to_json(owned: Owned) -> dict[str, Any]:
    return {f: {k: asdict(v) for k, v in keys.items()} for f, keys in owned.items()}


def save_state(paths: DataPaths, state: State, point: str | None = None) -> None:
    """Write the state atomically; point names the write for the test fault hook."""
    from cmem_profiles.targets import write_atomic

    data = {
        "version": 1,
        "salt": state.salt,
        "active": state.active,
        "generation": state.generation,
        "owned": owned_to_json(state.owned),
        "generations": [asdict(g) for g in state.generations],
        "pending": state.pending,
    }
    write_atomic(state_file(paths), (json.dumps(data, indent=2) + "\n").encode(), 0o600, point)


def generation_dir(paths: DataPaths, number: int) -> Path:
    return paths.state_dir / GENERATIONS / str(number)


def save_generation(
    paths: DataPaths,
    number: int,
    contents: dict[str, bytes | None],
    owned: Owned,
    active: str | None,
) -> None:
    """Keep both files (0600, from birth) and the ownership that goes with them."""
    from cmem_profiles.targets import ensure_private_dir

    directory = generation_dir(paths, number)
    if directory.exists():  # left by a crash before the state recorded it
        shutil.rmtree(directory)
    ensure_private_dir(directory)
    exists = {name: data is not None for name, data in contents.items()}
    meta = {"active": active, "owned": owned_to_json(owned), "exists": exists}
    for name, data in contents.items():
        if data is not None:
            _write_private(directory / name, data)
    _write_private(directory / "meta.json", json.dumps(meta, indent=2).encode())


def _write_private(path: Path, data: bytes) -> None:
    """A new file, 0600 from birth whatever the umask; O_EXCL: never a planted name or link."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(path, flags, 0o600)
    try:
        os.fchmod(fd, 0o600)  # the umask could only have narrowed it; still empty here
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def load_generation(
    paths: DataPaths, number: int
) -> tuple[dict[str, bytes | None], Owned, str | None]:
    """A generation's files (None where the file did not exist), ownership and active profile.

    Its directory is made 0700 again if it was looser; a file another user owns or could have
    changed, or a symlink, is refused: a rollback writes these bytes into the live .env.
    """
    from cmem_profiles.fileio import read_private
    from cmem_profiles.targets import ensure_private_dir

    directory = generation_dir(paths, number)
    try:
        if directory.is_dir():
            ensure_private_dir(directory.parent)
            ensure_private_dir(directory)
        meta = json.loads(read_private(directory / "meta.json"))
        contents = {
            name: read_private(directory / name) if meta["exists"].get(name) else None
            for name in FILES
        }
    except (OSError, ValueError, KeyError) as err:
        raise TargetError(
            f"generation {number} is missing or damaged ({directory})",
            hint="see 'cmem-profile history' for the generations that exist",
        ) from err
    return contents, _owned_from(meta["owned"]), meta["active"]


def prune(paths: DataPaths, state: State) -> list[Path]:
    """Keep generation 0, the last KEEP_GENERATIONS others and the current one as rollback
    targets, and the files of any generation a kept ownership map takes a baseline from.

    Returns the directories to delete once the state no longer lists them: deleted before,
    a crash would leave a state naming generations that are gone.
    """
    numbers = sorted(g.number for g in state.generations)
    keep = {0, *numbers[-KEEP_GENERATIONS:]}
    if state.generation is not None:
        keep.add(state.generation)
    # A baseline source needs only its files: it is no rollback target, so its own
    # baselines are not needed in turn, and pruning stays bounded.
    needed = set(keep)
    for owned in [
        state.owned,
        *(load_generation(paths, n)[1] for n in sorted(keep & set(numbers))),
    ]:
        needed |= {key.baseline for keys in owned.values() for key in keys.values()}
    state.generations = [g for g in state.generations if g.number in keep]
    return [d for d in _generation_dirs(paths) if int(d.name) not in needed]


def unrecorded(paths: DataPaths, state: State) -> list[Path]:
    """Generation directories an interrupted write left behind, numbered past the state's."""
    return [d for d in _generation_dirs(paths) if int(d.name) >= state.next_number()]


def _generation_dirs(paths: DataPaths) -> list[Path]:
    root = paths.state_dir / GENERATIONS
    return [d for d in root.iterdir() if d.name.isdigit()] if root.is_dir() else []


def remove_dirs(directories: list[Path]) -> None:
    for directory in directories:
        shutil.rmtree(directory, ignore_errors=True)
