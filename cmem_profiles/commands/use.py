"""`use` and `diff`: switch claude-mem to a profile, or show exactly what that would change."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict

from cmem_profiles import output, trust
from cmem_profiles.apply import Change, Outcome, switch
from cmem_profiles.choose import chosen_profile
from cmem_profiles.commands import worker as worker_check
from cmem_profiles.paths import data_paths
from cmem_profiles.profiles import find_profile
from cmem_profiles.render import render_plan
from cmem_profiles.targets import fault_point


def run(args: argparse.Namespace) -> int:
    dry_run = args.verb == "diff" or args.dry_run
    paths = data_paths(args.data_dir)
    profile = find_profile(chosen_profile(args, paths), args.profiles_dir)
    plan = render_plan(profile)
    # A diff sends nothing anywhere; a switch passes the gate before any secret is resolved.
    gate = (
        None
        if dry_run
        else trust.pass_gate(paths, profile, accept=args.trust, no_input=args.no_input)
    )
    refs = plan.secret_refs()
    values = {}
    if refs:
        from cmem_profiles.secrets import resolve_all

        # Every secret is resolved before anything is written; a terminal may be asked for one.
        interactive = not (args.no_input or dry_run) and sys.stdin.isatty()
        values = resolve_all(refs, interactive=interactive)
        fault_point("after-secrets")
    bound = plan.bind(values)
    outcome = switch(paths, bound, dry_run=dry_run, force=args.force, adopt=args.adopt)
    if gate is not None:
        trust.record(paths, gate.pairs())
    if not args.json:
        _report(outcome, dry_run, verbose=args.verbose, adopt=args.adopt)
    # -- ask the running worker after a real switch (commands/worker.py) --
    verification = None
    if not dry_run:
        verification = worker_check.after_switch(
            paths, bound, outcome, verify=not args.no_verify, restart_worker=args.restart
        )
    # --
    if args.json:
        output.emit_json(
            {
                "profile": outcome.profile,
                "dry_run": dry_run,
                "changed": bool(outcome.changes),
                "generation": outcome.generation,
                "changes": [{**asdict(c), "op": c.op} for c in outcome.changes],
                "overwritten_hand_edits": [asdict(d) for d in outcome.drift],
                "verification": verification.as_json() if verification else None,
            }
        )
    if verification and worker_check.conclude(verification, outcome.profile, args.json):
        return 1
    return 1 if args.exit_code and outcome.changes else 0


def report_recovery(outcome: Outcome) -> None:
    if outcome.recovered:
        output.warn(
            f"an earlier switch to {outcome.recovered} was interrupted; "
            "its partial writes were undone"
        )


def _report(outcome: Outcome, dry_run: bool, *, verbose: bool, adopt: bool) -> None:
    report_recovery(outcome)
    if verbose:
        for link in outcome.symlinks:
            output.note(f"writing through symlink {link}")
    fate = "kept as the value to restore later" if adopt else "replaced"
    for drift in outcome.drift:
        output.warn(f"{drift.file}: {drift.key} was changed by hand; the edit is {fate}")
    if not outcome.changes:
        if dry_run:
            output.emit(f"{outcome.profile}: would change nothing")
        elif outcome.generation is None:
            output.emit(f"{outcome.profile}: already active; nothing changed")
        else:
            output.emit(
                f"switched to {outcome.profile} (generation {outcome.generation}): "
                "the files already matched it"
            )
        return
    if dry_run:
        output.emit(f"switching to {outcome.profile} would change:")
    else:
        output.emit(f"switched to {outcome.profile} (generation {outcome.generation}):")
    print_changes(outcome.changes)


def print_changes(changes: list[Change]) -> None:
    """Per file, per key: + added, ~ changed, - removed; secrets arrive already masked."""
    current = None
    for change in changes:
        if change.file != current:
            current = change.file
            output.emit(f"{change.file}:")
        output.emit(f"  {describe(change)}")


def describe(change: Change) -> str:
    note = " (restored)" if change.restored else ""
    if change.op == "add":
        return f"+ {change.key}={change.new}{note}"
    if change.op == "remove":
        return f"- {change.key}{note}"
    return f"~ {change.key}: {change.old} -> {change.new}{note}"
