"""claude-mem's .env and settings.json on disk: read, parse, merge, render, and write as one.

Writes follow symlinks (dotfile managers link these files, and the link must stay a link), go
through a temp file in the target's own directory and ``os.replace``, and a multi-file write
restores the files already written when a later one fails. Run every write under SwitchLock.

Test-only: the environment variable ``CMEM_PROFILE_TEST_FAULT`` makes a write fail at one
point, so tests can prove the transaction. ``raise:<point>`` raises RuntimeError there and
``exit:<point>`` calls ``os._exit(70)``. Points are ``after-temp:<name>`` (temp file complete,
target untouched) and ``after-replace:<name>`` (target replaced or removed), ``<name>`` being
the configured file's basename (``.env``, ``settings.json``). A raise is undone by apply_files;
an exit cannot be: files written before it stay new and later ones stay old, which the caller's
state must detect and repair. The temp file an exit leaves is swept by the next write of it.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import json
import math
import os
import re
import secrets
import stat
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from cmem_profiles.errors import LockTimeout, TargetError

_FAULT_VAR = "CMEM_PROFILE_TEST_FAULT"
_FIX_HINT = "fix it by hand, or run 'cmem-profile rollback'"


@dataclass(frozen=True)
class Snapshot:
    """One target file as found: the configured path, where writes go, its bytes and mode."""

    path: Path
    real_path: Path
    exists: bool
    data: bytes
    mode: int | None


@dataclass(frozen=True)
class FileWrite:
    """One file of a switch: its new bytes (None: the file must not exist) and its mode."""

    path: Path
    data: bytes | None
    mode: int


def _real(path: Path) -> Path:
    """Where path's bytes live: through every symlink, a dangling one included."""
    try:
        return Path(os.path.realpath(path, strict=True))
    except FileNotFoundError:
        # claude-mem's writeJsonFileAtomic also writes through a dangling link, creating its target.
        return Path(os.path.realpath(path))
    except OSError as exc:  # a symlink loop: never replace the link with a file
        raise _io_error("cannot resolve", path, exc) from None


def read_snapshot(path: Path) -> Snapshot:
    """Read a target through any symlink; a missing file is an absent, empty snapshot."""
    real = _real(path)
    try:
        # O_NONBLOCK: a FIFO planted at the path must fail below, not hang the switch.
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return Snapshot(path, real, exists=False, data=b"", mode=None)
    except OSError as exc:
        raise _io_error("cannot read", path, exc) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
            raise TargetError(f"{path} is {kind}", hint="move it aside; claude-mem reads a file")
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
    except OSError as exc:
        raise _io_error("cannot read", path, exc) from None
    finally:
        os.close(fd)
    return Snapshot(path, real, True, b"".join(chunks), stat.S_IMODE(st.st_mode))


def _io_error(what: str, path: Path, exc: OSError) -> TargetError:
    return TargetError(
        f"{what} {path}: {exc.strerror or exc}",
        hint="check the file, its directory, their owner and permissions (ls -la)",
    )


# settings.json


def _reject_constant(name: str) -> object:
    # Python's json takes NaN and Infinity; JSON.parse (claude-mem) does not.
    raise ValueError(name)


def _parse_int(text: str) -> int | float:
    # JSON.parse reads any number as a double; Python refuses int literals past 4300 digits.
    try:
        return int(text)
    except ValueError:
        return float(text)


def _line_col(text_before: str) -> tuple[int, int]:
    line = text_before.count("\n") + 1
    return line, len(text_before) - (text_before.rfind("\n") + 1) + 1


def _not_json(file: str, line: int, col: int, reason: str) -> TargetError:
    return TargetError(f"{file}:{line}:{col}: not valid JSON: {reason}", hint=_FIX_HINT)


def parse_settings_document(data: bytes, file: str) -> dict[str, object]:
    """The top-level object of settings.json, read like claude-mem's JSON.parse; {} if empty."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _line_col(data[: exc.start].decode("utf-8"))
        raise _not_json(file, line, col, f"invalid UTF-8 byte 0x{data[exc.start]:02x}") from None
    # claude-mem strips one leading BOM before JSON.parse (atomic-json.ts parseJsonWithBom).
    text = text.removeprefix("\ufeff")
    if not text.strip(" \t\r\n"):
        return {}
    try:
        document = json.loads(text, parse_constant=_reject_constant, parse_int=_parse_int)
    except json.JSONDecodeError as exc:
        # json says "Invalid control character at" and puts the position after it.
        raise _not_json(file, exc.lineno, exc.colno, exc.msg.removesuffix(" at")) from None
    except ValueError as exc:  # from _reject_constant: the first bare NaN/Infinity is the culprit
        tokens = re.finditer(r'"(?:[^"\\]|\\.)*"|-?Infinity|NaN', text)
        at = next(m.start() for m in tokens if not m.group().startswith('"'))
        raise _not_json(file, *_line_col(text[:at]), f"{exc} is not a JSON value") from None
    if not isinstance(document, dict):
        kind = {list: "an array", str: "a string", bool: "true or false"}.get(type(document))
        found = kind or ("null" if document is None else "a number")
        raise TargetError(f"{file}: the top level is {found}, not a JSON object", hint=_FIX_HINT)
    return document


def is_legacy_shape(obj: Mapping[str, object]) -> bool:
    """True for the nested {"env": {...}} shape, whose env object holds claude-mem's keys."""
    # claude-mem 13.25 loadFromFile: `settings.env && typeof settings.env === 'object'`, no array.
    return isinstance(obj.get("env"), dict)


def settings_of(document: Mapping[str, object]) -> dict[str, object]:
    """The flat key/value mapping claude-mem reads from a settings.json document."""
    env = document.get("env")
    return dict(env) if isinstance(env, dict) else dict(document)


def parse_settings(data: bytes, file: str) -> dict[str, object]:
    """claude-mem's settings from settings.json bytes; a legacy {"env": ...} file is flattened."""
    return settings_of(parse_settings_document(data, file))


def rewrap_settings(
    document: Mapping[str, object], settings: Mapping[str, object]
) -> dict[str, object]:
    """The document to write back: flat, or the legacy wrapper when env has siblings."""
    # claude-mem 13.25 flattens a lone {"env": ...} but keeps a wrapper that has siblings
    # (hooks, permissions...) and writes {...settings, env: flat}: so no sibling is lost here.
    if is_legacy_shape(document) and len(document) > 1:
        return {**document, "env": dict(settings)}
    return dict(settings)


def merge_settings(
    current: Mapping[str, object],
    set_keys: Mapping[str, str],
    *,
    remove_keys: Collection[str] = (),
) -> dict[str, object]:
    """current with set_keys applied in place (new keys last) and remove_keys dropped."""
    merged = {key: value for key, value in current.items() if key not in remove_keys}
    merged.update(set_keys)
    return merged


def render_settings(settings: Mapping[str, object]) -> bytes:
    """Exactly the bytes claude-mem writes: JSON.stringify(data, null, 2) + "\\n", UTF-8."""
    return (_js_json(settings, "") + "\n").encode("utf-8")


def _js_json(value: object, indent: str) -> str:
    if isinstance(value, str):
        return _js_string(value)
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, int | float):
        return _js_number(value)
    inner = indent + "  "
    if isinstance(value, Mapping):
        items = [f"{inner}{_js_string(k)}: {_js_json(v, inner)}" for k, v in _js_order(value)]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}" if items else "{}"
    if isinstance(value, list | tuple):
        items = [inner + _js_json(v, inner) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + indent + "]" if items else "[]"
    raise TypeError(f"cannot render {type(value).__name__} as JSON")


_INDEX_KEY = re.compile(r"0|[1-9][0-9]{0,9}")


def _js_order(obj: Mapping[str, object]) -> list[tuple[str, object]]:
    # A JS object lists array-index keys ("0".."4294967294") first, ascending, then the rest.
    index = sorted((k for k in obj if _INDEX_KEY.fullmatch(k) and int(k) < 2**32 - 1), key=int)
    rest = [(k, v) for k, v in obj.items() if k not in set(index)]
    return [(k, obj[k]) for k in index] + rest


def _js_string(text: str) -> str:
    # json.dumps escapes what JSON.stringify escapes, but for lone surrogates (ES2019 escapes them).
    out = json.dumps(text, ensure_ascii=False)
    return re.sub(r"[\ud800-\udfff]", lambda m: f"\\u{ord(m.group()):04x}", out)


def _js_number(value: int | float) -> str:
    # JSON.parse makes every number a double and JSON.stringify prints it with Number#toString.
    try:
        x = float(value)
    except OverflowError:
        return "null"
    if not math.isfinite(x):
        return "null"
    if x == 0:
        return "0"
    _, digit_tuple, exponent = Decimal(repr(abs(x))).normalize().as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple))
    k, n = len(digits), exponent + len(digits)
    if k <= n <= 21:
        body = digits + "0" * (n - k)
    elif 0 < n <= 21:
        body = f"{digits[:n]}.{digits[n:]}"
    elif -6 < n <= 0:
        body = "0." + "0" * -n + digits
    else:
        mantissa = digits if k == 1 else f"{digits[0]}.{digits[1:]}"
        body = f"{mantissa}e{'+' if n >= 1 else '-'}{abs(n - 1)}"
    return ("-" if x < 0 else "") + body


# Writing


def _fault(point: str) -> None:
    action, _, where = os.environ.get(_FAULT_VAR, "").partition(":")
    if where != point:
        return
    if action == "raise":
        raise RuntimeError(f"injected fault at {point}")
    if action == "exit":
        os._exit(70)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Replace path's file (a symlink's target) with data, born with exactly mode."""
    _write(path, data, mode, faults=True)


def _write(path: Path, data: bytes, mode: int, *, faults: bool) -> None:
    real = _real(path)
    # A write killed before its replace leaves a temp; writes hold SwitchLock, so it is stale.
    for stale in real.parent.glob(f".{glob.escape(real.name)}.cmem-profile-*.tmp"):
        with contextlib.suppress(OSError):
            stale.unlink()
    tmp = real.parent / f".{real.name}.cmem-profile-{secrets.token_hex(6)}.tmp"
    try:
        flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(tmp, flags, mode)
        try:
            os.fchmod(fd, mode)  # the umask masks the mode given to O_CREAT
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if faults:
            _fault(f"after-temp:{path.name}")
        tmp.replace(real)
        _fsync_dir(real.parent)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError):
            raise _io_error("cannot write", path, exc) from None
        raise
    if faults:
        _fault(f"after-replace:{path.name}")


def _remove(path: Path, *, faults: bool) -> None:
    real = _real(path)
    try:
        real.unlink(missing_ok=True)
        if real.parent.is_dir():
            _fsync_dir(real.parent)
    except OSError as exc:
        raise _io_error("cannot remove", path, exc) from None
    if faults:
        _fault(f"after-replace:{path.name}")


def apply_files(writes: Sequence[FileWrite]) -> None:
    """Write each file in order, all or nothing: a failure restores every file touched."""
    before: list[Snapshot] = []
    try:
        for write in writes:
            before.append(read_snapshot(write.path))
            if write.data is None:
                _remove(write.path, faults=True)
            else:
                _write(write.path, write.data, write.mode, faults=True)
    except BaseException:
        _restore(before)
        raise


def _restore(snapshots: list[Snapshot]) -> None:
    failed: list[str] = []
    for old in reversed(snapshots):
        try:
            now = read_snapshot(old.path)
            if (now.exists, now.data, now.mode) == (old.exists, old.data, old.mode):
                continue
            if old.exists:
                _write(old.path, old.data, 0o600 if old.mode is None else old.mode, faults=False)
            else:
                _remove(old.path, faults=False)
        except (OSError, TargetError):
            failed.append(str(old.path))
    if failed:
        raise TargetError(
            f"a write failed, and restoring {', '.join(failed)} failed too",
            hint="run 'cmem-profile rollback' to return to the last complete switch",
        )


def ensure_private_dir(path: Path) -> None:
    """Make path a directory only its owner can use (0700), creating missing parents alike."""
    missing = []
    parent = path
    while not parent.exists() and parent != parent.parent:
        missing.append(parent)
        parent = parent.parent
    try:
        for directory in reversed(missing):
            with contextlib.suppress(FileExistsError):
                directory.mkdir(mode=0o700)
                directory.chmod(0o700)  # the umask masks mkdir's mode
        st = path.stat()
        if not stat.S_ISDIR(st.st_mode):
            raise TargetError(f"{path} is not a directory", hint="move it aside")
        # .env and the backups hold secrets: their directory must be 0700 (design invariant 4).
        if stat.S_IMODE(st.st_mode) & 0o077:
            path.chmod(0o700)
    except OSError as exc:
        raise _io_error("cannot make a private directory at", path, exc) from None


class SwitchLock:
    """One switch at a time: an exclusive flock on <state_dir>/lock, holding the holder's pid."""

    def __init__(self, state_dir: Path, timeout: float = 10.0) -> None:
        self.path = state_dir / "lock"
        self.timeout = timeout
        self._fd: int | None = None

    def __enter__(self) -> SwitchLock:
        ensure_private_dir(self.path.parent)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise _io_error("cannot open the lock", self.path, exc) from None
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                holder = os.pread(fd, 32, 0).strip()
                os.close(fd)
                who = f" (pid {holder.decode()})" if holder.isdigit() else ""
                raise LockTimeout(
                    f"another cmem-profile{who} has held {self.path} for {self.timeout:g} s",
                    hint="wait for it to finish and try again; the lock frees when it exits",
                ) from None
            except OSError as exc:
                os.close(fd)
                raise _io_error("cannot lock", self.path, exc) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
