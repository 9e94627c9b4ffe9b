"""The OS keyring: choose the configured backend, refuse unusable ones, wrap every call.

The only module that imports keyring, and only inside functions: `import keyring` and backend
detection cost ~400 ms, which commands that never touch a secret must not pay. logging and
configparser too are imported only where keyring is: `use` with env secrets loads this module.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from cmem_profiles.errors import KeyringUnavailable

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

SERVICE = "cmem-profile"
INSECURE_OPT_IN = "CMEM_PROFILE_ALLOW_INSECURE_KEYRING"
FAIL_BACKEND = "keyring.backends.fail.Keyring"
NULL_BACKEND = "keyring.backends.null.Keyring"
# keyrings.alt's file backends keep secrets in a file, base64 or weakly encrypted.
FILE_BACKENDS = ("keyrings.alt.file.", "keyrings.alt.pyfs.")
WAYS_OUT = (
    "start and unlock a Secret Service first, e.g.\n"
    '        dbus-run-session -- sh -c \'printf %s "$PASSWORD" |'
    " gnome-keyring-daemon --unlock --components=secrets; cmem-profile ...'\n"
    "      or set CMEM_PROFILE_SECRET_<NAME> in the environment for each secret (CI, headless)\n"
    "      or fetch it from a password manager: {command: [pass, show, NAME]} in the profile"
)

T = TypeVar("T")


@dataclass(frozen=True)
class Keyring:
    """The vetted, configured backend; every call raises KeyringUnavailable instead of leaking."""

    backend: KeyringBackend
    name: str
    selected_by: str

    def get(self, name: str) -> str | None:
        """The stored value, None when missing or empty (claude-mem treats empty as absent)."""
        value = self._call(f"read {name!r}", lambda: self.backend.get_password(SERVICE, name))
        return value or None

    def set(self, name: str, value: str) -> None:
        """Store a value and read it back: the null backend and friends accept and drop it."""
        self._call(
            f"store {name!r}", lambda: self.backend.set_password(SERVICE, name, value), value
        )
        if self.get(name) != value:
            raise self.unavailable(f"it accepted {name!r} but does not return it")

    def delete(self, name: str) -> None:
        self._call(f"remove {name!r}", lambda: self.backend.delete_password(SERVICE, name))

    def unavailable(self, reason: str) -> KeyringUnavailable:
        return KeyringUnavailable(
            f"no usable keyring: {self.name} ({chosen(self.selected_by)}): {reason}", hint=WAYS_OUT
        )

    def _call(self, what: str, call: Callable[[], T], value: str | None = None) -> T:
        try:
            return call()
        except Exception as err:
            # keyring, secretstorage, jeepney and socket errors alike: the keyring is unusable now.
            raise self.unavailable(f"cannot {what}: {_reason(err, value)}") from err


@dataclass(frozen=True)
class KeyringReport:
    """What doctor shows: the backend, how it was chosen, and whether a round trip works."""

    backend: str
    priority: float | None
    selected_by: str
    problem: str | None = None
    hint: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def open_keyring() -> Keyring:
    """The backend keyring is configured to use; KeyringUnavailable when it is unusable."""
    opened = _load()
    _vet(opened)
    return opened


def probe_keyring() -> KeyringReport:
    """Open the keyring and write, read and delete a throwaway secret; never raises."""
    try:
        opened = _load()
    except KeyringUnavailable as err:
        name = _configured_name() or "unknown"
        return KeyringReport(name, None, _selected_by(), err.message, err.hint)
    priority = _priority(opened.backend)
    probe = f"doctor-probe-{os.urandom(6).hex()}"
    try:
        _vet(opened)
        opened.set(probe, os.urandom(16).hex())
        opened.delete(probe)
        if opened.get(probe) is not None:
            raise opened.unavailable("a deleted secret is still there")
    except KeyringUnavailable as err:
        return KeyringReport(opened.name, priority, opened.selected_by, err.message, err.hint)
    return KeyringReport(opened.name, priority, opened.selected_by)


def _load() -> Keyring:
    import logging

    import keyring.core

    # keyring logs its own warning about a bad keyringrc.cfg; our error says it once, with the fix.
    log = logging.getLogger("keyring")
    if not log.handlers:
        log.addHandler(logging.NullHandler())
    selected_by = _selected_by()
    try:
        # Loads only the backend that PYTHON_KEYRING_BACKEND or keyringrc.cfg name, when one does.
        keyring.core.init_backend()
        backend = keyring.core.get_keyring()
    except Exception as err:
        raise _load_error(err, selected_by) from err
    return Keyring(backend, qualified_name(backend), selected_by)


def _load_error(err: Exception, selected_by: str) -> KeyringUnavailable:
    if selected_by == "auto-detected":
        return KeyringUnavailable(f"no usable keyring: {_reason(err)}", hint=WAYS_OUT)
    name = _configured_name()
    if isinstance(err, RuntimeError):
        # keyring's way of saying a backend exists but cannot work here (no D-Bus, no daemon).
        message = f"no usable keyring: {name} ({chosen(selected_by)}): {_reason(err)}"
    else:
        fix = "fix or unset it" if selected_by == "PYTHON_KEYRING_BACKEND" else "fix that file"
        named = name or selected_by == "PYTHON_KEYRING_BACKEND"
        what = f"load {name!r} (named by {selected_by})" if named else f"read {selected_by}"
        message = f"no usable keyring: cannot {what}: {_reason(err)}; {fix}"
    return KeyringUnavailable(message, hint=WAYS_OUT)


def _vet(opened: Keyring) -> None:
    """Refuse the fail backend, and insecure ones unless the user opted in."""
    if opened.name == FAIL_BACKEND:
        raise opened.unavailable(
            "it refuses every operation"
            if opened.selected_by != "auto-detected"
            else f"no recommended backend is available ({_why_no_backend()})"
        )
    insecure = _insecurity(opened.backend)
    if insecure and os.environ.get(INSECURE_OPT_IN) != "1":
        raise KeyringUnavailable(
            f"refusing the keyring backend {opened.name} ({chosen(opened.selected_by)}): "
            f"{insecure}; set {INSECURE_OPT_IN}=1 to use it anyway",
            hint=WAYS_OUT,
        )


def qualified_name(backend: object) -> str:
    """The name PYTHON_KEYRING_BACKEND takes for a backend: keyring.backends.null.Keyring."""
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def chosen(selected_by: str) -> str:
    """How the backend was chosen: 'set by PYTHON_KEYRING_BACKEND', 'auto-detected'."""
    return selected_by if selected_by == "auto-detected" else f"set by {selected_by}"


def _selected_by() -> str:
    """Where the backend choice comes from, as keyring.core decides it."""
    if "PYTHON_KEYRING_BACKEND" in os.environ:
        return "PYTHON_KEYRING_BACKEND"
    import configparser

    from keyring.util import platform_

    path = platform_.config_root() / "keyringrc.cfg"
    if not path.exists():
        return "auto-detected"
    config = configparser.RawConfigParser()
    try:
        config.read(path, encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError):
        return str(path)  # keyring fails on it too, and the message should name it
    return str(path) if config.has_option("backend", "default-keyring") else "auto-detected"


def _configured_name() -> str:
    """The backend name as configured, for when it cannot even be loaded; empty if unknown."""
    import configparser

    selected_by = _selected_by()
    if selected_by == "PYTHON_KEYRING_BACKEND":
        return os.environ["PYTHON_KEYRING_BACKEND"]
    if selected_by != "auto-detected":
        config = configparser.RawConfigParser()
        try:
            config.read(selected_by, encoding="utf-8")
            return config.get("backend", "default-keyring").strip()
        except (configparser.Error, OSError, UnicodeDecodeError):
            pass
    return ""


def _priority(backend: KeyringBackend) -> float | None:
    try:
        return float(backend.priority)
    except Exception:
        return None


def _insecurity(backend: KeyringBackend) -> str | None:
    """Why a backend keeps secrets unprotected or not at all; None when it is fine."""
    from keyring.backends.chainer import ChainerBackend

    if isinstance(backend, ChainerBackend):
        chained: list[KeyringBackend] = list(getattr(backend, "backends", []))
        if all(_insecurity(each) for each in chained):
            names = ", ".join(qualified_name(each) for each in chained) or "no backend"
            return f"it chains only {names}"
        return None
    name = qualified_name(backend)
    if name == NULL_BACKEND:
        return "the null backend silently drops every secret"
    if name.startswith(FILE_BACKENDS):
        return "it keeps secrets in a file, in plaintext or weakly encrypted"
    return None


def _why_no_backend() -> str:
    """On Linux the usual culprit is the Secret Service: say what it reported."""
    if not sys.platform.startswith("linux"):
        return "no OS keyring found"
    try:
        from keyring.backends import SecretService

        SecretService.Keyring.priority  # noqa: B018 - raises RuntimeError with the reason
    except Exception as err:
        return f"Secret Service: {_reason(err)}"
    return "the Secret Service looks available but was not chosen"


def _reason(err: BaseException, value: str | None = None) -> str:
    """One line about a keyring failure, with any secret value scrubbed out."""
    from keyring.errors import InitError, KeyringLocked

    if isinstance(err, KeyringLocked):
        return "the collection is locked, and no unlock prompt could be shown or it was dismissed"
    lines = str(err).strip().splitlines()
    text = f"{type(err).__name__}: {lines[0]}" if lines else type(err).__name__
    if isinstance(err, InitError):
        text = f"the default collection cannot be opened or created without a prompt ({text})"
    return text.replace(value, "***") if value else text
