"""Which profile `use` and `diff` mean when none is named: `-` for the previous one, or a pick."""

from __future__ import annotations

import argparse
import sys

from cmem_profiles import output
from cmem_profiles.errors import CmemProfileError, ProfileNotFound, UsageError
from cmem_profiles.paths import DataPaths, profile_search_path
from cmem_profiles.profiles import discover, display_path

PREVIOUS = "-"


def profile_names(profiles_dir: list[str] | None = None) -> list[str]:
    """The profile names in the search path from a directory listing alone (no YAML read)."""
    entries, _, _ = discover(profile_search_path(profiles_dir))
    return sorted(entry.name for entry in entries if entry.shadowed_by is None)


def previous_profile(paths: DataPaths) -> str | None:
    """The last profile in the history other than the active one."""
    from cmem_profiles.state import load_state

    state = load_state(paths)
    for generation in reversed(state.generations):
        if generation.profile and generation.profile != state.active:
            return generation.profile
    return None


def chosen_profile(args: argparse.Namespace, paths: DataPaths) -> str:
    """The profile named on the command line, the previous one for `-`, or one picked."""
    name: str | None = args.name
    if name == PREVIOUS:
        previous = previous_profile(paths)
        if previous is None:
            raise ProfileNotFound(
                "no previous profile to go back to",
                hint=f"'{args.verb} -' means the profile active before the last switch;"
                " 'cmem-profile history' shows the switches so far",
            )
        return previous
    if name is not None:
        return name
    names = profile_names(args.profiles_dir)
    if args.json or args.no_input or not (sys.stdin.isatty() and sys.stdout.isatty()):
        known = ", ".join(names) or f"none yet, in {_dirs(args.profiles_dir)}"
        raise UsageError(
            f"{args.verb} needs a profile name",
            hint=f"cmem-profile {args.verb} NAME, with NAME one of: {known}",
        )
    if not names:
        raise ProfileNotFound(
            "no profiles to choose from", hint=f"put profiles in {_dirs(args.profiles_dir)}"
        )
    from cmem_profiles.statefile import active_profile

    return pick(names, active_profile(paths.state_dir), args.verb)


def pick(names: list[str], active: str | None, verb: str) -> str:
    """A numbered list on the terminal; a number or a name picks; end of input cancels."""
    output.emit("profiles:")
    for number, name in enumerate(names, 1):
        mark = output.style("*", "32") if name == active else " "
        note = output.style(" (active)", "32") if name == active else ""
        output.emit(f"{mark} {number:>2}  {name}{note}")
    question = f"{verb} which profile? [1-{len(names)} or a name; Ctrl-D cancels]: "
    while True:
        try:
            answer = input(question).strip()
        except EOFError:
            output.emit()
            raise CmemProfileError("no profile chosen; nothing changed") from None
        if answer.isdigit() and 1 <= int(answer) <= len(names):
            return names[int(answer) - 1]
        if answer in names:
            return answer
        if answer:
            output.note(f"not a number from 1 to {len(names)} nor a listed name")


def _dirs(profiles_dir: list[str] | None) -> str:
    return ", ".join(display_path(d) for d in profile_search_path(profiles_dir))
