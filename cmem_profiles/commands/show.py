"""`show`: a profile as resolved, and the claude-mem keys it maps to (secrets as references)."""

from __future__ import annotations

import argparse

from cmem_profiles import output
from cmem_profiles.profiles import display_path, find_profile
from cmem_profiles.render import PlannedKey, render_plan


def run(args: argparse.Namespace) -> int:
    profile = find_profile(args.name, args.profiles_dir, switchable=False)
    plan = render_plan(profile)
    if args.json:
        output.emit_json(
            {
                "name": profile.name,
                "file": display_path(profile.file),
                "description": profile.description,
                "provider": profile.provider,
                "base_url": profile.base_url,
                "model": profile.model,
                "credentials": {k: ref.label() for k, ref in profile.credentials.items()},
                "settings": dict(profile.settings),
                "abstract": profile.abstract,
                "layers": [
                    {"role": x.role, "profile": x.name, "file": x.file} for x in profile.layers
                ],
                "plan": {name: [_record(k) for k in keys] for name, keys in plan.files()},
            }
        )
        return 0
    output.emit(f"{profile.name}: {profile.description}")
    output.emit(f"  file:      {display_path(profile.file)}")
    for layer in profile.layers:
        if layer.role == "base":
            output.emit(f"  extends:   {layer.name} ({layer.file})")
        elif layer.role == "overlay":
            output.emit(f"  overlay:   {layer.file}")
    if profile.abstract:
        output.emit("  abstract:  yes (shared defaults; use a profile that extends it)")
    output.emit(f"  provider:  {profile.provider}")
    output.emit(f"  endpoint:  {profile.base_url or profile.endpoint_host + ' (default)'}")
    if profile.model:
        output.emit(f"  model:     {profile.model}")
    for field, ref in profile.credentials.items():
        output.emit(f"  {field + ':':<10} {ref.label()}")
    for name, keys in plan.files():
        output.emit(f"{name}:")
        for key in keys:
            output.emit(f"  {describe(key)}")
    return 0


def describe(key: PlannedKey) -> str:
    if key.secret is not None:
        return f"{key.key}=<secret {key.secret.label()}>"
    if key.value is None:
        return f"{key.key} (removed)"
    return f"{key.key}={key.value}"


def _record(key: PlannedKey) -> dict[str, object]:
    return {
        "key": key.key,
        "value": None if key.secret else key.value,
        "secret": key.secret.label() if key.secret else None,
        "clear": key.clears,
        "source": key.source,
    }
