"""secrets and keyring_backend: references, the override, backend choice and refusal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from keyring.backends import fail, null

from cmem_profiles import keyring_backend, secrets
from cmem_profiles.errors import KeyringUnavailable, SecretError
from cmem_profiles.keyring_backend import WAYS_OUT
from cmem_profiles.secretref import SecretRef

CORP = SecretRef("keyring", "corp-gateway")
TEST_BACKEND = "test_keyring.FileTestKeyring"


def python(code: str) -> SecretRef:
    return SecretRef("command", argv=(sys.executable, "-c", code))


def stored() -> dict[str, str]:
    path = Path(os.environ["CMEM_TEST_KEYRING"])
    return json.loads(path.read_text()) if path.exists() else {}


# --- the keyring ---------------------------------------------------------------------------


def test_store_lookup_delete() -> None:
    assert secrets.lookup("corp-gateway") == (None, TEST_BACKEND)
    assert secrets.store("corp-gateway", "v1") == TEST_BACKEND
    assert stored() == {"cmem-profile/corp-gateway": "v1"}
    assert secrets.lookup("corp-gateway") == ("v1", TEST_BACKEND)
    assert secrets.delete("corp-gateway") == TEST_BACKEND
    assert stored() == {}


def test_delete_missing_is_a_clear_error() -> None:
    with pytest.raises(SecretError) as err:
        secrets.delete("corp-gateway")
    assert err.value.message == f"no secret 'corp-gateway' in the keyring ({TEST_BACKEND})"
    assert err.value.hint is None


def test_delete_missing_names_the_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CMEM_PROFILE_SECRET_CORP_GATEWAY", "from-env")
    with pytest.raises(SecretError) as err:
        secrets.delete("corp-gateway")
    assert (
        err.value.hint
        == "its value comes from CMEM_PROFILE_SECRET_CORP_GATEWAY; unset that instead"
    )


def test_empty_stored_value_counts_as_missing() -> None:
    Path(os.environ["CMEM_TEST_KEYRING"]).write_text(json.dumps({"cmem-profile/corp-gateway": ""}))
    assert secrets.lookup("corp-gateway") == (None, TEST_BACKEND)
    with pytest.raises(SecretError, match="corp-gateway: not stored"):
        secrets.resolve(CORP)


def test_store_refuses_an_empty_value() -> None:
    with pytest.raises(SecretError, match="empty value for corp-gateway; nothing stored"):
        secrets.store("corp-gateway", "")


@pytest.mark.parametrize("name", ["Corp", "-x", "", "a b", "x" * 65, "a/b", "corp\n"])
def test_invalid_names(name: str) -> None:
    with pytest.raises(SecretError, match="invalid secret name"):
        secrets.lookup(name)


def test_an_invalid_name_that_may_be_a_value_is_not_echoed() -> None:
    value = "sk-ant-api03-" + "Z" * 80
    with pytest.raises(SecretError) as err:
        secrets.store(value, "x")
    assert err.value.message == "invalid secret name of 93 characters (not shown)"
    assert value not in str(err.value)


# --- the override -------------------------------------------------------------------------


def test_override_wins_over_the_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    secrets.store("corp-gateway", "from-keyring")
    monkeypatch.setenv("CMEM_PROFILE_SECRET_CORP_GATEWAY", "from-env")
    assert secrets.lookup("corp-gateway") == ("from-env", "CMEM_PROFILE_SECRET_CORP_GATEWAY")
    assert secrets.resolve(CORP) == "from-env"


def test_empty_override_falls_back_to_the_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    secrets.store("corp-gateway", "from-keyring")
    monkeypatch.setenv("CMEM_PROFILE_SECRET_CORP_GATEWAY", "")
    assert secrets.resolve(CORP) == "from-keyring"


def test_override_needs_no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.setenv("CMEM_PROFILE_SECRET_CORP_GATEWAY", "from-env")
    assert secrets.resolve_all([CORP], interactive=False) == {CORP: "from-env"}


def test_ambient_anthropic_key_is_never_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ambient")
    with pytest.raises(SecretError) as err:
        secrets.resolve(CORP)
    assert "sk-ambient" not in str(err.value)
    with pytest.raises(SecretError) as err:
        secrets.resolve(SecretRef("env", "ANTHROPIC_API_KEY"))
    assert err.value.message == (
        "cannot resolve 1 secret:\n  env:ANTHROPIC_API_KEY: cmem-profile never reads ANTHROPIC_*"
        " variables; use {keyring: NAME} and 'cmem-profile secret set NAME' instead"
    )


# --- env and command references -----------------------------------------------------------


def test_env_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORP_KEY", "from-env")
    assert secrets.resolve(SecretRef("env", "CORP_KEY")) == "from-env"


@pytest.mark.parametrize("value", [None, ""])
def test_env_reference_unset_or_empty(monkeypatch: pytest.MonkeyPatch, value: str | None) -> None:
    if value is not None:
        monkeypatch.setenv("CORP_KEY", value)
    with pytest.raises(SecretError) as err:
        secrets.resolve(SecretRef("env", "CORP_KEY"))
    assert err.value.message == (
        "cannot resolve 1 secret:\n  env:CORP_KEY: environment variable CORP_KEY is unset or empty"
    )


@pytest.mark.parametrize(
    ("printed", "value"),
    [
        ("tok", "tok"),
        ("tok\n", "tok"),
        ("tok\r\n", "tok"),
        ("tok\n\n", "tok\n"),
        (" tok ", " tok "),
    ],
)
def test_command_output_loses_one_trailing_newline(printed: str, value: str) -> None:
    ref = python(f"import sys; sys.stdout.write({printed!r})")
    assert secrets.resolve(ref) == value


def test_command_failure_shows_stderr_never_stdout() -> None:
    ref = python(
        "import sys; print('sk-partial-secret'); "
        "sys.stderr.write('gpg: decryption failed\\n\\n  no secret key  \\n'); sys.exit(2)"
    )
    with pytest.raises(SecretError) as err:
        secrets.resolve(ref)
    assert err.value.message == (
        f"cannot resolve 1 secret:\n  command:{sys.executable}: {sys.executable!r} exited with"
        " status 2; its stderr:\n    gpg: decryption failed\n    no secret key"
    )
    assert "sk-partial-secret" not in str(err.value)


def test_command_stderr_is_cut_to_a_few_lines() -> None:
    ref = python(
        "import sys; sys.stderr.write(''.join(f'line {i}\\n' for i in range(9))); sys.exit(1)"
    )
    with pytest.raises(SecretError) as err:
        secrets.resolve(ref)
    assert err.value.message.endswith("line 3\n    line 4\n    (4 more lines)")


def test_command_failure_without_stderr() -> None:
    with pytest.raises(SecretError, match=r"exited with status 3 and printed nothing on stderr$"):
        secrets.resolve(python("import sys; sys.exit(3)"))


def test_command_killed_by_a_signal() -> None:
    with pytest.raises(SecretError, match="was killed by signal 9"):
        secrets.resolve(python("import os, signal; os.kill(os.getpid(), signal.SIGKILL)"))


def test_command_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secrets, "COMMAND_TIMEOUT", 0.3)
    with pytest.raises(SecretError) as err:
        secrets.resolve(python("import time; time.sleep(10)"))
    assert err.value.message.endswith(f"{sys.executable!r} did not finish within 0.3 s")


def test_command_default_timeout_is_thirty_seconds() -> None:
    assert secrets.COMMAND_TIMEOUT == 30.0


def test_missing_program() -> None:
    with pytest.raises(SecretError) as err:
        secrets.resolve(SecretRef("command", argv=("no-such-password-manager", "show", "x")))
    assert err.value.message == (
        "cannot resolve 1 secret:\n"
        "  command:no-such-password-manager: program 'no-such-password-manager' not found"
    )


def test_program_that_cannot_run(tmp_path: Path) -> None:
    script = tmp_path / "pm"
    script.write_text("#!/bin/sh\necho x\n")
    script.chmod(0o600)
    with pytest.raises(SecretError, match=r"cannot run '.*pm': Permission denied"):
        secrets.resolve(SecretRef("command", argv=(str(script),)))


def test_command_printing_nothing_is_an_error() -> None:
    with pytest.raises(SecretError, match=r"printed nothing$"):
        secrets.resolve(python("print()"))


def test_command_printing_bytes_that_are_not_text() -> None:
    with pytest.raises(SecretError, match="printed something that is not UTF-8 text"):
        secrets.resolve(python("import sys; sys.stdout.buffer.write(b'\\xff\\xfe')"))


def test_env_and_command_refs_never_load_keyring() -> None:
    code = (
        "import os, sys\n"
        "from cmem_profiles import secrets\n"
        "from cmem_profiles.secretref import SecretRef\n"
        "os.environ['K'] = 'v'\n"
        "refs = [SecretRef('env', 'K'), SecretRef('command', argv=(sys.executable, '-c', 'print(1)'))]\n"
        "secrets.resolve_all(refs, interactive=False)\n"
        "import cmem_profiles.commands.secret, cmem_profiles.commands.doctor\n"
        "print('keyring' in sys.modules)\n"
    )
    repo = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, check=True
    )
    assert done.stdout == "False\n"


# --- resolving several at once ------------------------------------------------------------


def test_resolve_all_lists_every_missing_secret_with_its_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prompted: list[str] = []
    monkeypatch.setattr("getpass.getpass", lambda prompt="": prompted.append(prompt) or "x")
    secrets.store("gemini", "g")
    refs = [
        CORP,
        SecretRef("keyring", "gemini"),
        SecretRef("env", "CORP_KEY"),
        SecretRef("keyring", "bedrock-shim"),
        CORP,
    ]
    with pytest.raises(SecretError) as err:
        secrets.resolve_all(refs, interactive=False)
    assert err.value.message == (
        "cannot resolve 3 secrets:\n"
        "  corp-gateway: not stored; run: cmem-profile secret set corp-gateway\n"
        "  bedrock-shim: not stored; run: cmem-profile secret set bedrock-shim\n"
        "  env:CORP_KEY: environment variable CORP_KEY is unset or empty"
    )
    assert err.value.hint == (
        "on CI or a machine without a keyring, set CMEM_PROFILE_SECRET_CORP_GATEWAY,"
        " CMEM_PROFILE_SECRET_BEDROCK_SHIM in the environment instead"
    )
    assert prompted == []


def test_resolve_all_prompts_for_missing_keyring_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    prompts: list[str] = []
    answers = iter(["corp-value", "corp-value", "shim-value", "shim-value"])

    def getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return next(answers)

    monkeypatch.setattr("getpass.getpass", getpass)
    monkeypatch.setenv("CORP_KEY", "env-value")
    refs = [CORP, SecretRef("env", "CORP_KEY"), SecretRef("keyring", "bedrock-shim")]
    assert secrets.resolve_all(refs, interactive=True) == {
        CORP: "corp-value",
        SecretRef("env", "CORP_KEY"): "env-value",
        SecretRef("keyring", "bedrock-shim"): "shim-value",
    }
    assert prompts == [
        "corp-gateway is not in the keyring. corp-gateway (input hidden): ",
        "corp-gateway again, to confirm: ",
        "bedrock-shim is not in the keyring. bedrock-shim (input hidden): ",
        "bedrock-shim again, to confirm: ",
    ]
    assert stored() == {
        "cmem-profile/corp-gateway": "corp-value",
        "cmem-profile/bedrock-shim": "shim-value",
    }


def test_resolve_all_does_not_prompt_when_something_else_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("getpass.getpass", lambda prompt="": pytest.fail("prompted"))
    with pytest.raises(SecretError, match="CORP_KEY is unset"):
        secrets.resolve_all([CORP, SecretRef("env", "CORP_KEY")], interactive=True)
    assert stored() == {}


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        (["a", "b"], "the two entries for corp-gateway differ; nothing stored"),
        (["", ""], "no value entered for corp-gateway; nothing stored"),
    ],
)
def test_prompt_mistakes_store_nothing(
    monkeypatch: pytest.MonkeyPatch, answers: list[str], message: str
) -> None:
    given = iter(answers)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(given))
    with pytest.raises(SecretError) as err:
        secrets.resolve_all([CORP], interactive=True)
    assert err.value.message == message
    assert stored() == {}


def test_resolve_all_stops_at_an_unusable_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    with pytest.raises(KeyringUnavailable):
        secrets.resolve_all([CORP, SecretRef("env", "CORP_KEY")], interactive=True)


# --- choosing and refusing backends ---------------------------------------------------------


def unavailable(monkeypatch: pytest.MonkeyPatch, backend: str) -> KeyringUnavailable:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", backend)
    with pytest.raises(KeyringUnavailable) as err:
        secrets.lookup("corp-gateway")
    assert err.value.hint == WAYS_OUT
    return err.value


def test_null_backend_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    err = unavailable(monkeypatch, "keyring.backends.null.Keyring")
    assert err.message == (
        "refusing the keyring backend keyring.backends.null.Keyring (set by PYTHON_KEYRING_BACKEND):"
        " the null backend silently drops every secret;"
        " set CMEM_PROFILE_ALLOW_INSECURE_KEYRING=1 to use it anyway"
    )


def test_null_backend_with_opt_in_still_cannot_keep_a_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    monkeypatch.setenv("CMEM_PROFILE_ALLOW_INSECURE_KEYRING", "1")
    assert secrets.lookup("corp-gateway") == (None, "keyring.backends.null.Keyring")
    with pytest.raises(KeyringUnavailable) as err:
        secrets.store("corp-gateway", "s3cret")
    assert err.value.message == (
        "no usable keyring: keyring.backends.null.Keyring (set by PYTHON_KEYRING_BACKEND):"
        " it accepted 'corp-gateway' but does not return it"
    )


def test_fail_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    err = unavailable(monkeypatch, "keyring.backends.fail.Keyring")
    assert err.message == (
        "no usable keyring: keyring.backends.fail.Keyring (set by PYTHON_KEYRING_BACKEND):"
        " it refuses every operation"
    )


@pytest.mark.parametrize(
    ("backend", "reason"),
    [
        ("bogus.Keyring", "ModuleNotFoundError: No module named 'bogus'"),
        ("Keyring", "ValueError: Empty module name"),
        ("", "ValueError: Empty module name"),
        (
            "keyring.backends.null.Nope",
            "AttributeError: module 'keyring.backends.null' has no attribute 'Nope'",
        ),
    ],
)
def test_bogus_backend_name(monkeypatch: pytest.MonkeyPatch, backend: str, reason: str) -> None:
    err = unavailable(monkeypatch, backend)
    assert err.message == (
        f"no usable keyring: cannot load {backend!r} (named by PYTHON_KEYRING_BACKEND):"
        f" {reason}; fix or unset it"
    )


def keyringrc(text: str) -> Path:
    path = Path(os.environ["XDG_CONFIG_HOME"]) / "python_keyring" / "keyringrc.cfg"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    return path


def test_keyringrc_naming_a_bogus_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND")
    path = keyringrc("[backend]\ndefault-keyring = bogus.Keyring\n")
    with pytest.raises(KeyringUnavailable) as err:
        secrets.lookup("corp-gateway")
    assert err.value.message == (
        f"no usable keyring: cannot load 'bogus.Keyring' (named by {path}):"
        " ModuleNotFoundError: No module named 'bogus'; fix that file"
    )


def test_keyringrc_that_is_not_ini(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND")
    path = keyringrc("default-keyring = keyring.backends.null.Keyring\n")
    with pytest.raises(KeyringUnavailable) as err:
        secrets.lookup("corp-gateway")
    assert err.value.message == (
        f"no usable keyring: cannot read {path}:"
        " MissingSectionHeaderError: File contains no section headers.; fix that file"
    )


def test_keyringrc_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND")
    path = keyringrc("[backend]\ndefault-keyring = keyring.backends.null.Keyring\n")
    with pytest.raises(KeyringUnavailable) as err:
        secrets.lookup("corp-gateway")
    assert err.value.message.startswith(
        f"refusing the keyring backend keyring.backends.null.Keyring (set by {path}): "
    )


def test_backend_errors_become_one_message(monkeypatch: pytest.MonkeyPatch) -> None:
    err = unavailable(monkeypatch, "secret_service.LockedKeyring")
    assert err.message == (
        "no usable keyring: secret_service.LockedKeyring (set by PYTHON_KEYRING_BACKEND):"
        " cannot read 'corp-gateway': the collection is locked, and no unlock prompt could be"
        " shown or it was dismissed"
    )


def test_a_backend_error_quoting_the_value_is_scrubbed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "secret_service.LeakyKeyring")
    with pytest.raises(KeyringUnavailable) as err:
        secrets.store("corp-gateway", "s3cret-value")
    assert err.value.message == (
        "no usable keyring: secret_service.LeakyKeyring (set by PYTHON_KEYRING_BACKEND):"
        " cannot store 'corp-gateway': ConnectionError: lost the bus while sending ***"
    )


def chainer(*backends: object) -> object:
    from keyring.backends.chainer import ChainerBackend

    class Chain(ChainerBackend):
        pass

    Chain.backends = list(backends)  # type: ignore[misc, assignment]
    return Chain()


def file_backend(module: str) -> object:
    return type("PlaintextKeyring", (), {"__module__": module})()


@pytest.mark.parametrize(
    ("backend", "reason"),
    [
        (null.Keyring(), "the null backend silently drops every secret"),
        (
            file_backend("keyrings.alt.file"),
            "it keeps secrets in a file, in plaintext or weakly encrypted",
        ),
        (
            file_backend("keyrings.alt.pyfs"),
            "it keeps secrets in a file, in plaintext or weakly encrypted",
        ),
        (fail.Keyring(), None),
        (
            chainer(null.Keyring(), file_backend("keyrings.alt.file")),
            "it chains only keyring.backends.null.Keyring, keyrings.alt.file.PlaintextKeyring",
        ),
        (chainer(), "it chains only no backend"),
        (chainer(null.Keyring(), fail.Keyring()), None),
    ],
)
def test_insecure_backends(backend: object, reason: str | None) -> None:
    assert keyring_backend._insecurity(backend) == reason  # type: ignore[arg-type]


def test_probe_reports_a_working_keyring() -> None:
    report = secrets.probe_keyring()
    assert report == secrets.KeyringReport(TEST_BACKEND, 1.0, "PYTHON_KEYRING_BACKEND")
    assert stored() == {}


def test_probe_reports_a_refused_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    report = secrets.probe_keyring()
    assert (report.backend, report.priority, report.ok) == (
        "keyring.backends.null.Keyring",
        -1.0,
        False,
    )
    assert report.problem is not None and report.problem.startswith("refusing")


def test_probe_reports_a_backend_that_does_not_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "bogus.Keyring")
    report = secrets.probe_keyring()
    assert (report.backend, report.priority, report.ok) == ("bogus.Keyring", None, False)
