"""Apply a plan (or a generation) to claude-mem's two files as one locked transaction.

Only owned keys change. A key the previous profile set and this one does not is returned to
its baseline; a hand edit of an owned key stops the switch unless forced or adopted; both
files are written atomically, together, after the previous content is kept as a generation.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cmem_profiles.envfile import EnvDocument
from cmem_profiles.errors import CmemProfileError, DriftError, TargetError
from cmem_profiles.paths import DataPaths
from cmem_profiles.render import ENV, ENV_KEYS, SETTINGS, Plan
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
    OwnedKey,
    State,
    generation_dir,
    load_generation,
    load_state,
    prune,
    save_generation,
    save_state,
    state_file,
)
from cmem_profiles.targets import (
    FileWrite,
    Snapshot,
    SwitchLock,
    apply_files,
    ensure_private_dir,
    read_snapshot,
)

SECRET_SUFFIXES = ("_KEY", "_TOKEN", "_SECRET", "_PASSWORD")


@dataclass(frozen=True)
class Change:
    """One key of one file that a switch changes; secret values are already masked."""

    file: str
    key: str
    old: str | None
    new: str | None
    restored: bool = False  # returned to its value from before cmem-profile took it over

    @property
    def op(self) -> str:
        return "add" if self.old is None else "remove" if self.new is None else "change"


@dataclass(frozen=True)
class Drift:
    file: str
    key: str


@dataclass
class Outcome:
    """What a switch or rollback did, or would do on a dry run."""

    profile: str | None
    changes: list[Change] = field(default_factory=list)
    generation: int | None = None
    drift: list[Drift] = field(default_factory=list)
    symlinks: list[str] = field(default_factory=list)
    recovered: str | None = None  # profile of an interrupted switch that was undone first


class Files:
    """Both files' content, parsed, and read key by key the way claude-mem reads them."""

    def __init__(self, contents: dict[str, bytes | None], names: dict[str, str]) -> None:
        self.contents = contents
        self.env = EnvDocument.parse(_text(contents[ENV] or b"", names[ENV]), names[ENV])
        self.document = parse_settings_document(contents[SETTINGS] or b"", names[SETTINGS])
        self.settings = settings_of(self.document)

    def get(self, file: str, key: str) -> str | None:
        if file == ENV:
            return self.env.get(key) or None  # claude-mem: an empty value counts as absent
        raw = self.settings.get(key)
        return None if raw is None else raw if isinstance(raw, str) else json.dumps(raw)

    def keys(self, file: str) -> list[str]:
        return self.env.keys() if file == ENV else list(self.settings)


class _Live(Files):
    """The live files as read under the lock."""

    def __init__(self, paths: DataPaths) -> None:
        self.snapshots = {
            ENV: read_snapshot(paths.env_file),
            SETTINGS: read_snapshot(paths.settings_file),
        }
        contents = {
            name: snap.data if snap.exists else None for name, snap in self.snapshots.items()
        }
        super().__init__(contents, {ENV: str(paths.env_file), SETTINGS: str(paths.settings_file)})


def _generation_files(paths: DataPaths, number: int) -> Files:
    contents, _, _ = load_generation(paths, number)
    return Files(contents, {name: f"generation {number} {name}" for name in (ENV, SETTINGS)})


def _text(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise TargetError(
            f"{name}: not UTF-8 text (byte {err.start})",
            hint="fix it by hand, or run 'cmem-profile rollback'",
        ) from None


def is_secret_key(file: str, key: str) -> bool:
    return (file == ENV and key in ENV_KEYS and key != "ANTHROPIC_BASE_URL") or key.endswith(
        SECRET_SUFFIXES
    )


def _mask(
    state: State, file: str, key: str, value: str | None, label: str | None = None
) -> str | None:
    if value is None or not is_secret_key(file, key):
        return value
    name = f"secret {label}" if label else "secret"
    return f"<{name} …{state.tag(value)}>"


def _drift(state: State, live: _Live) -> list[Drift]:
    found = []
    for file, keys in state.owned.items():
        for key, owned in keys.items():
            value = live.get(file, key)
            if file == SETTINGS and value is None and owned.value == "":
                continue  # claude-mem treats a missing settings key and "" alike
            current = None if value is None else state.fingerprint(value)
            if current != owned.fp:
                found.append(Drift(file, key))
    return found


def live_drift(paths: DataPaths) -> list[Drift]:
    """Owned keys whose live value is no longer what cmem-profile wrote."""
    if not state_file(paths).exists():
        return []  # nothing owned yet; and a check must not create the data dir
    with _lock(paths, dry_run=False):
        state = load_state(paths)
        _recover(paths, state)
        return _drift(state, _Live(paths))


def drift_error(drift: list[Drift], state: State) -> DriftError:
    since = f"since '{state.active}' was applied" if state.active else "since the last switch"
    lines = [f"{d.file}: {d.key} was changed by hand {since}" for d in drift]
    return DriftError(
        "owned keys were edited by hand; nothing was written:\n  " + "\n  ".join(lines),
        hint="--force overwrites the edits; --adopt keeps them as the values to restore later",
    )


def _lock(paths: DataPaths, dry_run: bool) -> AbstractContextManager[object]:
    if dry_run:
        return nullcontext()
    ensure_private_dir(paths.data_dir)
    return SwitchLock(paths.state_dir)


def _live_is_generation(paths: DataPaths, state: State, live: _Live) -> bool:
    if state.generation is None:
        return False
    try:
        contents, _, _ = load_generation(paths, state.generation)
    except CmemProfileError:
        return False
    return contents == live.contents


def switch(
    paths: DataPaths, plan: Plan, *, dry_run: bool = False, force: bool = False, adopt: bool = False
) -> Outcome:
    """Apply a plan whose secrets are bound: only owned keys change, both files or neither."""
    with _lock(paths, dry_run):
        state = load_state(paths)
        recovered = None if dry_run else _recover(paths, state)
        live = _Live(paths)
        drift = _drift(state, live)
        if drift and not (force or adopt):
            raise drift_error(drift, state)
        adopted = {(d.file, d.key) for d in drift} if adopt else set()
        recorded = _live_is_generation(paths, state, live)
        fresh = state.next_number()
        base = state.generation if recorded and state.generation is not None else fresh

        owned: Owned = {ENV: {}, SETTINGS: {}}
        after: dict[str, dict[str, str | None]] = {ENV: {}, SETTINGS: {}}
        labels: dict[tuple[str, str], str] = {}
        for file, planned_keys in plan.files():
            for planned in planned_keys:
                previous = state.owned.get(file, {}).get(planned.key)
                keep = previous is not None and (file, planned.key) not in adopted
                baseline = previous.baseline if keep and previous else base
                value = planned.value
                label = planned.secret.label() if planned.secret else None
                if label:
                    labels[file, planned.key] = label
                owned[file][planned.key] = OwnedKey(
                    fp=None if value is None else state.fingerprint(value),
                    baseline=baseline,
                    value=None if label or is_secret_key(file, planned.key) else value,
                    secret=label,
                )
                after[file][planned.key] = value
        restored = set()
        for file, keys in state.owned.items():
            for key, previous in keys.items():
                if key not in owned.get(file, {}):
                    # Released: back to its value from before cmem-profile took it over;
                    # the live files hold it when they are that generation, or when the
                    # hand edit of this key is adopted as its baseline.
                    source = (
                        live
                        if previous.baseline == base or (file, key) in adopted
                        else _generation_files(paths, previous.baseline)
                    )
                    after[file][key] = source.get(file, key)
                    restored.add((file, key))

        changes = [
            Change(
                file,
                key,
                _mask(state, file, key, live.get(file, key)),
                _mask(state, file, key, value, labels.get((file, key))),
                restored=(file, key) in restored,
            )
            for file in (ENV, SETTINGS)
            for key, value in after[file].items()
            if live.get(file, key) != value
        ]
        outcome = Outcome(
            plan.profile, changes, drift=drift, symlinks=_symlinks(live), recovered=recovered
        )
        if dry_run or (not changes and state.active == plan.profile and recorded):
            return outcome
        if not recorded:
            _record_found(paths, state, fresh, live)
        new = {
            ENV: _env_bytes(live, after[ENV]),
            SETTINGS: _settings_bytes(live.document, after[SETTINGS]),
        }
        record = Generation(state.next_number(), _now(), "use", plan.profile, _summary(changes))
        _commit(paths, state, live, new, owned=owned, record=record, settings_after=after[SETTINGS])
        outcome.generation = record.number
        return outcome


def _env_bytes(live: _Live, changes: dict[str, str | None]) -> bytes | None:
    env = live.env
    for key, value in changes.items():
        if value is None:
            env.remove(key)
        else:
            env.set(key, value)
    text = env.render()
    return text.encode() if text or live.snapshots[ENV].exists else None


def _settings_bytes(document: dict[str, object], changes: dict[str, str | None]) -> bytes:
    values = {k: v for k, v in changes.items() if v is not None}
    cleared = [k for k, v in changes.items() if v is None]
    merged = merge_settings(settings_of(document), values, remove_keys=cleared)
    return render_settings(rewrap_settings(document, merged))


def _summary(changes: list[Change]) -> list[dict[str, str]]:
    return [{"file": c.file, "key": c.key, "op": c.op} for c in changes]


def _commit(
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


def _recover(paths: DataPaths, state: State) -> str | None:
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
        return _settings_bytes(parse_settings_document(now or b"", name), after)

    return refresh


def _mode(path: Path) -> int | None:
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        return None


def _record_found(paths: DataPaths, state: State, number: int, live: _Live) -> None:
    """Keep the live files as a generation before changing them: as first found, or as
    edited outside cmem-profile since its last write, so no content is ever lost."""
    kind = "found" if not state.generations else "external"
    save_generation(paths, number, live.contents, state.owned, state.active)
    state.generations.append(Generation(number, _now(), kind, None, []))
    state.generation = number


def _symlinks(live: _Live) -> list[str]:
    return [f"{s.path} -> {s.real_path}" for s in live.snapshots.values() if s.path != s.real_path]


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def rollback(paths: DataPaths, target: int | None) -> Outcome:
    """Restore both files and the ownership of a generation, recorded as a new generation."""
    with _lock(paths, dry_run=False):
        state = load_state(paths)
        recovered = _recover(paths, state)
        if not state.generations:
            raise CmemProfileError("nothing to roll back: no switch has been made yet")
        if target is None:
            numbers = [g.number for g in state.generations]
            current = (
                numbers.index(state.generation) if state.generation in numbers else len(numbers)
            )
            if current == 0:
                raise CmemProfileError("nothing before the first generation to roll back to")
            target = numbers[current - 1]
        if state.find(target) is None:
            known = ", ".join(str(g.number) for g in state.generations)
            raise CmemProfileError(f"no generation {target}", hint=f"generations kept: {known}")
        contents, owned, active = load_generation(paths, target)
        restored = _generation_files(paths, target)
        live = _Live(paths)
        if not _live_is_generation(paths, state, live):
            _record_found(paths, state, state.next_number(), live)
        changes = [
            Change(file, key, _mask(state, file, key, old), _mask(state, file, key, new))
            for file in (ENV, SETTINGS)
            for key, old, new in _key_changes(live, restored, file)
        ]
        record = Generation(
            state.next_number(), _now(), f"rollback to {target}", active, _summary(changes)
        )
        _commit(paths, state, live, contents, owned=owned, record=record)
        return Outcome(active, changes, generation=record.number, recovered=recovered)


def _key_changes(old: Files, new: Files, file: str) -> list[tuple[str, str | None, str | None]]:
    keys = dict.fromkeys([*old.keys(file), *new.keys(file)])
    return [
        (k, old.get(file, k), new.get(file, k))
        for k in keys
        if old.get(file, k) != new.get(file, k)
    ]


def history_records(state: State) -> list[dict[str, Any]]:
    return [
        {**asdict(g), "current": g.number == state.generation}
        for g in sorted(state.generations, key=lambda g: g.number)
    ]
