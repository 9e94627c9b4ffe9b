"""Apply a plan (or a generation) to claude-mem's two files as one locked transaction.

Only owned keys change. A key the previous profile set and this one does not is returned to
its baseline; a hand edit of an owned key stops the switch unless forced or adopted; both
files are written atomically, together, after the previous content is kept as a generation.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from typing import Any

from cmem_profiles.errors import CmemProfileError, DriftError
from cmem_profiles.filepair import Files, LiveFiles, generation_files
from cmem_profiles.paths import DataPaths
from cmem_profiles.render import ENV, ENV_KEYS, SETTINGS, Plan
from cmem_profiles.secretref import SECRET_SUFFIXES
from cmem_profiles.state import (
    Generation,
    Owned,
    OwnedKey,
    State,
    load_generation,
    load_state,
    state_file,
)
from cmem_profiles.targets import (
    SwitchLock,
    ensure_private_dir,
)
from cmem_profiles.transaction import commit, env_bytes, now, record_found, recover, settings_bytes


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


def is_secret_key(file: str, key: str) -> bool:
    return (file == ENV and key in ENV_KEYS and key != "ANTHROPIC_BASE_URL") or key.endswith(
        SECRET_SUFFIXES
    )


def _mask(
    state: State, file: str, key: str, value: str | None, label: str | None = None
) -> str | None:
    # An empty value hides nothing; masking it would suggest a secret is there.
    if not value or not is_secret_key(file, key):
        return value
    name = f"secret {label}" if label else "secret"
    return f"<{name} …{state.tag(value)}>"


def _drift(state: State, live: LiveFiles) -> list[Drift]:
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
        recover(paths, state)
        return _drift(state, LiveFiles(paths))


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


def _live_is_generation(paths: DataPaths, state: State, live: LiveFiles) -> bool:
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
        recovered = None if dry_run else recover(paths, state)
        live = LiveFiles(paths)
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
                        else generation_files(paths, previous.baseline)
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
        # Rendered first: a value the files cannot hold is refused before anything is kept.
        new = {
            ENV: env_bytes(live, after[ENV]),
            SETTINGS: settings_bytes(live.document, after[SETTINGS]),
        }
        if not recorded:
            record_found(paths, state, fresh, live)
        record = Generation(state.next_number(), now(), "use", plan.profile, _summary(changes))
        commit(paths, state, live, new, owned=owned, record=record, settings_after=after[SETTINGS])
        outcome.generation = record.number
        return outcome


def _summary(changes: list[Change]) -> list[dict[str, str]]:
    return [{"file": c.file, "key": c.key, "op": c.op} for c in changes]


def _symlinks(live: LiveFiles) -> list[str]:
    return [f"{s.path} -> {s.real_path}" for s in live.snapshots.values() if s.path != s.real_path]


def rollback(paths: DataPaths, target: int | None) -> Outcome:
    """Restore both files and the ownership of a generation, recorded as a new generation."""
    with _lock(paths, dry_run=False):
        state = load_state(paths)
        recovered = recover(paths, state)
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
        restored = generation_files(paths, target)
        live = LiveFiles(paths)
        if not _live_is_generation(paths, state, live):
            record_found(paths, state, state.next_number(), live)
        changes = [
            Change(file, key, _mask(state, file, key, old), _mask(state, file, key, new))
            for file in (ENV, SETTINGS)
            for key, old, new in _key_changes(live, restored, file)
        ]
        record = Generation(
            state.next_number(), now(), f"rollback to {target}", active, _summary(changes)
        )
        commit(paths, state, live, contents, owned=owned, record=record)
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
