"""The validation cache: a clean verdict is reused only for the same bytes under the same judges."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from cmem_profiles import cache, schema
from cmem_profiles.main import main
from cmem_profiles.problems import Problem
from cmem_profiles.yamldoc import Document

CLEAN = (
    "description: Team gateway\n"
    "provider: claude\n"
    "base_url: https://gateway.corp.example.com\n"
    "model: claude-haiku-4-5-20251001\n"
    "credentials:\n"
    "  auth_token: {keyring: team-gateway-token}\n"
    "settings:\n"
    '  CLAUDE_MEM_TIER_ROUTING_ENABLED: "false"\n'
)
RECORD = re.compile(r"[0-9a-f]{64}")


@pytest.fixture
def judged(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files the schema judged, in order; a cached file does not appear."""
    seen: list[str] = []
    real = schema.validate_document

    def spy(doc: Document, schema_name: str = schema.SCHEMA_FILE) -> list[Problem]:
        seen.append(doc.file)
        return real(doc, schema_name)

    monkeypatch.setattr(schema, "validate_document", spy)
    return seen


@pytest.fixture
def profiles(tmp_path: Path) -> Callable[..., Path]:
    """Write profiles/<name>.yaml files and return the directory."""
    directory = tmp_path / "profiles"
    directory.mkdir()

    def write(**texts: str) -> Path:
        for name, text in texts.items():
            (directory / f"{name}.yaml").write_text(text)
        return directory

    return write


def cache_file(home: Path) -> Path:
    return home / ".cache" / "cmem-profile" / cache.CACHE_FILE


def test_a_clean_file_is_judged_once_then_reused(
    profiles: Callable[..., Path],
    judged: list[str],
    isolated: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    profiles(gateway=CLEAN)
    monkeypatch.setenv("CMEM_PROFILE_SECRET_TEAM_GATEWAY_TOKEN", "token-0123456789")
    assert main(["validate"]) == 0
    assert main(["list"]) == 0
    assert main(["use", "gateway"]) == 0
    assert judged == ["profiles/gateway.yaml"]
    assert len(cache_file(isolated).read_text().split()) == 1


def test_an_invalid_edit_is_reported_after_a_clean_cached_run(
    profiles: Callable[..., Path], judged: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    directory = profiles(gateway=CLEAN)
    assert main(["validate"]) == 0
    # Same length, same line and column marks: only the content tells the two apart.
    (directory / "gateway.yaml").write_text(CLEAN.replace("provider: claude", "provider: gemini"))
    capsys.readouterr()
    assert main(["validate"]) == 1
    assert "profiles/gateway.yaml:3:1: $.base_url: is not allowed here" in capsys.readouterr().out
    assert main(["list"]) == 0
    assert "(invalid: run 'cmem-profile validate')" in capsys.readouterr().out
    # Back to the clean bytes: the first verdict holds again, without judging them.
    (directory / "gateway.yaml").write_text(CLEAN)
    assert main(["validate"]) == 0
    assert judged == ["profiles/gateway.yaml"] * 3


def test_a_file_with_warnings_is_judged_every_time(
    profiles: Callable[..., Path], judged: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    profiles(gateway=CLEAN.replace(".com\n", ".com/v1\n"))
    for _ in range(2):
        assert main(["validate"]) == 0
        assert "ends in /v1" in capsys.readouterr().out
    assert judged == ["profiles/gateway.yaml"] * 2


def test_the_file_name_is_checked_even_for_cached_bytes(
    profiles: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    directory = profiles(gateway=CLEAN)
    assert main(["validate"]) == 0
    shutil.copy(directory / "gateway.yaml", directory / "Gateway.yaml")
    capsys.readouterr()
    assert main(["validate"]) == 1
    assert "'Gateway' is not a profile name" in capsys.readouterr().out


def copy_judges(target: Path) -> Path:
    for name in cache.JUDGES:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(cache.PACKAGE / name, target / name)
    return target


def test_a_schema_change_invalidates_every_record(tmp_path: Path) -> None:
    package = copy_judges(tmp_path / "package")
    path = tmp_path / "cache" / cache.CACHE_FILE
    cache.ValidationCache(path, package).remember_clean((CLEAN,))
    assert cache.ValidationCache(path, package).known_clean((CLEAN,))
    schema_file = package / "schemas" / "profile.schema.json"
    loaded = json.loads(schema_file.read_text())
    loaded["properties"]["description"]["maxLength"] = 5
    schema_file.write_text(json.dumps(loaded))
    assert not cache.ValidationCache(path, package).known_clean((CLEAN,))


@pytest.mark.parametrize("judge", ["rules.py", "yamldoc.py"])
def test_a_change_to_the_code_that_judges_invalidates_too(tmp_path: Path, judge: str) -> None:
    package = copy_judges(tmp_path / "package")
    path = tmp_path / "cache" / cache.CACHE_FILE
    cache.ValidationCache(path, package).remember_clean((CLEAN,))
    with (package / judge).open("a") as source:
        source.write("\n# a new rule\n")
    assert not cache.ValidationCache(path, package).known_clean((CLEAN,))


def test_the_command_judges_again_after_a_schema_change(
    profiles: Callable[..., Path],
    judged: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    profiles(gateway=CLEAN)
    assert main(["validate"]) == 0
    package = copy_judges(tmp_path / "package")
    with (package / "schemas" / "profile.schema.json").open("a") as schema_file:
        schema_file.write("\n")
    monkeypatch.setattr(cache, "PACKAGE", package)
    monkeypatch.setattr(cache, "_caches", {})  # as a new process would start
    assert main(["validate"]) == 0
    assert judged == ["profiles/gateway.yaml"] * 2


def test_records_are_for_exact_texts_and_sets_of_texts(tmp_path: Path) -> None:
    validated = cache.ValidationCache(tmp_path / cache.CACHE_FILE, cache.PACKAGE)
    validated.remember_clean(("ab", "c"))
    assert validated.known_clean(("ab", "c"))
    assert not validated.known_clean(("a", "bc"))
    assert not validated.known_clean(("abc",))
    assert not validated.known_clean((CLEAN,))


@pytest.mark.parametrize(
    "corrupt",
    [
        b"\x00\xff\xfe garbage \n not-a-record\n",
        b"0" * 63 + b"\n",
        b"",
    ],
    ids=["binary", "short-record", "empty"],
)
def test_a_corrupt_cache_is_ignored_and_repaired(
    profiles: Callable[..., Path],
    judged: list[str],
    isolated: Path,
    corrupt: bytes,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    profiles(gateway=CLEAN, broken=CLEAN.replace("claude\n", "bogus\n", 1))
    cache_file(isolated).parent.mkdir(parents=True)
    cache_file(isolated).write_bytes(corrupt)
    assert main(["validate"]) == 1
    assert "profiles/broken.yaml:2:11" in capsys.readouterr().out
    assert sorted(judged) == ["profiles/broken.yaml", "profiles/gateway.yaml"]
    monkeypatch.setattr(cache, "_caches", {})  # as a new process would start
    assert main(["validate"]) == 1
    assert "profiles/broken.yaml:2:11" in capsys.readouterr().out
    assert sorted(judged) == [
        "profiles/broken.yaml",
        "profiles/broken.yaml",
        "profiles/gateway.yaml",
    ]
    assert cache_file(isolated).read_bytes().startswith(corrupt)


def test_an_unreadable_and_unwritable_cache_is_ignored(
    profiles: Callable[..., Path],
    judged: list[str],
    isolated: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    profiles(gateway=CLEAN)
    cache_file(isolated).mkdir(parents=True)  # a directory where the file should be
    for _ in range(2):
        assert main(["validate"]) == 0
        assert capsys.readouterr().err == "1 file checked: 0 errors, 0 warnings\n"
    assert main(["list"]) == 0
    assert capsys.readouterr().err == ""
    assert judged == ["profiles/gateway.yaml"]  # remembered in memory for this process only


def test_an_oversized_cache_starts_over(tmp_path: Path) -> None:
    path = tmp_path / cache.CACHE_FILE
    path.write_bytes(b"f" * 64 + b"\n" + b"x" * cache.MAX_BYTES)
    validated = cache.ValidationCache(path, cache.PACKAGE)
    assert not validated.known_clean(("f",))
    validated.remember_clean((CLEAN,))
    assert path.read_text() == validated.key((CLEAN,)) + "\n"


def test_the_cache_holds_only_records_never_content(
    profiles: Callable[..., Path],
    repo_profiles: Path,
    isolated: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pasted = "sk-ant-api03-AbCdEf0123456789xyzXYZ0123"
    value = "env-secret-value-0123456789abcdef"
    directory = profiles(
        gateway=CLEAN,
        pasted=CLEAN.replace("{keyring: team-gateway-token}", pasted),
        env=CLEAN.replace("keyring: team-gateway-token", "env: TEAM_TOKEN"),
    )
    for example in repo_profiles.glob("*.yaml"):
        shutil.copy(example, directory)
    monkeypatch.setenv("TEAM_TOKEN", value)
    assert main(["validate", "--json"]) == 1
    flagged = {problem["file"] for problem in json.loads(capsys.readouterr().out)}
    assert main(["list"]) == 0
    assert main(["use", "env"]) == 0
    stored = [p for p in (isolated / ".cache").rglob("*") if p.is_file()]
    assert stored == [cache_file(isolated)]
    assert (cache_file(isolated).stat().st_mode & 0o777) == 0o600
    assert (cache_file(isolated).parent.stat().st_mode & 0o777) == 0o700
    # One record per file with no problem at all, each a bare hash: nothing else is stored.
    validated = cache.ValidationCache(Path("unused"), cache.PACKAGE)
    expected = {
        validated.key((path.read_text(),))
        for path in directory.glob("*.yaml")
        if f"profiles/{path.name}" not in flagged
    }
    assert "profiles/pasted.yaml" in flagged
    assert len(expected) >= 3
    content = cache_file(isolated).read_text()
    assert content.endswith("\n")
    assert set(content.split("\n")[:-1]) == expected
    assert all(RECORD.fullmatch(record) for record in expected)
    for needle in (pasted, value, "team-gateway-token", "TEAM_TOKEN", "gateway.corp", "claude"):
        assert needle not in content
