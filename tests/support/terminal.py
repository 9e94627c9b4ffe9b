"""Run a command with a pseudo-terminal as its controlling tty and answer its prompts."""

from __future__ import annotations

import os
import pty
import select
import time

PROMPT_ENDS = (b":", b"]", b"?")


def run_in_pty(argv: list[str], answers: list[str], timeout: float = 20.0) -> tuple[int, str]:
    """Run argv on a new pty; each time the output ends in a prompt, type the next answer."""
    pid, fd = pty.fork()
    if pid == 0:  # child
        os.execvpe(argv[0], argv, os.environ)
    transcript = b""
    pending = list(answers)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 1024)
            except OSError:
                break
            if not chunk:
                break
            transcript += chunk
            if pending and transcript.rstrip().endswith(PROMPT_ENDS):
                os.write(fd, pending.pop(0).encode() + b"\n")
                transcript += b"<answered>"
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), transcript.decode(errors="replace")
