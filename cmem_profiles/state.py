"""What cmem-profile wrote last: the active profile, owned keys, baselines, generations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cmem_profiles.paths import DataPaths

STATE_FILE = "state.json"


def state_file(paths: DataPaths) -> Path:
    return paths.state_dir / STATE_FILE


def read_state(paths: DataPaths) -> dict[str, Any] | None:
    """The state, or None before the first switch (or when it is unreadable)."""
    try:
        data: dict[str, Any] = json.loads(state_file(paths).read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def active_profile(paths: DataPaths) -> str | None:
    state = read_state(paths)
    active = state.get("active") if state else None
    return active if isinstance(active, str) else None
