"""Every expected failure is a CmemProfileError; the handler in main turns it into exit 1."""

from __future__ import annotations

# Not `from typing import TYPE_CHECKING`: every command imports this module, `current` too.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from cmem_profiles.problems import Problem


class CmemProfileError(Exception):
    """An expected failure: one message for the user and, where it helps, a hint."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class ProfileNotFound(CmemProfileError):
    """No profile of that name in the search path."""


class ProfileInvalid(CmemProfileError):
    """A profile failed to load or validate; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(
            f"{first.location()}: {first.message}{more}",
            hint="run 'cmem-profile validate' to see every problem",
        )
        self.problems = problems


class SecretError(CmemProfileError):
    """A secret could not be resolved, stored or removed."""


class KeyringUnavailable(SecretError):
    """No usable keyring backend."""


class TargetError(CmemProfileError):
    """claude-mem's .env or settings.json cannot be read or written safely."""


class DriftError(CmemProfileError):
    """Owned keys were changed by hand since the last switch."""


class LockTimeout(CmemProfileError):
    """Another cmem-profile holds the lock for too long."""
