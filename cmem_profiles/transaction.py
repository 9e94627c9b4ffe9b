"""Write both files as one journaled transaction, and undo one that was interrupted.

The new generation and a pending mark go into the state before the files are touched; a
crash part-way leaves the mark, and the next switch or rollback undoes the half-written files.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

from cmem_profiles.filepair import Files, LiveFiles
from cmem_profiles.paths import DataPaths
from cmem_profiles.render import ENV, SETTINGS
from cmem_profiles.settings_json import (
    merge_settings,
    parse_settings_document,
    render_settings,
    rewrap_settings,
    settings_of,
)
from cmem_profiles.state import (
    Generation,
    Owned,
    State,
    generation_dir,
    load_generation,
    prune,
    save_generation,
    save_state,
)
from cmem_profiles.targets import FileWrite, Snapshot, apply_files, read_snapshot


def env_bytes(live: LiveFiles, changes: dict[str, str | None]) -> bytes | None:
    env = live.env
    for key, value in changes.items():
        if value is None:
            env.remove(key)
        else:
            env.set(key, value)
    text = env.render()
    return text.encode() if text or live.snapshots[ENV].exists else None


def settings_bytes(document: dict[str, object], changes: dict[str, str | None]) -> bytes:
    values = {k: v for k, v in changes.items() if v is not None}
    cleared = [k for k, v in changes.items() if v is None]
    merged = merge_settings(settings_of(document), values, remove_keys=cleared)
    return render_settings(rewrap_settings(document, merged))


def commit(
    paths: DataPaths,
    state: State,
    live: Files,
    new: dict[str, bytes | None],
    *,
    owned: Owned,
    record: Generation,
    settings_after: dict[str, str | None] | None = None,
) -> None:
    """Write both files as a journaled transaction and record the generation they become.

    The new generation and a pending mark are saved first: a crash part-way leaves the mark,
    and the next switch or rollback undoes the half-written files before it starts.
    """
    save_generation(paths, record.number, new, owned, record.profile)
    state.pending = {
        "generation": record.number,
        "previous": state.generation,
        "profile": record.profile,
    }
    save_state(paths, state)
    try:
        _write(paths, live, new, settings_after)
    except BaseException:
        state.pending = None
        shutil.rmtree(generation_dir(paths, record.number), ignore_errors=True)
        save_state(paths, state)
        raise
    state.owned, state.active, state.generation = owned, record.profile, record.number
    state.pending = None
    state.generations.append(record)
    prune(paths, state)
    save_state(paths, state)


def recover(paths: DataPaths, state: State) -> str | None:
    """Undo the files an interrupted switch or rollback half wrote; return its profile."""
    pending = state.pending
    if not pending:
        return None
    number, previous = pending["generation"], pending["previous"]
    targets = {ENV: paths.env_file, SETTINGS: paths.settings_file}
    written, _, _ = load_generation(paths, number)
    before, _, _ = load_generation(paths, previous) if previous is not None else (None, None, None)
    if before is not None:
        writes = []
        for name, path in targets.items():
            snapshot = read_snapshot(path)
            if (snapshot.data if snapshot.exists else None) == written[name] != before[name]:
                mode = 0o600 if name == ENV else (snapshot.mode or 0o600)
                writes.append(FileWrite(path, before[name], mode))
        apply_files(writes)
    state.pending = None
    shutil.rmtree(generation_dir(paths, number), ignore_errors=True)
    save_state(paths, state)
    return str(pending.get("profile") or "no profile")


def _write(
    paths: DataPaths,
    live: Files,
    new: dict[str, bytes | None],
    settings_after: dict[str, str | None] | None,
) -> None:
    targets = {ENV: paths.env_file, SETTINGS: paths.settings_file}
    writes = []
    for name, data in new.items():
        old = live.contents[name]
        if data == old:
            continue
        refresh = None
        if name == SETTINGS and settings_after is not None:
            refresh = _refresh_settings(str(targets[name]), old, data, settings_after)
        # .env holds credentials: 0600 always. settings.json keeps the mode claude-mem gave it.
        mode = 0o600 if name == ENV else (_mode(targets[name]) or 0o600)
        writes.append(FileWrite(targets[name], data, mode, refresh))
    apply_files(writes)


def _refresh_settings(
    name: str, old: bytes | None, new: bytes | None, after: dict[str, str | None]
) -> Callable[[Snapshot], bytes | None]:
    def refresh(current: Snapshot) -> bytes | None:
        now = current.data if current.exists else None
        if now == old:
            return new
        # claude-mem rewrote the file since it was read: merge the owned keys into its version.
        return settings_bytes(parse_settings_document(now or b"", name), after)

    return refresh


def _mode(path: Path) -> int | None:
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        return None


def record_found(paths: DataPaths, state: State, number: int, live: LiveFiles) -> None:
    """Keep the live files as a generation before changing them: as first found, or as
    edited outside cmem-profile since its last write, so no content is ever lost."""
    kind = "found" if not state.generations else "external"
    save_generation(paths, number, live.contents, state.owned, state.active)
    state.generations.append(Generation(number, now(), kind, None, []))
    state.generation = number


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
