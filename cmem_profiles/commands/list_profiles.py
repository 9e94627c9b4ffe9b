"""`list`: every profile in the search path, where it comes from, and which one is active."""

from __future__ import annotations

import argparse
import os

from cmem_profiles import output
from cmem_profiles.paths import data_paths
from cmem_profiles.profiles import display_path, load_catalog
from cmem_profiles.statefile import active_profile
from cmem_profiles.userconfig import repos_by_profiles_dir


def run(args: argparse.Namespace) -> int:
    catalog = load_catalog(args.profiles_dir)
    active = active_profile(data_paths(args.data_dir).state_dir)
    repos = repos_by_profiles_dir()
    records = []
    for entry in catalog.entries:
        profile = catalog.profiles.get(entry.name) if entry.shadowed_by is None else None
        if profile is not None and profile.abstract and not args.all:
            continue  # shared defaults, not a backend to switch to
        records.append(
            {
                "name": entry.name,
                "active": entry.name == active and entry.shadowed_by is None,
                "valid": profile is not None or entry.shadowed_by is not None,
                "provider": profile.provider if profile else None,
                "model": profile.model if profile else None,
                "endpoint": profile.endpoint_host if profile else None,
                "description": profile.description if profile else None,
                "abstract": profile.abstract if profile else False,
                "extends": profile.extends if profile else None,
                "file": display_path(entry.file),
                "repo": repos.get(os.path.realpath(entry.file.parent)),
                "shadowed_by": display_path(entry.shadowed_by) if entry.shadowed_by else None,
            }
        )
    invalid = sorted({p.file for p in catalog.problems if p.severity == "error"})
    if args.json:
        output.emit_json(records)
    elif not records:
        output.note(f"no profiles in {', '.join(display_path(d) for d in catalog.dirs)}")
    else:
        _table(records)
    if invalid:
        output.warn(
            f"{len(invalid)} invalid profile file(s): {', '.join(invalid)}; "
            "run 'cmem-profile validate'"
        )
    return 0


def _table(records: list[dict[str, object]]) -> None:
    columns = ("name", "provider", "model", "endpoint", "description", "repo", "file")
    rows = []
    for r in records:
        if r["shadowed_by"]:
            note = f"(shadowed by {r['shadowed_by']})"
        elif r["abstract"]:
            note = "(abstract: shared defaults)"
        elif not r["valid"]:
            note = "(invalid: run 'cmem-profile validate')"
        else:
            note = None
        if note is not None:
            cells = [r["name"], "", "", "", note, r["repo"] or "-", r["file"]]
        else:
            cells = [r[c] or "-" for c in columns]
        rows.append(["*" if r["active"] else " ", *(str(c) for c in cells)])
    output.table([" ", *(c.upper() for c in columns)], rows)
