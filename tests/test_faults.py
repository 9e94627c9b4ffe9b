"""Crash safety: a switch or rollback stopped at every one of its steps, three ways.

CMEM_PROFILE_TEST_FAULT (see cmem_profiles.targets) stops the command at each point: raising
an exception inside it, os._exit from inside it, or a SIGKILL from outside while it waits at
the point. Afterwards each file is wholly old or wholly new; once the next command that takes
the lock has run, both files, the state, the history and the generation directories agree,
no temp file is left, and the next use and rollback work. A loop of kills at seeded random
instants of real switches adds the same check where no point was chosen.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_switch_robustness import (
    ORIGINAL,
    PROFILES,
    DataDir,
    cli,
    data,
    expected,
    expected_env,
    expected_settings,
)

__all__ = ["data"]  # the fixture, shared with the switch tests

FAULT = "CMEM_PROFILE_TEST_FAULT"
# Every point, in the order a switch passes them.
ORDER = [
    "after-lock",
    "after-secrets",
    "after-found",
    "after-generation",
    "after-temp:journal",
    "after-replace:journal",
    "after-temp:.env",
    "after-replace:.env",
    "after-temp:settings.json",
    "after-replace:settings.json",
    "after-temp:state.json",
    "after-replace:state.json",
    "after-prune",
]
COMMITTED = ORDER.index("after-replace:state.json")  # from here on the switch has happened
ENV_NEW = ORDER.index("after-replace:.env")
SETTINGS_NEW = ORDER.index("after-replace:settings.json")
RECOVERED = re.compile(
    r"warning: an earlier switch to \S+ was interrupted; its partial writes were undone\n"
)
INTERNAL_ERROR = "cmem-profile: internal error: RuntimeError (run with --debug for the traceback)\n"


@dataclass(frozen=True)
class Scenario:
    """A command stopped at a point, from a data dir that went through setup first."""

    setup: tuple[tuple[str, ...], ...]
    argv: tuple[str, ...]
    old: str | None  # the active profile before; None: the files as first found
    new: str
    record: tuple[str, str]  # the history record the command adds: kind, profile
    points: tuple[str, ...]


SCENARIOS = {
    "first-use": Scenario(
        (),
        ("use", "corporate"),
        None,
        "corporate",
        ("use", "corporate"),
        tuple(ORDER),
    ),
    "next-use": Scenario(
        (("use", "gemini"),),
        ("use", "corporate"),
        "gemini",
        "corporate",
        ("use", "corporate"),
        tuple(p for p in ORDER if p != "after-found"),  # the live files are generation 1
    ),
    "rollback": Scenario(
        (("use", "gemini"), ("use", "corporate")),
        ("rollback",),
        "corporate",
        "gemini",
        ("rollback to 1", "gemini"),
        tuple(p for p in ORDER if p not in ("after-found", "after-secrets")),
    ),
}
CASES = [
    pytest.param(name, point, action, id=f"{name}-{action}-{point}")
    for name, scenario in SCENARIOS.items()
    for point in scenario.points
    for action in ("raise", "exit", "kill")
]


@pytest.fixture
def in_memory(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The data dir on tmpfs where Linux has one: each switch syncs a dozen files to disk and
    this module runs hundreds; renames, links and modes behave alike there."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield
        return
    directory = Path(tempfile.mkdtemp(dir=shm, prefix="cmem-profile-test-"))
    monkeypatch.setenv("CLAUDE_MEM_DATA_DIR", str(directory / ".claude-mem"))
    try:
        yield
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def command(*argv: str) -> list[str]:
    return [sys.executable, "-m", "cmem_profiles", "--profiles-dir", PROFILES, *argv]


def stop_at(action: str, point: str, argv: tuple[str, ...]) -> None:
    """Run argv in its own process and stop it at point: by os._exit, or by SIGKILL."""
    if action == "exit":
        result = subprocess.run(
            command(*argv),
            env={**os.environ, FAULT: f"exit:{point}"},
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert (result.returncode, result.stdout, result.stderr) == (70, b"", b"")
        return
    proc = spawn(argv, f"pause:{point}")
    assert proc.stderr is not None
    assert proc.stderr.readline() == f"cmem-profile: test pause at {point}\n".encode()
    proc.kill()
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL


def spawn(argv: tuple[str, ...], fault: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command(*argv),
        env={**os.environ, FAULT: fault},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def temp_files(data: DataDir) -> list[Path]:
    return sorted(p for p in data.path.rglob("*") if p.name.endswith(".tmp"))


def check_consistent(data: DataDir, capsys: pytest.CaptureFixture[str]) -> str | None:
    """current and current --check agree with the live files, the history and the
    generation directories agree with the state, and no temp file is left; returns the
    active profile."""
    code, out, err = cli(capsys, "current", "--check", "--json")
    checked = json.loads(out)
    assert (code, err, checked["drift"]) == (0, "", [])
    active: str | None = checked["active"]
    assert data.files() == expected(active)
    assert json.loads(cli(capsys, "current", "--json")[1])["active"] == active
    state = json.loads((data.state_dir / "state.json").read_text())
    assert state["pending"] is None
    code, out, _ = cli(capsys, "history", "--json")
    records = json.loads(out)
    numbers = [r["number"] for r in records]
    assert numbers == list(range(len(records)))
    assert [r["number"] for r in records if r["current"]] == [state["generation"]]
    assert records[-1]["profile"] == active
    generations = data.state_dir / "generations"
    assert sorted(int(d.name) for d in generations.iterdir()) == numbers
    assert temp_files(data) == []
    return active


def kinds(capsys: pytest.CaptureFixture[str]) -> list[tuple[str, str | None]]:
    code, out, _ = cli(capsys, "history", "--json")
    assert code == 0
    return [(r["kind"], r["profile"]) for r in json.loads(out)]


@pytest.mark.usefixtures("in_memory")
@pytest.mark.parametrize(("name", "point", "action"), CASES)
def test_a_command_stopped_at_any_step(
    data: DataDir,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    point: str,
    action: str,
) -> None:
    scenario = SCENARIOS[name]
    for argv in scenario.setup:
        assert cli(capsys, *argv)[0] == 0
    history_before = kinds(capsys) if scenario.setup else [("found", None)]
    old, new = expected(scenario.old), expected(scenario.new)
    step = ORDER.index(point)

    if action == "raise":
        monkeypatch.setenv(FAULT, f"raise:{point}")
        assert cli(capsys, *scenario.argv) == (3, "", INTERNAL_ERROR)
        monkeypatch.delenv(FAULT)
        # Raised, the command undoes its writes itself: the pair is old, or new if committed.
        assert data.files() == (new if step >= COMMITTED else old)
    else:
        stop_at(action, point, scenario.argv)
        # Killed, each file is whole: the new .env may sit beside the old settings.json
        # until the next command undoes it from the journal.
        assert data.files() == (
            new[0] if step >= ENV_NEW else old[0],
            new[1] if step >= SETTINGS_NEW else old[1],
        )

    committed = step >= COMMITTED
    if (data.state_dir / "state.json").exists():
        assert check_consistent(data, capsys) == (scenario.new if committed else scenario.old)
        assert kinds(capsys) == history_before + ([scenario.record] if committed else [])
    else:  # stopped in the first switch before the journal: nothing to undo or agree with
        assert data.files() == ORIGINAL
        none = f"none (no profile applied to {data.path})\n"
        assert cli(capsys, "current", "--check") == (0, none, "")

    # The next use and rollback work, and leave everything consistent.
    assert cli(capsys, "use", "openrouter")[0] == 0
    assert check_consistent(data, capsys) == "openrouter"
    code, _, err = cli(capsys, "rollback")
    assert (code, err) == (0, "")
    assert check_consistent(data, capsys) == (scenario.new if committed else scenario.old)
    assert cli(capsys, "rollback", "0")[0] == 0
    assert data.files() == ORIGINAL


# Kills at instants no point chose.

CYCLE = ["corporate", "gemini", "openrouter", "local-openai", "subscription"]
ROUNDS = 30
# The steps every switch that writes passes, once it holds the lock.
ANCHORS = [p for p in ORDER if p not in ("after-secrets", "after-found")]


def whole(data: DataDir) -> None:
    """Each file is one that some switch writes in full, never a torn one."""
    env, settings = data.files()
    assert env in {expected_env(p) for p in [None, *CYCLE]}
    assert settings in {expected_settings(p) for p in [None, *CYCLE]}


def test_kill_9_at_random_instants_of_real_switches(
    data: DataDir, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each round holds a real `use` at a seeded random step, lets it run on for a seeded
    random few milliseconds (into the next step, or inside it), and kills it; half the rounds
    check at once, the others let the next switch (itself maybe killed) find the crash. On
    disk, not tmpfs: syncing to disk makes each step last long enough to be hit inside."""
    rng = random.Random(8)
    for _ in range(ROUNDS):
        anchor = rng.choice(ANCHORS)
        proc = spawn(("use", rng.choice(CYCLE)), f"pause:{anchor}")
        assert proc.stdin is not None and proc.stderr is not None
        try:
            line = proc.stderr.readline()
            # A switch to the profile already active writes nothing and passes no anchor; it
            # may say that it undid an earlier crash, and end.
            if not line or RECOVERED.fullmatch(line.decode()):
                assert proc.wait(timeout=60) == 0
                continue
            assert line == f"cmem-profile: test pause at {anchor}\n".encode()
            proc.stdin.write(b"go")
            proc.stdin.flush()
            time.sleep(rng.uniform(0, 0.005))
        finally:
            proc.kill()
            proc.communicate(timeout=60)
            whole(data)
        assert proc.returncode in (0, -signal.SIGKILL)
        if rng.random() < 0.5 and (data.state_dir / "state.json").exists():
            check_consistent(data, capsys)

    assert cli(capsys, "use", "gemini")[0] == 0
    assert check_consistent(data, capsys) == "gemini"
    assert cli(capsys, "rollback")[0] == 0
    check_consistent(data, capsys)
    assert cli(capsys, "rollback", "0")[0] == 0
    assert data.files() == ORIGINAL
