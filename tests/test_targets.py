"""claude-mem's files on disk: settings.json parsing and rendering, atomic writes, the lock."""

from __future__ import annotations

import json
import os
import random
import shutil
import stat
import struct
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from cmem_profiles.errors import LockTimeout, TargetError
from cmem_profiles.settings_json import (
    is_legacy_shape,
    merge_settings,
    parse_settings,
    parse_settings_document,
    render_settings,
    rewrap_settings,
    settings_of,
)
from cmem_profiles.targets import (
    FileWrite,
    SwitchLock,
    apply_files,
    ensure_private_dir,
    read_snapshot,
    write_atomic,
)

REPO = Path(__file__).resolve().parent.parent
FIXTURE_NAME = "claude-mem-13.25-settings.json"
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed")


@pytest.fixture
def fixture_settings() -> bytes:
    """The settings.json a claude-mem 13.25 worker writes on its first start."""
    for candidate in (REPO / "tests" / "fixtures", Path("/work/shared/fixtures")):
        if (candidate / FIXTURE_NAME).is_file():
            return (candidate / FIXTURE_NAME).read_bytes()
    pytest.skip(f"{FIXTURE_NAME} is not available")


@pytest.fixture
def umask() -> Iterator[None]:
    """Restore the process umask after a test changes it."""
    old = os.umask(0o022)
    os.umask(old)
    yield
    os.umask(old)


def node_stringify(text: bytes) -> bytes:
    """What claude-mem writes for this settings.json: JSON.stringify(JSON.parse(...), null, 2)."""
    script = (
        "const t = require('fs').readFileSync(0, 'utf8').replace(/^\\uFEFF/, '');"
        "process.stdout.write(JSON.stringify(JSON.parse(t), null, 2) + '\\n');"
    )
    assert NODE is not None
    return subprocess.run([NODE, "-e", script], input=text, capture_output=True, check=True).stdout


def subprocess_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), **extra}


# settings.json: parsing


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b'{"a": 1,}',
            "settings.json:1:9: not valid JSON: Expecting property name enclosed in double quotes",
        ),
        (
            b'{\n  "a": "x"\n  "b": "y"\n}',
            "settings.json:3:3: not valid JSON: Expecting ',' delimiter",
        ),
        (b'{"a" 1}', "settings.json:1:6: not valid JSON: Expecting ':' delimiter"),
        (b'{"a": 1} x', "settings.json:1:10: not valid JSON: Extra data"),
        (b'{"a": "b\x01"}', "settings.json:1:9: not valid JSON: Invalid control character"),
        # Python's json takes these; JSON.parse (claude-mem) does not.
        (b'{"a": NaN}', "settings.json:1:7: not valid JSON: NaN is not a JSON value"),
        (
            b'{"k": "NaN Infinity",\n "v": -Infinity}',
            "settings.json:2:7: not valid JSON: -Infinity is not a JSON value",
        ),
        (b'{\n"a": "\xff"}', "settings.json:2:7: not valid JSON: invalid UTF-8 byte 0xff"),
        (b'\xef\xbb\xbf{"a": }', "settings.json:1:7: not valid JSON: Expecting value"),
        (b"[1]", "settings.json: the top level is an array, not a JSON object"),
        (b'"x"', "settings.json: the top level is a string, not a JSON object"),
        (b"null", "settings.json: the top level is null, not a JSON object"),
        (b"3", "settings.json: the top level is a number, not a JSON object"),
        *(
            (
                b'{"a": ' + b"[" * depth + b"]" * depth + b"}",
                "settings.json: nested more than 100 levels deep; claude-mem's settings are flat",
            )
            for depth in (100, 600, 100_000)  # past 450 the writer overflowed, past 1000 json
        ),
    ],
)
def test_parse_errors_name_file_line_and_column(data: bytes, message: str) -> None:
    with pytest.raises(TargetError) as caught:
        parse_settings(data, "settings.json")
    assert caught.value.message == message
    assert caught.value.hint == "fix it by hand, or run 'cmem-profile rollback'"


@pytest.mark.parametrize("data", [b"", b" \n\t\r\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf\n"])
def test_empty_settings_are_an_empty_object(data: bytes) -> None:
    assert parse_settings(data, "settings.json") == {}


def test_bom_is_stripped_like_claude_mem() -> None:
    assert parse_settings(b'\xef\xbb\xbf{"A": "1"}', "s") == {"A": "1"}


def test_duplicate_keys_keep_the_last_value_at_the_first_position() -> None:
    parsed = parse_settings(b'{"a": "1", "b": "2", "a": "3"}', "s")
    assert list(parsed.items()) == [("a", "3"), ("b", "2")]


@pytest.mark.parametrize(
    ("document", "legacy", "settings", "written"),
    [
        ({"A": "1"}, False, {"A": "1"}, {"A": "1"}),
        # A lone wrapper: claude-mem 13.25 flattens it on its next load.
        ({"env": {"A": "1"}}, True, {"A": "1"}, {"A": "1"}),
        ({"env": {}}, True, {}, {}),
        # Flat, this would read as a wrapper holding only {"A": "1"}: it stays wrapped.
        (
            {"env": {"env": {"A": "1"}, "B": "2"}},
            True,
            {"env": {"A": "1"}, "B": "2"},
            {"env": {"env": {"A": "1"}, "B": "2"}},
        ),
        # Siblings beside env: claude-mem 13.25 reads env and keeps the wrapper and siblings.
        (
            {"hooks": {"x": []}, "env": {"A": "1"}, "theme": "dark"},
            True,
            {"A": "1"},
            {"hooks": {"x": []}, "env": {"A": "1"}, "theme": "dark"},
        ),
        # Not an object: JSON.parse's `env && typeof env === 'object' && !Array.isArray(env)`.
        ({"env": [], "A": "1"}, False, {"env": [], "A": "1"}, {"env": [], "A": "1"}),
        ({"env": None, "A": "1"}, False, {"env": None, "A": "1"}, {"env": None, "A": "1"}),
        ({"env": "x"}, False, {"env": "x"}, {"env": "x"}),
    ],
)
def test_legacy_nested_shape(
    document: dict[str, object],
    legacy: bool,
    settings: dict[str, object],
    written: dict[str, object],
) -> None:
    data = json.dumps(document).encode()
    assert is_legacy_shape(document) is legacy
    assert parse_settings(data, "s") == settings
    assert settings_of(parse_settings_document(data, "s")) == settings
    assert rewrap_settings(document, settings) == written
    assert list(rewrap_settings(document, settings)) == list(written)


def test_rewrap_keeps_siblings_and_replaces_env() -> None:
    document = {"hooks": {}, "env": {"A": "1"}, "theme": "dark"}
    merged = merge_settings(settings_of(document), {"B": "2"})
    assert rewrap_settings(document, merged) == {
        "hooks": {},
        "env": {"A": "1", "B": "2"},
        "theme": "dark",
    }


# settings.json: rendering

RENDER_CASES = [
    "{}",
    '{"A": ""}',
    '{"unicode": "h\\u00e9llo \\u2603 \\ud83d\\ude00 \\u4e2d", "raw": "é☃"}',
    '{"html": "</script><!-- & \'"}',
    '{"separators": "\\u2028 \\u2029 \\u0085 \\u00a0 \\ufeff"}',
    '{"control": "\\u0000 \\u0001 \\b \\f \\n \\r \\t \\u001f \\u007f", "esc": "\\" \\\\ \\/"}',
    '{"lone": "\\ud800 \\udfff x\\udc00"}',
    '{"nested": {"a": {"b": [1, [2, []], {}, {"c": null}]}, "e": [], "o": {}}}',
    '{"bools": [true, false, null]}',
    '{"ints": [0, -0, 1, -1, 100, 9007199254740993, 123456789012345678901234567890]}',
    '{"big": [1e21, 1e20, 12345678901234567890123, 1e400, -1e400, 1' + "0" * 400 + "]}",
    '{"floats": [1.0, -0.0, 0.1, 1.5, 1e-7, 1e-6, 0.000001234, 1.5e-10, 5e-324, 2.5e+25]}',
    '{"floats2": [1.7976931348623157e308, 123.456e5, 0.1e1, 1E2, 3.0000000000000004]}',
    '{"b": "1", "10": "2", "2": "3", "01": "4", "-1": "5", "4294967294": "6", "4294967295": "7"}',
    '{"a": "1", "b": "2", "a": "3"}',
    '{"__proto__": {"x": "1"}, "constructor": "c"}',
    '\ufeff{"bom": "yes"}',
    '  {\n\t"spaced" :"out"\r\n}  ',
]


@needs_node
@pytest.mark.parametrize("text", RENDER_CASES)
def test_render_matches_node_byte_for_byte(text: str) -> None:
    data = text.encode("utf-8")
    assert render_settings(parse_settings_document(data, "s")) == node_stringify(data)


@needs_node
def test_numbers_print_like_javascript() -> None:
    rng = random.Random(1325)
    doubles = [struct.unpack("<d", rng.randbytes(8))[0] for _ in range(3000)]
    doubles += [rng.uniform(-1e6, 1e6) for _ in range(1000)]
    numbers = [d for d in doubles if d == d and abs(d) != float("inf")]
    text = json.dumps({"n": numbers}).encode()
    assert render_settings(parse_settings_document(text, "s")) == node_stringify(text)


@needs_node
def test_fixture_renders_like_node(fixture_settings: bytes) -> None:
    assert render_settings(parse_settings(fixture_settings, "s")) == node_stringify(
        fixture_settings
    )


def test_render_round_trips_what_claude_mem_wrote(fixture_settings: bytes) -> None:
    assert render_settings(parse_settings(fixture_settings, "s")) == fixture_settings


@pytest.mark.parametrize(
    ("settings", "rendered"),
    [
        ({}, b"{}\n"),
        ({"A": "é</"}, '{\n  "A": "é</"\n}\n'.encode()),
        ({"A": {"B": []}}, b'{\n  "A": {\n    "B": []\n  }\n}\n'),
    ],
)
def test_render_shape(settings: dict[str, object], rendered: bytes) -> None:
    assert render_settings(settings) == rendered


def test_many_index_keys_come_first_in_numeric_order() -> None:
    # Ordering once rebuilt the set of index keys per key: quadratic in a file with many.
    keys = [str(i) for i in range(50_000)]
    random.Random(7).shuffle(keys)
    rendered = render_settings({"b": "x", **dict.fromkeys(keys, "v"), "a": "y"})
    assert list(json.loads(rendered)) == [str(i) for i in range(50_000)] + ["b", "a"]


# settings.json: merging


def test_merge_keeps_every_key_and_its_position(fixture_settings: bytes) -> None:
    current = parse_settings(fixture_settings, "s")
    current["X_UNKNOWN_KEY"] = {"kept": ["as", "is"]}
    merged = merge_settings(
        current,
        {"CLAUDE_MEM_PROVIDER": "openrouter", "CLAUDE_MEM_NEW_KEY": "v"},
        remove_keys={"CLAUDE_MEM_GEMINI_API_KEY"},
    )
    kept = [k for k in current if k != "CLAUDE_MEM_GEMINI_API_KEY"]
    assert list(merged) == [*kept, "CLAUDE_MEM_NEW_KEY"]
    assert merged == {
        **{k: current[k] for k in kept},
        "CLAUDE_MEM_PROVIDER": "openrouter",
        "CLAUDE_MEM_NEW_KEY": "v",
    }
    assert current["CLAUDE_MEM_PROVIDER"] == "claude", "the input is not modified"


def test_merge_without_changes_renders_the_same_bytes(fixture_settings: bytes) -> None:
    current = parse_settings(fixture_settings, "s")
    unchanged = merge_settings(current, {"CLAUDE_MEM_PROVIDER": "claude"})
    assert render_settings(unchanged) == fixture_settings


# Reading


def test_snapshot_of_a_missing_file(tmp_path: Path) -> None:
    snap = read_snapshot(tmp_path / ".env")
    assert (snap.exists, snap.data, snap.mode) == (False, b"", None)


def test_snapshot_follows_a_symlink(tmp_path: Path) -> None:
    target = tmp_path / "dotfiles" / "claude-mem.env"
    target.parent.mkdir()
    target.write_bytes(b"A=1\n")
    target.chmod(0o640)
    (tmp_path / ".env").symlink_to(target)
    snap = read_snapshot(tmp_path / ".env")
    assert snap.path == tmp_path / ".env"
    assert snap.real_path == target.resolve()
    assert (snap.exists, snap.data, snap.mode) == (True, b"A=1\n", 0o640)


def test_snapshot_of_a_directory_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "settings.json").mkdir()
    with pytest.raises(TargetError, match=r"settings\.json is a directory") as caught:
        read_snapshot(tmp_path / "settings.json")
    assert caught.value.hint


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_snapshot_of_an_unreadable_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_bytes(b"A=1\n")
    path.chmod(0)
    with pytest.raises(TargetError, match=r"cannot read .*\.env: Permission denied"):
        read_snapshot(path)


# Writing


def leftovers(*dirs: Path) -> list[str]:
    return sorted(p.name for d in dirs for p in d.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.usefixtures("umask")
@pytest.mark.parametrize(("mask", "mode"), [(0, 0o600), (0o077, 0o644), (0o022, 0o600)])
def test_write_atomic_sets_the_mode_whatever_the_umask(
    tmp_path: Path, mask: int, mode: int
) -> None:
    os.umask(mask)
    path = tmp_path / ".env"
    path.write_bytes(b"old\n")
    path.chmod(0o666)
    write_atomic(path, b"A=1\n", mode)
    assert path.read_bytes() == b"A=1\n"
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert leftovers(tmp_path) == []


def test_write_atomic_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    target = tmp_path / "dotfiles" / "settings.json"
    target.parent.mkdir()
    target.write_bytes(b"{}\n")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    link = data_dir / "settings.json"
    link.symlink_to(Path("..") / "dotfiles" / "settings.json")
    write_atomic(link, b'{"A": "1"}\n', 0o600)
    assert link.is_symlink()
    assert os.readlink(link) == str(Path("..") / "dotfiles" / "settings.json")
    assert target.read_bytes() == b'{"A": "1"}\n'
    assert leftovers(data_dir, target.parent) == []


def test_write_atomic_through_a_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    (tmp_path / ".env").symlink_to("claude-mem.env")
    write_atomic(tmp_path / ".env", b"A=1\n", 0o600)
    assert (tmp_path / ".env").is_symlink()
    assert (tmp_path / "claude-mem.env").read_bytes() == b"A=1\n"


def test_a_symlink_loop_is_refused_and_kept(tmp_path: Path) -> None:
    (tmp_path / ".env").symlink_to(".env")
    for action in (
        lambda: read_snapshot(tmp_path / ".env"),
        lambda: write_atomic(tmp_path / ".env", b"", 0o600),
    ):
        with pytest.raises(TargetError, match="symbolic links"):
            action()
    assert (tmp_path / ".env").is_symlink()


def test_write_atomic_creates_a_missing_file(tmp_path: Path) -> None:
    write_atomic(tmp_path / ".env", b"A=1\n", 0o600)
    assert (tmp_path / ".env").read_bytes() == b"A=1\n"


def test_failed_write_names_the_path_not_the_content(tmp_path: Path) -> None:
    (tmp_path / ".env").mkdir()
    with pytest.raises(TargetError) as caught:
        write_atomic(tmp_path / ".env", b"ANTHROPIC_API_KEY=sk-secret\n", 0o600)
    assert str(tmp_path / ".env") in caught.value.message
    assert "sk-secret" not in caught.value.message
    assert leftovers(tmp_path) == []


def test_write_atomic_into_a_missing_directory_fails_cleanly(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match="No such file or directory"):
        write_atomic(tmp_path / "absent" / ".env", b"A=1\n", 0o600)


@pytest.fixture
def two_files(tmp_path: Path) -> tuple[Path, Path]:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    env, settings = data_dir / ".env", data_dir / "settings.json"
    env.write_bytes(b"# mine\nANTHROPIC_API_KEY=old\n")
    env.chmod(0o600)
    settings.write_bytes(b'{\n  "CLAUDE_MEM_PROVIDER": "claude"\n}\n')
    settings.chmod(0o644)
    return env, settings


NEW_ENV = b"ANTHROPIC_AUTH_TOKEN=new\n"
NEW_SETTINGS = b'{\n  "CLAUDE_MEM_PROVIDER": "openrouter"\n}\n'
FAULT_POINTS = [
    "after-temp:.env",
    "after-replace:.env",
    "after-temp:settings.json",
    "after-replace:settings.json",
]


def test_apply_files_writes_both(two_files: tuple[Path, Path]) -> None:
    env, settings = two_files
    apply_files([FileWrite(env, NEW_ENV, 0o600), FileWrite(settings, NEW_SETTINGS, 0o600)])
    assert (env.read_bytes(), settings.read_bytes()) == (NEW_ENV, NEW_SETTINGS)
    assert stat.S_IMODE(settings.stat().st_mode) == 0o600


def test_apply_files_removes_a_file_for_none(two_files: tuple[Path, Path]) -> None:
    env, settings = two_files
    apply_files([FileWrite(env, None, 0o600), FileWrite(settings, NEW_SETTINGS, 0o600)])
    assert not env.exists()


@pytest.mark.parametrize("point", FAULT_POINTS)
def test_a_failure_anywhere_leaves_both_files_as_before(
    two_files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, point: str
) -> None:
    env, settings = two_files
    before = {p: (p.read_bytes(), p.stat().st_mode) for p in two_files}
    monkeypatch.setenv("CMEM_PROFILE_TEST_FAULT", f"raise:{point}")
    with pytest.raises(RuntimeError, match=f"injected fault at {point}"):
        apply_files([FileWrite(env, NEW_ENV, 0o600), FileWrite(settings, NEW_SETTINGS, 0o600)])
    assert {p: (p.read_bytes(), p.stat().st_mode) for p in two_files} == before
    assert leftovers(env.parent) == []


@pytest.mark.parametrize("point", ["after-temp:settings.json", "after-replace:settings.json"])
def test_a_failure_removes_a_file_that_did_not_exist(
    two_files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, point: str
) -> None:
    env, settings = two_files
    env.unlink()
    monkeypatch.setenv("CMEM_PROFILE_TEST_FAULT", f"raise:{point}")
    with pytest.raises(RuntimeError):
        apply_files([FileWrite(env, NEW_ENV, 0o600), FileWrite(settings, NEW_SETTINGS, 0o600)])
    assert not env.exists()
    assert settings.read_bytes() == b'{\n  "CLAUDE_MEM_PROVIDER": "claude"\n}\n'


def test_a_write_error_restores_the_first_file(two_files: tuple[Path, Path]) -> None:
    env, settings = two_files
    settings.unlink()
    settings.mkdir()
    with pytest.raises(TargetError, match=r"settings\.json"):
        apply_files([FileWrite(env, NEW_ENV, 0o600), FileWrite(settings, NEW_SETTINGS, 0o600)])
    assert env.read_bytes() == b"# mine\nANTHROPIC_API_KEY=old\n"


def test_a_failure_restores_through_a_symlink(
    two_files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env, settings = two_files
    real = tmp_path / "dotfiles.env"
    env.rename(real)
    env.symlink_to(real)
    monkeypatch.setenv("CMEM_PROFILE_TEST_FAULT", "raise:after-replace:settings.json")
    with pytest.raises(RuntimeError):
        apply_files([FileWrite(env, NEW_ENV, 0o600), FileWrite(settings, NEW_SETTINGS, 0o600)])
    assert env.is_symlink()
    assert real.read_bytes() == b"# mine\nANTHROPIC_API_KEY=old\n"


CRASHING_SWITCH = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from cmem_profiles.targets import FileWrite, apply_files
    env, settings = Path(sys.argv[1]), Path(sys.argv[2])
    apply_files([FileWrite(env, sys.argv[3].encode(), 0o600),
                 FileWrite(settings, sys.argv[4].encode(), 0o600)])
    """
)


@pytest.mark.parametrize("point", FAULT_POINTS)
def test_a_crash_leaves_each_file_whole(two_files: tuple[Path, Path], point: str) -> None:
    env, settings = two_files
    old = {env: env.read_bytes(), settings: settings.read_bytes()}
    new = {env: NEW_ENV, settings: NEW_SETTINGS}
    argv = [str(env), str(settings), NEW_ENV.decode(), NEW_SETTINGS.decode()]
    result = subprocess.run(
        [sys.executable, "-c", CRASHING_SWITCH, *argv],
        env=subprocess_env(CMEM_PROFILE_TEST_FAULT=f"exit:{point}"),
        check=False,
    )
    assert result.returncode == 70
    # A hard exit cannot be undone: a file written before it is new, one after it old.
    for path in two_files:
        assert path.read_bytes() in (old[path], new[path])
    crashed = point.split(":")[1]
    assert env.read_bytes() == (old[env] if point == "after-temp:.env" else new[env])
    assert settings.read_bytes() == (new[settings] if point == FAULT_POINTS[-1] else old[settings])
    # Only a crash between temp and replace leaves a temp, and the next write sweeps it.
    temps = leftovers(env.parent)
    if point.startswith("after-temp"):
        assert len(temps) == 1
        assert temps[0].startswith(f".{crashed}.cmem-profile-")
    else:
        assert temps == []
    apply_files([FileWrite(env, NEW_ENV, 0o600), FileWrite(settings, NEW_SETTINGS, 0o600)])
    assert leftovers(env.parent) == []


# Directories and the lock


@pytest.mark.usefixtures("umask")
def test_ensure_private_dir_creates_parents_0700(tmp_path: Path) -> None:
    os.umask(0o022)
    path = tmp_path / "a" / "b" / "c"
    ensure_private_dir(path)
    for directory in (tmp_path / "a", tmp_path / "a" / "b", path):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700


@pytest.mark.parametrize("mode", [0o755, 0o770, 0o701, 0o777])
def test_ensure_private_dir_tightens(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "state"
    path.mkdir()
    path.chmod(mode)
    ensure_private_dir(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o700


def test_ensure_private_dir_refuses_a_file(tmp_path: Path) -> None:
    (tmp_path / "state").write_text("x")
    with pytest.raises(TargetError, match="is not a directory"):
        ensure_private_dir(tmp_path / "state")


HOLD_LOCK = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from cmem_profiles.targets import SwitchLock
    with SwitchLock(Path(sys.argv[1])):
        print("held", flush=True)
        sys.stdin.read()
    """
)


def test_lock_timeout_names_the_holder(tmp_path: Path) -> None:
    state = tmp_path / "state"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(state)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=subprocess_env(),
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "held\n"
        with pytest.raises(LockTimeout) as caught, SwitchLock(state, timeout=0.2):
            pass
        lock = state / "lock"
        assert caught.value.message == (
            f"another cmem-profile (pid {holder.pid}) has held {lock} for 0.2 s"
        )
        assert caught.value.hint
    finally:
        holder.communicate("")
    assert holder.returncode == 0
    with SwitchLock(state, timeout=1) as lock_held:
        assert lock_held.path.read_text() == f"{os.getpid()}\n"
    assert stat.S_IMODE(state.stat().st_mode) == 0o700


def test_lock_is_exclusive_within_one_process(tmp_path: Path) -> None:
    with SwitchLock(tmp_path), pytest.raises(LockTimeout, match=f"pid {os.getpid()}"):
        SwitchLock(tmp_path, timeout=0.1).__enter__()
    with SwitchLock(tmp_path, timeout=0.1):
        pass
