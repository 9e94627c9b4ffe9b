"""Test keyrings that fail the way real ones do, and a throwaway real Secret Service.

`SecretService.run(steps)` starts gnome-keyring under `dbus-run-session` with a temporary
HOME, runs each step (argv and stdin) inside that D-Bus session, stops the daemon and checks
that no process of the session is left. Run as a script, this file is the in-session driver.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import KeyringLocked

SECRET_SERVICE_BACKEND = "keyring.backends.SecretService.Keyring"
NOT_STARTED = 97  # the driver's exit code when the daemon never owned the bus name
MARKER = "CMEM_TEST_SECRET_SERVICE"

# Starts the daemon (password on stdin), waits until it owns org.freedesktop.secrets (an
# earlier call would D-Bus-activate a second, locked daemon), runs the driver, stops it.
SESSION_SCRIPT = r"""
printf %s "$CMEM_TEST_KEYRING_PASSWORD" |
  gnome-keyring-daemon --foreground $CMEM_TEST_UNLOCK --components=secrets >"$CMEM_TEST_DAEMON_LOG" 2>&1 &
daemon=$!
tries=0
until dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q true; do
  tries=$((tries + 1))
  if [ "$tries" -gt 100 ] || ! kill -0 "$daemon" 2>/dev/null; then
    kill "$daemon" 2>/dev/null; exit 97
  fi
  sleep 0.05
done
"$@"
rc=$?
kill "$daemon"; wait "$daemon"
exit $rc
"""

# Locks the default collection the way a screen lock or a timeout would.
LOCK_COLLECTION = (
    "import secretstorage\n"
    "connection = secretstorage.dbus_init()\n"
    "secretstorage.get_default_collection(connection).lock()\n"
)


class LockedKeyring(KeyringBackend):
    """Every call fails as the Secret Service backend does on a locked collection."""

    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("Failed to unlock the collection!")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringLocked("Failed to unlock the collection!")

    def delete_password(self, service: str, username: str) -> None:
        raise KeyringLocked("Failed to unlock the collection!")


class LeakyKeyring(KeyringBackend):
    """Fails to store with an error that quotes the value, as a careless backend might."""

    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        raise ConnectionError(f"lost the bus while sending {password}")

    def delete_password(self, service: str, username: str) -> None:
        raise ConnectionError("lost the bus")


@dataclass(frozen=True)
class Step:
    argv: list[str]
    stdin: str = ""


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str


def cmem_profile() -> list[str]:
    """The installed console script when there is one, else the package as a module."""
    script = Path(sys.executable).with_name("cmem-profile")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cmem_profiles"]


class NotStarted(Exception):
    """gnome-keyring or D-Bus is missing, or the daemon did not come up."""


class SecretService:
    """A real Secret Service in a private D-Bus session, one session per `run`."""

    def __init__(self, root: Path, repo: Path) -> None:
        self.root = root
        self.repo = repo
        self.password = uuid.uuid4().hex
        self.linger = 3.0  # seconds the session's processes get to exit before they count

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        # No display: an unlock prompt must fail at once, never pop up on a developer's desktop.
        for name in ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "WAYLAND_DISPLAY"):
            env.pop(name, None)
        runtime = self.root / "runtime"
        runtime.mkdir(mode=0o700, exist_ok=True)
        env.update(
            XDG_RUNTIME_DIR=str(runtime),
            PYTHON_KEYRING_BACKEND=SECRET_SERVICE_BACKEND,
            PYTHONPATH=os.pathsep.join([str(self.repo), env.get("PYTHONPATH", "")]),
        )
        return env

    def run(self, steps: list[Step], *, unlock: bool = True) -> list[Result]:
        for program in ("dbus-run-session", "dbus-send", "gnome-keyring-daemon"):
            if shutil.which(program) is None:
                raise NotStarted(f"{program} is not installed")
        session = uuid.uuid4().hex
        steps_file, results_file = self.root / f"{session}.steps", self.root / f"{session}.out"
        steps_file.write_text(json.dumps([[s.argv, s.stdin] for s in steps]))
        env = self.env()
        env.update(
            {
                MARKER: session,
                "CMEM_TEST_KEYRING_PASSWORD": self.password,
                "CMEM_TEST_UNLOCK": "--unlock" if unlock else "",
                "CMEM_TEST_DAEMON_LOG": str(self.root / f"{session}.daemon.log"),
            }
        )
        driver = [sys.executable, __file__, str(steps_file), str(results_file)]
        try:
            done = subprocess.run(
                ["dbus-run-session", "--", "sh", "-c", SESSION_SCRIPT, "session", *driver],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        finally:
            leftovers = wait_for_no_processes(session, self.linger)
        assert not leftovers, f"the Secret Service session left processes behind: {leftovers}"
        if done.returncode == NOT_STARTED:
            raise NotStarted(f"gnome-keyring-daemon did not start: {done.stderr.strip()}")
        assert done.returncode == 0, f"session failed: {done.stderr}"
        return [Result(*each) for each in json.loads(results_file.read_text())]


def processes_of(session: str) -> list[int]:
    """Every live process whose environment carries this session's marker."""
    found = []
    needle = f"{MARKER}={session}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def wait_for_no_processes(session: str, timeout: float = 3.0) -> list[int]:
    """Give the session's processes a moment to exit; kill and return any that stay."""
    deadline = time.monotonic() + timeout
    while (alive := processes_of(session)) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in alive:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return alive


def drive(steps_file: str, results_file: str) -> None:
    """Inside the session: run each step, record its exit code and output."""
    results = []
    for argv, stdin in json.loads(Path(steps_file).read_text()):
        done = subprocess.run(
            argv, input=stdin, capture_output=True, text=True, timeout=30, check=False
        )
        results.append([done.returncode, done.stdout, done.stderr])
    Path(results_file).write_text(json.dumps(results))


if __name__ == "__main__":
    drive(*sys.argv[1:3])
