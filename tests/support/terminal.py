"""Run a program with a pseudo-terminal as its controlling tty and type replies into it."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Reply:
    """Type `text` once the output since the previous reply matches the regex `after`."""

    after: str
    text: str


def run_in_pty(
    argv: list[str], replies: Sequence[str | Reply], timeout: float = 20.0
) -> tuple[int, str]:
    """Run argv under a pty; a plain string is a line typed at the next prompt ending in ': '.

    Returns the exit code and everything the terminal showed. The timeout only guards
    against a hung child: the run ends when the child closes the terminal.
    """
    pid, fd = pty.fork()
    if pid == 0:  # child
        os.execvpe(argv[0], argv, os.environ)
    pending = [r if isinstance(r, Reply) else Reply(r": $", r + "\n") for r in replies]
    transcript = b""
    since = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 1024)
        except OSError:
            break
        if not chunk:
            break
        transcript += chunk
        if pending and re.search(pending[0].after.encode(), transcript[since:]):
            os.write(fd, pending.pop(0).text.encode())
            transcript += b"<answered>"
            since = len(transcript)
    else:
        os.kill(pid, signal.SIGKILL)  # hung: fail the test instead of waiting forever
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), transcript.decode(errors="replace")
