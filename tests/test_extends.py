"""`extends`, `abstract` and `.local.yaml` overlays: merging, errors in the right file, `explain`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cmem_profiles.layers import Resolver
from cmem_profiles.main import main
from cmem_profiles.profiles import Loader, display_path, find_profile, read_document

BASE = """\
abstract: true
description: Corporate gateway defaults
provider: claude
base_url: https://gw.example.com
credentials:
  api_key: {keyring: corp-gateway}
settings:
  CLAUDE_MEM_TIER_ROUTING_ENABLED: "false"
  CLAUDE_MEM_API_TIMEOUT_MS: "30000"
"""
CHILD = """\
extends: corp-base
description: Corporate, fast model
model: claude-haiku-4-5
settings:
  CLAUDE_MEM_API_TIMEOUT_MS: "10000"
"""
OVERLAY = """\
# my own choices
model: my-model
credentials:
  api_key: {env: MY_KEY}
"""


@pytest.fixture
def team(tmp_path: Path) -> Path:
    d = tmp_path / "team"
    d.mkdir()
    (d / "corp-base.yaml").write_text(BASE)
    (d / "corp-fast.yaml").write_text(CHILD)
    return d


def _run(capsys: pytest.CaptureFixture[str], profiles: Path, *argv: str) -> tuple[int, str, str]:
    code = main(["--profiles-dir", str(profiles), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_child_inherits_and_overrides_key_by_key(team: Path) -> None:
    profile = find_profile("corp-fast", [str(team)])
    assert profile.provider == "claude"
    assert profile.base_url == "https://gw.example.com"
    assert profile.model == "claude-haiku-4-5"
    assert profile.credentials["api_key"].label() == "keyring:corp-gateway"
    # settings merge key by key; the child's scalar replaces the base's
    assert dict(profile.settings) == {
        "CLAUDE_MEM_TIER_ROUTING_ENABLED": "false",
        "CLAUDE_MEM_API_TIMEOUT_MS": "10000",
    }
    assert not profile.abstract
    assert [(x.role, x.name) for x in profile.layers] == [
        ("base", "corp-base"),
        ("profile", "corp-fast"),
    ]


def test_overlay_merges_over_the_profile_and_replaces_a_secret_reference_whole(
    team: Path,
) -> None:
    (team / "corp-fast.local.yaml").write_text(OVERLAY)
    profile = find_profile("corp-fast", [str(team)])
    assert profile.model == "my-model"
    # {env: MY_KEY} replaces {keyring: corp-gateway}; it does not merge into it
    assert profile.credentials["api_key"].label() == "env:MY_KEY"
    assert [x.role for x in profile.layers] == ["base", "profile", "overlay"]


def test_null_removes_an_inherited_key(team: Path) -> None:
    (team / "corp-fast.yaml").write_text(
        CHILD
        + "  CLAUDE_MEM_TIER_ROUTING_ENABLED: null\n"
        + "credentials:\n  api_key: null\n  auth_token: {keyring: tok}\n"
    )
    profile = find_profile("corp-fast", [str(team)])
    assert "CLAUDE_MEM_TIER_ROUTING_ENABLED" not in profile.settings
    assert set(profile.credentials) == {"auth_token"}


def test_chains_of_three(team: Path) -> None:
    (team / "corp-mine.yaml").write_text("extends: corp-fast\ndescription: mine\n")
    profile = find_profile("corp-mine", [str(team)])
    assert profile.model == "claude-haiku-4-5"
    assert [x.name for x in profile.layers] == ["corp-base", "corp-fast", "corp-mine"]


def test_use_renders_the_merged_profile(
    team: Path, isolated: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (team / "corp-fast.local.yaml").write_text(OVERLAY)
    monkeypatch.setenv("MY_KEY", "sk-test-value-0000")
    code, _, err = _run(capsys, team, "use", "corp-fast", "--no-input")
    assert code == 0, err
    data = isolated / ".claude-mem"
    env = (data / ".env").read_text()
    assert "ANTHROPIC_BASE_URL=https://gw.example.com" in env
    assert "ANTHROPIC_API_KEY=sk-test-value-0000" in env
    settings = json.loads((data / "settings.json").read_text())
    assert settings["CLAUDE_MEM_MODEL"] == "my-model"
    assert settings["CLAUDE_MEM_API_TIMEOUT_MS"] == "10000"
    assert settings["CLAUDE_MEM_TIER_ROUTING_ENABLED"] == "false"


def test_abstract_profiles_are_not_listed_and_cannot_be_used(
    team: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, team, "list", "--json")
    assert code == 0
    assert [r["name"] for r in json.loads(out)] == ["corp-fast"]
    code, out, _ = _run(capsys, team, "list", "--all", "--json")
    records = {r["name"]: r for r in json.loads(out)}
    assert records["corp-base"]["abstract"] is True
    assert records["corp-fast"]["extends"] == "corp-base"
    code, out, _ = _run(capsys, team, "list", "--all")
    assert "(abstract: shared defaults)" in out
    code, _, err = _run(capsys, team, "use", "corp-base")
    assert code == 1
    assert "'corp-base' is abstract" in err
    assert "Traceback" not in err


def test_an_abstract_base_may_leave_out_what_children_set(
    team: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (team / "corp-base.yaml").write_text("abstract: true\nbase_url: https://gw.example.com\n")
    (team / "corp-fast.yaml").write_text(
        "extends: corp-base\ndescription: d\nprovider: claude\n"
        "settings:\n  CLAUDE_MEM_TIER_ROUTING_ENABLED: 'false'\n"
    )
    code, out, err = _run(capsys, team, "validate")
    assert code == 0, out + err


def test_a_child_still_needs_a_provider(team: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (team / "corp-base.yaml").write_text("abstract: true\ndescription: shared\n")
    (team / "corp-fast.yaml").write_text("extends: corp-base\n")
    code, out, _ = _run(capsys, team, "validate")
    assert code == 1
    file = display_path(team / "corp-fast.yaml")
    assert f"{file}:1:1: $.extends: missing required key 'provider'" in out


def test_a_cycle_is_one_error_naming_it(team: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (team / "a.yaml").write_text("extends: b\ndescription: a\nprovider: claude\n")
    (team / "b.yaml").write_text("extends: c\n")
    (team / "c.yaml").write_text("extends: a\n")
    code, out, _ = _run(capsys, team, "validate")
    assert code == 1
    cycles = [line for line in out.splitlines() if "cycle" in line]
    assert cycles == [
        f"{display_path(team / 'a.yaml')}:1:10: $.extends: "
        "extends cycle: a -> b -> c -> a: remove one 'extends'"
    ]
    code, _, err = _run(capsys, team, "use", "b")
    assert code == 1
    assert "extends cycle: a -> b -> c -> a" in err


def test_a_profile_extending_only_itself_is_refused(
    team: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (team / "self.yaml").write_text("extends: self\n")
    code, out, _ = _run(capsys, team, "validate")
    assert code == 1
    assert "'self' extends itself and shadows no other 'self'" in out


def test_a_missing_base_names_the_line(team: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (team / "corp-fast.yaml").write_text(CHILD.replace("corp-base", "corp-gone"))
    code, out, _ = _run(capsys, team, "validate")
    assert code == 1
    assert (
        f"{display_path(team / 'corp-fast.yaml')}:1:10: $.extends: "
        "no profile 'corp-gone' to extend in the search path" in out
    )


def test_an_error_in_the_base_is_reported_once_in_the_base(
    team: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (team / "corp-base.yaml").write_text(BASE.replace('"30000"', "30000"))
    (team / "corp-slow.yaml").write_text("extends: corp-base\ndescription: slow\n")
    code, out, _ = _run(capsys, team, "validate")
    assert code == 1
    lines = out.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"{display_path(team / 'corp-base.yaml')}:9:30: ")
    code, _, err = _run(capsys, team, "use", "corp-slow")
    assert code == 1
    assert "corp-base.yaml:9:30" in err


def test_overlay_errors_point_at_the_overlay(
    team: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    overlay = team / "corp-fast.local.yaml"
    overlay.write_text("model: ok\nsettings:\n  CLAUDE_MEM_WORKER_PORT: 37777\nextends: x\n")
    code, out, _ = _run(capsys, team, "validate")
    assert code == 1
    shown = display_path(overlay)
    assert f"{shown}:3:27: $.settings.CLAUDE_MEM_WORKER_PORT: YAML reads '37777'" in out
    assert f"{shown}:4:1: $.extends: 'extends' belongs in" in out
    # the hook passes changed files one by one: an overlay alone is checked with its profile
    code, out2, _ = _run(capsys, team, "validate", str(overlay))
    assert code == 1
    assert out2 == out


def test_an_overlay_without_its_profile_is_an_error(
    team: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (team / "gone.local.yaml").write_text("model: x\n")
    code, out, _ = _run(capsys, team, "validate")
    assert code == 1
    assert "an overlay without its profile" in out
    code, out, _ = _run(capsys, team, "list", "--json")
    assert "gone" not in out


def test_a_plaintext_secret_in_an_overlay_names_the_overlay(
    team: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    overlay = team / "corp-fast.local.yaml"
    overlay.write_text("description: sk-ant-api03-AAAAAAAAAAAAAAAAAAAAAAAAAAAA\n")
    code, out, _ = _run(capsys, team, "validate")
    assert code == 1
    assert f"{display_path(overlay)}:1:14: $.description: looks like a pasted secret" in out
    assert "AAAAAAAA" not in out


def test_a_profile_may_extend_the_one_it_shadows(
    tmp_path: Path, team: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "corp-fast.yaml").write_text("extends: corp-fast\nmodel: mine\n")
    dirs = [str(mine), str(team)]
    profile = find_profile("corp-fast", dirs)
    assert profile.model == "mine"
    assert profile.base_url == "https://gw.example.com"
    assert [x.file for x in profile.layers] == [
        display_path(team / "corp-base.yaml"),
        display_path(team / "corp-fast.yaml"),
        display_path(mine / "corp-fast.yaml"),
    ]


def test_explain_names_the_file_and_line_of_every_key(
    team: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (team / "corp-fast.local.yaml").write_text(OVERLAY)
    code, out, _ = _run(capsys, team, "explain", "corp-fast", "--json")
    assert code == 0
    report = json.loads(out)
    origin = {
        k["key"]: (k["from"]["role"], k["from"]["file"], k["from"]["line"]) for k in report["keys"]
    }
    base, child, overlay = (
        display_path(team / f) for f in ("corp-base.yaml", "corp-fast.yaml", "corp-fast.local.yaml")
    )
    assert origin["ANTHROPIC_BASE_URL"] == ("base", base, 4)
    assert origin["ANTHROPIC_API_KEY"] == ("overlay", overlay, 4)
    assert origin["ANTHROPIC_AUTH_TOKEN"] == ("default", None, None)
    assert origin["CLAUDE_MEM_PROVIDER"] == ("base", base, 3)
    assert origin["CLAUDE_MEM_MODEL"] == ("overlay", overlay, 2)
    assert origin["CLAUDE_MEM_TIER_ROUTING_ENABLED"] == ("base", base, 8)
    assert origin["CLAUDE_MEM_API_TIMEOUT_MS"] == ("profile", child, 5)
    secret = next(k for k in report["keys"] if k["key"] == "ANTHROPIC_API_KEY")
    assert secret["value"] is None
    assert secret["secret"] == "env:MY_KEY"


def test_explain_text_and_one_key(team: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, team, "explain", "corp-fast")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].endswith("corp-fast.yaml (profile)")
    model = next(line for line in lines if "CLAUDE_MEM_MODEL" in line)
    assert model.split()[:3] == ["CLAUDE_MEM_MODEL", "claude-haiku-4-5", "profile"]
    assert model.endswith("corp-fast.yaml:3")
    key = next(line for line in lines if "ANTHROPIC_API_KEY" in line)
    assert "<secret keyring:corp-gateway>" in key
    code, out, _ = _run(capsys, team, "explain", "corp-fast", "CLAUDE_MEM_MODEL")
    assert code == 0
    assert len(out.splitlines()) == 3  # chain, file heading, the key
    code, _, err = _run(capsys, team, "explain", "corp-fast", "CLAUDE_MEM_NOPE")
    assert code == 1
    assert "renders no key 'CLAUDE_MEM_NOPE'" in err


def test_show_names_the_layers(team: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (team / "corp-fast.local.yaml").write_text(OVERLAY)
    code, out, _ = _run(capsys, team, "show", "corp-fast")
    assert code == 0
    assert f"extends:   corp-base ({display_path(team / 'corp-base.yaml')})" in out
    assert f"overlay:   {display_path(team / 'corp-fast.local.yaml')}" in out
    code, out, _ = _run(capsys, team, "show", "corp-base")
    assert code == 0
    assert "abstract:  yes" in out


def test_each_file_is_read_once_however_many_profiles_extend_it(team: Path) -> None:
    for i in range(30):
        (team / f"child-{i}.yaml").write_text(f"extends: corp-fast\ndescription: child {i}\n")
    reads: list[Path] = []

    def counting(path: Path):  # type: ignore[no-untyped-def]
        reads.append(path)
        return read_document(path)

    loader = Loader([team])
    loader.resolver = Resolver(counting, loader._locate, display_path)
    for path in sorted(team.glob("*.yaml")):
        _profile, problems = loader.check(path)
        assert not [p for p in problems if p.severity == "error"], problems
    assert sorted(reads) == sorted(team.glob("*.yaml"))
