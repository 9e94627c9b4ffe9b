"""Files read and created without following anything another user controls.

Reads go through symlinks only when every link, the file and its directory are the user's
(see ownership); temp files get random names and O_EXCL, so a name planted in advance is never
opened; renameat2 gives the atomic exchange and no-replace renames that writes build on.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import glob
import os
import secrets
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cmem_profiles.errors import TargetError
from cmem_profiles.ownership import check_directory, check_owned, resolve_links


@dataclass(frozen=True)
class Snapshot:
    """One target file as found: the configured path, where writes go, its bytes and mode."""

    path: Path
    real_path: Path
    exists: bool
    data: bytes
    mode: int | None

    @property
    def content(self) -> bytes | None:
        return self.data if self.exists else None


def checked_real(path: Path) -> Path:
    """Where path's bytes live, in a directory that only the user controls."""
    real = resolve_links(path)
    check_directory(real.parent, path)
    return real


def read_snapshot(path: Path) -> Snapshot:
    """Read a target through any symlink; a missing file is an absent, empty snapshot."""
    real = checked_real(path)
    try:
        data, st = read_regular(real, path)
    except FileNotFoundError:
        return Snapshot(path, real, exists=False, data=b"", mode=None)
    return Snapshot(path, real, True, data, stat.S_IMODE(st.st_mode))


def read_regular(real: Path, path: Path) -> tuple[bytes, os.stat_result]:
    """A regular file of the user's own, never through a link; FileNotFoundError if absent."""
    try:
        # O_NONBLOCK: a FIFO planted at the path must fail below, not hang the switch.
        flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(real, flags)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise io_error("cannot read", path, exc) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
            raise TargetError(f"{path} is {kind}", hint="move it aside; claude-mem reads a file")
        check_owned(st, real, path)
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
    except OSError as exc:
        raise io_error("cannot read", path, exc) from None
    finally:
        os.close(fd)
    return b"".join(chunks), st


def read_private(path: Path) -> bytes:
    """A file cmem-profile keeps for itself (0600): refused when another user owns it or
    could have changed it, its mode tightened when others could merely read it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        raise TargetError(
            f"refusing {path}: it is a symlink, and cmem-profile never makes one there",
            hint="check where it points, then move it aside",
        ) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise TargetError(f"{path} is not a regular file", hint="move it aside")
        check_owned(st, path, path)
        mode = stat.S_IMODE(st.st_mode)
        if mode & 0o022:
            raise TargetError(
                f"refusing {path}: its mode {mode:04o} let others change it",
                hint="check its content, then chmod 600 it",
            )
        if mode & 0o077:
            os.fchmod(fd, 0o600)  # others could read it, not change it: tighten, and go on
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks)


def io_error(what: str, path: Path, exc: OSError) -> TargetError:
    return TargetError(
        f"{what} {path}: {exc.strerror or exc}",
        hint="check the file, its directory, their owner and permissions (ls -la)",
    )


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _temp_prefix(real: Path) -> str:
    return f".{real.name}.cmem-profile-"


def sweep_temps(real: Path) -> None:
    """Remove temp files an interrupted write of real left; writes hold SwitchLock, so any
    found now is stale. A link planted under such a name is removed, never followed."""
    for stale in real.parent.glob(f"{glob.escape(_temp_prefix(real))}*.tmp"):
        with contextlib.suppress(OSError):
            stale.unlink()


def temp_file(real: Path, data: bytes, mode: int) -> Path:
    """A new file beside real holding data, born with mode: never an existing name or link."""
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC
    for _ in range(8):
        tmp = real.parent / f"{_temp_prefix(real)}{secrets.token_hex(8)}.tmp"
        try:
            fd = os.open(tmp, flags, mode & 0o600)  # never wider than 0600 before fchmod
        except FileExistsError:
            continue  # the name was taken (planted?): O_EXCL refused it; draw another
        try:
            os.fchmod(fd, mode)  # the umask masks the mode given to O_CREAT; still empty
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        os.close(fd)
        return tmp
    raise FileExistsError(errno.EEXIST, "every temp file name tried was taken")


# An atomic exchange of two names (Linux renameat2, glibc 2.28+): the temp file goes in and the
# file it displaces comes out at the temp's name, so a write that landed since the file was
# read is seen, never silently lost.
_AT_FDCWD = -100
RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2
_UNSUPPORTED = {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EPERM}


@functools.cache
def _libc_renameat2() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    call: Callable[..., int] | None = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    return call


def renameat2(src: Path, dst: Path, flags: int) -> bool:
    """rename with flags; False when this system or file system cannot do it."""
    call = _libc_renameat2()
    if call is None:
        return False
    if call(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), flags) == 0:
        return True
    code = ctypes.get_errno()
    if code in _UNSUPPORTED:
        return False
    raise OSError(code, os.strerror(code), str(dst))
