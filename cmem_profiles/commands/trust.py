"""`trust`: record, list and revoke which hosts each secret may be sent to."""

from __future__ import annotations

import argparse
from dataclasses import asdict

from cmem_profiles import output, trust
from cmem_profiles.errors import CmemProfileError
from cmem_profiles.paths import data_paths
from cmem_profiles.profiles import find_profile


def run(args: argparse.Namespace) -> int:
    paths = data_paths(args.data_dir)
    if args.list:
        if args.name or args.revoke:
            raise CmemProfileError("--list takes no profile name", hint="cmem-profile trust --list")
        pairs = trust.load_pairs(paths)
        if args.json:
            output.emit_json([asdict(p) for p in pairs])
        elif not pairs:
            output.note("no secret has been sent anywhere yet")
        for pair in [] if args.json else pairs:
            output.emit(f"{pair.secret} -> {pair.host}  (first by {pair.profile}, {pair.since})")
        return 0
    if not args.name:
        raise CmemProfileError(
            "name a profile, or pass --list",
            hint="cmem-profile trust corporate  |  cmem-profile trust --list",
        )
    profile = find_profile(args.name, args.profiles_dir)
    if not profile.secret_refs():
        output.note(f"{profile.name} uses no secret: nothing to trust")
        return 0
    if args.revoke:
        changed = trust.forget(paths, profile)
        verb = "revoked"
    else:
        changed = trust.record(paths, trust.check(paths, profile).pairs())
        verb = "trusted"
    if args.json:
        output.emit_json({verb: [asdict(p) for p in changed]})
        return 0
    if not changed:
        output.note(
            f"nothing to do: {profile.name}'s secrets were already {verb} "
            f"for {profile.endpoint_host}"
        )
    for pair in changed:
        output.emit(f"{verb}: {pair.secret} -> {pair.host}")
    return 0
