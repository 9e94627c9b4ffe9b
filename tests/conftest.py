"""Every test runs with a temporary HOME, XDG config, claude-mem data dir and keyring."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SUPPORT = Path(__file__).resolve().parent / "support"
REAL_HOME = Path(os.path.expanduser("~"))
# Places that cmem-profile would write to in a real home; any change during a test fails it.
GUARDED = (REAL_HOME / ".claude-mem", REAL_HOME / ".config" / "cmem-profile")

sys.path.insert(0, str(SUPPORT))


def _snapshot() -> dict[str, tuple[int, int]]:
    seen: dict[str, tuple[int, int]] = {}
    for root in GUARDED:
        if not root.exists():
            continue
        for path in [root, *root.rglob("*")]:
            st = path.lstat()
            seen[str(path)] = (st.st_mtime_ns, st.st_size)
    return seen


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh HOME, data dir and keyring; the test fails if it touched the real home."""
    for var in list(os.environ):
        if var.startswith(("CLAUDE_MEM_", "ANTHROPIC_", "CMEM_PROFILE", "XDG_", "KEYRING_")):
            monkeypatch.delenv(var)
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("CLAUDE_MEM_DATA_DIR", str(home / ".claude-mem"))
    monkeypatch.setenv("CMEM_TEST_KEYRING", str(tmp_path / "keyring.json"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "test_keyring.FileTestKeyring")
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(SUPPORT), os.environ.get("PYTHONPATH", "")])
    )
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.chdir(tmp_path)
    # A claude-mem worker running on this machine is never reached: its port setting points at
    # a port bound here but never listened on, so a connection there is refused at once.
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    monkeypatch.setenv("CLAUDE_MEM_WORKER_PORT", str(blocker.getsockname()[1]))
    before = _snapshot()
    try:
        yield home
    finally:
        blocker.close()
    assert _snapshot() == before, "the test touched the real home directory"


def no_worker_line() -> str:
    """What `use` says after a switch when no worker answers (the isolation fixture's port)."""
    return (
        f"claude-mem worker not running (nothing answers on 127.0.0.1:"
        f"{os.environ['CLAUDE_MEM_WORKER_PORT']}): nothing to verify; "
        "it will use these files when it starts\n"
    )


@pytest.fixture
def repo_profiles() -> Path:
    """The bundled example profiles."""
    return REPO / "profiles"
