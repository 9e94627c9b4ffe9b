"""`current`: the active profile from the state alone; --check also compares the live files."""

from __future__ import annotations

import argparse

from cmem_profiles import output
from cmem_profiles.paths import data_paths
from cmem_profiles.statefile import read_state


def run(args: argparse.Namespace) -> int:
    paths = data_paths(args.data_dir)
    state = read_state(paths.state_dir) or {}
    active = state.get("active")
    active = active if isinstance(active, str) else None
    if args.short:
        output.emit(active or "")
        return 0
    record = {
        "active": active,
        "generation": state.get("generation"),
        "switched_at": _switched_at(state),
        "data_dir": str(paths.data_dir),
        "drift": None,
    }
    drift = None
    if args.check:
        from cmem_profiles.apply import live_drift  # deferred: the plain path reads the state only

        drift = live_drift(paths)
    if drift is not None:
        record["drift"] = [{"file": d.file, "key": d.key} for d in drift]
    if args.json:
        output.emit_json(record)
    elif active is None:
        output.emit(f"none (no profile applied to {paths.data_dir})")
    else:
        output.emit(
            f"{active} (generation {record['generation']}, switched {record['switched_at']})"
        )
        if drift:
            for d in drift:
                output.emit(f"  {d.file}: {d.key} was changed by hand since '{active}' was applied")
        elif drift is not None:
            output.emit("  the live files match it")
    return 1 if drift else 0


def _switched_at(state: dict[str, object]) -> object:
    generations = state.get("generations")
    if isinstance(generations, list) and generations:
        return generations[-1].get("time") if isinstance(generations[-1], dict) else None
    return None
