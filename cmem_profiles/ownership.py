"""Who can change a path: refuse files, links and directories that another user controls.

claude-mem's files hold a user's credentials, and a write follows symlinks into dotfile
repositories. Every path cmem-profile reads or writes must be out of other users' reach: a link
or file they own, or a directory they can write (where they could swap an entry), is refused
with the reason. The rule is OpenSSH's StrictModes with Debian's private-group exception: a
directory may be owned by the user or root, and writable by nobody else, except a group that is
the user's own private group; an ancestor may be world-writable only when sticky (/tmp), since
then only an entry's owner can rename it, and each entry below it is checked in turn.
"""

from __future__ import annotations

import errno
import grp
import os
import pwd
import stat
from pathlib import Path

from cmem_profiles.errors import TargetError

_LINK_LIMIT = 40  # Linux's own limit on symlinks followed in one lookup

HINT = (
    "cmem-profile writes credentials there: keep claude-mem's files, and every directory "
    "above them, owned by you and writable only by you"
)


def describe_owner(uid: int) -> str:
    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def _private_group(gid: int) -> bool:
    """The user's own group (same name, no other members): Debian's user private groups."""
    try:
        user = pwd.getpwuid(os.geteuid())
        group = grp.getgrgid(gid)
    except KeyError:
        return False
    return (
        gid == user.pw_gid and group.gr_name == user.pw_name and set(group.gr_mem) <= {user.pw_name}
    )


def writable_by_others(st: os.stat_result) -> str | None:
    """Who besides the owner may write: "other users", "group <name>", or None."""
    if st.st_mode & stat.S_IWOTH:
        return "other users"
    if st.st_mode & stat.S_IWGRP and not _private_group(st.st_gid):
        try:
            return f"group {grp.getgrgid(st.st_gid).gr_name}"
        except KeyError:
            return f"group {st.st_gid}"
    return None


def _refuse(subject: Path, reason: str) -> TargetError:
    return TargetError(f"refusing {subject}: {reason}", hint=HINT)


def _stat(path: Path, subject: Path) -> os.stat_result:
    try:
        return path.stat()
    except OSError as exc:
        raise TargetError(
            f"cannot check {path} (for {subject}): {exc.strerror or exc}",
            hint="check the directory, its owner and permissions (ls -ld)",
        ) from None


def check_ancestors(directory: Path, subject: Path) -> None:
    """Each existing directory from directory up to / is the user's or root's, and nobody
    else can write it unless it is sticky; subject is what the message names."""
    me = os.geteuid()
    for parent in [directory, *directory.parents]:
        if not parent.exists():
            continue  # created later by ensure_private_dir, 0700
        st = _stat(parent, subject)
        if st.st_uid not in (me, 0):
            raise _refuse(subject, f"{parent} belongs to {describe_owner(st.st_uid)}")
        who = writable_by_others(st)
        if who and not st.st_mode & stat.S_ISVTX:
            raise _refuse(
                subject,
                f"{parent} is writable by {who} (mode {stat.S_IMODE(st.st_mode):04o}), "
                "who could replace what it holds",
            )


def check_directory(directory: Path, subject: Path) -> None:
    """directory may hold subject: the user's or root's, writable by nobody else (sticky or
    not, since a temp file and a rename happen there), and safe all the way up."""
    if not directory.exists():
        check_ancestors(directory, subject)  # nothing to read there; a write creates it 0700
        return
    st = _stat(directory, subject)
    who = writable_by_others(st)
    if who:
        raise _refuse(
            subject,
            f"it lives in {directory}, which {who} can write to "
            f"(mode {stat.S_IMODE(st.st_mode):04o})",
        )
    check_ancestors(directory, subject)


def check_owned(st: os.stat_result, path: Path, subject: Path) -> None:
    """A file or directory of the user's own; root's files are another user's too."""
    if st.st_uid != os.geteuid():
        what = "it" if path == subject else str(path)
        raise _refuse(subject, f"{what} belongs to {describe_owner(st.st_uid)}, not to you")


def resolve_links(path: Path) -> Path:
    """Follow path's own symlinks (a dangling one included) to where its bytes live, refusing
    a link that another user owns; directories above are resolved by realpath."""
    current = Path(os.path.normpath(path.absolute()))
    for _ in range(_LINK_LIMIT):
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            return Path(os.path.realpath(current))
        except OSError as exc:
            raise TargetError(f"cannot resolve {path}: {exc.strerror or exc}") from None
        if not stat.S_ISLNK(st.st_mode):
            return Path(os.path.realpath(current))
        if st.st_uid != os.geteuid():
            raise _refuse(
                path, f"the symlink {current} belongs to {describe_owner(st.st_uid)}, not to you"
            )
        parent = Path(os.path.realpath(current.parent))
        current = Path(os.path.normpath(parent / current.readlink()))
    raise TargetError(
        f"cannot resolve {path}: {os.strerror(errno.ELOOP)}",
        hint="check the file, its directory, their owner and permissions (ls -la)",
    )
