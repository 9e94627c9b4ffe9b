"""`history`: the numbered generations of claude-mem's two files."""

from __future__ import annotations

import argparse

from cmem_profiles import output
from cmem_profiles.apply import history_records
from cmem_profiles.paths import data_paths
from cmem_profiles.state import load_state


def run(args: argparse.Namespace) -> int:
    paths = data_paths(args.data_dir)
    records = history_records(load_state(paths))
    if args.json:
        output.emit_json(records)
        return 0
    if not records:
        output.emit(f"no generations yet in {paths.state_dir}")
        return 0
    for record in records:
        mark = "*" if record["current"] else " "
        what = record["kind"] if record["kind"] != "use" else f"use {record['profile']}"
        changes = record["changes"]
        summary = ", ".join(f"{_SIGN[c['op']]}{c['key']}" for c in changes) if changes else "-"
        output.emit(f"{mark} {record['number']:>3}  {record['time']}  {what:<24} {summary}")
    return 0


_SIGN = {"add": "+", "change": "~", "remove": "-"}
