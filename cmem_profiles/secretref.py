"""A profile never holds a secret, only a reference to where its value lives."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

SecretSource = Literal["keyring", "env", "command"]
SECRET_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
OVERRIDE_PREFIX = "CMEM_PROFILE_SECRET_"
# A settings key with one of these endings holds a secret (schema.json's patternProperties agree).
SECRET_SUFFIXES = ("_KEY", "_TOKEN", "_SECRET", "_PASSWORD")


@dataclass(frozen=True)
class SecretRef:
    """`{keyring: NAME}`, `{env: VAR}` or `{command: [argv...]}` from a profile."""

    source: SecretSource
    name: str = ""  # keyring secret name or environment variable; empty for command
    argv: tuple[str, ...] = ()  # command only

    def label(self) -> str:
        """A display label that never contains a value: 'keyring:corp-gw', 'env:CORP_KEY'."""
        if self.source == "command":
            return f"command:{self.argv[0] if self.argv else '?'}"
        return f"{self.source}:{self.name}"

    @property
    def short_name(self) -> str:
        """What to call the secret in one word (keyring name, variable or program)."""
        return self.name if self.source != "command" else (self.argv[0] if self.argv else "?")


def override_variable(name: str) -> str:
    """CMEM_PROFILE_SECRET_<NAME>: wins over the keyring, for CI and headless machines."""
    return OVERRIDE_PREFIX + name.upper().replace("-", "_")


def secret_ref_from(data: object) -> SecretRef | None:
    """Build a SecretRef from an already schema-validated mapping; None if it is not one."""
    if not isinstance(data, dict) or len(data) != 1:
        return None
    ((source, value),) = data.items()
    if source == "keyring" and isinstance(value, str):
        return SecretRef("keyring", value)
    if source == "env" and isinstance(value, str):
        return SecretRef("env", value)
    if source == "command" and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return SecretRef("command", argv=tuple(value))
    return None
