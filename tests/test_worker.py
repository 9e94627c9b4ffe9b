"""The claude-mem worker: finding it, its status, restarting it, and verifying a switch with it.

Every test talks real HTTP to a fake worker on loopback (tests/support/fake_servers.py) that
decides provider and auth method from the data dir the way claude-mem 13.25 does.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import test_switch
from conftest import REPO, no_worker_line
from fake_servers import FakeWorker, starter

from cmem_profiles.errors import WorkerError
from cmem_profiles.main import main
from cmem_profiles.verify import Expected, compare
from cmem_profiles.worker import Health, WorkerAddress, WorkerClient, default_port

data_dir = test_switch.data_dir  # the same realistic claude-mem data dir and secrets
ROLLBACK_HINT = "hint: the files are switched; 'cmem-profile rollback' restores the previous ones\n"


@pytest.fixture
def start_worker(data_dir: Path) -> Iterator[Callable[..., FakeWorker]]:
    yield from starter(lambda **options: FakeWorker(data_dir, **options))


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["--profiles-dir", str(REPO / "profiles"), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def use(capsys: pytest.CaptureFixture[str], name: str, *options: str) -> tuple[int, str, str]:
    return cli(capsys, "use", name, "--no-input", *options)


def settings(data_dir: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((data_dir / "settings.json").read_text())
    return result


def set_setting(data_dir: Path, key: str, value: str) -> None:
    data = settings(data_dir)
    data[key] = value
    (data_dir / "settings.json").write_text(json.dumps(data, indent=2) + "\n")


def status(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    code, out, err = cli(capsys, "worker", "--json")
    assert (code, err) == (0, "")
    result: dict[str, Any] = json.loads(out)
    return result


# -- finding the worker ----------------------------------------------------------------------


def test_worker_pid_wins_over_the_environment_and_the_settings(
    data_dir: Path, start_worker: Callable[..., FakeWorker], capsys: pytest.CaptureFixture[str]
) -> None:
    worker = start_worker()
    set_setting(data_dir, "CLAUDE_MEM_WORKER_PORT", "1")
    found = status(capsys)
    assert (found["running"], found["port"], found["port_source"]) == (
        True,
        worker.port,
        "worker.pid",
    )
    assert found["pid"] == 4242


def test_without_worker_pid_the_environment_wins_over_the_settings(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    set_setting(data_dir, "CLAUDE_MEM_WORKER_PORT", "1")
    found = status(capsys)
    assert (found["running"], found["port"], found["port_source"]) == (
        False,
        int(os.environ["CLAUDE_MEM_WORKER_PORT"]),
        "environment",
    )


def test_then_the_settings_file(
    data_dir: Path,
    start_worker: Callable[..., FakeWorker],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    worker = start_worker(write_pid_file=False)
    monkeypatch.delenv("CLAUDE_MEM_WORKER_PORT")
    set_setting(data_dir, "CLAUDE_MEM_WORKER_PORT", str(worker.port))
    found = status(capsys)
    assert (found["running"], found["port"], found["port_source"]) == (
        True,
        worker.port,
        "settings.json",
    )


def test_then_claude_mems_default_port(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CLAUDE_MEM_WORKER_PORT")
    (data_dir / "settings.json").unlink()
    assert default_port() == 37700 + os.getuid() % 100
    found = status(capsys)
    assert (found["host"], found["port"], found["port_source"]) == (
        "127.0.0.1",
        default_port(),
        "default",
    )


def test_a_stale_or_broken_pid_file_falls_back_to_the_settings(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (data_dir / "worker.pid").write_text("{not json")
    assert status(capsys)["port_source"] == "environment"
    (data_dir / "worker.pid").write_text('{"pid": 1, "port": "x"}')
    assert status(capsys)["port_source"] == "environment"


def test_a_worker_on_every_interface_is_reached_through_loopback(
    data_dir: Path, start_worker: Callable[..., FakeWorker], capsys: pytest.CaptureFixture[str]
) -> None:
    start_worker()
    set_setting(data_dir, "CLAUDE_MEM_WORKER_HOST", "0.0.0.0")
    found = status(capsys)
    assert (found["running"], found["host"]) == (True, "0.0.0.0")


@pytest.mark.parametrize("host", ["192.168.1.20", "worker.example.com", "10.0.0.1"])
def test_a_non_loopback_host_is_refused_without_a_request(
    data_dir: Path, host: str, capsys: pytest.CaptureFixture[str]
) -> None:
    set_setting(data_dir, "CLAUDE_MEM_WORKER_HOST", host)
    code, out, err = cli(capsys, "worker")
    assert (code, out) == (1, "")
    assert err == (
        f"cmem-profile: error: CLAUDE_MEM_WORKER_HOST is {host}, not a loopback address: "
        "cmem-profile talks only to a claude-mem worker on this machine\n"
    )


def test_a_port_that_is_not_a_number_is_an_error(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CLAUDE_MEM_WORKER_PORT")
    set_setting(data_dir, "CLAUDE_MEM_WORKER_PORT", "37x")
    assert cli(capsys, "worker") == (
        1,
        "",
        "cmem-profile: error: CLAUDE_MEM_WORKER_PORT in the settings.json is not a port number\n",
    )


# -- status and restart ----------------------------------------------------------------------


def test_status_of_a_running_worker(
    data_dir: Path, start_worker: Callable[..., FakeWorker], capsys: pytest.CaptureFixture[str]
) -> None:
    worker = start_worker()
    assert cli(capsys, "worker") == (
        0,
        "status    running\n"
        "pid       4242\n"
        f"address   127.0.0.1:{worker.port} (port from worker.pid)\n"
        "version   13.25.3\n"
        "provider  claude\n"
        "auth      Claude Code OAuth token (read from system keychain at spawn) profile=default\n",
        "",
    )
    assert worker.calls == ["GET /api/health"]


def test_status_when_nothing_runs(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = os.environ["CLAUDE_MEM_WORKER_PORT"]
    assert cli(capsys, "worker", "status") == (
        0,
        f"claude-mem worker: not running (nothing answers on 127.0.0.1:{port}; "
        "port from CLAUDE_MEM_WORKER_PORT in the environment)\n",
        "",
    )


def test_status_json_names_the_auth_kind(
    data_dir: Path, start_worker: Callable[..., FakeWorker], capsys: pytest.CaptureFixture[str]
) -> None:
    worker = start_worker()
    (data_dir / ".env").write_text("ANTHROPIC_AUTH_TOKEN=tok\n")
    assert status(capsys) == {
        "running": True,
        "host": "127.0.0.1",
        "port": worker.port,
        "port_source": "worker.pid",
        "pid": 4242,
        "version": "13.25.3",
        "provider": "claude",
        "auth_method": "Gateway auth token (from ~/.claude-mem/.env)",
        "auth": "gateway-token",
    }


def test_restart_waits_for_a_new_pid(
    data_dir: Path, start_worker: Callable[..., FakeWorker], capsys: pytest.CaptureFixture[str]
) -> None:
    worker = start_worker()
    assert cli(capsys, "worker", "restart") == (
        0,
        f"restarted the claude-mem worker on 127.0.0.1:{worker.port}: pid 4242 -> 4243\n",
        "",
    )
    assert "POST /api/admin/restart" in worker.calls
    assert json.loads((data_dir / "worker.pid").read_text())["pid"] == 4243
    code, out, _ = cli(capsys, "worker", "restart", "--json")
    assert code == 0
    assert json.loads(out) == {
        "restarted": True,
        "old_pid": 4243,
        "pid": 4244,
        "host": "127.0.0.1",
        "port": worker.port,
        "version": "13.25.3",
    }


def test_restart_is_bounded(
    data_dir: Path, start_worker: Callable[..., FakeWorker], capsys: pytest.CaptureFixture[str]
) -> None:
    start_worker(restart="stuck")
    assert cli(capsys, "worker", "restart", "--timeout", "0.3") == (
        1,
        "",
        "cmem-profile: error: the claude-mem worker (pid 4242) did not come back within 0.3 s\n"
        f"hint: its log is under {data_dir / 'logs'}; the next Claude Code session starts a "
        "worker if none runs\n",
    )


def test_restart_without_a_worker(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = os.environ["CLAUDE_MEM_WORKER_PORT"]
    assert cli(capsys, "worker", "restart") == (
        1,
        "",
        f"cmem-profile: error: no claude-mem worker is running (nothing answers on "
        f"127.0.0.1:{port}): nothing to restart\n"
        "hint: the next Claude Code session starts one\n",
    )


@pytest.mark.parametrize("bad", ["0", "-1", "soon", "nan", "4000"])
def test_restart_timeout_must_be_sensible(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["worker", "restart", "--timeout", bad])
    assert exit_info.value.code == 2
    assert "is not a number of seconds (0 to 3600)" in capsys.readouterr().err


def test_a_hung_worker_does_not_hang_the_tool(
    data_dir: Path, start_worker: Callable[..., FakeWorker]
) -> None:
    worker = start_worker(health_delay=1.0)
    client = WorkerClient(WorkerAddress("127.0.0.1", worker.port, "worker.pid"), timeout=0.2)
    with pytest.raises(WorkerError) as error:
        client.health()
    assert error.value.message == (
        f"the claude-mem worker on 127.0.0.1:{worker.port} did not answer /api/health within 0.2 s"
    )


# -- verification after `use` ----------------------------------------------------------------

VERIFIED = {
    "corporate": "claude with an API key (ANTHROPIC_API_KEY)",
    "bedrock-shim": "claude with a gateway auth token (ANTHROPIC_AUTH_TOKEN)",
    "third-party": "claude with a gateway auth token (ANTHROPIC_AUTH_TOKEN)",
    "openrouter": "openrouter",
    "local-openai": "openrouter",
    "gemini": "gemini",
    "subscription": "claude with Claude Code's OAuth login",
}


@pytest.mark.parametrize("name", sorted(VERIFIED))
def test_use_verifies_each_bundled_profile(
    name: str, start_worker: Callable[..., FakeWorker], capsys: pytest.CaptureFixture[str]
) -> None:
    worker = start_worker()
    code, out, err = use(capsys, name)
    assert (code, err) == (0, "")
    assert out.splitlines()[-1] == (
        f"verified: claude-mem worker (pid 4242) now reports provider {VERIFIED[name]}"
    )
    assert worker.calls == ["GET /api/health", "GET /api/settings"]


def test_a_switch_back_and_forth_verifies_each_time(
    start_worker: Callable[..., FakeWorker], capsys: pytest.CaptureFixture[str]
) -> None:
    start_worker()
    for name in ("gemini", "corporate", "gemini", "subscription"):
        code, out, _ = use(capsys, name)
        assert code == 0
        assert out.splitlines()[-1].startswith("verified: ")


def test_no_worker_is_one_line_and_success(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = use(capsys, "gemini")
    assert (code, err) == (0, "")
    assert out.endswith(
        "settings.json:\n  ~ CLAUDE_MEM_PROVIDER: claude -> gemini\n" + no_worker_line()
    )


def test_fallback_when_the_worker_finds_no_key(
    data_dir: Path, start_worker: Callable[..., FakeWorker], capsys: pytest.CaptureFixture[str]
) -> None:
    # The worker reads another .env, so the key that `use` wrote never reaches it.
    other = data_dir / "other.env"
    other.write_text("")
    start_worker(environment={"CLAUDE_MEM_ENV_FILE": str(other)})
    code, out, err = use(capsys, "gemini")
    assert code == 1
    assert out.startswith("switched to gemini (generation 1):\n")
    assert err == (
        "cmem-profile: error: claude-mem worker (pid 4242) does not use gemini's backend:\n"
        "  the worker fell back to claude: it finds no GEMINI_API_KEY, so it reads another .env "
        "(check CLAUDE_MEM_ENV_FILE and CLAUDE_MEM_DATA_DIR in its environment)\n" + ROLLBACK_HINT
    )
    # The files stay switched; rollback is the user's call.
    assert settings(data_dir)["CLAUDE_MEM_PROVIDER"] == "gemini"
    assert "GEMINI_API_KEY=" in (data_dir / ".env").read_text()


def test_fallback_because_the_key_is_missing_is_said_in_words() -> None:
    health = Health(4242, "13.25.3", "claude", "Claude Code OAuth token")
    reasons, overridden = compare(Expected("openrouter", None, has_key=False), health, {}, {})
    assert overridden == []
    assert reasons == [
        "the worker fell back to claude because OPENROUTER_API_KEY is missing or empty: "
        "claude-mem needs a key for openrouter"
    ]


def test_an_environment_override_is_named_never_shown(
    start_worker: Callable[..., FakeWorker], capsys: pytest.CaptureFixture[str]
) -> None:
    start_worker(
        environment={
            "CLAUDE_MEM_PROVIDER": "claude",
            "CLAUDE_MEM_GEMINI_API_KEY": "AIzaWORKERENVsecret9",
            "CLAUDE_MEM_GEMINI_MODEL": "gemini-3.5-flash",
            "CLAUDE_MEM_TELEGRAM_BOT_TOKEN": "tg-UNRELATED-secret",
        }
    )
    code, out, err = use(capsys, "gemini")
    assert code == 1
    assert err == (
        "cmem-profile: error: claude-mem worker (pid 4242) does not use gemini's backend:\n"
        "  CLAUDE_MEM_GEMINI_API_KEY is set in the worker's environment and overrides "
        "settings.json\n"
        "  CLAUDE_MEM_GEMINI_MODEL is set in the worker's environment and overrides settings.json\n"
        "  CLAUDE_MEM_PROVIDER is set in the worker's environment and overrides settings.json\n"
        + ROLLBACK_HINT
    )
    for value in ("AIzaWORKERENVsecret9", "secret9", "gemini-3.5-flash", "tg-UNRELATED"):
        assert value not in out + err


def test_an_override_of_a_model_alone_fails_even_when_the_provider_matches(
    start_worker: Callable[..., FakeWorker], capsys: pytest.CaptureFixture[str]
) -> None:
    start_worker(environment={"CLAUDE_MEM_MODEL": "claude-opus-from-env"})
    code, _, err = use(capsys, "corporate")
    assert code == 1
    assert "  CLAUDE_MEM_MODEL is set in the worker's environment" in err
    assert "claude-opus-from-env" not in err


def test_an_unknown_provider_is_reported(
    start_worker: Callable[..., FakeWorker], capsys: pytest.CaptureFixture[str]
) -> None:
    start_worker(reports="bedrock")
    code, _, err = use(capsys, "gemini")
    assert code == 1
    assert err.splitlines()[1] == (
        "  the worker reports provider 'bedrock', which cmem-profile does not know"
    )


def test_the_auth_method_must_match_too(
    data_dir: Path, start_worker: Callable[..., FakeWorker], capsys: pytest.CaptureFixture[str]
) -> None:
    other = data_dir / "other.env"
    other.write_text("")
    start_worker(environment={"CLAUDE_MEM_ENV_FILE": str(other)})
    code, _, err = use(capsys, "corporate")
    assert code == 1
    assert err.splitlines()[1] == (
        "  the worker authenticates with Claude Code's OAuth login, not an API key "
        "(ANTHROPIC_API_KEY): it reads another .env (check CLAUDE_MEM_ENV_FILE and "
        "CLAUDE_MEM_DATA_DIR in its environment)"
    )


def test_a_worker_of_another_data_dir_is_noticed(
    tmp_path: Path, start_worker: Callable[..., FakeWorker], capsys: pytest.CaptureFixture[str]
) -> None:
    worker = start_worker()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    worker.data_dir = elsewhere  # it now reads files `use` does not write
    code, _, err = use(capsys, "gemini")
    assert code == 1
    assert err.splitlines()[1] == (
        "  the worker fell back to claude: it finds no GEMINI_API_KEY, so it reads another .env "
        "(check CLAUDE_MEM_ENV_FILE and CLAUDE_MEM_DATA_DIR in its environment)"
    )


def test_json_carries_the_verification(
    start_worker: Callable[..., FakeWorker], capsys: pytest.CaptureFixture[str]
) -> None:
    worker = start_worker()
    code, out, err = use(capsys, "bedrock-shim", "--json")
    assert (code, err) == (0, "")
    assert json.loads(out)["verification"] == {
        "status": "verified",
        "worker": f"127.0.0.1:{worker.port}",
        "pid": 4242,
        "provider": "claude",
        "auth": "gateway-token",
        "expected_provider": "claude",
        "expected_auth": "gateway-token",
        "reasons": [],
        "overridden_keys": [],
        "detail": "",
    }


def test_json_mismatch_exits_1_with_the_reasons_in_the_document(
    start_worker: Callable[..., FakeWorker], capsys: pytest.CaptureFixture[str]
) -> None:
    start_worker(environment={"CLAUDE_MEM_PROVIDER": "claude"})
    code, out, err = use(capsys, "openrouter", "--json")
    assert (code, err) == (1, "")
    verification = json.loads(out)["verification"]
    assert (verification["status"], verification["overridden_keys"]) == (
        "mismatch",
        ["CLAUDE_MEM_PROVIDER"],
    )


def test_json_without_a_worker(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = use(capsys, "gemini", "--json")
    assert code == 0
    verification = json.loads(out)["verification"]
    port = os.environ["CLAUDE_MEM_WORKER_PORT"]
    assert (verification["status"], verification["detail"]) == (
        "not-running",
        f"nothing answers on 127.0.0.1:{port}",
    )


def test_no_verify_asks_nothing(
    start_worker: Callable[..., FakeWorker], capsys: pytest.CaptureFixture[str]
) -> None:
    worker = start_worker()
    code, out, err = use(capsys, "gemini", "--no-verify")
    assert (code, err) == (0, "")
    assert "verified" not in out and "worker" not in out
    assert worker.calls == []
    code, out, _ = use(capsys, "corporate", "--no-verify", "--json")
    assert json.loads(out)["verification"] is None


def test_dry_run_and_diff_ask_nothing(
    start_worker: Callable[..., FakeWorker], capsys: pytest.CaptureFixture[str]
) -> None:
    worker = start_worker()
    assert use(capsys, "gemini", "--dry-run")[0] == 0
    assert cli(capsys, "diff", "gemini")[0] == 0
    assert worker.calls == []


def test_an_older_worker_without_settings_api_is_verified_by_its_health(
    start_worker: Callable[..., FakeWorker], capsys: pytest.CaptureFixture[str]
) -> None:
    start_worker(settings_api=False)
    code, out, _ = use(capsys, "gemini")
    assert code == 0
    assert (
        out.splitlines()[-1] == "verified: claude-mem worker (pid 4242) now reports provider gemini"
    )


def test_a_failing_worker_is_a_warning_not_a_failed_switch(
    start_worker: Callable[..., FakeWorker], capsys: pytest.CaptureFixture[str]
) -> None:
    worker = start_worker(health_status=500)
    code, out, err = use(capsys, "gemini")
    assert code == 0
    assert out.startswith("switched to gemini")
    assert err == (
        f"warning: could not verify the switch: the claude-mem worker on 127.0.0.1:{worker.port} "
        "answered GET /api/health with HTTP 500\n"
    )


def test_a_non_loopback_worker_host_leaves_the_switch_unverified(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    set_setting(data_dir, "CLAUDE_MEM_WORKER_HOST", "192.168.1.20")
    code, out, err = use(capsys, "gemini")
    assert code == 0
    assert out.startswith("switched to gemini")
    assert err == (
        "warning: could not verify the switch: CLAUDE_MEM_WORKER_HOST is 192.168.1.20, not a "
        "loopback address: cmem-profile talks only to a claude-mem worker on this machine\n"
    )


# -- keys read only at start -----------------------------------------------------------------


@pytest.fixture
def debug_profile(tmp_path: Path, data_dir: Path) -> Path:
    profiles = tmp_path / "more-profiles"
    profiles.mkdir()
    (profiles / "debug-gemini.yaml").write_text(
        "description: Gemini with debug logs and Chroma off\n"
        "provider: gemini\n"
        "model: gemini-flash-latest\n"
        "credentials:\n"
        "  api_key: {keyring: gemini}\n"
        "settings:\n"
        "  CLAUDE_MEM_LOG_LEVEL: DEBUG\n"
        '  CLAUDE_MEM_CHROMA_ENABLED: "false"\n'
    )
    return profiles


def use_debug(
    capsys: pytest.CaptureFixture[str], profiles: Path, *options: str
) -> tuple[int, str, str]:
    dirs = ["--profiles-dir", str(profiles), "--profiles-dir", str(REPO / "profiles")]
    code = main([*dirs, "use", "debug-gemini", "--no-input", *options])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_start_only_key_asks_for_a_restart(
    debug_profile: Path, start_worker: Callable[..., FakeWorker], capsys: pytest.CaptureFixture[str]
) -> None:
    worker = start_worker()
    code, out, err = use_debug(capsys, debug_profile)
    assert code == 0
    assert err == (
        "warning: the worker reads CLAUDE_MEM_LOG_LEVEL, CLAUDE_MEM_CHROMA_ENABLED only when it "
        "starts: run 'cmem-profile worker restart' (or switch with --restart)\n"
    )
    assert "POST /api/admin/restart" not in worker.calls
    assert out.splitlines()[-1].startswith("verified: claude-mem worker (pid 4242)")


def test_restart_option_restarts_then_verifies_the_new_worker(
    debug_profile: Path, start_worker: Callable[..., FakeWorker], capsys: pytest.CaptureFixture[str]
) -> None:
    worker = start_worker()
    code, out, err = use_debug(capsys, debug_profile, "--restart")
    assert code == 0
    assert err == f"restarted the claude-mem worker on 127.0.0.1:{worker.port}: pid 4242 -> 4243\n"
    assert out.splitlines()[-1] == (
        "verified: claude-mem worker (pid 4243) now reports provider gemini"
    )


def test_no_restart_warning_when_no_worker_runs(
    debug_profile: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = use_debug(capsys, debug_profile, "--restart")
    assert (code, err) == (0, "no claude-mem worker is running: nothing to restart\n")
    assert out.endswith(no_worker_line())
