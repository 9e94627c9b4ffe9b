"""`worker` and `worker restart`; also what `use` says about the worker after a switch."""

from __future__ import annotations

import argparse

from cmem_profiles import output
from cmem_profiles.apply import Outcome
from cmem_profiles.errors import SwitchNotVerified, WorkerNotRunning
from cmem_profiles.paths import DataPaths, data_paths
from cmem_profiles.render import Plan
from cmem_profiles.verify import AUTH_WORDS, Verification, auth_kind, start_only_keys, verify_worker
from cmem_profiles.worker import WorkerAddress, WorkerClient, locate, restart

PORT_SOURCES = {
    "worker.pid": "port from worker.pid",
    "environment": "port from CLAUDE_MEM_WORKER_PORT in the environment",
    "settings.json": "port from settings.json",
    "default": "claude-mem's default port",
}


def run(args: argparse.Namespace) -> int:
    paths = data_paths(args.data_dir)
    if args.action == "restart":
        return _restart(paths, args)
    address = locate(paths)
    try:
        health = WorkerClient(address).health()
    except WorkerNotRunning:
        health = None
    if args.json:
        output.emit_json(
            {
                "running": health is not None,
                "host": address.host,
                "port": address.port,
                "port_source": address.source,
                "pid": health.pid if health else None,
                "version": health.version if health else None,
                "provider": health.provider if health else None,
                "auth_method": health.auth_method if health else None,
                "auth": auth_kind(health.auth_method) if health else None,
            }
        )
    elif health is None:
        output.emit(
            f"claude-mem worker: not running (nothing answers on {address}; "
            f"{PORT_SOURCES[address.source]})"
        )
    else:
        for label, value in (
            ("status", "running"),
            ("pid", str(health.pid)),
            ("address", f"{address} ({PORT_SOURCES[address.source]})"),
            ("version", health.version),
            ("provider", health.provider),
            ("auth", health.auth_method),
        ):
            output.emit(f"{label:<9} {value}")
    return 0


def _restart(paths: DataPaths, args: argparse.Namespace) -> int:
    try:
        before, address, after = restart(paths, timeout=args.timeout)
    except WorkerNotRunning as err:
        raise WorkerNotRunning(
            f"no claude-mem worker is running ({err.message}): nothing to restart",
            hint="the next Claude Code session starts one",
        ) from None
    if args.json:
        output.emit_json(
            {
                "restarted": True,
                "old_pid": before.pid,
                "pid": after.pid,
                "host": address.host,
                "port": address.port,
                "version": after.version,
            }
        )
    else:
        output.emit(_restarted(before.pid, after.pid, address))
    return 0


def _restarted(old: int | None, new: int | None, address: WorkerAddress) -> str:
    return f"restarted the claude-mem worker on {address}: pid {old} -> {new}"


def after_switch(
    paths: DataPaths, plan: Plan, outcome: Outcome, *, verify: bool, restart_worker: bool
) -> Verification | None:
    """Restart the worker when asked, then ask it which backend it uses now."""
    restarted = False
    if restart_worker:
        try:
            before, address, after = restart(paths)
        except WorkerNotRunning:
            output.note("no claude-mem worker is running: nothing to restart")
        else:
            output.note(_restarted(before.pid, after.pid, address))
            restarted = True
    verification = verify_worker(paths, plan) if verify else None
    needs = start_only_keys((c.file, c.key) for c in outcome.changes)
    if needs and not restarted and not (verification and verification.status == "not-running"):
        output.warn(
            f"the worker reads {', '.join(needs)} only when it starts: run "
            "'cmem-profile worker restart' (or switch with --restart)"
        )
    return verification


def conclude(verification: Verification, profile: str | None, json_mode: bool) -> int:
    """After `use`: one line for people; exit 1 on a mismatch, the files staying switched."""
    if verification.status == "mismatch":
        if json_mode:
            return 1
        raise SwitchNotVerified(
            f"claude-mem worker (pid {verification.pid}) does not use {profile}'s backend:\n  "
            + "\n  ".join(verification.reasons),
            hint="the files are switched; 'cmem-profile rollback' restores the previous ones",
        )
    if not json_mode:
        _report_verification(verification)
    return 0


def _report_verification(verification: Verification) -> None:
    if verification.status == "verified":
        auth = verification.auth if verification.provider == "claude" else None
        how = f" with {AUTH_WORDS[auth]}" if auth else ""
        output.emit(
            f"verified: claude-mem worker (pid {verification.pid}) now reports provider "
            f"{verification.provider}{how}"
        )
    elif verification.status == "not-running":
        output.emit(
            f"claude-mem worker not running ({verification.detail}): nothing to verify; "
            "it will use these files when it starts"
        )
    elif verification.status == "unverified":
        output.warn(f"could not verify the switch: {verification.detail}")
