"""The switch under stress: previews, injected failures, crashes, concurrency, modes, links.

Every test starts from a realistic data dir: the settings.json claude-mem 13.25 writes, plus
keys of the user's own, and a .env with a comment, an export line, a blank line and a variable
that cmem-profile does not own. Expected files are written out here from claude-mem.md's table
of backends, so the engine is checked against the contract rather than against itself.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import stat
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REPO, no_worker_line

from cmem_profiles import targets
from cmem_profiles.main import main

PROFILES = str(REPO / "profiles")
FIXTURE = REPO / "tests" / "fixtures" / "claude-mem-13.25-settings.json"
FAULT = "CMEM_PROFILE_TEST_FAULT"
FAULT_POINTS = [
    "after-temp:.env",
    "after-replace:.env",
    "after-temp:settings.json",
    "after-replace:settings.json",
]
INTERNAL_ERROR = "cmem-profile: internal error: RuntimeError (run with --debug for the traceback)\n"
DRIFT_HINT = (
    "hint: --force overwrites the edits; --adopt keeps them as the values to restore later\n"
)

SECRETS = {
    "CMEM_PROFILE_SECRET_CORP_GATEWAY": "corp-key-1111",
    "CMEM_PROFILE_SECRET_GEMINI": "gemini-key-2222",
    "CMEM_PROFILE_SECRET_OPENROUTER": "openrouter-key-3333",
    "CMEM_PROFILE_SECRET_BEDROCK_SHIM": "bedrock-token-4444",
    "CMEM_PROFILE_SECRET_THIRD_PARTY_TOKEN": "third-party-token-5555",
}
ENV_TEXT = "# claude-mem credentials, kept by hand\nexport OTHER_TOOL_TOKEN=abc\n\nMY_VAR=1\n"
USER_SETTINGS = {"ZZ_USER_SETTING": "keep me", "CUSTOM_NUMBER": 5}

# What each profile puts in .env, in the order its lines are appended.
PROFILE_ENV: dict[str, dict[str, str]] = {
    "corporate": {
        "ANTHROPIC_BASE_URL": "https://llm-gateway.corp.example.com",
        "ANTHROPIC_API_KEY": "corp-key-1111",
    },
    "third-party": {
        "ANTHROPIC_BASE_URL": "https://api.provider.example.com/anthropic",
        "ANTHROPIC_AUTH_TOKEN": "third-party-token-5555",
    },
    "gemini": {"GEMINI_API_KEY": "gemini-key-2222"},
    "openrouter": {"OPENROUTER_API_KEY": "openrouter-key-3333"},
    "local-openai": {"OPENROUTER_API_KEY": "local-no-key"},
    "subscription": {},
}
# What each profile sets in settings.json; every other key keeps claude-mem's value.
PROFILE_SETTINGS: dict[str, dict[str, str]] = {
    "corporate": {
        "CLAUDE_MEM_PROVIDER": "claude",
        "CLAUDE_MEM_CLAUDE_AUTH_METHOD": "gateway",
        "CLAUDE_MEM_MODEL": "claude-haiku-4-5-20251001",
        "CLAUDE_MEM_TIER_ROUTING_ENABLED": "false",
    },
    "third-party": {
        "CLAUDE_MEM_PROVIDER": "claude",
        "CLAUDE_MEM_CLAUDE_AUTH_METHOD": "gateway",
        "CLAUDE_MEM_MODEL": "glm-4.5-air",
        "CLAUDE_MEM_TIER_ROUTING_ENABLED": "false",
    },
    "gemini": {
        "CLAUDE_MEM_PROVIDER": "gemini",
        "CLAUDE_MEM_GEMINI_MODEL": "gemini-flash-latest",
        "CLAUDE_MEM_GEMINI_API_KEY": "",
        "CLAUDE_MEM_GEMINI_RATE_LIMITING_ENABLED": "true",
    },
    "openrouter": {
        "CLAUDE_MEM_PROVIDER": "openrouter",
        "CLAUDE_MEM_OPENROUTER_MODEL": "anthropic/claude-haiku-4.5",
        "CLAUDE_MEM_OPENROUTER_BASE_URL": "",
        "CLAUDE_MEM_OPENROUTER_API_KEY": "",
        "CLAUDE_MEM_OPENROUTER_APP_NAME": "claude-mem",
    },
    "local-openai": {
        "CLAUDE_MEM_PROVIDER": "openrouter",
        "CLAUDE_MEM_OPENROUTER_MODEL": "qwen2.5-coder:7b",
        "CLAUDE_MEM_OPENROUTER_BASE_URL": "http://127.0.0.1:11434/v1",
        "CLAUDE_MEM_OPENROUTER_API_KEY": "",
    },
    "subscription": {
        "CLAUDE_MEM_PROVIDER": "claude",
        "CLAUDE_MEM_CLAUDE_AUTH_METHOD": "subscription",
        "CLAUDE_MEM_MODEL": "claude-haiku-4-5-20251001",
    },
}
CREDENTIAL_KEYS = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "GEMINI_API_KEY",
    "OPENROUTER_API_KEY",
)


def original_settings() -> dict[str, object]:
    return {**json.loads(FIXTURE.read_bytes()), **USER_SETTINGS}


def settings_bytes(settings: dict[str, object]) -> bytes:
    """What claude-mem writes: JSON.stringify(data, null, 2) + "\\n"."""
    return (json.dumps(settings, indent=2, ensure_ascii=False) + "\n").encode()


def expected_env(profile: str | None) -> bytes:
    lines = "".join(f"{k}={v}\n" for k, v in PROFILE_ENV.get(profile or "", {}).items())
    return (ENV_TEXT + lines).encode()


def expected_settings(profile: str | None, **overrides: object) -> bytes:
    settings = original_settings()
    settings.update(PROFILE_SETTINGS.get(profile or "", {}))
    settings.update(overrides)
    return settings_bytes(settings)


def expected(profile: str | None) -> tuple[bytes, bytes]:
    """Both files as a switch to profile must leave them, from the original data dir."""
    return expected_env(profile), expected_settings(profile)


ORIGINAL = expected(None)


def seed(directory: Path) -> None:
    """A data dir as a claude-mem user has it."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "settings.json").write_bytes(ORIGINAL[1])
    (directory / ".env").write_bytes(ORIGINAL[0])


def stamp(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


@dataclass
class DataDir:
    path: Path

    @property
    def env(self) -> Path:
        return self.path / ".env"

    @property
    def settings(self) -> Path:
        return self.path / "settings.json"

    @property
    def state_dir(self) -> Path:
        return self.path / ".cmem-profile"

    def files(self) -> tuple[bytes, bytes]:
        return self.env.read_bytes(), self.settings.read_bytes()

    def stamps(self) -> dict[str, tuple[str, int]]:
        return {"env": stamp(self.env), "settings": stamp(self.settings)}

    def temp_files(self) -> list[str]:
        return sorted(p.name for p in self.path.iterdir() if p.name.endswith(".tmp"))


@pytest.fixture
def data(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> DataDir:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    directory = DataDir(Path(os.environ["CLAUDE_MEM_DATA_DIR"]))
    seed(directory.path)
    return directory


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run cmem-profile in this process: exit code, stdout, stderr."""
    code = main(["--profiles-dir", PROFILES, *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run(*argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run cmem-profile as its own process, in the isolated environment."""
    return subprocess.run(
        [sys.executable, "-m", "cmem_profiles", "--profiles-dir", PROFILES, *argv],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def history(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    code, out, _ = cli(capsys, "history", "--json")
    assert code == 0
    records: list[dict[str, object]] = json.loads(out)
    return records


def drift_message(since: str, *lines: str) -> str:
    found = "".join(f"  {line} was changed by hand since '{since}' was applied\n" for line in lines)
    return (
        "cmem-profile: error: owned keys were edited by hand; nothing was written:\n"
        + found
        + DRIFT_HINT
    )


# 1. Previews write nothing.


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["use", "corporate", "--dry-run"], 0),
        (["use", "gemini", "--dry-run", "--json"], 0),
        (["diff", "corporate"], 0),
        (["diff", "local-openai", "--exit-code"], 1),
        (["diff", "subscription", "--json"], 0),
    ],
)
def test_a_preview_writes_nothing(
    data: DataDir, capsys: pytest.CaptureFixture[str], argv: list[str], code: int
) -> None:
    before = data.stamps()
    result, out, err = cli(capsys, *argv)
    assert (result, err) == (code, "")
    assert data.stamps() == before
    assert sorted(p.name for p in data.path.iterdir()) == [".env", "settings.json"]
    assert not data.state_dir.exists()
    for secret in SECRETS.values():
        assert secret not in out
    if "--json" in argv:
        record = json.loads(out)
        assert (record["dry_run"], record["generation"]) == (True, None)
        assert record["changed"] is (argv[1] != "subscription")
    else:
        assert out.startswith(f"switching to {argv[1]} would change:\n")


def test_a_preview_after_a_switch_leaves_files_and_state_alone(
    data: DataDir, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(capsys, "use", "corporate")[0] == 0
    tree = {str(p): stamp(p) for p in data.state_dir.rglob("*") if p.is_file()}
    before = data.stamps()
    assert cli(capsys, "diff", "gemini")[0] == 0
    assert cli(capsys, "use", "openrouter", "--dry-run")[0] == 0
    assert data.stamps() == before
    assert {str(p): stamp(p) for p in data.state_dir.rglob("*") if p.is_file()} == tree


# 2. A failure between or inside the two writes, in this process.


@pytest.mark.parametrize("point", FAULT_POINTS)
def test_a_failed_switch_leaves_both_files_and_the_state(
    data: DataDir, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, point: str
) -> None:
    assert cli(capsys, "use", "gemini")[0] == 0
    before, state = data.files(), (data.state_dir / "state.json").read_bytes()

    monkeypatch.setenv(FAULT, f"raise:{point}")
    assert cli(capsys, "use", "corporate") == (3, "", INTERNAL_ERROR)
    assert data.files() == before
    assert (data.state_dir / "state.json").read_bytes() == state
    assert data.temp_files() == []

    monkeypatch.delenv(FAULT)
    code, out, _ = cli(capsys, "current", "--json")
    assert (code, json.loads(out)["active"]) == (0, "gemini")
    assert cli(capsys, "use", "corporate")[0] == 0
    assert data.files() == expected("corporate")
    assert [(r["kind"], r["profile"]) for r in history(capsys)] == [
        ("found", None),
        ("use", "gemini"),
        ("use", "corporate"),
    ]
    assert cli(capsys, "rollback", "0")[0] == 0
    assert data.files() == ORIGINAL


@pytest.mark.parametrize("point", FAULT_POINTS)
def test_a_failed_first_switch_leaves_both_files(
    data: DataDir, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, point: str
) -> None:
    monkeypatch.setenv(FAULT, f"raise:{point}")
    assert cli(capsys, "use", "corporate") == (3, "", INTERNAL_ERROR)
    assert data.files() == ORIGINAL
    state = json.loads((data.state_dir / "state.json").read_text())
    assert (state["active"], state["pending"], [g["kind"] for g in state["generations"]]) == (
        None,
        None,
        ["found"],
    )
    assert sorted(p.name for p in (data.state_dir / "generations").iterdir()) == ["0"]
    assert data.temp_files() == []

    monkeypatch.delenv(FAULT)
    assert cli(capsys, "current", "--short") == (0, "\n", "")
    assert cli(capsys, "use", "corporate")[0] == 0
    assert data.files() == expected("corporate")


FIRST_GENERATION_BUG = (
    "apply.switch numbers the found generation with next_number(), which counts the "
    "generation directories a failed first switch left behind: the files as first found "
    "become generation 2, and 'rollback 0' says there is no generation 0"
)


@pytest.mark.parametrize("point", FAULT_POINTS)
def test_rollback_0_after_a_failed_first_switch(
    data: DataDir, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, point: str
) -> None:
    monkeypatch.setenv(FAULT, f"raise:{point}")
    assert cli(capsys, "use", "corporate")[0] == 3
    monkeypatch.delenv(FAULT)
    assert cli(capsys, "use", "corporate")[0] == 0
    records = history(capsys)
    assert [r["kind"] for r in records] == ["found", "use"]
    assert records[0]["number"] == 0
    assert cli(capsys, "rollback", "0")[0] == 0
    assert data.files() == ORIGINAL


# 3. A crash (the process dies) at each point of the write.

INTERRUPTED = "warning: an earlier switch to {} was interrupted; its partial writes were undone\n"

# Which files a crash at each point leaves new: the .env is written first.
CRASH_LEAVES = {
    "after-temp:.env": (False, False),
    "after-replace:.env": (True, False),
    "after-temp:settings.json": (True, False),
    "after-replace:settings.json": (True, True),
}


def crash(data: DataDir, point: str, old: tuple[bytes, bytes]) -> None:
    """Kill a switch to corporate at point; check each file is wholly old or wholly new."""
    result = run("use", "corporate", **{FAULT: f"exit:{point}"})
    assert (result.returncode, result.stdout, result.stderr) == (70, "", "")
    new = expected("corporate")
    env_new, settings_new = CRASH_LEAVES[point]
    assert data.env.read_bytes() == (new[0] if env_new else old[0])
    assert data.settings.read_bytes() == (new[1] if settings_new else old[1])
    # A crash after the temp file is complete leaves it behind, until the next write of that
    # file; it is born with the mode of the file it stands for (.env: always 0600).
    name = point.partition(":")[2]
    leftovers = data.temp_files()
    if point.startswith("after-temp"):
        assert len(leftovers) == 1
        assert leftovers[0].startswith(f".{name}.cmem-profile-")
        mode = 0o600 if name == ".env" else stat.S_IMODE(data.settings.stat().st_mode)
        assert stat.S_IMODE((data.path / leftovers[0]).stat().st_mode) == mode
    else:
        assert leftovers == []


@pytest.mark.parametrize("point", FAULT_POINTS)
def test_a_crashed_switch_leaves_whole_files_and_force_recovers(data: DataDir, point: str) -> None:
    assert run("use", "gemini").returncode == 0
    old = data.files()
    assert old == expected("gemini")
    crash(data, point, old)

    # The journal left by the crash makes the retry undo the half-written files first,
    # instead of taking the crashed switch's own writes for hand edits.
    retry = run("use", "corporate")
    assert retry.returncode == 0, retry.stderr
    assert retry.stderr == INTERRUPTED.format("corporate")
    assert data.files() == expected("corporate")
    assert data.temp_files() == []
    check = run("current", "--check", "--json")
    assert check.returncode == 0
    assert (json.loads(check.stdout)["active"], json.loads(check.stdout)["drift"]) == (
        "corporate",
        [],
    )
    assert run("rollback", "0").returncode == 0
    assert data.files() == ORIGINAL


@pytest.mark.parametrize("point", FAULT_POINTS)
def test_a_crashed_first_switch_leaves_whole_files(data: DataDir, point: str) -> None:
    crash(data, point, ORIGINAL)
    assert (
        json.loads((data.state_dir / "state.json").read_text())["pending"]["profile"] == "corporate"
    )
    assert run("use", "corporate").returncode == 0
    assert data.files() == expected("corporate")
    assert data.temp_files() == []


CRASH_BASELINE_BUG = (
    "after a crash in the first switch the state was never saved, so the next switch records "
    "the half-written files as 'found' (generation 2, not 0): the crashed profile's "
    "ANTHROPIC_BASE_URL and API key become the values a later switch restores, and "
    "'rollback 0' fails"
)


@pytest.mark.parametrize("point", FAULT_POINTS[1:])
def test_a_crashed_first_switch_does_not_become_the_baseline(data: DataDir, point: str) -> None:
    crash(data, point, ORIGINAL)
    assert run("use", "corporate").returncode == 0
    assert run("use", "gemini").returncode == 0
    assert data.files() == expected("gemini")  # no stale ANTHROPIC_* left in .env


@pytest.mark.parametrize("point", FAULT_POINTS)
def test_rollback_0_after_a_crashed_first_switch(data: DataDir, point: str) -> None:
    crash(data, point, ORIGINAL)
    assert run("use", "corporate").returncode == 0
    rollback = run("rollback", "0")
    assert (rollback.returncode, rollback.stderr) == (0, "")
    assert data.files() == ORIGINAL


# 4. Concurrent switches.

CYCLE = ["corporate", "gemini", "openrouter", "local-openai", "subscription"]


def start_switches(count: int) -> list[tuple[str, subprocess.Popen[str]]]:
    """Start count switches at once, cycling through the profiles."""
    argv = [sys.executable, "-m", "cmem_profiles", "--profiles-dir", PROFILES, "use"]
    return [
        (
            profile,
            subprocess.Popen(
                [*argv, profile, "--json"],
                env=dict(os.environ),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            ),
        )
        for profile in (CYCLE[i % len(CYCLE)] for i in range(count))
    ]


def finish(profile: str, proc: subprocess.Popen[str]) -> int | None:
    """Wait for one switch: it must succeed; the generation it wrote, or None."""
    out, err = proc.communicate(timeout=60)
    assert (proc.returncode, err) == (0, ""), (profile, out, err)
    record = json.loads(out)
    assert (record["profile"], record["dry_run"]) == (profile, False)
    generation: int | None = record["generation"]
    return generation


def check_final_files(data: DataDir, capsys: pytest.CaptureFixture[str], **settings: str) -> str:
    """The live files are exactly the active profile's, and the state agrees; returns it."""
    code, out, _ = cli(capsys, "current", "--json")
    current = json.loads(out)
    active = current["active"]
    assert code == 0 and active in CYCLE
    env, _ = data.files()
    assert data.files() == (expected_env(active), expected_settings(active, **settings))
    present = {line.partition("=")[0] for line in env.decode().splitlines()}
    assert present & set(CREDENTIAL_KEYS) == set(PROFILE_ENV[active])
    assert cli(capsys, "current", "--check") == (
        0,
        f"{active} (generation {current['generation']}, switched {current['switched_at']})\n"
        "  the live files match it\n",
        "",
    )
    state = (data.state_dir / "state.json").read_text()
    for secret in [*SECRETS.values(), "local-no-key"]:
        assert secret not in state
    return str(active)


def test_twenty_concurrent_switches_serialize(
    data: DataDir, capsys: pytest.CaptureFixture[str]
) -> None:
    written: dict[int, str] = {}
    for profile, proc in start_switches(20):
        generation = finish(profile, proc)
        if generation is not None:
            assert generation not in written
            written[generation] = profile

    records = history(capsys)
    assert [(r["number"], r["kind"], r["profile"]) for r in records] == [
        (0, "found", None),
        *[(n, "use", written[n]) for n in sorted(written)],
    ]
    assert sorted(written) == list(range(1, len(written) + 1))
    # Only a switch to the profile already active writes no generation.
    profiles = [written[n] for n in sorted(written)]
    assert all(a != b for a, b in itertools.pairwise(profiles))
    assert len(written) >= len(CYCLE)
    assert check_final_files(data, capsys) == profiles[-1]


def claude_mem_write(path: Path, key: str, value: str) -> None:
    """How claude-mem changes one setting: read, change, temp file, rename."""
    settings = json.loads(path.read_bytes())
    settings[key] = value
    tmp = path.with_name(f"{path.name}.tmp.{threading.get_ident()}")
    tmp.write_bytes(settings_bytes(settings))
    tmp.replace(path)


class SettingsWriter:
    """A thread standing in for claude-mem's settings UI: it keeps changing one unrelated key.

    Each write holds the switch lock, so only cmem-profile's side is under test here (does it
    re-read under the lock and keep the key?). claude-mem itself takes no lock; a write of its
    that lands inside a switch is test_a_setting_written_during_a_switch_is_kept.
    """

    key = "CLAUDE_MEM_CONTEXT_OBSERVATIONS"

    def __init__(self, data: DataDir) -> None:
        self.data = data
        self.last: str | None = None
        self.writes = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self.stop.is_set():
            value = str(100 + self.writes)
            with targets.SwitchLock(self.data.state_dir):
                claude_mem_write(self.data.settings, self.key, value)
            self.last, self.writes = value, self.writes + 1
            time.sleep(0.005)

    def __enter__(self) -> SettingsWriter:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def test_concurrent_switches_keep_a_setting_claude_mem_writes_meanwhile(
    data: DataDir, capsys: pytest.CaptureFixture[str]
) -> None:
    procs = start_switches(20)
    written = []
    with SettingsWriter(data) as writer:
        # The writer stops halfway, so the switches still running must carry its last value.
        written += [finish(profile, proc) for profile, proc in procs[:10]]
    written += [finish(profile, proc) for profile, proc in procs[10:]]
    assert writer.writes > 0 and writer.last is not None

    check_final_files(data, capsys, **{SettingsWriter.key: writer.last})
    records = history(capsys)
    assert records[0]["number"] == 0 and records[0]["kind"] == "found"
    assert {r["kind"] for r in records[1:]} <= {"use", "external"}
    uses = {r["number"] for r in records if r["kind"] == "use"}
    assert uses <= set(written) and max(uses) == max(n for n in written if n is not None)


def test_a_setting_written_during_a_switch_is_kept(
    data: DataDir, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fault = targets.fault_point

    def claude_mem_writes_meanwhile(point: str) -> None:
        if point == "after-replace:.env":  # the .env is new, settings.json not yet
            claude_mem_write(data.settings, SettingsWriter.key, "77")
        fault(point)

    monkeypatch.setattr(targets, "fault_point", claude_mem_writes_meanwhile)
    assert cli(capsys, "use", "corporate")[0] == 0
    assert data.files() == (
        expected_env("corporate"),
        expected_settings("corporate", **{SettingsWriter.key: "77"}),
    )


# 5. Modes, whatever the umask.


@pytest.mark.parametrize("existing", [True, False], ids=["existing-data-dir", "fresh-home"])
def test_private_modes_under_umask_0(data: DataDir, existing: bool) -> None:
    if existing:
        data.path.chmod(0o755)
        data.env.chmod(0o644)
    else:
        data.env.unlink()
        data.settings.unlink()
        data.path.rmdir()
    for argv in (["use", "corporate"], ["use", "gemini"], ["rollback", "1"]):
        result = subprocess.run(
            [sys.executable, "-m", "cmem_profiles", "--profiles-dir", PROFILES, *argv],
            env=dict(os.environ),
            capture_output=True,
            text=True,
            umask=0,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        if argv[1] == "corporate":
            assert stat.S_IMODE(data.env.stat().st_mode) == 0o600

    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    lines = "".join(f"{k}={v}\n" for k, v in PROFILE_ENV["corporate"].items())
    assert data.env.read_text() == (ENV_TEXT if existing else "") + lines
    assert mode(data.path) == 0o700
    assert mode(data.env) == 0o600
    assert mode(data.state_dir) == 0o700
    assert mode(data.state_dir / "generations") == 0o700
    generations = sorted((data.state_dir / "generations").iterdir())
    assert [g.name for g in generations] == ["0", "1", "2", "3"]
    for directory in generations:
        assert mode(directory) == 0o700
        for file in directory.iterdir():
            assert mode(file) == 0o600, file
    for file in data.state_dir.iterdir():
        if file.is_file():
            assert mode(file) == 0o600, file


# 6. Symlinked targets.


@pytest.mark.parametrize(("name", "verbose"), [(".env", "-v"), ("settings.json", "--verbose")])
def test_a_symlinked_target_stays_a_link(
    data: DataDir, capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str, verbose: str
) -> None:
    dotfiles = tmp_path / "dotfiles" / "claude-mem"
    dotfiles.mkdir(parents=True)
    link = data.path / name
    target = dotfiles / name.lstrip(".")
    link.rename(target)
    link.symlink_to(target)

    code, _, err = cli(capsys, verbose, "use", "corporate")
    assert code == 0
    assert f"writing through symlink {link} -> {target}\n" in err
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert data.files() == expected("corporate")
    assert sorted(p.name for p in dotfiles.iterdir()) == [target.name]
    if name == ".env":
        assert stat.S_IMODE(target.stat().st_mode) == 0o600

    assert cli(capsys, "rollback", "0")[0] == 0
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert data.files() == ORIGINAL
    assert cli(capsys, "use", "gemini")[::2] == (0, "")  # said only when verbose


# 7. Corrupt targets: one message naming file and line, nothing written.


def test_invalid_settings_json_is_refused(
    data: DataDir, capsys: pytest.CaptureFixture[str]
) -> None:
    text = ORIGINAL[1].decode().replace('"50",\n', '"50"\n', 1)  # a lost comma after line 3
    data.settings.write_text(text)
    before = data.stamps()
    for argv in (["use", "corporate"], ["diff", "corporate"]):
        code, out, err = cli(capsys, *argv)
        assert (code, out) == (1, "")
        assert err.startswith(
            f"cmem-profile: error: {data.settings}:4:3: not valid JSON: Expecting ',' delimiter\n"
        )
        assert "Traceback" not in err
    assert data.stamps() == before
    assert not (data.state_dir / "state.json").exists()
    assert not (data.state_dir / "generations").exists()


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        (
            ENV_TEXT.replace("MY_VAR=1", "  # an indented note\nMY_VAR=1"),
            4,
            "an indented comment before MY_VAR makes claude-mem misread that key",
        ),
        (
            ENV_TEXT + 'QUOTED="abc\nLATER=1\n',
            5,
            "QUOTED: the value opens a quote that this line does not close, "
            "so claude-mem would read the following lines into it",
        ),
    ],
    ids=["indented-comment", "unclosed-quote"],
)
def test_a_misleading_env_line_is_refused(
    data: DataDir, capsys: pytest.CaptureFixture[str], text: str, line: int, what: str
) -> None:
    assert cli(capsys, "use", "gemini")[0] == 0
    state = (data.state_dir / "state.json").read_bytes()
    data.env.write_text(text + "GEMINI_API_KEY=gemini-key-2222\n")
    before = data.stamps()
    code, out, err = cli(capsys, "use", "corporate")
    assert (code, out) == (1, "")
    assert err.startswith(f"cmem-profile: error: {data.env}:{line}: {what}\nhint: ")
    assert data.stamps() == before
    assert (data.state_dir / "state.json").read_bytes() == state
    assert len(history(capsys)) == 2


# 8. Other locations: CLAUDE_MEM_ENV_FILE and --data-dir.


def test_claude_mem_env_file_is_written_instead_of_the_default(
    data: DataDir,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    elsewhere = tmp_path / "secrets" / "claude-mem.env"
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(ORIGINAL[0])
    monkeypatch.setenv("CLAUDE_MEM_ENV_FILE", str(elsewhere))
    default_env = stamp(data.env)

    assert cli(capsys, "use", "corporate")[0] == 0
    assert elsewhere.read_bytes() == expected_env("corporate")
    assert stat.S_IMODE(elsewhere.stat().st_mode) == 0o600
    assert data.settings.read_bytes() == expected_settings("corporate")
    assert stamp(data.env) == default_env
    assert cli(capsys, "rollback", "0")[0] == 0
    assert elsewhere.read_bytes() == ORIGINAL[0]


def test_data_dir_option_leaves_the_default_alone(
    data: DataDir, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    other = DataDir(tmp_path / "other-data")
    seed(other.path)
    before = data.stamps()

    assert cli(capsys, "--data-dir", str(other.path), "use", "corporate")[0] == 0
    assert other.files() == expected("corporate")
    assert data.stamps() == before
    assert sorted(p.name for p in data.path.iterdir()) == [".env", "settings.json"]
    _, out, _ = cli(capsys, "--data-dir", str(other.path), "current", "--json")
    assert json.loads(out)["active"] == "corporate"
    assert json.loads(cli(capsys, "current", "--json")[1])["active"] is None


# 9. A hand edit of an owned key.


def hand_edit_model(data: DataDir) -> None:
    assert data.files() == expected("corporate")
    claude_mem_write(data.settings, "CLAUDE_MEM_MODEL", "my-own-model")


def test_a_hand_edit_stops_the_switch_until_forced(
    data: DataDir, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(capsys, "use", "corporate")[0] == 0
    hand_edit_model(data)
    before = data.stamps()

    code, out, err = cli(capsys, "use", "gemini")
    assert (code, out) == (1, "")
    assert err == drift_message("corporate", "settings.json: CLAUDE_MEM_MODEL")
    assert data.stamps() == before
    assert len(history(capsys)) == 2

    code, out, err = cli(capsys, "use", "gemini", "--force")
    assert code == 0
    assert (
        err
        == "warning: settings.json: CLAUDE_MEM_MODEL was changed by hand; the edit is replaced\n"
    )
    assert "~ CLAUDE_MEM_MODEL: my-own-model -> claude-haiku-4-5-20251001 (restored)" in out
    assert data.files() == expected("gemini")
    assert cli(capsys, "rollback", "0")[0] == 0
    assert data.files() == ORIGINAL


def test_an_adopted_edit_is_restored_later(
    data: DataDir, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(capsys, "use", "corporate")[0] == 0
    hand_edit_model(data)
    assert cli(capsys, "use", "third-party", "--adopt")[0] == 0
    assert data.files() == expected("third-party")
    code, out, _ = cli(capsys, "use", "gemini")
    assert code == 0
    assert "~ CLAUDE_MEM_MODEL: glm-4.5-air -> my-own-model (restored)" in out
    assert data.files() == (
        expected_env("gemini"),
        expected_settings("gemini", CLAUDE_MEM_MODEL="my-own-model"),
    )


def test_an_adopted_edit_of_a_released_key_is_kept(
    data: DataDir, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(capsys, "use", "corporate")[0] == 0
    hand_edit_model(data)
    assert cli(capsys, "use", "gemini", "--adopt")[0] == 0
    assert data.files() == (
        expected_env("gemini"),
        expected_settings("gemini", CLAUDE_MEM_MODEL="my-own-model"),
    )


def test_activating_a_profile_the_files_already_match_says_it_switched(
    data: DataDir, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(capsys, "use", "subscription")
    assert (code, err) == (0, "")
    assert data.files() == ORIGINAL == expected("subscription")
    assert [(r["number"], r["kind"], r["profile"]) for r in history(capsys)] == [
        (0, "found", None),
        (1, "use", "subscription"),
    ]
    assert out == (
        "switched to subscription (generation 1): the files already matched it\n" + no_worker_line()
    )
