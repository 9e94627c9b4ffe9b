"""Filesystem attacks and accidents: links, owners, open directories, planted names, modes.

claude-mem's files hold a user's credentials. A link or file that another user owns, or a
directory that others can write, is refused with the reason and nothing is written; the
user's own directories that are merely too open are tightened; temp files are never a name
planted in advance; everything holding a secret is 0600 from birth, whatever the umask.

"Another user" is uid 65534 (nobody), or 65533 for nobody itself: the tests chown to it, which
needs root. Without root they are skipped, except under CI=true, where they fail.
"""

from __future__ import annotations

import builtins
import grp
import os
import pwd
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from test_switch_robustness import (
    ORIGINAL,
    PROFILES,
    DataDir,
    cli,
    data,
    expected,
    stamp,
)

from cmem_profiles import fileio, ownership

__all__ = ["data"]  # the fixture, shared with the switch tests

NOBODY = 65534 if os.geteuid() != 65534 else 65533
HINT = f"hint: {ownership.HINT}\n"


def give_away(path: Path, *, group: bool = False, link: bool = False) -> None:
    """chown path (the link itself with link) to another user, or only its group."""
    uid, gid = (-1, NOBODY) if group else (NOBODY, -1)
    try:
        (os.lchown if link else os.chown)(path, uid, gid)
    except PermissionError:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run these tests as root: they chown files to another user")
        pytest.skip("needs root to chown a file to another user")


def group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def nobody() -> str:
    return ownership.describe_owner(NOBODY)


def refused(
    capsys: pytest.CaptureFixture[str], data: DataDir, reason: str, preview: str | None = None
) -> None:
    """use refuses with reason, and diff with preview (the same by default); nothing is
    written."""
    before = sorted(
        (str(p), stamp(p)) for p in data.path.rglob("*") if p.is_file() and not p.is_symlink()
    )
    for argv, why in ((["use", "corporate"], reason), (["diff", "corporate"], preview or reason)):
        assert cli(capsys, *argv) == (1, "", f"cmem-profile: error: {why}\n{HINT}")
    after = sorted(
        (str(p), stamp(p)) for p in data.path.rglob("*") if p.is_file() and not p.is_symlink()
    )
    assert [p for p in after if not p[0].endswith("/lock")] == before
    assert not (data.state_dir / "state.json").exists()


def link_into(directory: Path, data: DataDir, name: str) -> tuple[Path, Path]:
    """Move the data dir's file name into directory and link it back; (link, target)."""
    link, target = data.path / name, directory / f"claude-mem{name}"
    target.write_bytes(link.read_bytes())
    link.unlink()
    link.symlink_to(target)
    return link, target


# Links and files others control.


@pytest.mark.parametrize("name", [".env", "settings.json"])
@pytest.mark.parametrize(
    ("mode", "who"),
    [(0o1777, "other users"), (0o777, "other users"), (0o770, "their group")],
    ids=["sticky-like-tmp", "world-writable", "group-writable"],
)
def test_a_link_into_a_directory_others_can_write_is_refused(
    data: DataDir,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    name: str,
    mode: int,
    who: str,
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(mode)
    if who == "their group":
        give_away(shared, group=True)
        who = f"group {group_name(NOBODY)}"
    link, _ = link_into(shared, data, name)
    refused(
        capsys,
        data,
        f"refusing {link}: it lives in {shared}, which {who} can write to (mode {mode:04o})",
    )
    assert link.is_symlink()


def test_a_link_into_the_real_tmp_is_refused(
    data: DataDir, capsys: pytest.CaptureFixture[str]
) -> None:
    fd, name = tempfile.mkstemp(dir="/tmp", prefix="cmem-profile-test-")
    os.close(fd)
    target = Path(name)
    try:
        target.write_bytes(ORIGINAL[0])
        data.env.unlink()
        data.env.symlink_to(target)
        mode = stat.S_IMODE(Path("/tmp").stat().st_mode)
        refused(
            capsys,
            data,
            f"refusing {data.env}: it lives in /tmp, which other users can write to "
            f"(mode {mode:04o})",
        )
        assert target.read_bytes() == ORIGINAL[0]
    finally:
        target.unlink()


@pytest.mark.parametrize("name", [".env", "settings.json"])
def test_a_link_to_a_file_another_user_owns_is_refused(
    data: DataDir, capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str
) -> None:
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    link, target = link_into(dotfiles, data, name)
    give_away(target)
    refused(capsys, data, f"refusing {link}: {target} belongs to {nobody()}, not to you")


@pytest.mark.parametrize("name", [".env", "settings.json"])
def test_a_file_another_user_owns_is_refused(
    data: DataDir, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    give_away(data.path / name)
    refused(capsys, data, f"refusing {data.path / name}: it belongs to {nobody()}, not to you")


def test_a_link_another_user_owns_is_refused_even_to_your_own_file(
    data: DataDir, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    link, _ = link_into(dotfiles, data, "settings.json")
    give_away(link, link=True)
    refused(
        capsys,
        data,
        f"refusing {link}: the symlink {link} belongs to {nobody()}, not to you",
    )


def test_a_link_into_your_own_dotfiles_is_written_through(
    data: DataDir, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir(mode=0o755)
    links = [link_into(dotfiles, data, name) for name in (".env", "settings.json")]
    assert cli(capsys, "use", "corporate")[0] == 0
    assert data.files() == expected("corporate")
    for link, target in links:
        assert link.is_symlink() and os.readlink(link) == str(target)


def test_a_group_that_is_yours_alone_may_write() -> None:
    """Debian's user private groups: a directory 0775 of group alice, whose only member is
    alice, is no more open than 0755; any other group is refused."""
    me = pwd.getpwuid(os.geteuid())
    private = grp.struct_group((me.pw_name, "x", me.pw_gid, []))
    shared = grp.struct_group(("staff", "x", me.pw_gid, [me.pw_name, "bob"]))
    open_dir = os.stat_result((stat.S_IFDIR | 0o775, 0, 0, 2, me.pw_uid, me.pw_gid, 0, 0, 0, 0))
    for group, verdict in ((private, None), (shared, "group staff")):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(ownership.grp, "getgrgid", lambda gid, g=group: g)
            assert ownership.writable_by_others(open_dir) == verdict


# The data dir and the directories above it.


def test_a_data_dir_another_user_owns_is_refused(
    data: DataDir, capsys: pytest.CaptureFixture[str]
) -> None:
    give_away(data.path)
    refused(
        capsys,
        data,
        f"refusing {data.path}: it belongs to {nobody()}, not to you",
        f"refusing {data.env}: {data.path} belongs to {nobody()}",  # diff reads, creates nothing
    )
    assert not data.state_dir.exists()


def test_your_own_data_dir_open_to_all_is_tightened(
    data: DataDir, capsys: pytest.CaptureFixture[str]
) -> None:
    data.path.chmod(0o777)
    assert cli(capsys, "use", "corporate")[0] == 0
    assert stat.S_IMODE(data.path.stat().st_mode) == 0o700
    assert data.files() == expected("corporate")


def test_a_file_planted_in_an_open_data_dir_is_refused_after_tightening(
    data: DataDir, capsys: pytest.CaptureFixture[str]
) -> None:
    data.path.chmod(0o777)
    give_away(data.env)  # what another user could have left there while it was open
    code, out, err = cli(capsys, "use", "corporate")
    assert (code, out) == (1, "")
    assert (
        err
        == f"cmem-profile: error: refusing {data.env}: it belongs to {nobody()}, not to you\n{HINT}"
    )
    assert stat.S_IMODE(data.path.stat().st_mode) == 0o700
    assert data.files() == ORIGINAL


@pytest.mark.parametrize(("mode", "ok"), [(0o777, False), (0o1777, True), (0o755, True)])
def test_a_data_dir_below_a_directory_others_can_write(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    mode: int,
    ok: bool,
) -> None:
    """Anyone may rename a directory in a world-writable parent, unless it is sticky."""
    parent = tmp_path / "open"
    parent.mkdir()
    parent.chmod(mode)
    monkeypatch.setenv("CLAUDE_MEM_DATA_DIR", str(parent / "claude-mem"))
    monkeypatch.setenv("CMEM_PROFILE_SECRET_CORP_GATEWAY", "corp-key-1111")
    code, _, err = cli(capsys, "use", "corporate")
    if ok:
        assert (code, err) == (0, "")
    else:
        assert (code, err) == (
            1,
            f"cmem-profile: error: refusing {parent / 'claude-mem'}: {parent} is writable by "
            f"other users (mode {mode:04o}), who could replace what it holds\n{HINT}",
        )
        assert not (parent / "claude-mem").exists()


# Temp files: random names, never a planted one.


def test_a_link_planted_under_a_temp_name_is_removed_not_followed(
    data: DataDir, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious\n")
    victim.chmod(0o644)
    for name in (".env", "settings.json"):
        (data.path / f".{name}.cmem-profile-0123456789abcdef.tmp").symlink_to(victim)
    assert cli(capsys, "use", "corporate")[0] == 0
    assert data.files() == expected("corporate")
    assert (victim.read_bytes(), stat.S_IMODE(victim.stat().st_mode)) == (b"precious\n", 0o644)
    assert sorted(p.name for p in data.path.iterdir()) == [".cmem-profile", ".env", "settings.json"]


def test_a_temp_name_taken_at_the_last_moment_is_never_opened(
    data: DataDir,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each of the first names drawn is planted, as a link, between the sweep and the open:
    O_EXCL refuses it and the write draws another."""
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious\n")
    token_hex = fileio.secrets.token_hex
    draws: list[str] = []

    def planting_token_hex(nbytes: int) -> str:
        token = token_hex(nbytes)
        draws.append(token)
        if len(draws) <= 3:
            for directory, name in ((data.path, ".env"), (data.path, "settings.json")):
                (directory / f".{name}.cmem-profile-{token}.tmp").symlink_to(victim)
            (data.state_dir / f".state.json.cmem-profile-{token}.tmp").symlink_to(victim)
        return token

    monkeypatch.setattr(fileio.secrets, "token_hex", planting_token_hex)
    assert cli(capsys, "use", "corporate")[0] == 0
    assert data.files() == expected("corporate")
    assert victim.read_bytes() == b"precious\n"
    # Without the plants a switch draws one name per write; each planted draw cost one more.
    monkeypatch.setattr(fileio.secrets, "token_hex", token_hex)
    writes = len(draws) - 3
    assert writes == 5  # the journal, .env, settings.json, the final state, the trust record


# Generations: the copies rollback writes back.


@pytest.fixture
def two_switches(data: DataDir, capsys: pytest.CaptureFixture[str]) -> Path:
    """gemini then corporate; returns generation 1 (gemini's files)."""
    assert cli(capsys, "use", "gemini")[0] == 0
    assert cli(capsys, "use", "corporate")[0] == 0
    return data.state_dir / "generations" / "1"


def test_loose_generation_directories_are_tightened(
    data: DataDir, capsys: pytest.CaptureFixture[str], two_switches: Path
) -> None:
    two_switches.chmod(0o777)
    two_switches.parent.chmod(0o755)
    data.state_dir.chmod(0o755)
    (two_switches / ".env").chmod(0o644)  # others could read it, not change it
    assert cli(capsys, "rollback", "1")[0] == 0
    assert data.files() == expected("gemini")
    for directory in (two_switches, two_switches.parent, data.state_dir):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
    assert stat.S_IMODE((two_switches / ".env").stat().st_mode) == 0o600


def tamper_refused(
    capsys: pytest.CaptureFixture[str], data: DataDir, reason: str, hint: str
) -> None:
    before = data.files()
    assert cli(capsys, "rollback", "1") == (
        1,
        "",
        f"cmem-profile: error: {reason}\nhint: {hint}\n",
    )
    assert data.files() == before


def test_a_generation_file_others_could_change_is_refused(
    data: DataDir, capsys: pytest.CaptureFixture[str], two_switches: Path
) -> None:
    copy = two_switches / ".env"
    copy.chmod(0o666)
    tamper_refused(
        capsys,
        data,
        f"refusing {copy}: its mode 0666 let others change it",
        "check its content, then chmod 600 it",
    )


def test_a_generation_file_another_user_owns_is_refused(
    data: DataDir, capsys: pytest.CaptureFixture[str], two_switches: Path
) -> None:
    copy = two_switches / "settings.json"
    give_away(copy)
    tamper_refused(
        capsys, data, f"refusing {copy}: it belongs to {nobody()}, not to you", ownership.HINT
    )


def test_a_generation_file_replaced_by_a_link_is_refused(
    data: DataDir, capsys: pytest.CaptureFixture[str], two_switches: Path, tmp_path: Path
) -> None:
    copy = two_switches / ".env"
    elsewhere = tmp_path / "attacker.env"
    elsewhere.write_bytes(b"ANTHROPIC_BASE_URL=https://evil.example.com\n")
    copy.unlink()
    copy.symlink_to(elsewhere)
    tamper_refused(
        capsys,
        data,
        f"refusing {copy}: it is a symlink, and cmem-profile never makes one there",
        "check where it points, then move it aside",
    )


# Modes from birth.

SECRET_FILES = (".env", ".cmem-profile")  # the live .env and everything in the state dir


@pytest.mark.parametrize("mask", [0, 0o077], ids=["umask-0", "umask-077"])
@pytest.mark.parametrize("fresh", [False, True], ids=["existing", "fresh-home"])
def test_private_modes_whatever_the_umask(data: DataDir, mask: int, fresh: bool) -> None:
    if fresh:
        for path in (data.env, data.settings):
            path.unlink()
        data.path.rmdir()
    for argv in (["use", "corporate"], ["use", "gemini"], ["rollback", "1"]):
        result = subprocess.run(
            [sys.executable, "-m", "cmem_profiles", "--profiles-dir", PROFILES, *argv],
            env=dict(os.environ),
            capture_output=True,
            text=True,
            umask=mask,
            check=False,
        )
        assert (result.returncode, result.stderr) == (0, "")
    assert stat.S_IMODE(data.path.stat().st_mode) == 0o700
    # settings.json holds no secret: it keeps the mode it had, or is born 0600.
    assert stat.S_IMODE(data.settings.stat().st_mode) == (0o600 if fresh else 0o644)
    assert stat.S_IMODE(data.env.stat().st_mode) == 0o600
    for path in data.state_dir.rglob("*"):
        wanted = 0o700 if path.is_dir() else 0o600
        assert stat.S_IMODE(path.stat().st_mode) == wanted, path


@dataclass
class Audit:
    created: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@pytest.fixture
def audited_writes(data: DataDir, monkeypatch: pytest.MonkeyPatch) -> Iterator[Audit]:
    """Under umask 0, record each file created under the data dir, and as a problem any
    such file opened for writing by open(), created without O_EXCL or wider than 0600, or
    chmod-ed once it has content."""
    audit = Audit()
    real_open, real_chmod, real_fchmod = os.open, os.chmod, os.fchmod
    real_builtin_open = builtins.open
    root = str(data.path)

    def audit_open(path: object, flags: int, mode: int = 0o777, **kw: object) -> int:
        if str(path).startswith(root) and flags & os.O_CREAT:
            # The lock file is reused, and holds a pid only; never through a link all the same.
            needed = os.O_NOFOLLOW if str(path).endswith("/lock") else os.O_EXCL
            if not flags & needed or mode & 0o077:
                audit.problems.append(f"{path} created with flags {flags:o}, mode {mode:o}")
            audit.created.append(str(path))
        return real_open(path, flags, mode, **kw)  # type: ignore[arg-type]

    def audit_chmod(path: object, mode: int, **kw: object) -> None:
        target = Path(str(path))
        if str(path).startswith(root) and target.is_file() and target.stat().st_size:
            audit.problems.append(f"{path} chmod-ed after it was written")
        real_chmod(path, mode, **kw)  # type: ignore[arg-type]

    def audit_fchmod(fd: int, mode: int) -> None:
        if os.fstat(fd).st_size:
            audit.problems.append(f"file descriptor {fd} chmod-ed after it was written")
        real_fchmod(fd, mode)

    def audit_builtin_open(file: object, mode: str = "r", *args: object, **kw: object) -> object:
        if str(file).startswith(root) and set(mode) & set("wax+"):
            audit.problems.append(f"{file} opened for writing by open(), born with the umask")
        return real_builtin_open(file, mode, *args, **kw)  # type: ignore[call-overload]

    monkeypatch.setattr(os, "open", audit_open)
    monkeypatch.setattr(os, "chmod", audit_chmod)
    monkeypatch.setattr(os, "fchmod", audit_fchmod)
    monkeypatch.setattr(builtins, "open", audit_builtin_open)
    old_mask = os.umask(0)
    try:
        yield audit
    finally:
        os.umask(old_mask)


def test_every_file_is_created_private_and_never_chmod_after_writing(
    data: DataDir, capsys: pytest.CaptureFixture[str], audited_writes: Audit
) -> None:
    for argv in (["use", "corporate"], ["use", "gemini"], ["rollback", "1"], ["rollback"]):
        assert cli(capsys, *argv)[0] == 0
    assert audited_writes.problems == []
    names = {Path(p).name for p in audited_writes.created}
    assert {"meta.json", "lock", ".env", "settings.json"} <= names  # generation copies
    for prefix in ("..env", ".settings.json", ".state.json"):
        assert any(n.startswith(f"{prefix}.cmem-profile-") for n in names), prefix
