"""The trust gate: a secret goes only to hosts it went to before, unless the user agrees."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from terminal import Reply, run_in_pty

from cmem_profiles.main import main

KEY = "sk-ant-api03-TRUSTMARKER-0000000000"
GATEWAY = """\
description: Corporate gateway
provider: claude
base_url: https://{host}
credentials:
  api_key: {{env: CORP_KEY}}
settings:
  CLAUDE_MEM_TIER_ROUTING_ENABLED: "false"
"""


@pytest.fixture
def profiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "profiles"
    d.mkdir()
    (d / "corp.yaml").write_text(GATEWAY.format(host="gw.example.com"))
    monkeypatch.setenv("CORP_KEY", KEY)
    return d


def _run(capsys: pytest.CaptureFixture[str], profiles: Path, *argv: str) -> tuple[int, str, str]:
    code = main(["--profiles-dir", str(profiles), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _files(isolated: Path) -> dict[str, bytes]:
    data = isolated / ".claude-mem"
    return {p.name: p.read_bytes() for p in data.rglob("*") if p.is_file()}


def _pairs(capsys: pytest.CaptureFixture[str], profiles: Path) -> list[tuple[str, str]]:
    code, out, _ = _run(capsys, profiles, "trust", "--list", "--json")
    assert code == 0
    return [(p["secret"], p["host"]) for p in json.loads(out)]


def test_first_use_records_the_host(
    profiles: Path, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _pairs(capsys, profiles) == []
    assert _run(capsys, profiles, "use", "corp")[0] == 0
    assert _pairs(capsys, profiles) == [("env:CORP_KEY", "gw.example.com")]
    trust_file = isolated / ".claude-mem" / ".cmem-profile" / "trust.json"
    assert stat.S_IMODE(trust_file.stat().st_mode) == 0o600
    assert KEY not in trust_file.read_text()


def test_a_changed_host_is_refused_without_a_terminal_and_nothing_is_written(
    profiles: Path, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(capsys, profiles, "use", "corp")[0] == 0
    assert _run(capsys, profiles, "use", "corp")[0] == 0  # the same host again: no question
    (profiles / "corp.yaml").write_text(GATEWAY.format(host="collector.evil.example"))
    before = _files(isolated)
    code, out, err = _run(capsys, profiles, "use", "corp")
    assert code == 1
    assert "corp would send env:CORP_KEY to a new host, collector.evil.example" in err
    assert "it has been used with gw.example.com" in err
    assert "corp.yaml" in err
    assert "hint: if collector.evil.example is right: cmem-profile trust corp" in err
    assert KEY not in out + err
    assert _files(isolated) == before


def test_trust_then_use(profiles: Path, isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, profiles, "use", "corp")[0] == 0
    (profiles / "corp.yaml").write_text(GATEWAY.format(host="gw2.example.com"))
    code, out, _ = _run(capsys, profiles, "trust", "corp")
    assert code == 0
    assert out == "trusted: env:CORP_KEY -> gw2.example.com\n"
    assert _run(capsys, profiles, "use", "corp")[0] == 0
    env = (isolated / ".claude-mem" / ".env").read_text()
    assert "ANTHROPIC_BASE_URL=https://gw2.example.com" in env
    assert set(_pairs(capsys, profiles)) == {
        ("env:CORP_KEY", "gw.example.com"),
        ("env:CORP_KEY", "gw2.example.com"),
    }
    # trusting again changes nothing and says so
    code, out, err = _run(capsys, profiles, "trust", "corp")
    assert (code, out) == (0, "")
    assert "already trusted" in err


def test_use_trust_accepts_and_records(profiles: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, profiles, "use", "corp")[0] == 0
    (profiles / "corp.yaml").write_text(GATEWAY.format(host="gw2.example.com"))
    assert _run(capsys, profiles, "use", "corp", "--trust")[0] == 0
    assert ("env:CORP_KEY", "gw2.example.com") in _pairs(capsys, profiles)


def test_revoke_makes_the_gate_ask_again(
    profiles: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(capsys, profiles, "use", "corp")[0] == 0
    (profiles / "corp.yaml").write_text(GATEWAY.format(host="gw2.example.com"))
    assert _run(capsys, profiles, "trust", "corp")[0] == 0
    code, out, _ = _run(capsys, profiles, "trust", "--revoke", "corp")
    assert (code, out) == (0, "revoked: env:CORP_KEY -> gw2.example.com\n")
    assert _run(capsys, profiles, "use", "corp")[0] == 1


def test_a_diff_sends_nothing_and_is_not_gated(
    profiles: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(capsys, profiles, "use", "corp")[0] == 0
    (profiles / "corp.yaml").write_text(GATEWAY.format(host="gw2.example.com"))
    assert _run(capsys, profiles, "diff", "corp")[0] == 0
    assert _run(capsys, profiles, "use", "corp", "--dry-run")[0] == 0
    assert _pairs(capsys, profiles) == [("env:CORP_KEY", "gw.example.com")]


def test_profiles_sharing_a_secret_and_a_host_pass(
    profiles: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (profiles / "corp-2.yaml").write_text(
        GATEWAY.format(host="gw.example.com").replace("gateway", "gateway, other model")
    )
    assert _run(capsys, profiles, "use", "corp")[0] == 0
    assert _run(capsys, profiles, "use", "corp-2")[0] == 0


def test_the_question_shows_the_git_commit_and_takes_an_answer(
    profiles: Path, isolated: Path
) -> None:
    git = ["git", "-C", str(profiles), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "profiles"], check=True)
    argv = [sys.executable, "-m", "cmem_profiles", "--profiles-dir", str(profiles), "use", "corp"]
    assert run_in_pty(argv, [])[0] == 0
    (profiles / "corp.yaml").write_text(GATEWAY.format(host="gw2.example.com"))
    subprocess.run([*git, "commit", "-qam", "move the gateway"], check=True)
    commit = subprocess.run(
        [*git, "log", "-1", "--format=%h"], capture_output=True, text=True, check=True
    ).stdout.strip()

    code, transcript = run_in_pty(argv, [Reply(r"\[y/N\] $", "n\n")])
    assert code == 1, transcript
    assert f"base_url set in {profiles.name}/corp.yaml at commit {commit}, line 3" in transcript
    assert "would send env:CORP_KEY to gw2.example.com; it has been used with gw.example.com" in (
        transcript
    )
    assert "not trusted: gw2.example.com; nothing written" in transcript
    assert "gw2" not in (isolated / ".claude-mem" / ".env").read_text()

    (profiles / "corp.yaml").write_text(GATEWAY.format(host="gw3.example.com"))
    code, transcript = run_in_pty(argv, [Reply(r"\[y/N\] $", "y\n")])
    assert code == 0, transcript
    assert "with uncommitted changes" in transcript
    assert "https://gw3.example.com" in (isolated / ".claude-mem" / ".env").read_text()
    assert KEY not in transcript


def test_trust_needs_a_name_or_list(profiles: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, profiles, "trust")
    assert code == 1
    assert "name a profile, or pass --list" in err


def test_an_endpoint_test_to_a_new_host_is_gated_too(
    profiles: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(capsys, profiles, "use", "corp")[0] == 0
    code, out, err = _run(
        capsys, profiles, "test", "corp", "--base-url", "http://127.0.0.1:1", "--no-input"
    )
    assert code == 1
    assert "corp would send env:CORP_KEY to a new host, 127.0.0.1:1; nothing written" in err
    assert KEY not in out + err
