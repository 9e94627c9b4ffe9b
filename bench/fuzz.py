"""Time-bounded fuzzing of what cmem-profile reads: profile YAML (loader, schema, rules),
claude-mem's .env (reader, editor) and settings.json (reader, writer, merge).

    python bench/fuzz.py                    # 60 s over the three targets; exit 0 or 1
    python bench/fuzz.py --seconds 600 env  # longer, one target

Seeds: tests/fuzz-corpus/<target>/, the bundled profiles and the settings fixture. With
atheris installed (pip install '.[fuzz]'), each target runs coverage-guided under libFuzzer
in a child process; without it, hypothesis generates and mutates inputs until the time is up.
First, a scaling check times each reader on inputs doubling in size: a reader whose time
grows much faster than its input (quadratic, say) is a finding too. Each finding is printed
with its input, saved under --findings, and makes the exit code 1.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SEEDS = {
    "yaml": [REPO / "tests" / "fuzz-corpus" / "yaml", REPO / "profiles"],
    "env": [REPO / "tests" / "fuzz-corpus" / "env"],
    "settings": [REPO / "tests" / "fuzz-corpus" / "settings", REPO / "tests" / "fixtures"],
}
# Pieces the mutator splices in: what each format's readers are touchy about.
TOKENS = {
    "yaml": [
        "&a ", "*a", "<<: *a\n", "!!int ", "!!binary ", "!!timestamp 2024-13-45", "!x ",
        "? ", "---\n", "...\n", "%YAML 1.1\n", "\ufeff", "\r\n", "\r", "\t", "[", "{", "'",
        '"', "|\n", ">-\n", "0x_", "1e400", "9" * 500, ".nan", "~", "no", "\x01", "\u2028",
        "\x85", ": ", "- ", "CLAUDE_MEM_X: ", "provider: gemini\n", "sk-ant-api03-" + "Ab1" * 9,
    ],
    "env": [
        "=", "#", " # c", "export ", "export  ", "'", '"', "`", "\\", "\\n", "\n", "\r\n",
        "\r", " ", "  ", "\t", "$A", "${A}", "\x00", "\ufeff", "\u2028", "é",
        "ANTHROPIC_API_KEY=", "ANTHROPIC_BASE_URL=", "GEMINI_API_KEY=", "\nX=1\n",
    ],
    "settings": [
        "{", "}", "[", "]", ",", ":", '"env": {', '{"env": {}}', '"x"', "NaN", "-Infinity",
        "1e999", "-0", "9" * 400, '"\\ud800"', '"__proto__"', '"0"', "\ufeff", "null", "true",
        '"CLAUDE_MEM_PROVIDER": ', "[" * 120,
    ],
}  # fmt: skip
SLOW_SECONDS = 10.0  # one input taking longer than this is a finding


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", help=f"any of {', '.join(SEEDS)} (default: all)")
    parser.add_argument("--seconds", type=float, default=60, help="total budget (default 60)")
    parser.add_argument("--engine", choices=["auto", "atheris", "hypothesis"], default="auto")
    parser.add_argument("--findings", type=Path, help="where failing inputs are saved")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # one atheris run, in its own process
    parser.add_argument("--work", help=argparse.SUPPRESS)  # the child's working corpus
    args = parser.parse_args()
    args.targets = args.targets or list(SEEDS)
    if unknown := set(args.targets) - set(SEEDS):
        parser.error(f"unknown target {', '.join(sorted(unknown))}: choose from {', '.join(SEEDS)}")
    findings = args.findings or Path(tempfile.mkdtemp(prefix="cmem-profile-fuzz-"))
    findings.mkdir(parents=True, exist_ok=True)
    if args.child:
        return _atheris_child(args.child, int(args.seconds), findings, args.work)

    engine = args.engine
    if engine == "auto":
        engine = "atheris" if _has_atheris() else "hypothesis"
    started = time.monotonic()
    ok = _scaling_check()
    share = max(1.0, (args.seconds - (time.monotonic() - started)) / len(args.targets))
    for target in args.targets:
        print(f"fuzz {target}: {engine}, {share:.0f} s", flush=True)
        run = _run_atheris if engine == "atheris" else _run_hypothesis
        ok = run(target, share, findings) and ok
    if ok and not args.findings:
        shutil.rmtree(findings)
    print(f"fuzz: {'nothing found' if ok else f'FOUND problems; inputs in {findings}'}")
    return 0 if ok else 1


def _has_atheris() -> bool:
    try:
        import atheris  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        return False
    return True


# atheris: libFuzzer's coverage-guided search; one child per target, as Fuzz() never returns.


def _run_atheris(target: str, seconds: float, findings: Path) -> bool:
    # libFuzzer adds the inputs it finds interesting to the first corpus directory.
    with tempfile.TemporaryDirectory(prefix=f"cmem-profile-fuzz-{target}-") as work:
        command = [sys.executable, __file__, "--child", target, "--seconds", str(int(seconds))]
        done = subprocess.run(
            [*command, "--findings", str(findings), "--work", work],
            capture_output=True,
            text=True,
            errors="replace",
            check=False,
        )
    lines = done.stderr.splitlines()
    stats = [line for line in lines if line.startswith("stat::number_of_executed_units")]
    print(f"  {stats[-1] if stats else 'no stats'}")
    if done.returncode == 0:
        return True
    print(done.stdout[-8000:])  # atheris prints the Python traceback here
    print("\n".join([line for line in lines if not line.startswith(("INFO:", "WARNING:"))][-40:]))
    for artifact in sorted(findings.glob(f"{target}-*")):
        print(f"  input {artifact}: {artifact.read_bytes()[:300]!r}")
    return False


def _atheris_child(target: str, seconds: int, findings: Path, work: str) -> int:
    import atheris

    with atheris.instrument_imports(include=["cmem_profiles", "dotenv", "fuzz_targets"]):
        from fuzz_targets import TARGETS
    atheris.Setup(
        [
            sys.argv[0],
            f"-max_total_time={seconds}",
            f"-timeout={int(SLOW_SECONDS)}",
            "-rss_limit_mb=2048",
            "-print_final_stats=1",
            f"-artifact_prefix={findings}/{target}-",
            work,
            *(str(d) for d in SEEDS[target]),
        ],
        TARGETS[target],
    )
    atheris.Fuzz()
    return 0


# hypothesis: random and mutated seeds, batch after batch until the time is up.


def _seeds(target: str) -> list[bytes]:
    return [p.read_bytes() for d in SEEDS[target] for p in sorted(d.iterdir()) if p.is_file()]


def _mutate(seed: bytes, steps: list[tuple[int, int, int, bytes]]) -> bytes:
    data = bytearray(seed)
    for op, where, size, piece in steps:
        at = where % (len(data) + 1)
        if op == 0:
            data[at:at] = piece
        elif op == 1:
            del data[at : at + size]
        elif op == 2:
            data[at : at + 1] = bytes([size % 256])
        else:  # repeat a stretch: inputs that grow are how slow readers show
            data[at:at] = data[at : at + 1 + size % 64] * (1 + size % 200)
    return bytes(data)


def _run_hypothesis(target: str, seconds: float, findings: Path) -> bool:
    from fuzz_targets import TARGETS
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    check, seeds = TARGETS[target], _seeds(target)
    pieces = st.sampled_from([t.encode() for t in TOKENS[target]]) | st.binary(max_size=8)
    step = st.tuples(st.integers(0, 3), st.integers(0), st.integers(0, 4096), pieces)
    inputs = st.one_of(
        st.sampled_from(seeds),
        st.binary(max_size=512),
        st.builds(_mutate, st.sampled_from(seeds), st.lists(step, min_size=1, max_size=12)),
    )
    runs = 0

    @settings(
        database=None, deadline=None, max_examples=100, suppress_health_check=list(HealthCheck)
    )
    @given(inputs)
    def batch(data: bytes) -> None:
        nonlocal runs
        runs += 1
        started = time.monotonic()
        try:
            check(data)
            elapsed = time.monotonic() - started
            assert elapsed < SLOW_SECONDS, f"slow input: {elapsed:.1f} s for {len(data)} bytes"
        except BaseException:
            # Hypothesis replays the shrunk example last: the file left is the smallest input.
            (findings / f"{target}-failing").write_bytes(data)
            raise

    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            batch()
    except Exception as error:
        data = (findings / f"{target}-failing").read_bytes()
        name = f"{target}-{hashlib.sha1(data).hexdigest()[:12]}"  # noqa: S324 - a file name
        (findings / f"{target}-failing").rename(findings / name)
        print(f"  {type(error).__name__}: {error}\n  input {findings / name}: {data[:300]!r}")
        return False
    print(f"  {runs} inputs")
    return True


# Scaling: a reader's time should grow about as its input does, not as its square.


def _lines(line: bytes, n: int) -> bytes:
    """n lines made from line with %d (the line's number) filled in."""
    return b"".join(line.replace(b"%d", b"%d" % i) for i in range(n))


def _profile(body: bytes) -> bytes:
    return b"description: x\nprovider: claude\n" + body


def _many_settings(n: int) -> bytes:
    return _profile(b"settings:\n" + _lines(b'  CLAUDE_MEM_%d: "v"\n', n))


def _many_aliases(n: int) -> bytes:
    return _profile(b"model: &m x\nsettings: {CLAUDE_MEM_L: [" + b", ".join([b"*m"] * n) + b"]}")


def _object(member: bytes, n: int) -> bytes:
    return b"{" + b",".join(member.replace(b"%d", b"%d" % (n - i)) for i in range(n)) + b"}"


# name, the input of size n, what reads it (a target, or env-read: claude-mem's reading
# alone, or env-keys: every key read as rollback does), n to start from
_Family = tuple[str, Callable[[int], bytes], str, int]
FAMILIES: list[_Family] = [
    ("env: many lines", lambda n: _lines(b"K%d='v %d' # c\n", n), "env", 1000),
    ("env: claude-mem's reading", lambda n: b"K=v\n" * n, "env-read", 10_000),
    ("env: every key read", lambda n: _lines(b"K%d=v\n", n), "env-keys", 1000),
    ("env: one long line", lambda n: b"K=" + b"a=b#" * n, "env", 100_000),
    ("env: lines without =", lambda n: b"x\n" * n + b"A=1\n", "env", 4000),
    ("settings: many keys", lambda n: _object(b'"k%d": [%d]', n), "settings", 1000),
    ("settings: index keys", lambda n: _object(b'"%d": "v"', n), "settings", 2000),
    ("settings: long string", lambda n: b'{"a": "%s"}' % (b"\\u00e9x" * n), "settings", 200_000),
    ("yaml: many settings", _many_settings, "yaml", 1000),
    ("yaml: long scalar", lambda n: _profile(b"model: " + b"m" * (50 * n)), "yaml", 2000),
    ("yaml: many aliases", _many_aliases, "yaml", 2000),
]  # fmt: skip


def _scaling_check() -> bool:
    from fuzz_targets import TARGETS, read_env_as_claude_mem, read_every_env_key

    runners = {**TARGETS, "env-keys": read_every_env_key, "env-read": read_env_as_claude_mem}
    ok = True
    for name, make, target, n in FAMILIES:
        # Double the size until 8n or a second's work; a quadratic reader is caught early,
        # before its larger inputs take minutes.
        sizes, times = [n], [_time(runners[target], make(n))]
        while len(sizes) == 1 or (sizes[-1] < 8 * n and times[-1] < 1.0):
            sizes.append(2 * sizes[-1])
            times.append(_time(runners[target], make(sizes[-1])))
        growth = math.log(times[-1] / max(times[0], 1e-6)) / math.log(sizes[-1] / sizes[0])
        # Below 50 ms, timer noise and fixed costs decide: not a finding.
        slow = growth > 1.5 and times[-1] > 0.05
        ok = ok and not slow
        verdict = "GROWS FASTER THAN ITS INPUT" if slow else "ok"
        print(f"scaling {name}: time ~ size^{growth:.1f} ({times[-1]:.3f} s): {verdict}")
    return ok


def _time(check: Callable[[bytes], None], data: bytes) -> float:
    """The best of three runs; one run when it takes a tenth of a second or more."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        check(data)
        best = min(best, time.perf_counter() - started)
        if best >= 0.1:
            break
    return best


if __name__ == "__main__":
    sys.exit(main())
