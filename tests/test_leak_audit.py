"""The leak audit: every command, every output format, errors included, never shows a secret.

Profiles whose secrets are known marker strings are switched, diffed, shown, explained,
imported, trusted and broken in every way; afterwards no marker may appear in any stdout,
stderr or traceback, nor in any file the tool wrote, except `.env` and its 0600 generation
copies (and the keyring itself). A verb added to the parser without a scenario here fails
`test_every_verb_is_audited`.
"""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_servers import FakeEndpoint, FakeWorker

from cmem_profiles.completion import table
from cmem_profiles.main import HIDDEN, build_parser, main

MARKERS = {
    "keyring": "sk-ant-api03-LEAKMARKkeyring7Q9Z2xx",
    "env": "sk-or-v1-LEAKMARKenvP4k8m2Lq9",
    "command": "LEAKMARKcommandM3n5b7V2c",
    "preexisting": "sk-ant-api03-LEAKMARKpreexisting",
    "drift": "sk-ant-api03-LEAKMARKhandedit0",
    "claude_code": "LEAKMARKclaudecodeTOKEN9",
    "stdin": "sk-ant-api03-LEAKMARKstdinvalue",
    "pasted": "sk-ant-api03-LEAKMARKpastedAAAAAAAAAA",
}
SIGNATURE = "LEAKMARK"  # every marker holds it, so any fragment of one is caught too

PROFILES = {
    "kr": (
        "description: keyring key to a gateway\nprovider: claude\n"
        "base_url: https://gw.example.com\nmodel: claude-haiku-4-5\n"
        "credentials:\n  api_key: {keyring: leak-kr}\n"
        "settings:\n  CLAUDE_MEM_TIER_ROUTING_ENABLED: 'false'\n"
    ),
    "envp": (
        "description: env key to a local server\nprovider: openrouter\n"
        "base_url: http://127.0.0.1:9/v1\nmodel: local-model\n"
        "credentials:\n  api_key: {env: LEAK_ENV}\n"
    ),
    "cmd": (
        "description: token from a password manager\nprovider: claude\n"
        "base_url: https://shim.example.com\n"
        "credentials:\n  auth_token: {command: [%s, %s]}\n"
        "settings:\n  CLAUDE_MEM_TIER_ROUTING_ENABLED: 'false'\n"
    ),
    # the same keyring secret to another host: the trust gate's refusal is audited too
    "moved": (
        "description: the gateway key sent elsewhere\nprovider: claude\n"
        "base_url: https://elsewhere.example.net\n"
        "credentials:\n  api_key: {keyring: leak-kr}\n"
        "settings:\n  CLAUDE_MEM_TIER_ROUTING_ENABLED: 'false'\n"
    ),
    "missing": (
        "description: a secret nobody stored\nprovider: gemini\n"
        "credentials:\n  api_key: {keyring: leak-none}\n"
    ),
}


class Audit:
    """Runs commands in-process and keeps everything they printed, tracebacks included."""

    def __init__(self, capsys: pytest.CaptureFixture[str], profiles: Path) -> None:
        self.capsys = capsys
        self.profiles = profiles
        self.seen: list[tuple[list[str], str]] = []
        self.verbs: set[str] = set()
        self.endpoints: tuple[str, ...] = ()

    def run(self, *argv: str, stdin: str = "") -> int:
        full = ["--profiles-dir", str(self.profiles), *argv]
        words = [a for a in argv if not a.startswith("-")]
        self.verbs.add(words[0])
        if words[0] in ("secret", "repo", "worker") and len(words) > 1:
            self.verbs.add(f"{words[0]} {words[1]}")
        old_stdin = sys.stdin
        sys.stdin = io.StringIO(stdin)
        try:
            code = main(full)
            trace = ""
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 2
            trace = ""
        except Exception:  # --debug re-raises internal errors: audit the traceback too
            code = 3
            trace = traceback.format_exc()
        finally:
            sys.stdin = old_stdin
        out, err = self.capsys.readouterr()
        self.seen.append((full, out + err + trace))
        return code

    def every_format(self, *argv: str) -> None:
        """Plain, --json, --verbose and --debug."""
        self.run(*argv)
        self.run(*argv, "--json")
        self.run("-v", *argv)
        self.run("--debug", *argv)

    def leaks(self) -> list[str]:
        return [
            f"{' '.join(argv)}: {text[:300]!r}" for argv, text in self.seen if SIGNATURE in text
        ]


@pytest.fixture
def audit(
    tmp_path: Path,
    isolated: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[Audit]:
    profiles = tmp_path / "audit-profiles"
    profiles.mkdir()
    secret_file = tmp_path / "secret-source" / "token"
    secret_file.parent.mkdir()
    secret_file.write_text(MARKERS["command"])
    argv_log = tmp_path / "argv.log"
    script = tmp_path / "secret-source" / "print-token.py"
    script.write_text(
        "import sys, pathlib\n"
        f"pathlib.Path({str(argv_log)!r}).open('a').write(repr(sys.argv) + '\\n')\n"
        f"sys.stdout.write(pathlib.Path({str(secret_file)!r}).read_text())\n"
    )
    for name, text in PROFILES.items():
        filled = (
            text % (json.dumps(sys.executable), json.dumps(str(script))) if name == "cmd" else text
        )
        (profiles / f"{name}.yaml").write_text(filled)
    monkeypatch.setenv("LEAK_ENV", MARKERS["env"])
    keyring = Path(os.environ["CMEM_TEST_KEYRING"])
    keyring.write_text(json.dumps({"cmem-profile/leak-kr": MARKERS["keyring"]}))
    data = isolated / ".claude-mem"
    data.mkdir()
    (data / ".env").write_text(f"ANTHROPIC_API_KEY={MARKERS['preexisting']}\n")
    # A worker that answers (its /api/settings returns secrets in plain text, as older
    # releases did), and endpoints that echo the key they receive in their errors.
    worker = FakeWorker(data, environment={"CLAUDE_MEM_GEMINI_API_KEY": MARKERS["env"]})
    good = FakeEndpoint(MARKERS["keyring"])
    wrong = FakeEndpoint("another-key-entirely")
    servers = [worker, good, wrong]
    for server in servers:
        server.start()
    audit = Audit(capsys, profiles)
    audit.endpoints = (good.url(), wrong.url())
    try:
        yield audit
    finally:
        for server in servers:
            server.stop()
    # the command source's arguments name a file, never the value
    assert SIGNATURE not in argv_log.read_text()


def _scenario(a: Audit, isolated: Path, tmp_path: Path) -> None:
    data = isolated / ".claude-mem"
    for verb in ("list", "validate", "current", "history", "doctor"):
        a.every_format(verb)
    a.every_format("list", "--all")
    a.every_format("current", "--check")
    for name in ("kr", "envp", "cmd"):
        a.every_format("show", name)
        a.every_format("explain", name)
        a.every_format("diff", name)
        a.every_format("use", name, "--dry-run")
    for name in ("kr", "envp", "cmd", "kr"):
        a.every_format("use", name)
        a.every_format("current", "--check")
    a.every_format("history")
    a.every_format("rollback")
    a.every_format("rollback", "1")
    a.every_format("use", "kr")

    # errors: a refused host, a missing secret, a hand edit, an injected fault, bad input
    a.every_format("use", "moved", "--no-input")
    a.every_format("trust", "--list")
    a.every_format("use", "missing", "--no-input")
    env = data / ".env"
    env.write_text(env.read_text().replace(MARKERS["keyring"], MARKERS["drift"]))
    a.every_format("use", "envp")
    a.every_format("diff", "envp")
    a.every_format("use", "envp", "--force")
    os.environ["CMEM_PROFILE_TEST_FAULT"] = "raise:after-temp:.env"
    try:
        a.every_format("use", "kr")
    finally:
        del os.environ["CMEM_PROFILE_TEST_FAULT"]
    a.every_format("use", "nope")
    a.every_format("show", "nope")
    a.every_format("explain", "kr", "ANTHROPIC_API_KEY")

    # secrets: set from stdin, refused on argv, listed, checked, removed
    a.run("secret", "set", "leak-stdin", stdin=MARKERS["stdin"])
    a.run("secret", "set", "leak-argv", MARKERS["stdin"])
    a.every_format("secret", "list")
    a.run("secret", "get", "leak-stdin")
    a.run("secret", "rm", "leak-stdin")

    # trust: record, list, revoke
    a.every_format("trust", "moved")
    a.every_format("trust", "--revoke", "moved")

    # import: the live files, and Claude Code's env block
    a.every_format("import", "mine", "--dry-run")
    a.run("import", "mine", "--to", str(a.profiles))
    claude = isolated / ".claude"
    claude.mkdir()
    (claude / "settings.json").write_text(
        json.dumps(
            {
                "env": {
                    "ANTHROPIC_BASE_URL": "https://bridge.example.com/api/anthropic",
                    "ANTHROPIC_AUTH_TOKEN": MARKERS["claude_code"],
                    "ANTHROPIC_DEFAULT_HAIKU_MODEL": "glm-4.7",
                }
            }
        )
    )
    a.every_format("import", "bridge", "--from-claude-code", "--dry-run")
    a.run("import", "bridge", "--from-claude-code", "--to", str(a.profiles))

    # a pasted key in a profile: reported by line, never echoed
    (a.profiles / "pasted.yaml").write_text(
        f"description: {MARKERS['pasted']}\nprovider: claude\n# {MARKERS['pasted']}\n"
    )
    a.every_format("validate")
    a.every_format("validate", str(a.profiles / "pasted.yaml"))
    a.every_format("list")
    (a.profiles / "pasted.yaml").unlink()

    # the worker, and real requests through the endpoint (one refusing the key it echoes)
    a.every_format("worker")
    a.every_format("worker", "restart")
    for url in a.endpoints:
        a.every_format("test", "kr", "--base-url", url, "--trust", "--no-input")
    a.every_format("test", "moved", "--no-input")  # refused by the trust gate: nothing is sent

    # team and shell verbs
    a.run("init", str(tmp_path / "team"))
    a.run("repo", "add", str(tmp_path / "team"))
    a.every_format("repo", "list")
    a.run("repo", "rm", "team")
    for shell in ("bash", "zsh", "fish"):
        a.run("completion", shell)
    a.run(HIDDEN, "profiles")
    a.run(HIDDEN, "secrets")


def _files_with_markers(root: Path) -> list[Path]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            try:
                if SIGNATURE.encode() in path.read_bytes():
                    found.append(path)
            except OSError:
                continue
    return found


def test_no_command_shows_a_secret_and_only_env_files_hold_one(
    audit: Audit, isolated: Path, tmp_path: Path
) -> None:
    _scenario(audit, isolated, tmp_path)
    assert audit.leaks() == []
    assert len(audit.seen) > 150

    data = isolated / ".claude-mem"
    keyring = Path(os.environ["CMEM_TEST_KEYRING"])
    # The inputs the user wrote: the command's secret file, the profile with a pasted key, and
    # Claude Code's settings that import read.
    allowed_dirs = (tmp_path / "secret-source", tmp_path / "audit-profiles", isolated / ".claude")
    holders = [
        p
        for p in _files_with_markers(tmp_path)
        if p != keyring and not any(d in p.parents for d in allowed_dirs)
    ]
    for path in holders:
        rel = path.relative_to(data) if data in path.parents else path
        # .env itself, or a generation's copy of it: nothing else may hold a secret
        assert path.name == ".env", f"a secret in {rel}"
        assert path == data / ".env" or (data / ".cmem-profile") in path.parents, rel
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, rel
    assert data / ".env" in holders
    # settings.json, the state, the trust records and every cache or config file stay clean
    assert SIGNATURE not in (data / "settings.json").read_text()
    # the profile files written by import name their secrets, never hold them
    for name in ("mine", "bridge"):
        assert SIGNATURE not in (audit.profiles / f"{name}.yaml").read_text()


def test_every_verb_is_audited(audit: Audit, isolated: Path, tmp_path: Path) -> None:
    _scenario(audit, isolated, tmp_path)
    verbs = {row.path for row in table(build_parser())} - {""}
    assert verbs - audit.verbs == set()


def test_a_real_process_prints_no_secret_and_passes_none_in_arguments(
    audit: Audit, isolated: Path
) -> None:
    # Out of process: what a terminal or a log collector sees, and what `ps` could show.
    argv = [sys.executable, "-m", "cmem_profiles", "--profiles-dir", str(audit.profiles)]
    for args in (["use", "cmd"], ["--debug", "use", "kr"], ["-v", "diff", "envp"]):
        done = subprocess.run(
            [*argv, *args], capture_output=True, text=True, check=False, timeout=60
        )
        assert done.returncode == 0, done.stderr
        assert SIGNATURE not in done.stdout + done.stderr
