"""`explain`: each key a profile renders, its final value, and the file and line that set it."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from cmem_profiles import output
from cmem_profiles.errors import CmemProfileError
from cmem_profiles.profiles import Profile, find_profile
from cmem_profiles.render import PlannedKey, render_plan


@dataclass(frozen=True)
class Origin:
    """Where a rendered key's value comes from: a layer's file and line, or cmem-profile."""

    role: str  # "overlay", "profile", "base" or "default"
    profile: str | None = None
    file: str | None = None
    line: int | None = None

    def label(self) -> str:
        return f"base {self.profile}" if self.role == "base" else self.role

    def where(self, key: PlannedKey) -> str:
        if self.file is not None:
            return f"{self.file}:{self.line}"
        if key.clears:
            return f"no file sets {key.source}: cleared so no stale value stays"
        return "cmem-profile's rule for this provider"


def origin(profile: Profile, key: PlannedKey) -> Origin:
    """The layer that set the profile field a key is rendered from."""
    path = tuple(key.source.split(".")) if key.source else ()
    mark = profile.marks.get(path)
    if mark is None or mark.file is None:
        return Origin("default")
    layer = next((lay for lay in reversed(profile.layers) if lay.file == mark.file), None)
    role, owner = (layer.role, layer.name) if layer else ("profile", profile.name)
    return Origin(role, owner, mark.file, mark.line)


def value_text(key: PlannedKey) -> str:
    if key.secret is not None:
        return f"<secret {key.secret.label()}>"
    if key.value is None:
        return "(cleared)"
    return key.value if key.value else '""'


def run(args: argparse.Namespace) -> int:
    profile = find_profile(args.name, args.profiles_dir, switchable=False)
    rows = [
        (file, key, origin(profile, key))
        for file, keys in render_plan(profile).files()
        for key in keys
    ]
    if args.key:
        rows = [row for row in rows if row[1].key == args.key]
        if not rows:
            known = ", ".join(k.key for _, keys in render_plan(profile).files() for k in keys)
            raise CmemProfileError(
                f"profile {profile.name!r} renders no key {args.key!r}", hint=f"it renders {known}"
            )
    if args.json:
        output.emit_json(
            {
                "profile": profile.name,
                "layers": [
                    {"role": lay.role, "profile": lay.name, "file": lay.file}
                    for lay in profile.layers
                ],
                "keys": [
                    {
                        "file": file,
                        "key": key.key,
                        "value": None if key.secret else key.value,
                        "secret": key.secret.label() if key.secret else None,
                        "field": key.source,
                        "from": {
                            "role": o.role,
                            "profile": o.profile,
                            "file": o.file,
                            "line": o.line,
                        },
                    }
                    for file, key, o in rows
                ],
            }
        )
        return 0
    chain = " <- ".join(f"{lay.file} ({lay.role})" for lay in profile.layers)
    output.emit(f"{profile.name}: {chain}")
    table = [(file, key.key, value_text(key), o.label(), o.where(key)) for file, key, o in rows]
    widths = [max(len(row[i]) for row in table) for i in (1, 2, 3)]
    current = None
    for file, *cells, where in table:
        if file != current:
            output.emit(f"{file}:")
            current = file
        padded = "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))
        output.emit(f"  {padded}  {where}")
    return 0
