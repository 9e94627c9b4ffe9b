"""`completion SHELL`: print a completion script; hidden `__complete KIND`: names for it."""

from __future__ import annotations

import argparse

from cmem_profiles import output


def run(args: argparse.Namespace) -> int:
    if args.verb == "completion":
        from cmem_profiles.completion import render
        from cmem_profiles.main import build_parser

        output.emit(render(args.shell, build_parser()).rstrip("\n"))
    elif args.kind == "profiles":
        from cmem_profiles.choose import profile_names

        for name in profile_names(args.profiles_dir):
            output.emit(name)
    else:
        for name in _secret_names(args.profiles_dir):
            output.emit(name)
    return 0


def _secret_names(profiles_dir: list[str] | None) -> list[str]:
    """Keyring secrets the profiles refer to, as `secret list` finds them (keyring not asked)."""
    from cmem_profiles.commands.secret import secret_rows
    from cmem_profiles.profiles import load_catalog

    rows = secret_rows(load_catalog(profiles_dir).profiles.values())
    return [row.ref.name for row in rows if row.ref.source == "keyring"]
