"""Every expected failure is a CmemProfileError; the handler in main turns it into exit 1."""

from __future__ import annotations

# Not `from typing import TYPE_CHECKING`: every command imports this module, `current` too.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from cmem_profiles.problems import Problem


class CmemProfileError(Exception):
    """An expected failure: one message for the user and, where it helps, a hint."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(CmemProfileError):
    """The command line is incomplete; exits 2, as argparse's own usage errors do."""

    exit_code = 2


class ProfileNotFound(CmemProfileError):
    """No profile of that name in the search path."""


class InvalidFile(CmemProfileError):
    """A YAML file failed to load or validate; carries every problem found."""

    def __init__(self, problems: list[Problem], hint: str, *, with_path: bool = False) -> None:
        first = problems[0]
        what = first.format() if with_path else f"{first.location()}: {first.message}"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{what}{more}", hint=hint)
        self.problems = problems


class ProfileInvalid(InvalidFile):
    """A profile failed to load or validate."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems, hint="run 'cmem-profile validate' to see every problem")


class ConfigInvalid(InvalidFile):
    """The user configuration file failed to load or validate."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(
            problems,
            hint="fix the file (schema: schemas/config.schema.json); "
            "'cmem-profile doctor' lists every problem",
            with_path=True,
        )


class RepoError(CmemProfileError):
    """A team repository cannot be registered, cloned, created or found."""


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


class WorkerError(CmemProfileError):
    """claude-mem's worker answered badly, too slowly, or is not on this machine."""


class WorkerNotRunning(WorkerError):
    """Nothing answers where claude-mem's worker would listen."""


class EndpointError(CmemProfileError):
    """A profile's endpoint cannot be tested, or the test request failed."""


class SwitchNotVerified(WorkerError):
    """The files are switched, but the running worker does not use the new backend."""
