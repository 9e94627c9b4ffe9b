"""Write both files as one journaled transaction, and undo one that was interrupted.

The new generation and a pending mark go into the state before the files are touched; a
crash part-way leaves the mark, and the next locked command (use, rollback, current --check)
undoes the half-written files. Until then a crash between the two renames leaves the new
.env beside the old settings.json: each file whole, the pair mixed, as no two renames can be
one. Every step is a fault point (see targets) so tests can stop the process there.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path

from cmem_profiles.errors import CmemProfileError
from cmem_profiles.fileio import Snapshot, read_snapshot, sweep_temps
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
    load_state,
    prune,
    remove_dirs,
    save_generation,
    save_state,
    state_file,
    unrecorded,
)
from cmem_profiles.targets import FileWrite, RestoreFailed, apply_files, fault_point


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
    try:
        fault_point("after-generation")
        save_state(paths, state, "journal")
        _write(paths, live, new, settings_after)
    except BaseException as exc:
        _abandon(paths, state, record.number, undone=not isinstance(exc, RestoreFailed))
        raise
    state.owned, state.active, state.generation = owned, record.profile, record.number
    state.pending = None
    state.generations.append(record)
    unused = prune(paths, state)
    try:
        save_state(paths, state, "state.json")
    except BaseException:
        # The files are new, the state on disk still holds the journal: undo them from it.
        with contextlib.suppress(CmemProfileError, OSError):
            recover(paths, load_state(paths))
        raise
    remove_dirs(unused)
    fault_point("after-prune")


def _abandon(paths: DataPaths, state: State, number: int, *, undone: bool) -> None:
    """After a failed write: clear the journal when the files are back as they were, else
    undo them from it now; whatever fails here, the journal stays for the next command."""
    with contextlib.suppress(CmemProfileError, OSError):
        if not undone:
            recover(paths, state)
            return
        state.pending = None
        save_state(paths, state)
        remove_dirs([generation_dir(paths, number)])


def recover(paths: DataPaths, state: State) -> str | None:
    """Undo the files an interrupted switch or rollback half wrote; return its profile.

    Also sweeps what any interrupted write leaves: temp files, and generation directories
    the state never recorded.
    """
    targets = {ENV: paths.env_file, SETTINGS: paths.settings_file}
    live = {name: read_snapshot(path) for name, path in targets.items()}
    for real in [*(s.real_path for s in live.values()), state_file(paths), paths.trust_file]:
        sweep_temps(real)
    pending = state.pending
    if pending:
        if pending["previous"] is not None:
            apply_files(_undo_writes(paths, live, pending["generation"], pending["previous"]))
        state.pending = None
        save_state(paths, state)
    remove_dirs(unrecorded(paths, state))
    return str(pending.get("profile") or "no profile") if pending else None


def _undo_writes(
    paths: DataPaths, live: dict[str, Snapshot], number: int, previous: int
) -> list[FileWrite]:
    """Put back each file the interrupted write of generation number changed."""
    written, _, _ = load_generation(paths, number)
    before, _, _ = load_generation(paths, previous)
    writes = []
    for name, snapshot in live.items():
        mode = 0o600 if name == ENV else (snapshot.mode or 0o600)
        now = snapshot.content
        if now == written[name] != before[name]:
            writes.append(FileWrite(snapshot.path, before[name], mode))
        elif name == SETTINGS and _undo_keys(now, written[name], before[name]) is not None:
            writes.append(
                FileWrite(snapshot.path, now, mode, _undo_refresh(written[name], before[name]))
            )
    return writes


def _undo_refresh(written: bytes | None, before: bytes | None) -> Callable[[Snapshot], bytes]:
    def refresh(current: Snapshot) -> bytes:
        return _undo_keys(current.content, written, before) or current.data

    return refresh


_ABSENT = object()


def _undo_keys(now: bytes | None, written: bytes | None, before: bytes | None) -> bytes | None:
    """settings.json with the interrupted switch's keys set back, when claude-mem rewrote the
    file after the switch merged its keys into it; None when some key no longer holds what
    the switch wrote (a hand edit, shown later as drift) or there is nothing to undo."""
    if now is None or written is None or before is None:
        return None
    document = parse_settings_document(now, "settings.json")
    current = settings_of(document)
    wrote, had = (
        settings_of(parse_settings_document(b, "settings.json")) for b in (written, before)
    )
    changed = [k for k in {**wrote, **had} if wrote.get(k, _ABSENT) != had.get(k, _ABSENT)]
    if not changed or any(current.get(k, _ABSENT) != wrote.get(k, _ABSENT) for k in changed):
        return None
    restored: dict[str, object] = {k: v for k, v in current.items() if k in had or k not in changed}
    restored.update({k: had[k] for k in changed if k in had})
    return render_settings(rewrap_settings(document, restored))


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
        if name == SETTINGS and settings_after is not None and data is not None:
            refresh = _refresh_settings(str(targets[name]), old, data, settings_after)
        # .env holds credentials: 0600 always. settings.json keeps the mode claude-mem gave it.
        mode = 0o600 if name == ENV else (_mode(targets[name]) or 0o600)
        writes.append(FileWrite(targets[name], data, mode, refresh))
    apply_files(writes)


def _refresh_settings(
    name: str, old: bytes | None, new: bytes, after: dict[str, str | None]
) -> Callable[[Snapshot], bytes]:
    def refresh(current: Snapshot) -> bytes:
        now = current.content
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
    fault_point("after-found")
    state.generations.append(Generation(number, now(), kind, None, []))
    state.generation = number


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
