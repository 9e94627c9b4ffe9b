"""claude-mem's worker: where it listens, what /api/health says, and restarting it.

Loopback only, standard-library HTTP, short timeouts: a hung worker never hangs the tool.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from cmem_profiles.errors import WorkerError, WorkerNotRunning
from cmem_profiles.paths import DataPaths
from cmem_profiles.settings_json import parse_settings

TIMEOUT = 2.0
RESTART_TIMEOUT = 30.0
POLL_INTERVAL = 0.2
MAX_BODY = 1 << 20
DEFAULT_HOST = "127.0.0.1"
PORT_KEY = "CLAUDE_MEM_WORKER_PORT"
HOST_KEY = "CLAUDE_MEM_WORKER_HOST"
# A worker bound to every interface is reached through loopback.
ANY_ADDRESS = {"0.0.0.0": "127.0.0.1", "::": "::1"}  # noqa: S104


@dataclass(frozen=True)
class WorkerAddress:
    """Where the worker listens, and which source named the port."""

    host: str
    port: int
    source: str  # "worker.pid", "environment", "settings.json" or "default"

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class Health:
    """What the worker's /api/health reports about itself and its backend."""

    pid: int | None
    version: str
    provider: str
    auth_method: str


def default_port() -> int:
    # claude-mem: 37700 + (process.getuid?.() ?? 77) % 100
    uid = os.getuid() if hasattr(os, "getuid") else 77
    return 37700 + uid % 100


def locate(paths: DataPaths) -> WorkerAddress:
    """The worker's address as claude-mem finds it: worker.pid, else the settings, else default."""
    settings = _read_settings(paths)
    host = _setting(settings, HOST_KEY)[0] or DEFAULT_HOST
    port = _pid_file_port(paths)
    if port is not None:
        return WorkerAddress(host, port, "worker.pid")
    text, source = _setting(settings, PORT_KEY)
    if not text:
        return WorkerAddress(host, default_port(), "default")
    if not text.strip().isdigit() or not 0 < int(text) < 65536:
        raise WorkerError(f"{PORT_KEY} in the {source} is not a port number")
    return WorkerAddress(host, int(text), source)


def _read_settings(paths: DataPaths) -> dict[str, object]:
    try:
        data = paths.settings_file.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as err:
        raise WorkerError(f"cannot read {paths.settings_file}: {err.strerror}") from None
    return parse_settings(data, str(paths.settings_file))


def _setting(settings: dict[str, object], key: str) -> tuple[str, str]:
    # A CLAUDE_MEM_* variable overrides the file, in claude-mem's hooks as in its worker.
    if os.environ.get(key):
        return os.environ[key], "environment"
    value = settings.get(key)
    return (value if isinstance(value, str) else ""), "settings.json"


def _pid_file_port(paths: DataPaths) -> int | None:
    try:
        data = json.loads(paths.pid_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    port = data.get("port") if isinstance(data, dict) else None
    if isinstance(port, str) and port.isdigit():
        port = int(port)
    return port if isinstance(port, int) and 0 < port < 65536 else None


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class WorkerClient:
    """HTTP to one worker address; refuses anything but this machine's loopback."""

    def __init__(self, address: WorkerAddress, timeout: float = TIMEOUT) -> None:
        host = ANY_ADDRESS.get(address.host.strip("[]"), address.host.strip("[]"))
        if not is_loopback(host):
            raise WorkerError(
                f"{HOST_KEY} is {address.host}, not a loopback address: cmem-profile talks only "
                "to a claude-mem worker on this machine"
            )
        self.address = address
        self._host = host
        self._timeout = timeout

    def health(self) -> Health:
        data = self._call("GET", "/api/health")
        found = data.get("ai")
        ai: dict[str, object] = found if isinstance(found, dict) else {}
        pid = data.get("pid")
        return Health(
            pid=pid if isinstance(pid, int) else None,
            version=_text(data.get("version")),
            provider=_text(ai.get("provider")),
            auth_method=_text(ai.get("authMethod")),
        )

    def effective_settings(self) -> dict[str, str]:
        """The settings the worker uses (file plus its environment); never print the values."""
        data = self._call("GET", "/api/settings")
        return {k: v for k, v in data.items() if isinstance(v, str)}

    def request_restart(self) -> None:
        self._call("POST", "/api/admin/restart")

    def _call(self, method: str, path: str) -> dict[str, object]:
        where = f"the claude-mem worker on {self.address}"
        conn = http.client.HTTPConnection(self._host, self.address.port, timeout=self._timeout)
        try:
            conn.request(method, path, body=b"" if method == "POST" else None)
            response = conn.getresponse()
            body = response.read(MAX_BODY)
        except ConnectionRefusedError:
            raise WorkerNotRunning(f"nothing answers on {self.address}") from None
        except TimeoutError:
            raise WorkerError(f"{where} did not answer {path} within {self._timeout:g} s") from None
        except (OSError, http.client.HTTPException) as err:
            reason = getattr(err, "strerror", None) or type(err).__name__
            raise WorkerError(f"{where} failed to answer {path}: {reason}") from None
        finally:
            conn.close()
        if response.status != 200:
            raise WorkerError(f"{where} answered {method} {path} with HTTP {response.status}")
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise WorkerError(f"{where} answered {path} with something that is not a JSON object")
        return data


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def current(paths: DataPaths) -> tuple[WorkerAddress, Health]:
    """The worker's address and health; WorkerNotRunning when nothing answers there."""
    address = locate(paths)
    return address, WorkerClient(address).health()


def restart(
    paths: DataPaths,
    timeout: float = RESTART_TIMEOUT,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[Health, WorkerAddress, Health]:
    """Ask the worker to restart, then poll /api/health until another pid answers (bounded).

    Returns the old health and the new worker's address and health.
    """
    address, before = current(paths)
    WorkerClient(address).request_restart()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sleep(POLL_INTERVAL)
        # The successor rewrites worker.pid, and may listen on a new port from the settings.
        try:
            address, after = current(paths)
        except WorkerError:
            continue
        if after.pid != before.pid:
            return before, address, after
    raise WorkerError(
        f"the claude-mem worker (pid {before.pid}) did not come back within {timeout:g} s",
        hint=f"its log is under {paths.data_dir / 'logs'}; the next Claude Code session "
        "starts a worker if none runs",
    )
