"""`use -` goes back to the previous profile; a bare `use` picks on a terminal, fails elsewhere."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO
from terminal import run_in_pty

from cmem_profiles.main import main

PROFILES = str(REPO / "profiles")
NAMES = sorted(p.stem for p in (REPO / "profiles").glob("*.yaml"))
CLI = [sys.executable, "-m", "cmem_profiles", "--profiles-dir", PROFILES]


def _active(capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert main(["current", "--short"]) == 0
    return capsys.readouterr().out.strip()


def _use(*argv: str) -> int:
    return main(["--profiles-dir", PROFILES, "use", *argv])


def _files(data: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in data.rglob("*") if p.is_file()} if data.exists() else {}


def test_use_dash_goes_back_and_forth(capsys: pytest.CaptureFixture[str]) -> None:
    assert _use("subscription") == 0
    assert _use("local-openai") == 0
    assert _use("-") == 0
    assert capsys.readouterr().out.startswith("switched to subscription")
    assert _active(capsys) == "subscription"
    assert _use("-") == 0
    assert _active(capsys) == "local-openai"


def test_use_dash_after_a_rollback(capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("subscription", "local-openai", "subscription"):
        assert _use(name) == 0
    assert main(["rollback"]) == 0  # back to local-openai, as a new generation
    assert _active(capsys) == "local-openai"
    assert _use("-") == 0
    assert _active(capsys) == "subscription"


def test_diff_dash_previews_the_way_back(capsys: pytest.CaptureFixture[str]) -> None:
    assert _use("subscription") == 0
    assert _use("local-openai") == 0
    capsys.readouterr()
    assert main(["--profiles-dir", PROFILES, "diff", "-"]) == 0
    assert capsys.readouterr().out.startswith("switching to subscription would change:")
    assert _active(capsys) == "local-openai"


def test_use_dash_without_history_is_a_clear_error(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _use("-") == 1
    err = capsys.readouterr().err
    assert err.startswith("cmem-profile: error: no previous profile to go back to\nhint: ")
    assert _files(isolated / ".claude-mem") == {}
    assert _use("subscription") == 0
    assert _use("-") == 1  # one switch: still nothing to go back to
    assert _active(capsys) == "subscription"


def test_bare_use_without_a_terminal_is_a_usage_error_listing_the_profiles(
    isolated: Path,
) -> None:
    result = subprocess.run(
        [*CLI, "use"], stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "cmem-profile: error: use needs a profile name\n"
        f"hint: cmem-profile use NAME, with NAME one of: {', '.join(NAMES)}\n"
    )
    assert _files(isolated / ".claude-mem") == {}


def test_bare_use_with_no_input_never_opens_the_picker(capsys: pytest.CaptureFixture[str]) -> None:
    code, transcript = run_in_pty([*CLI, "use", "--no-input"], [])
    assert code == 2
    assert "use needs a profile name" in transcript


def test_picker_on_a_terminal_switches_to_the_number_chosen(
    capsys: pytest.CaptureFixture[str],
) -> None:
    number = NAMES.index("subscription") + 1
    code, transcript = run_in_pty([*CLI, "use"], [str(number)])
    assert code == 0, transcript
    assert f"{number:>2}  subscription" in transcript
    assert "switched to subscription" in transcript
    assert _active(capsys) == "subscription"


def test_picker_marks_the_active_profile_and_takes_a_name(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _use("subscription") == 0
    code, transcript = run_in_pty([*CLI, "use"], ["nope", "0", "local-openai"])
    assert code == 0, transcript
    number = NAMES.index("subscription") + 1
    assert f"* {number:>2}  subscription (active)" in transcript
    assert transcript.count("not a number from 1 to") == 2
    assert _active(capsys) == "local-openai"


@pytest.mark.parametrize(("key", "code"), [("\x04", 1), ("\x03", 130)])
def test_picker_cancelled_by_ctrl_d_or_ctrl_c_writes_nothing(
    key: str, code: int, isolated: Path
) -> None:
    exit_code, transcript = run_in_pty([*CLI, "use"], [key])
    assert exit_code == code, transcript
    assert "Traceback" not in transcript
    assert _files(isolated / ".claude-mem") == {}
