"""The real thing: cmem-profile against claude-mem's own worker (npm package, under Bun).

tests/install-claude-mem puts both into .cache/claude-mem; each test starts a worker on a
free loopback port with the test's temporary data dir and HOME, and stops it afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import test_switch
import test_worker
from conftest import REPO

from cmem_profiles.main import main

pytestmark = pytest.mark.claude_mem_worker

INSTALL = REPO / ".cache" / "claude-mem" / "node_modules"
WORKER = INSTALL / "claude-mem" / "plugin" / "scripts" / "worker-service.cjs"
VERSION = "13.25.3"
data_dir = test_switch.data_dir


def find_bun() -> Path | None:
    for candidate in [INSTALL / "bun" / "bin" / "bun.exe", *INSTALL.glob("@oven/bun-*/bin/bun")]:
        if os.access(candidate, os.X_OK):
            return candidate
    return None


class RealWorker:
    """One claude-mem worker process tree, started and stopped with claude-mem's own CLI."""

    def __init__(self, bun: Path, data_dir: Path, environment: dict[str, str]) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.data_dir = data_dir
        self.env = {
            **os.environ,
            **environment,
            "PATH": f"{bun.parent}{os.pathsep}{os.environ['PATH']}",
            "CLAUDE_MEM_DATA_DIR": str(data_dir),
            "CLAUDE_MEM_WORKER_PORT": str(self.port),
            # No telemetry from a test run.
            "DO_NOT_TRACK": "1",
            "CLAUDE_MEM_TELEMETRY": "0",
        }
        self.bun = bun
        self.pids: set[int] = set()

    def cli(self, verb: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bun), str(WORKER), verb],
            env=self.env,
            cwd=self.data_dir,
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )

    def pid(self) -> int:
        pid = int(json.loads((self.data_dir / "worker.pid").read_text())["pid"])
        self.pids.add(pid)
        return pid

    def start(self) -> None:
        done = self.cli("start")
        assert done.returncode == 0 and '"status":"ready"' in done.stdout, done
        self.pid()

    def stop(self) -> None:
        if (self.data_dir / "worker.pid").exists():
            self.pid()
        self.cli("stop")
        for pid in self.pids:  # only the workers this test started, if one outlived `stop`
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if str(WORKER).encode() in command:
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def real_worker(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., RealWorker]]:
    bun = find_bun()
    if bun is None or not WORKER.is_file():
        message = f"no claude-mem worker under {INSTALL}: run tests/install-claude-mem"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    started: list[RealWorker] = []

    def start(**environment: str) -> RealWorker:
        worker = RealWorker(bun, data_dir, environment)
        started.append(worker)
        worker.start()
        # What this test's cmem-profile would find without worker.pid, too.
        monkeypatch.setenv("CLAUDE_MEM_WORKER_PORT", str(worker.port))
        return worker

    yield start
    for worker in started:
        worker.stop()


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["--profiles-dir", str(REPO / "profiles"), *argv])
    out, err = capsys.readouterr()
    for secret in test_switch.SECRETS.values():
        assert secret not in out + err
    return code, out, err


def test_each_bundled_profile_is_verified_by_the_real_worker(
    real_worker: Callable[..., RealWorker], capsys: pytest.CaptureFixture[str]
) -> None:
    worker = real_worker()
    code, out, err = cli(capsys, "worker", "--json")
    status: dict[str, Any] = json.loads(out)
    assert (code, status["running"], status["version"], status["pid"]) == (
        0,
        True,
        VERSION,
        worker.pid(),
    )
    # Twice round, so each switch also leaves a previous backend behind.
    for name in [*test_worker.VERIFIED, *test_worker.VERIFIED]:
        code, out, err = cli(capsys, "use", name, "--no-input")
        assert (code, err) == (0, ""), (name, out, err)
        assert out.splitlines()[-1] == (
            f"verified: claude-mem worker (pid {worker.pid()}) now reports provider "
            f"{test_worker.VERIFIED[name]}"
        )


def test_a_key_the_worker_cannot_see_is_reported_as_a_fallback(
    data_dir: Path, real_worker: Callable[..., RealWorker], capsys: pytest.CaptureFixture[str]
) -> None:
    # The worker reads its credentials from another, empty file: to it, the key is empty.
    empty = data_dir / "empty.env"
    empty.write_text("")
    worker = real_worker(CLAUDE_MEM_ENV_FILE=str(empty), CLAUDE_MEM_MODEL="claude-from-env")
    code, out, err = cli(capsys, "use", "gemini", "--no-input")
    assert code == 1
    assert out.startswith("switched to gemini")
    assert err == (
        f"cmem-profile: error: claude-mem worker (pid {worker.pid()}) does not use gemini's "
        "backend:\n"
        "  the worker fell back to claude: it finds no GEMINI_API_KEY, so it reads another .env "
        "(check CLAUDE_MEM_ENV_FILE and CLAUDE_MEM_DATA_DIR in its environment)\n"
        + test_worker.ROLLBACK_HINT
    )
    code, _, err = cli(capsys, "use", "corporate", "--no-input")
    assert code == 1
    assert err.splitlines()[1:3] == [
        "  CLAUDE_MEM_MODEL is set in the worker's environment and overrides settings.json",
        "  the worker authenticates with Claude Code's OAuth login, not an API key "
        "(ANTHROPIC_API_KEY): it reads another .env (check CLAUDE_MEM_ENV_FILE and "
        "CLAUDE_MEM_DATA_DIR in its environment)",
    ]
    assert "claude-from-env" not in err


def test_worker_restart_comes_back_with_a_new_pid(
    real_worker: Callable[..., RealWorker], capsys: pytest.CaptureFixture[str]
) -> None:
    worker = real_worker()
    old = worker.pid()
    code, out, err = cli(capsys, "worker", "restart", "--json")
    assert (code, err) == (0, "")
    restarted = json.loads(out)
    assert restarted["old_pid"] == old
    assert restarted["pid"] not in (old, None)
    assert restarted["pid"] == worker.pid()
    code, out, _ = cli(capsys, "use", "openrouter", "--no-input")
    assert code == 0
    assert out.splitlines()[-1] == (
        f"verified: claude-mem worker (pid {restarted['pid']}) now reports provider openrouter"
    )
