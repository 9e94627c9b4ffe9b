"""Secret values: resolve profile references, read and write the OS keyring.

The keyring itself (choosing, vetting and calling a backend) lives in keyring_backend, the
only module that imports keyring; this one never pays for it unless a keyring ref is resolved.
"""

from __future__ import annotations

import getpass
import os
import subprocess
from collections.abc import Sequence

from cmem_profiles import keyring_backend
from cmem_profiles.errors import KeyringUnavailable, SecretError
from cmem_profiles.keyring_backend import KeyringReport, chosen, probe_keyring
from cmem_profiles.secretref import SECRET_NAME, SecretRef, override_variable

__all__ = [
    "COMMAND_TIMEOUT",
    "KeyringReport",
    "check_name",
    "chosen",
    "delete",
    "keyring_name",
    "lookup",
    "probe_keyring",
    "prompt_value",
    "resolve",
    "resolve_all",
    "store",
]

COMMAND_TIMEOUT = 30.0
STDERR_LINES = 5
# claude-mem's worker strips ANTHROPIC_* from its environment; a profile must not pull the
# user's own key from there into a shared backend by accident.
FORBIDDEN_ENV_PREFIX = "ANTHROPIC_"


def check_name(name: str) -> None:
    """Raise SecretError unless NAME is a valid secret name."""
    if SECRET_NAME.fullmatch(name):
        return
    # A long "name" is more likely a value typed in the wrong place: never echo it.
    shown = repr(name) if len(name) <= 64 else f"of {len(name)} characters (not shown)"
    raise SecretError(
        f"invalid secret name {shown}",
        hint="names are 1-64 characters of a-z, 0-9, '-' and '_', starting with a letter or digit",
    )


def keyring_name() -> str:
    """Open the configured keyring and return its backend name; raises KeyringUnavailable."""
    return keyring_backend.open_keyring().name


def lookup(name: str) -> tuple[str | None, str]:
    """The secret's value (None when missing or empty) and where it is, or would be, kept.

    `where` is the override variable when that is set, else the keyring backend's name.
    """
    check_name(name)
    variable = override_variable(name)
    if os.environ.get(variable):
        return os.environ[variable], variable
    keyring = keyring_backend.open_keyring()
    return keyring.get(name), keyring.name


def store(name: str, value: str) -> str:
    """Store VALUE under NAME in the keyring and return the backend's name."""
    check_name(name)
    if not value:
        raise SecretError(f"empty value for {name}; nothing stored")
    keyring = keyring_backend.open_keyring()
    keyring.set(name, value)
    return keyring.name


def delete(name: str) -> str:
    """Remove NAME from the keyring and return the backend's name; SecretError when missing."""
    check_name(name)
    keyring = keyring_backend.open_keyring()
    if keyring.get(name) is None:
        hint = None
        if os.environ.get(override_variable(name)):
            hint = f"its value comes from {override_variable(name)}; unset that instead"
        raise SecretError(f"no secret {name!r} in the keyring ({keyring.name})", hint=hint)
    keyring.delete(name)
    return keyring.name


def prompt_value(name: str, intro: str = "") -> str:
    """Ask for a secret twice on the terminal, hidden; SecretError when empty or different."""
    try:
        first = getpass.getpass(f"{intro}{name} (input hidden): ")
        second = getpass.getpass(f"{name} again, to confirm: ")
    except EOFError:
        raise SecretError(f"no value entered for {name}; nothing stored") from None
    if not first:
        raise SecretError(f"no value entered for {name}; nothing stored")
    if first != second:
        raise SecretError(f"the two entries for {name} differ; nothing stored")
    return first


def resolve(ref: SecretRef) -> str:
    """The value a reference points at; SecretError when it is missing, empty or fails."""
    return resolve_all([ref], interactive=False)[ref]


def resolve_all(refs: Sequence[SecretRef], *, interactive: bool) -> dict[SecretRef, str]:
    """Resolve every reference before returning, so a caller writes nothing unless all resolve.

    Keyring secrets that are missing are asked for (and stored) when `interactive`; otherwise
    one SecretError lists every secret that failed, each with the command that fixes it.
    """
    values: dict[SecretRef, str] = {}
    failures: list[str] = []
    missing: list[SecretRef] = []
    for ref in dict.fromkeys(refs):
        try:
            value = _resolve_one(ref)
        except KeyringUnavailable:
            raise
        except SecretError as err:
            failures.append(err.message)
            continue
        if value is None:
            missing.append(ref)
        else:
            values[ref] = value
    if failures or (missing and not interactive):
        raise _unresolved_error(failures, missing)
    for ref in missing:
        value = prompt_value(ref.name, intro=f"{ref.name} is not in the keyring. ")
        store(ref.name, value)
        values[ref] = value
    return values


def _resolve_one(ref: SecretRef) -> str | None:
    """A keyring ref's value or None when missing; env and command refs raise SecretError."""
    if ref.source == "keyring":
        return lookup(ref.name)[0]
    if ref.source == "env":
        if ref.name.startswith(FORBIDDEN_ENV_PREFIX):
            raise SecretError(
                f"{ref.label()}: cmem-profile never reads ANTHROPIC_* variables; use "
                f"{{keyring: NAME}} and 'cmem-profile secret set NAME' instead"
            )
        value = os.environ.get(ref.name)
        if not value:
            raise SecretError(f"{ref.label()}: environment variable {ref.name} is unset or empty")
        return value
    return _run_command(ref)


def _unresolved_error(failures: list[str], missing: list[SecretRef]) -> SecretError:
    lines = [
        f"{ref.name}: not stored; run: cmem-profile secret set {ref.name}" for ref in missing
    ] + failures
    count = len(lines)
    message = f"cannot resolve {count} secret{'s' if count > 1 else ''}:\n" + "\n".join(
        "  " + line.replace("\n", "\n  ") for line in lines
    )
    hint = None
    if missing:
        variables = ", ".join(override_variable(ref.name) for ref in missing)
        hint = f"on CI or a machine without a keyring, set {variables} in the environment instead"
    return SecretError(message, hint=hint)


def _run_command(ref: SecretRef) -> str:
    """Run a `{command: [...]}` reference without a shell and return its output."""
    label, program = ref.label(), ref.argv[0]
    try:
        done = subprocess.run(
            list(ref.argv), capture_output=True, timeout=COMMAND_TIMEOUT, check=False
        )
    except FileNotFoundError:
        raise SecretError(f"{label}: program {program!r} not found") from None
    except subprocess.TimeoutExpired:
        raise SecretError(
            f"{label}: {program!r} did not finish within {COMMAND_TIMEOUT:g} s"
        ) from None
    except OSError as err:
        raise SecretError(f"{label}: cannot run {program!r}: {err.strerror or err}") from None
    if done.returncode != 0:
        # Only stderr: a failing password manager may still have printed part of a secret.
        how = (
            f"was killed by signal {-done.returncode}"
            if done.returncode < 0
            else f"exited with status {done.returncode}"
        )
        excerpt = _excerpt(done.stderr)
        detail = f"; its stderr:\n  {excerpt}" if excerpt else " and printed nothing on stderr"
        raise SecretError(f"{label}: {program!r} {how}{detail}")
    try:
        out = done.stdout.decode()
    except UnicodeDecodeError:
        raise SecretError(
            f"{label}: {program!r} printed something that is not UTF-8 text"
        ) from None
    out = out.removesuffix("\n").removesuffix("\r") if out.endswith("\n") else out
    if not out:
        raise SecretError(f"{label}: {program!r} printed nothing")
    return out


def _excerpt(stderr: bytes) -> str:
    """The first few non-blank lines of a command's stderr, each cut to a sensible length."""
    lines = [line.strip() for line in stderr.decode(errors="replace").splitlines() if line.strip()]
    shown = [line if len(line) <= 200 else line[:197] + "..." for line in lines[:STDERR_LINES]]
    if len(lines) > STDERR_LINES:
        shown.append(f"({len(lines) - STDERR_LINES} more lines)")
    return "\n  ".join(shown)
