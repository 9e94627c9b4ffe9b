"""claude-mem's .env and settings.json on disk: read them, and write them as one transaction.

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
import os
import secrets
import stat
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cmem_profiles.errors import LockTimeout, TargetError

_FAULT_VAR = "CMEM_PROFILE_TEST_FAULT"


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
    """One file of a switch: its new bytes (None: the file must not exist) and its mode.

    With refresh, the bytes are recomputed from the file as it is just before it is replaced:
    claude-mem writes settings.json without any lock, and its write must not be lost.
    """

    path: Path
    data: bytes | None
    mode: int
    refresh: Callable[[Snapshot], bytes | None] | None = None


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
            current = read_snapshot(write.path)
            before.append(current)
            data = write.refresh(current) if write.refresh else write.data
            if data is None:
                _remove(write.path, faults=True)
            else:
                _write(write.path, data, write.mode, faults=True)
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
