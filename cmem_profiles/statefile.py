"""The state file's name and raw content, readable without the switch machinery.

`current` runs in shell prompts and `list` on every call: both read the state through this
module alone, which imports nothing but json.
"""

from __future__ import annotations

import json
from pathlib import Path

STATE_FILE = "state.json"


def read_state(state_dir: Path) -> dict[str, object] | None:
    """The raw state, or None before the first switch (or when it is unreadable)."""
    try:
        data = json.loads((state_dir / STATE_FILE).read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def active_profile(state_dir: Path) -> str | None:
    """The active profile's name, from the state alone: cheap enough for a shell prompt."""
    state = read_state(state_dir)
    active = state.get("active") if state else None
    return active if isinstance(active, str) else None
