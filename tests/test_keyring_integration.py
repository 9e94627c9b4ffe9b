"""The real thing: cmem-profile against gnome-keyring's Secret Service in a private D-Bus session."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from secret_service import (
    LOCK_COLLECTION,
    SECRET_SERVICE_BACKEND,
    NotStarted,
    Result,
    SecretService,
    Step,
    cmem_profile,
)

from cmem_profiles.envfile import parse_claude_mem
from cmem_profiles.keyring_backend import WAYS_OUT

pytestmark = [
    pytest.mark.keyring_integration,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Secret Service is Linux"),
]

REPO = Path(__file__).resolve().parent.parent
CMEM = cmem_profile()
VALUE = "sk-integration-4f1c9e"
HINT = "hint: " + WAYS_OUT + "\n"


@pytest.fixture
def service(tmp_path: Path) -> SecretService:
    return SecretService(tmp_path, REPO)


def run_session(service: SecretService, steps: list[Step], *, unlock: bool = True) -> list[Result]:
    """Run the steps in a fresh session; without a daemon, fail on CI and skip elsewhere."""
    try:
        return service.run(steps, unlock=unlock)
    except NotStarted as err:
        if os.environ.get("CI"):
            pytest.fail(f"no Secret Service on CI: {err}")
        pytest.skip(f"no Secret Service: {err}")


def test_set_get_rm_through_the_real_keyring(service: SecretService) -> None:
    set_, get, reveal, lookup, rm, gone = run_session(
        service,
        [
            Step([*CMEM, "secret", "set", "corp-gateway"], stdin=VALUE + "\n"),
            Step([*CMEM, "secret", "get", "corp-gateway"]),
            Step([*CMEM, "secret", "get", "corp-gateway", "--reveal"]),
            # Another Secret Service client sees the item where keyring puts it.
            Step(["secret-tool", "lookup", "service", "cmem-profile", "username", "corp-gateway"]),
            Step([*CMEM, "secret", "rm", "corp-gateway"]),
            Step([*CMEM, "secret", "get", "corp-gateway"]),
        ],
    )
    where = f"({SECRET_SERVICE_BACKEND})"
    assert set_ == Result(0, f"stored corp-gateway in the keyring {where}\n", "")
    assert get == Result(0, f"corp-gateway: stored in the keyring {where}\n", "")
    assert reveal == Result(0, VALUE + "\n", "")
    assert lookup.stdout == VALUE
    assert rm == Result(0, f"removed corp-gateway from the keyring {where}\n", "")
    assert gone == Result(
        1,
        f"corp-gateway: not stored (keyring: {SECRET_SERVICE_BACKEND})\n",
        "store it with: cmem-profile secret set corp-gateway\n",
    )


def test_doctor_round_trip_works(service: SecretService) -> None:
    (doctor,) = run_session(service, [Step([*CMEM, "doctor"])])
    assert doctor.returncode == 0, doctor.stderr
    assert doctor.stdout.splitlines()[0] == (
        f"ok    keyring      {SECRET_SERVICE_BACKEND} (priority 5, set by PYTHON_KEYRING_BACKEND):"
        " write, read and delete work"
    )


def test_locked_collection_is_a_clear_error(service: SecretService) -> None:
    stored, lock, get, set_ = run_session(
        service,
        [
            Step([*CMEM, "secret", "set", "corp-gateway"], stdin=VALUE),
            Step([sys.executable, "-c", LOCK_COLLECTION]),
            Step([*CMEM, "secret", "get", "corp-gateway"]),
            Step([*CMEM, "secret", "set", "corp-gateway"], stdin=VALUE),
        ],
    )
    assert stored.returncode == 0 and lock.returncode == 0, (stored, lock)
    locked = "the collection is locked, and no unlock prompt could be shown or it was dismissed"
    prefix = f"cmem-profile: error: no usable keyring: {SECRET_SERVICE_BACKEND} (set by PYTHON_KEYRING_BACKEND)"
    assert get.returncode == 1
    assert get.stdout == ""
    assert get.stderr == f"{prefix}: cannot read 'corp-gateway': {locked}\n{HINT}"
    assert set_.returncode == 1
    assert set_.stderr == f"{prefix}: cannot store 'corp-gateway': {locked}\n{HINT}"
    assert VALUE not in get.stdout + get.stderr + set_.stdout + set_.stderr


def test_collection_that_needs_a_prompt_to_exist(service: SecretService) -> None:
    # A fresh HOME and no --unlock: creating the login collection needs a prompt nobody sees.
    (set_,) = run_session(
        service, [Step([*CMEM, "secret", "set", "corp-gateway"], stdin=VALUE)], unlock=False
    )
    assert set_.returncode == 1
    assert set_.stderr == (
        f"cmem-profile: error: no usable keyring: {SECRET_SERVICE_BACKEND} (set by PYTHON_KEYRING_BACKEND):"
        " cannot store 'corp-gateway': the default collection cannot be opened or created without"
        f" a prompt (InitError: Failed to create the collection: Prompt dismissed..)\n{HINT}"
    )


def run_without_session(*argv: str, backend: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    env.pop("PYTHON_KEYRING_BACKEND")
    if backend is not None:
        env["PYTHON_KEYRING_BACKEND"] = backend
    return subprocess.run(
        [*CMEM, *argv], env=env, capture_output=True, text=True, timeout=30, check=False
    )


def test_no_dbus_session_with_the_secret_service_backend() -> None:
    done = run_without_session("secret", "get", "corp-gateway", backend=SECRET_SERVICE_BACKEND)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == (
        f"cmem-profile: error: no usable keyring: {SECRET_SERVICE_BACKEND} (set by PYTHON_KEYRING_BACKEND):"
        " RuntimeError: Unable to initialize SecretService: Environment variable"
        f" DBUS_SESSION_BUS_ADDRESS is unset\n{HINT}"
    )


def test_no_dbus_session_auto_detected() -> None:
    done = run_without_session("secret", "get", "corp-gateway", backend=None)
    assert done.returncode == 1
    assert done.stderr == (
        "cmem-profile: error: no usable keyring: keyring.backends.fail.Keyring (auto-detected):"
        " no recommended backend is available (Secret Service: RuntimeError: Unable to"
        " initialize SecretService: Environment variable DBUS_SESSION_BUS_ADDRESS is unset)\n"
        f"{HINT}"
    )


def test_fail_backend_through_the_console_script() -> None:
    done = run_without_session(
        "secret", "set", "corp-gateway", backend="keyring.backends.fail.Keyring"
    )
    assert done.returncode == 1
    assert done.stderr == (
        "cmem-profile: error: no usable keyring: keyring.backends.fail.Keyring"
        f" (set by PYTHON_KEYRING_BACKEND): it refuses every operation\n{HINT}"
    )


def test_a_process_left_in_the_session_is_caught(service: SecretService) -> None:
    service.linger = 0.2
    with pytest.raises(AssertionError, match="left processes behind"):
        run_session(service, [Step(["sh", "-c", "sleep 30 >/dev/null 2>&1 &"])])


def test_use_resolves_a_keyring_secret_into_env_and_nowhere_else(
    service: SecretService, tmp_path: Path
) -> None:
    data = tmp_path / "claude-mem"
    use = [*CMEM, "--profiles-dir", str(REPO / "profiles"), "--data-dir", str(data)]
    stored, switched, listed = run_session(
        service,
        [
            Step([*CMEM, "secret", "set", "corp-gateway"], stdin=VALUE + "\n"),
            Step([*use, "use", "corporate", "--no-input"]),
            Step([*CMEM, "--profiles-dir", str(REPO / "profiles"), "secret", "list", "--json"]),
        ],
    )
    assert switched.returncode == 0, switched.stderr
    for result in (stored, switched, listed):
        assert VALUE not in result.stdout + result.stderr
    assert parse_claude_mem((data / ".env").read_text())["ANTHROPIC_API_KEY"] == VALUE
    holders = sorted(
        str(p.relative_to(data))
        for p in [*data.rglob("*"), *(REPO / "profiles").rglob("*")]
        if p.is_file() and VALUE.encode() in p.read_bytes()
    )
    assert holders == [".cmem-profile/generations/1/.env", ".env"]
    assert all((data / h).stat().st_mode & 0o777 == 0o600 for h in holders)
    rows = {row["name"]: row for row in json.loads(listed.stdout)["secrets"]}
    assert rows["corp-gateway"]["status"] == "stored"
    assert rows["gemini"]["status"] == "missing"


def test_use_without_a_dbus_session_writes_nothing(tmp_path: Path) -> None:
    data = tmp_path / "claude-mem"
    done = run_without_session(
        "--profiles-dir",
        str(REPO / "profiles"),
        "--data-dir",
        str(data),
        "use",
        "corporate",
        backend=SECRET_SERVICE_BACKEND,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("cmem-profile: error: no usable keyring: ")
    assert done.stderr.endswith(HINT)
    assert not data.exists()
