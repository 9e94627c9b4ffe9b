"""`cmem-profile secret set|get|list|rm` through main()."""

from __future__ import annotations

import argparse
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from cmem_profiles import secrets
from cmem_profiles.commands.secret import fill_status, render_rows, run, secret_rows
from cmem_profiles.errors import SecretError
from cmem_profiles.keyring_backend import WAYS_OUT
from cmem_profiles.main import main
from cmem_profiles.secretref import SecretRef

BACKEND = "test_keyring.FileTestKeyring"
VALUE = "sk-test-9f8e7d6c"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def pipe(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


def terminal(monkeypatch: pytest.MonkeyPatch, *answers: str) -> list[str]:
    """A terminal on stdin whose hidden prompts get these answers; returns the prompts."""
    prompts: list[str] = []
    given = iter(answers)

    def getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return next(given)

    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr("getpass.getpass", getpass)
    return prompts


def output(capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    out, err = capsys.readouterr()
    assert VALUE not in out + err
    return out, err


# --- set ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("piped", "kept"),
    [
        (VALUE, VALUE),
        (VALUE + "\n", VALUE),
        (VALUE + "\r\n", VALUE),
        (VALUE + "\n\n", VALUE + "\n"),
    ],
)
def test_set_from_a_pipe(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], piped: str, kept: str
) -> None:
    pipe(monkeypatch, piped)
    assert main(["secret", "set", "corp-gateway"]) == 0
    assert output(capsys) == (f"stored corp-gateway in the keyring ({BACKEND})\n", "")
    assert secrets.lookup("corp-gateway") == (kept, BACKEND)


@pytest.mark.parametrize("piped", ["", "\n"])
def test_set_from_an_empty_pipe(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], piped: str
) -> None:
    pipe(monkeypatch, piped)
    assert main(["secret", "set", "corp-gateway"]) == 1
    assert output(capsys) == (
        "",
        "cmem-profile: error: nothing on stdin for corp-gateway; nothing stored\n"
        'hint: pipe the value in: printf %s "$VALUE" | cmem-profile secret set corp-gateway\n',
    )
    assert secrets.lookup("corp-gateway") == (None, BACKEND)


def test_set_on_a_terminal_asks_twice(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = terminal(monkeypatch, VALUE, VALUE)
    assert main(["secret", "set", "corp-gateway"]) == 0
    assert prompts == ["corp-gateway (input hidden): ", "corp-gateway again, to confirm: "]
    assert output(capsys) == (f"stored corp-gateway in the keyring ({BACKEND})\n", "")
    assert secrets.lookup("corp-gateway") == (VALUE, BACKEND)


def test_set_on_a_terminal_with_two_different_entries(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    terminal(monkeypatch, VALUE, VALUE + "x")
    assert main(["secret", "set", "corp-gateway"]) == 1
    assert output(capsys) == (
        "",
        "cmem-profile: error: the two entries for corp-gateway differ; nothing stored\n",
    )
    assert secrets.lookup("corp-gateway") == (None, BACKEND)


def test_set_warns_when_the_override_shadows_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CMEM_PROFILE_SECRET_CORP_GATEWAY", "other")
    pipe(monkeypatch, VALUE)
    assert main(["secret", "set", "corp-gateway"]) == 0
    assert output(capsys) == (
        f"stored corp-gateway in the keyring ({BACKEND})\n",
        "warning: CMEM_PROFILE_SECRET_CORP_GATEWAY is set and overrides the stored value\n",
    )


def test_set_checks_the_keyring_before_asking(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    prompts = terminal(monkeypatch)
    assert main(["secret", "set", "corp-gateway"]) == 1
    assert prompts == []
    assert output(capsys) == (
        "",
        "cmem-profile: error: no usable keyring: keyring.backends.fail.Keyring"
        " (set by PYTHON_KEYRING_BACKEND): it refuses every operation\n"
        f"hint: {WAYS_OUT}\n",
    )


def test_set_refuses_the_null_backend(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    pipe(monkeypatch, VALUE)
    assert main(["secret", "set", "corp-gateway"]) == 1
    out, err = output(capsys)
    assert out == ""
    assert err == (
        "cmem-profile: error: refusing the keyring backend keyring.backends.null.Keyring"
        " (set by PYTHON_KEYRING_BACKEND): the null backend silently drops every secret;"
        " set CMEM_PROFILE_ALLOW_INSECURE_KEYRING=1 to use it anyway\n"
        f"hint: {WAYS_OUT}\n"
    )


@pytest.mark.parametrize(
    "backend",
    ["bogus.Keyring", "", "keyring.backends.fail.Keyring", "secret_service.LockedKeyring"],
)
def test_no_traceback_from_a_broken_keyring(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], backend: str
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", backend)
    for argv in (["set", "corp-gateway"], ["get", "corp-gateway"], ["rm", "corp-gateway"]):
        pipe(monkeypatch, VALUE)
        assert main(["secret", *argv]) == 1
        out, err = output(capsys)
        assert out == ""
        assert err.startswith("cmem-profile: error: no usable keyring: ")
        assert "Traceback" not in err


def test_set_rejects_an_invalid_name(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pipe(monkeypatch, VALUE)
    assert main(["secret", "set", "Corp Gateway"]) == 1
    assert output(capsys) == (
        "",
        "cmem-profile: error: invalid secret name 'Corp Gateway'\n"
        "hint: names are 1-64 characters of a-z, 0-9, '-' and '_', starting with a letter or digit\n",
    )


def test_set_refuses_a_value_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    # For when the parser accepts a stray VALUE so that it can be refused without echoing it.
    args = argparse.Namespace(secret_verb="set", secret_name="corp-gateway", secret_value=VALUE)
    with pytest.raises(SecretError) as err:
        run(args)
    assert err.value.message == "secret set takes no value on the command line; nothing stored"
    assert VALUE not in f"{err.value.message} {err.value.hint}"
    assert secrets.lookup("corp-gateway") == (None, BACKEND)


# --- get ----------------------------------------------------------------------------------


def test_get_says_where_without_the_value(capsys: pytest.CaptureFixture[str]) -> None:
    secrets.store("corp-gateway", VALUE)
    assert main(["secret", "get", "corp-gateway"]) == 0
    assert output(capsys) == (f"corp-gateway: stored in the keyring ({BACKEND})\n", "")


def test_get_reveal_prints_the_value(capsys: pytest.CaptureFixture[str]) -> None:
    secrets.store("corp-gateway", VALUE)
    assert main(["secret", "get", "corp-gateway", "--reveal"]) == 0
    assert capsys.readouterr() == (VALUE + "\n", "")


def test_get_missing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["secret", "get", "corp-gateway"]) == 1
    assert output(capsys) == (
        f"corp-gateway: not stored (keyring: {BACKEND})\n",
        "store it with: cmem-profile secret set corp-gateway\n",
    )


def test_get_reveal_missing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["secret", "get", "corp-gateway", "--reveal"]) == 1
    assert output(capsys) == (
        "",
        f"cmem-profile: error: no secret 'corp-gateway' in the keyring ({BACKEND})\n"
        "hint: store it with: cmem-profile secret set corp-gateway\n",
    )


def test_get_names_the_override(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    secrets.store("corp-gateway", "in-keyring")
    monkeypatch.setenv("CMEM_PROFILE_SECRET_CORP_GATEWAY", VALUE)
    assert main(["secret", "get", "corp-gateway"]) == 0
    assert output(capsys) == (
        "corp-gateway: set by CMEM_PROFILE_SECRET_CORP_GATEWAY (overrides the keyring)\n",
        "",
    )
    assert main(["secret", "get", "corp-gateway", "--reveal"]) == 0
    assert capsys.readouterr().out == VALUE + "\n"


# --- rm -----------------------------------------------------------------------------------


def test_rm(capsys: pytest.CaptureFixture[str]) -> None:
    secrets.store("corp-gateway", VALUE)
    assert main(["secret", "rm", "corp-gateway"]) == 0
    assert output(capsys) == (f"removed corp-gateway from the keyring ({BACKEND})\n", "")
    assert secrets.lookup("corp-gateway") == (None, BACKEND)


def test_rm_missing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["secret", "rm", "corp-gateway"]) == 1
    assert output(capsys) == (
        "",
        f"cmem-profile: error: no secret 'corp-gateway' in the keyring ({BACKEND})\n",
    )


# --- list ---------------------------------------------------------------------------------

PROFILES = {
    "corporate.yaml": "description: A\nprovider: claude\ncredentials:\n  api_key: {keyring: corp-gateway}\n",
    "shim.yaml": "description: B\nprovider: claude\ncredentials:\n  auth_token: {keyring: corp-gateway}\n",
    "gemini.yaml": "description: G\nprovider: gemini\nmodel: gemini-flash-latest\ncredentials:\n  api_key: {keyring: gemini}\n",
    "router.yaml": "description: R\nprovider: openrouter\nmodel: x/y\ncredentials:\n  api_key: {env: OR_KEY}\n",
    "local.yaml": "description: L\nprovider: openrouter\nmodel: x/y\ncredentials:\n  api_key: {command: [pass, show, local key]}\n",
    "plain.yaml": "description: P\nprovider: claude\n",
}


@pytest.fixture
def profiles(tmp_path: Path) -> Path:
    directory = tmp_path / "profiles"
    directory.mkdir()
    for name, text in PROFILES.items():
        (directory / name).write_text(text)
    return directory


def test_list(profiles: Path, capsys: pytest.CaptureFixture[str]) -> None:
    secrets.store("corp-gateway", VALUE)
    assert main(["--profiles-dir", str(profiles), "secret", "list"]) == 0
    assert output(capsys) == (
        "NAME          SOURCE   STATUS            WHERE                         USED BY\n"
        f"corp-gateway  keyring  stored            {BACKEND}  corporate (credentials.api_key), shim (credentials.auth_token)\n"
        f"gemini        keyring  missing           {BACKEND}  gemini (credentials.api_key)\n"
        "OR_KEY        env      env var unset     OR_KEY                        router (credentials.api_key)\n"
        "pass          command  command: not run  pass show 'local key'         local (credentials.api_key)\n",
        "",
    )


def test_list_json(
    profiles: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CMEM_PROFILE_SECRET_GEMINI", VALUE)
    monkeypatch.setenv("OR_KEY", VALUE)
    assert main(["--profiles-dir", str(profiles), "secret", "list", "--json"]) == 0
    out, err = output(capsys)
    assert err == ""
    records = json.loads(out)["secrets"]
    assert [(r["name"], r["source"], r["status"], r["where"]) for r in records] == [
        ("corp-gateway", "keyring", "missing", BACKEND),
        ("gemini", "keyring", "override set", "CMEM_PROFILE_SECRET_GEMINI"),
        ("OR_KEY", "env", "env var set", "OR_KEY"),
        ("pass", "command", "command: not run", "pass show 'local key'"),
    ]
    assert records[0]["references"] == [
        {
            "profile": "corporate",
            "file": str(profiles / "corporate.yaml"),
            "field": "credentials.api_key",
        },
        {"profile": "shim", "file": str(profiles / "shim.yaml"), "field": "credentials.auth_token"},
    ]


def test_list_warns_about_invalid_profiles(
    profiles: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (profiles / "broken.yaml").write_text("description: [oops\n")
    (profiles / "worse.yaml").write_text("provider: nowhere\n")
    assert main(["--profiles-dir", str(profiles), "secret", "list", "--json"]) == 0
    out, err = output(capsys)
    assert len(json.loads(out)["secrets"]) == 4
    assert err == (
        "warning: 2 profile files could not be loaded and were left out;"
        " run 'cmem-profile validate'\n"
    )


def test_list_without_secrets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "plain.yaml").write_text(PROFILES["plain.yaml"])
    assert main(["--profiles-dir", str(tmp_path), "secret", "list"]) == 0
    assert output(capsys) == ("no profile references a secret\n", "")


def test_list_with_an_unusable_keyring(
    profiles: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.setenv("CMEM_PROFILE_SECRET_GEMINI", VALUE)
    assert main(["--profiles-dir", str(profiles), "secret", "list", "--json"]) == 0
    out, err = output(capsys)
    statuses = [(r["name"], r["status"], r["where"]) for r in json.loads(out)["secrets"]]
    assert statuses[:2] == [
        ("corp-gateway", "unknown", "keyring unavailable"),
        ("gemini", "override set", "CMEM_PROFILE_SECRET_GEMINI"),
    ]
    assert err == (
        "warning: no usable keyring: keyring.backends.fail.Keyring (set by PYTHON_KEYRING_BACKEND):"
        f" it refuses every operation\nhint: {WAYS_OUT}\n"
    )


@dataclass
class FakeProfile:
    """The part of a Profile that `secret list` uses."""

    name: str
    file: Path
    refs: list[tuple[str, SecretRef]]

    def secret_refs(self) -> list[tuple[str, SecretRef]]:
        return self.refs


def test_rows_from_any_profile_like_objects(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEAM_KEY", "x")
    corp, team = SecretRef("keyring", "corp"), SecretRef("env", "TEAM_KEY")
    rows = secret_rows(
        [
            FakeProfile("one", Path("one.yaml"), [("credentials.api_key", corp)]),
            FakeProfile("two", Path("two.yaml"), [("credentials.api_key", team), ("x.y", corp)]),
        ]
    )
    assert fill_status(rows) is None
    assert render_rows(rows) == [
        "NAME      SOURCE   STATUS       WHERE                         USED BY",
        f"corp      keyring  missing      {BACKEND}  one (credentials.api_key), two (x.y)",
        "TEAM_KEY  env      env var set  TEAM_KEY                      two (credentials.api_key)",
    ]


def test_secret_values_are_never_in_list_output(
    profiles: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    secrets.store("gemini", VALUE)
    monkeypatch.setenv("OR_KEY", VALUE)
    monkeypatch.setenv("CMEM_PROFILE_SECRET_CORP_GATEWAY", VALUE)
    for argv in (["secret", "list"], ["secret", "list", "--json"]):
        assert main(["--profiles-dir", str(profiles), *argv]) == 0
        output(capsys)
    assert os.environ["OR_KEY"] == VALUE


def test_value_on_the_command_line_is_refused_and_never_echoed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["secret", "set", "corp-gateway", VALUE]) == 1
    out, err = capsys.readouterr()
    assert VALUE not in out + err
    assert err.startswith("cmem-profile: error: secret set takes no value on the command line")
    assert main(["secret", "get", "corp-gateway"]) == 1
