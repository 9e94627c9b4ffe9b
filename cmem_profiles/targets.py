"""claude-mem's .env and settings.json on disk: read them, and write them as one transaction.

Writes follow symlinks (dotfile managers link these files, and the link must stay a link), go
through a temp file in the target's own directory and a rename, and a multi-file write
restores the files already written when a later one fails. Run every write under SwitchLock.
Every path is checked first (see ownership): a link, file or directory another user controls
is refused. Temp files have random names and are created with O_EXCL, so a name planted in
advance is never followed or reused.

Test-only: the environment variable ``CMEM_PROFILE_TEST_FAULT=<action>:<point>`` makes a switch
fail at one of its steps, so tests can prove the transaction; this module alone reads it, and
other modules mark their steps with fault_point. ``raise`` raises RuntimeError, ``exit`` calls
``os._exit(70)``, ``pause`` writes a line to stderr and waits for a byte on stdin (so a test can
kill the process there). The points, in the order a switch passes them:

- ``after-lock``: SwitchLock is held;
- ``after-secrets``: every secret is resolved (``use`` only);
- ``after-found``: the live files were kept as a new generation (first switch, or after an
  edit made outside cmem-profile);
- ``after-generation``: the files the switch will write are kept as its generation;
- ``after-temp:journal``, ``after-replace:journal``: the state's pending mark is being written;
- ``after-temp:<file>``, ``after-replace:<file>`` for ``.env`` then ``settings.json``: the
  temp file is complete and the target untouched; the target is replaced (or removed);
- ``after-temp:state.json``, ``after-replace:state.json``: the final state is being written;
- ``after-prune``: generations no longer needed are deleted; the switch is complete.

A raise is undone at once; an exit cannot be: the journal makes the next locked command undo
it, and that command also sweeps the temp files it left.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cmem_profiles.errors import LockTimeout, TargetError
from cmem_profiles.fileio import (
    RENAME_EXCHANGE,
    RENAME_NOREPLACE,
    Snapshot,
    checked_real,
    fsync_dir,
    io_error,
    read_regular,
    read_snapshot,
    renameat2,
    sweep_temps,
    temp_file,
)
from cmem_profiles.ownership import check_ancestors, check_owned, resolve_links

_FAULT_VAR = "CMEM_PROFILE_TEST_FAULT"
LOCK_TIMEOUT = 10.0  # seconds a switch waits for another one before giving up


def fault_point(point: str) -> None:
    """Test-only: act here when CMEM_PROFILE_TEST_FAULT names this point (see the module doc)."""
    action, _, where = os.environ.get(_FAULT_VAR, "").partition(":")
    if where != point:
        return
    if action == "raise":
        raise RuntimeError(f"injected fault at {point}")
    if action == "exit":
        os._exit(70)
    if action == "pause":
        os.write(2, f"cmem-profile: test pause at {point}\n".encode())
        os.read(0, 1)


@dataclass(frozen=True)
class FileWrite:
    """One file of a switch: its new bytes (None: the file must not exist) and its mode.

    With refresh, the bytes are recomputed from the file as it is when it is replaced:
    claude-mem writes settings.json without any lock, and its write must not be lost.
    """

    path: Path
    data: bytes | None
    mode: int
    refresh: Callable[[Snapshot], bytes] | None = None


# Writing


def write_atomic(path: Path, data: bytes, mode: int, point: str | None = None) -> None:
    """Replace path's file (a symlink's target) with data, born with exactly mode.

    point names the write for fault_point (after-temp:<point>, after-replace:<point>).
    """
    real = checked_real(path)
    sweep_temps(real)
    _replace(real, path, data, mode, point)
    if point:
        fault_point(f"after-replace:{point}")


def _replace(real: Path, path: Path, data: bytes, mode: int, point: str | None) -> None:
    try:
        tmp = temp_file(real, data, mode)
    except OSError as exc:
        raise io_error("cannot write", path, exc) from None
    try:
        if point:
            fault_point(f"after-temp:{point}")
        tmp.replace(real)
        fsync_dir(real.parent)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError):
            raise io_error("cannot write", path, exc) from None
        raise


def _remove(real: Path, path: Path) -> None:
    try:
        real.unlink(missing_ok=True)
        if real.parent.is_dir():
            fsync_dir(real.parent)
    except OSError as exc:
        raise io_error("cannot remove", path, exc) from None


def apply_files(writes: Sequence[FileWrite]) -> None:
    """Write each file in order, all or nothing: a failure restores every file touched."""
    before: list[Snapshot] = []
    try:
        for write in writes:
            current = read_snapshot(write.path)
            before.append(current)
            sweep_temps(current.real_path)
            if write.refresh is not None:
                try:
                    _install_merged(write, current, write.refresh)
                except OSError as exc:
                    raise io_error("cannot write", write.path, exc) from None
            elif write.data is None:
                _remove(current.real_path, write.path)
            else:
                _replace(current.real_path, write.path, write.data, write.mode, write.path.name)
            fault_point(f"after-replace:{write.path.name}")
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
                mode = 0o600 if old.mode is None else old.mode
                _replace(now.real_path, old.path, old.data, mode, None)
            else:
                _remove(now.real_path, old.path)
        except (OSError, TargetError):
            failed.append(str(old.path))
    if failed:
        raise RestoreFailed(
            f"a write failed, and restoring {', '.join(failed)} failed too",
            hint="run 'cmem-profile rollback' to return to the last complete switch",
        )


class RestoreFailed(TargetError):
    """A failed write could not be undone: the files may be half written."""


_MAX_MERGES = 100


def _install_merged(
    write: FileWrite, current: Snapshot, refresh: Callable[[Snapshot], bytes]
) -> bytes:
    """Write refresh(file as it is) in place of the file, and return the bytes left there.

    claude-mem replaces settings.json (temp file and rename) without any lock, so its write
    can land between the read and the rename. Just before the rename the file is read again,
    and merged into afresh if it changed. The rename itself is an atomic exchange: the file
    it displaced comes back, and if it is not the one just read (a write in the microseconds
    between), it is put straight back and merged into. So no write of claude-mem's is lost;
    at worst the file lacks it for the microseconds between two exchanges. Where no exchange
    exists (not Linux, or a file system without it), a plain rename follows the last read: a
    write landing in the microseconds between them is lost. claude-mem's own read-change-write
    can drop a switch the same way; the next switch then reports it as a hand edit.
    """
    real, path = current.real_path, write.path
    basis = current
    for attempt in range(_MAX_MERGES):
        data = refresh(basis)
        tmp = temp_file(real, data, write.mode)
        try:
            if attempt == 0:
                fault_point(f"after-temp:{path.name}")
            missed = _swap_in(tmp, real, path, basis.content)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        if missed is None:
            return data
        basis = Snapshot(path, real, missed.exists, missed.data, write.mode)
    raise TargetError(
        f"{path} kept changing while cmem-profile wrote it",
        hint="something rewrites it constantly; stop it and try again",
    )


def _swap_in(tmp: Path, real: Path, path: Path, expected: bytes | None) -> Snapshot | None:
    """Rename tmp to real if real still holds expected (None: no file) and return None;
    otherwise leave real as it is, remove tmp, and return what real holds."""
    if _content(real, path) == expected and _place(tmp, real, path, expected):
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()  # after an exchange: the file displaced
        fsync_dir(real.parent)
        return None
    tmp.unlink()
    now = _content(real, path)
    return Snapshot(path, real, now is not None, now or b"", None)


def _place(tmp: Path, real: Path, path: Path, expected: bytes | None) -> bool:
    """Rename tmp to real unless real turns out to have changed (then nothing is changed)."""
    if expected is None:
        try:
            if renameat2(tmp, real, RENAME_NOREPLACE):
                return True
        except FileExistsError:
            return False  # created since the read: merge into it
    elif renameat2(tmp, real, RENAME_EXCHANGE):
        if _content(tmp, path) == expected:
            return True
        renameat2(tmp, real, RENAME_EXCHANGE)  # a write landed just now: put it back
        return False
    tmp.replace(real)  # no exchange here: the window is since the caller's last read
    return True


def _content(real: Path, path: Path) -> bytes | None:
    try:
        return read_regular(real, path)[0]
    except FileNotFoundError:
        return None


# Directories and the lock


def ensure_private_dir(path: Path) -> None:
    """Make path a directory only its owner can use (0700), creating missing parents alike.

    One of the user's own that others could read or write is tightened to 0700: what others
    may have put in it is not trusted anyway, since every file is checked as it is read. One
    that another user owns, or below a directory others can write, is refused.
    """
    check_ancestors(path.parent, path)
    missing = []
    parent = path
    while not parent.exists() and parent != parent.parent:
        missing.append(parent)
        parent = parent.parent
    try:
        for directory in reversed(missing):
            with contextlib.suppress(FileExistsError):
                directory.mkdir(mode=0o700)
                directory.chmod(0o700)  # the umask masks mkdir's mode; still empty
        real = resolve_links(path)
        st = real.stat()
        if not stat.S_ISDIR(st.st_mode):
            raise TargetError(f"{path} is not a directory", hint="move it aside")
        check_owned(st, real, path)
        # .env and the backups hold secrets: their directory must be 0700 (design invariant 4).
        if stat.S_IMODE(st.st_mode) & 0o077:
            real.chmod(0o700)
    except OSError as exc:
        raise io_error("cannot make a private directory at", path, exc) from None
    check_ancestors(real.parent, path)


class SwitchLock:
    """One switch at a time: an exclusive flock on <state_dir>/lock, holding the holder's pid.

    The timeout is per holder: waiting behind a queue of switches that each finish is fine,
    one process holding the lock that long is not, and the message names its pid.
    """

    def __init__(self, state_dir: Path, timeout: float | None = None) -> None:
        self.path = state_dir / "lock"
        self.timeout = LOCK_TIMEOUT if timeout is None else timeout
        self._fd: int | None = None

    def __enter__(self) -> SwitchLock:
        ensure_private_dir(self.path.parent)
        try:
            flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
            fd = os.open(self.path, flags, 0o600)
        except OSError as exc:
            raise io_error("cannot open the lock", self.path, exc) from None
        holder: bytes | None = None
        deadline = 0.0
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                now, pid = time.monotonic(), os.pread(fd, 32, 0).strip()
                if pid != holder:
                    holder, deadline = pid, now + self.timeout
                elif now >= deadline:
                    os.close(fd)
                    raise self._timeout(pid.decode() if pid.isdigit() else None) from None
                time.sleep(0.05)
            except OSError as exc:
                os.close(fd)
                raise io_error("cannot lock", self.path, exc) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        try:
            fault_point("after-lock")
        except BaseException:
            self.__exit__()
            raise
        return self

    def _timeout(self, pid: str | None) -> LockTimeout:
        who = f" (pid {pid})" if pid else ""
        stuck = f"if pid {pid} is stuck, stop it (kill {pid})" if pid else "find it with 'fuser'"
        return LockTimeout(
            f"another cmem-profile{who} has held {self.path} for {self.timeout:g} s",
            hint=f"wait for it to finish and try again; the lock frees when it exits; {stuck}",
        )

    def __exit__(self, *exc_info: object) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
