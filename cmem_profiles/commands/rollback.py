"""`rollback`: restore both files, and the ownership that went with them, from a generation."""

from __future__ import annotations

import argparse
from dataclasses import asdict

from cmem_profiles import output
from cmem_profiles.apply import rollback
from cmem_profiles.commands.use import print_changes, report_recovery
from cmem_profiles.paths import data_paths


def run(args: argparse.Namespace) -> int:
    outcome = rollback(data_paths(args.data_dir), args.generation)
    report_recovery(outcome)
    if args.json:
        output.emit_json(
            {
                "profile": outcome.profile,
                "generation": outcome.generation,
                "changes": [{**asdict(c), "op": c.op} for c in outcome.changes],
            }
        )
        return 0
    active = outcome.profile or "no profile"
    output.emit(f"rolled back ({active} active; now generation {outcome.generation}):")
    if outcome.changes:
        print_changes(outcome.changes)
    else:
        output.emit("  the files already had that content")
    return 0
