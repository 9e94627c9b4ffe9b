"""Concurrency: switches racing each other and claude-mem's own writes to settings.json.

claude-mem rewrites settings.json (read, change, temp file, rename) without any lock. Twenty
switches run at once while another process does that continuously; every write of that
process must survive, the files must end as the last switch wrote them, and the state and
history must agree. A lock held too long is reported with the holder's pid.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from test_switch_robustness import (
    PROFILES,
    DataDir,
    claude_mem_write,
    cli,
    data,
    expected,
    expected_env,
    expected_settings,
)

from cmem_profiles import fileio, targets

__all__ = ["data"]  # the fixture, shared with the switch tests

CYCLE = ["corporate", "gemini", "openrouter", "local-openai", "subscription"]
SWITCHES = 20
LOG_KEY = "ZZ_WRITER_LOG"  # every write appends its number: a lost write leaves a gap
LAST_KEYS = ("CLAUDE_MEM_CONTEXT_OBSERVATIONS", "ZZ_USER_SETTING")  # each write's number

# claude-mem's way of changing settings.json: read it, change some keys, write a temp file,
# rename it over the file; no lock. One difference: claude-mem's own read-change-rename can
# undo a switch that lands between its read and its rename (a window of claude-mem's; the next
# switch reports the result as a hand edit and stops). This writer closes that window of its
# own the way cmem-profile closes its, with an atomic exchange that hands back what it
# displaced, so the test measures cmem-profile alone: every write of this writer must survive.
WRITER = textwrap.dedent(
    """
    import ctypes, json, os, sys, time
    path, stop = sys.argv[1], sys.argv[2]
    log_key, last_keys = sys.argv[3], sys.argv[4:]
    libc = ctypes.CDLL(None, use_errno=True)

    def exchange(a, b):
        if libc.renameat2(-100, a.encode(), -100, b.encode(), 2) != 0:
            raise OSError(ctypes.get_errno(), "renameat2")

    def read(name):
        with open(name, "rb") as f:
            return f.read()

    count = 0
    while not os.path.exists(stop):
        while True:
            seen = read(path)
            settings = json.loads(seen)
            log = settings.get(log_key, "")
            settings[log_key] = f"{log},{count}" if log else str(count)
            for key in last_keys:
                settings[key] = str(count)
            tmp = f"{path}.tmp.{os.getpid()}"
            with open(tmp, "wb") as f:
                f.write((json.dumps(settings, indent=2, ensure_ascii=False) + "\\n").encode())
            if read(path) != seen:
                continue
            exchange(tmp, path)
            if read(tmp) == seen:
                os.unlink(tmp)
                break
            exchange(tmp, path)  # a switch landed just now: put it back, merge again
        count += 1
        if count == 1:
            print("writing", flush=True)
        time.sleep(0.002)
    print(count, flush=True)
    """
)


def start(*argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cmem_profiles", "--profiles-dir", PROFILES, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_twenty_switches_while_claude_mem_rewrites_settings(
    data: DataDir, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    stop = tmp_path / "stop-writing"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(data.settings), str(stop), LOG_KEY, *LAST_KEYS],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None
    try:
        assert writer.stdout.readline() == "writing\n"
        switches = [
            (profile, start("use", profile, "--json"))
            for profile in (CYCLE[i % len(CYCLE)] for i in range(SWITCHES))
        ]
        written: dict[int, str] = {}
        for profile, proc in switches:
            out, err = proc.communicate(timeout=120)
            assert (proc.returncode, err) == (0, ""), (profile, out, err)
            generation = json.loads(out)["generation"]
            if generation is not None:
                written[generation] = profile
    finally:
        stop.touch()
        out, _ = writer.communicate(timeout=60)
    assert writer.returncode == 0
    writes = int(out)
    assert writes > SWITCHES

    # The files are the last switch's, with every write of claude-mem's in them.
    last = written[max(written)]
    code, out, err = cli(capsys, "current", "--check", "--json")
    current = json.loads(out)
    assert (code, err, current["active"], current["drift"]) == (0, "", last, [])
    assert data.env.read_bytes() == expected_env(last)
    settings = json.loads(data.settings.read_bytes())
    assert settings[LOG_KEY] == ",".join(str(n) for n in range(writes))
    assert {key: settings[key] for key in LAST_KEYS} == dict.fromkeys(LAST_KEYS, str(writes - 1))
    assert settings == {
        **json.loads(expected_settings(last)),
        LOG_KEY: settings[LOG_KEY],
        **dict.fromkeys(LAST_KEYS, str(writes - 1)),
    }

    # The history: every switch that wrote is there, in order, each claude-mem edit before it
    # kept as an 'external' generation, and the last one is current.
    code, out, _ = cli(capsys, "history", "--json")
    records = json.loads(out)
    numbers = [r["number"] for r in records]
    assert numbers == sorted(numbers) and numbers[0] == 0
    assert {r["kind"] for r in records} <= {"found", "external", "use"}
    uses = {r["number"]: r["profile"] for r in records if r["kind"] == "use"}
    assert uses == {n: p for n, p in written.items() if n in uses}
    assert max(uses) == max(written) == current["generation"]
    assert [r["number"] for r in records if r["current"]] == [max(written)]
    generations = {int(d.name) for d in (data.state_dir / "generations").iterdir()}
    assert set(numbers) <= generations and max(generations) == max(written)
    assert sorted(p.name for p in data.path.iterdir() if p.name.endswith(".tmp")) == []

    # And it goes on working: back to the files as the first switch found them, which the
    # writer had already begun to change.
    found = data.state_dir / "generations" / "0"
    assert cli(capsys, "rollback", "0")[0] == 0
    assert data.files() == ((found / ".env").read_bytes(), (found / "settings.json").read_bytes())
    assert data.env.read_bytes() == expected(None)[0]
    assert settings[LOG_KEY].startswith(json.loads(data.settings.read_bytes())[LOG_KEY])


# The last microseconds before the rename, made deterministic.


def test_a_write_just_before_the_exchange_is_put_back_and_kept(
    data: DataDir, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    renameat2 = fileio.renameat2
    landed = []

    def claude_mem_writes_first(src: Path, dst: Path, flags: int) -> bool:
        if dst.name == "settings.json" and not landed:
            claude_mem_write(dst, "CLAUDE_MEM_CONTEXT_OBSERVATIONS", "77")
            landed.append(flags)
        return renameat2(src, dst, flags)

    monkeypatch.setattr(targets, "renameat2", claude_mem_writes_first)
    assert cli(capsys, "use", "gemini")[0] == 0
    assert cli(capsys, "use", "corporate")[0] == 0
    assert landed == [2]  # it landed between the last read and the exchange
    assert data.files() == (
        expected_env("corporate"),
        expected_settings("corporate", CLAUDE_MEM_CONTEXT_OBSERVATIONS="77"),
    )
    assert json.loads(cli(capsys, "current", "--check", "--json")[1])["drift"] == []


@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "plain-rename"])
def test_a_write_while_the_temp_file_is_written_is_kept(
    data: DataDir,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    exchange: bool,
) -> None:
    fault = targets.fault_point

    def claude_mem_writes_meanwhile(point: str) -> None:
        if point == "after-temp:settings.json":  # the temp file is complete, not renamed
            claude_mem_write(data.settings, "CLAUDE_MEM_CONTEXT_OBSERVATIONS", "78")
        fault(point)

    monkeypatch.setattr(targets, "fault_point", claude_mem_writes_meanwhile)
    if not exchange:  # as on a system or file system without renameat2
        monkeypatch.setattr(targets, "renameat2", lambda src, dst, flags: False)
    assert cli(capsys, "use", "corporate")[0] == 0
    assert data.files() == (
        expected_env("corporate"),
        expected_settings("corporate", CLAUDE_MEM_CONTEXT_OBSERVATIONS="78"),
    )
    assert sorted(p.name for p in data.path.iterdir()) == [".cmem-profile", ".env", "settings.json"]


# The lock.

HOLD_LOCK = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from cmem_profiles.targets import SwitchLock
    with SwitchLock(Path(sys.argv[1])):
        print("held", flush=True)
        sys.stdin.read()
    """
)


def test_a_lock_held_too_long_names_the_holder(
    data: DataDir, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = data.files()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(data.state_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    try:
        assert holder.stdout.readline() == "held\n"
        monkeypatch.setattr(targets, "LOCK_TIMEOUT", 0.3)
        code, out, err = cli(capsys, "use", "corporate")
    finally:
        holder.communicate("")
    assert (code, out) == (1, "")
    assert err == (
        f"cmem-profile: error: another cmem-profile (pid {holder.pid}) has held "
        f"{data.state_dir / 'lock'} for 0.3 s\n"
        "hint: wait for it to finish and try again; the lock frees when it exits; "
        f"if pid {holder.pid} is stuck, stop it (kill {holder.pid})\n"
    )
    assert data.files() == before
    assert not (data.state_dir / "state.json").exists()
    assert cli(capsys, "use", "corporate")[0] == 0
    assert data.files() == expected("corporate")
