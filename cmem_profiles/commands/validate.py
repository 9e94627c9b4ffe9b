"""`validate`: check profiles against the schema and claude-mem's rules; exit 1 on any error."""

from __future__ import annotations

import argparse
from pathlib import Path

from cmem_profiles import output
from cmem_profiles.layers import SUFFIX
from cmem_profiles.paths import profile_search_path
from cmem_profiles.problems import Problem
from cmem_profiles.profiles import Loader, discover, display_path, orphan_overlays


def run(args: argparse.Namespace) -> int:
    problems: list[Problem] = []
    dirs = profile_search_path(args.profiles_dir)
    if args.files:
        files = [Path(f) for f in args.files]
        problems = [_not_found_as_profile(f) for f in files if not f.name.endswith(SUFFIX)]
    else:
        entries, misnamed, problems = discover(dirs)
        files = [e.file for e in entries if e.shadowed_by is None] + misnamed
        files += orphan_overlays(dirs)
        if not files and not problems:
            output.note(f"no profiles found in {', '.join(str(d) for d in dirs)}")
    loader = Loader(dirs)
    for path in files:
        problems += loader.check(path)[1]
    # A finding in a base is found again through every profile extending it: say it once.
    problems = sorted(set(problems))
    errors = sum(p.severity == "error" for p in problems)
    if args.json:
        output.emit_json([p.as_record() for p in problems])
    else:
        for problem in problems:
            output.emit(problem.format())
        warnings = len(problems) - errors
        counts = f"{output.plural(errors, 'error')}, {output.plural(warnings, 'warning')}"
        output.note(f"{output.plural(len(files), 'file')} checked: {counts}")
    return 1 if errors else 0


def _not_found_as_profile(path: Path) -> Problem:
    # A profiles/x.yml (the pre-commit hook passes those too) would never be found by name.
    message = f"profiles are found only as NAME{SUFFIX}: rename the file"
    return Problem(display_path(path), 1, 1, "$", message)
