#!/usr/bin/env python3
"""Time cmem-profile's everyday commands against the interpreter's own start-up.

From the repository root, with the package and its test extra installed in .venv:

    .venv/bin/python bench/bench.py                 # the table, then the scaling rows
    .venv/bin/python bench/bench.py --runs 31       # steadier medians on a noisy machine
    .venv/bin/python bench/bench.py --rows list     # only the rows whose label has 'list'

It builds a scratch tree (1,000 generated profiles, and 100 and 5,000 for the scaling rows; a
claude-mem data dir holding claude-mem's own default settings.json; an environment variable and
the test suite's file-backed keyring as secret sources), then runs each command in alternation
with its floors, after warm-up runs that are not counted. The floor is `python3 -c pass` with
the python3 that cmem-profile's virtualenv was made from (whether or not it is activated): the
targets are ratios of medians to it, measured in the same row. A second column compares with
the bare start of the virtualenv's own interpreter, which skips the base's site-packages.
Standard library only; it runs the installed `cmem-profile` and `check-jsonschema` as any user
would.

`--extends on` also generates profiles in `extends:` chains (abstract bases, chains four
deep) and times list and validate on them; the default, `auto`, does so when the schema
knows the `extends` field.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCHEMA = REPO / "schemas" / "profile.schema.json"
SETTINGS_FIXTURE = REPO / "tests" / "fixtures" / "claude-mem-13.25-settings.json"
SIZES = (100, 1000, 5000)
ENV_SECRET_VAR = "BENCH_GATEWAY_TOKEN"  # noqa: S105 - a variable name, not its value
GEMINI_MODELS = ("gemini-flash-latest", "gemini-flash-lite-latest", "gemini-3.5-flash")
# Inherited variables that would point cmem-profile or keyring somewhere else than the scratch.
SCRUBBED_PREFIXES = ("CLAUDE_MEM_", "CMEM_", "XDG_", "KEYRING_", "PYTHON_KEYRING", "ANTHROPIC_")


# --- the profiles ---------------------------------------------------------------------------


def profile_text(index: int) -> tuple[str, str]:
    """A realistic, clean profile (no errors, no warnings): one of five shapes by index."""
    kind = index % 5
    host = f"gw-{index:05d}.corp.example.com"
    head = "# yaml-language-server: $schema=../schemas/profile.schema.json\n"
    if kind == 0:
        return f"gateway-{index:05d}", (
            f"{head}# A team gateway in front of api.anthropic.com; store the key once.\n"
            f"description: Team gateway {index} (API key)\n"
            "provider: claude\n"
            f"base_url: https://{host}\n"
            "model: claude-haiku-4-5-20251001\n"
            "credentials:\n"
            f"  api_key: {{keyring: team-key-{index % 50}}}\n"
            "settings:\n"
            "  # The gateway maps no 'haiku' alias.\n"
            '  CLAUDE_MEM_TIER_ROUTING_ENABLED: "false"\n'
            '  CLAUDE_MEM_CONTEXT_OBSERVATIONS: "50"\n'
        )
    if kind == 1:
        return f"bearer-{index:05d}", (
            f"{head}description: Bedrock shim {index} (bearer token from the environment)\n"
            "provider: claude\n"
            f"base_url: https://{host}/bedrock\n"
            "model: us.anthropic.claude-haiku-4-5-20251001-v1:0\n"
            "credentials:\n"
            f"  auth_token: {{env: {ENV_SECRET_VAR}}}\n"
            "settings:\n"
            '  CLAUDE_MEM_TIER_ROUTING_ENABLED: "false"\n'
        )
    if kind == 2:
        return f"local-{index:05d}", (
            f"{head}description: Local OpenAI-compatible server {index}\n"
            "provider: openrouter\n"
            f"base_url: http://127.0.0.1:{8000 + index % 1000}/v1\n"
            "model: qwen2.5-coder:7b\n"
            "credentials:\n"
            f"  api_key: {{keyring: local-{index % 50}}}\n"
            "settings:\n"
            "  CLAUDE_MEM_OPENROUTER_APP_NAME: claude-mem\n"
        )
    if kind == 3:
        return f"gemini-{index:05d}", (
            f"{head}description: Gemini {index} (AI Studio key)\n"
            "provider: gemini\n"
            f"model: {GEMINI_MODELS[index % len(GEMINI_MODELS)]}\n"
            "credentials:\n"
            f"  api_key: {{env: GEMINI_KEY_{index % 50}}}\n"
            "settings:\n"
            '  CLAUDE_MEM_GEMINI_RATE_LIMITING_ENABLED: "true"\n'
        )
    return f"subscription-{index:05d}", (
        f"{head}description: Claude subscription {index} (no secrets)\n"
        "provider: claude\n"
        "model: claude-haiku-4-5-20251001\n"
    )


def extends_tree_texts(count: int) -> dict[str, str]:
    """Profiles in `extends:` chains: ten abstract bases, each chain four profiles deep."""
    texts = {}
    for base in range(10):
        texts[f"base-{base}"] = (
            "abstract: true\n"
            f"description: Shared gateway settings {base}\n"
            "provider: claude\n"
            f"base_url: https://gw-base-{base}.corp.example.com\n"
            "credentials:\n"
            f"  api_key: {{keyring: team-key-{base}}}\n"
            "settings:\n"
            '  CLAUDE_MEM_TIER_ROUTING_ENABLED: "false"\n'
        )
    for index in range(count - len(texts)):
        parent = f"base-{index // 4 % 10}" if index % 4 == 0 else f"team-{index - 1:05d}"
        texts[f"team-{index:05d}"] = (
            f"extends: {parent}\n"
            f"description: Team profile {index}, refining {parent}\n"
            f"model: claude-haiku-4-5-{index:08d}\n"
        )
    return texts


def write_tree(directory: Path, texts: dict[str, str]) -> None:
    directory.mkdir(parents=True)
    for name, text in texts.items():
        (directory / f"{name}.yaml").write_text(text, encoding="utf-8")


def plain_tree_texts(count: int) -> dict[str, str]:
    return dict(profile_text(index) for index in range(count))


# The profiles that `use` switches between, two of each secret source, added to every tree.
SWITCH_PROFILES = {
    "bench-env-a": ("env", "a"),
    "bench-env-b": ("env", "b"),
    "bench-keyring-a": ("keyring", "a"),
    "bench-keyring-b": ("keyring", "b"),
}


def switch_profile_text(source: str, variant: str) -> str:
    reference = "{env: " + ENV_SECRET_VAR + "}" if source == "env" else "{keyring: bench-gateway}"
    return (
        f"description: Benchmark gateway {variant} ({source} secret)\n"
        "provider: claude\n"
        # One host, two routes: the secret goes where it went before, so the trust gate lets
        # every switch through (a new host would stop it and ask).
        f"base_url: https://gateway.corp.example.com/{variant}\n"
        f"model: claude-haiku-4-5-2025100{ord(variant) - ord('a') + 1}\n"
        "credentials:\n"
        f"  auth_token: {reference}\n"
        "settings:\n"
        '  CLAUDE_MEM_TIER_ROUTING_ENABLED: "false"\n'
    )


# --- the scratch world ----------------------------------------------------------------------


@dataclass
class Scratch:
    root: Path
    env: dict[str, str]
    trees: dict[int, Path] = field(default_factory=dict)
    extends_trees: dict[int, Path] = field(default_factory=dict)

    @property
    def cold_cache(self) -> Path:
        return self.root / "cold-cache"


def build_scratch(root: Path, sizes: Sequence[int], extends: bool) -> Scratch:
    home = root / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(SCRUBBED_PREFIXES)}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(root / "cache"),
        CLAUDE_MEM_DATA_DIR=str(root / "claude-mem"),
        # The test suite's file-backed keyring: keyring's own cost without a Secret Service.
        PYTHON_KEYRING_BACKEND="test_keyring.FileTestKeyring",
        CMEM_TEST_KEYRING=str(root / "keyring.json"),
        PYTHONPATH=str(REPO / "tests" / "support"),
        NO_COLOR="1",
        **{ENV_SECRET_VAR: "bench-env-token-0123456789abcdef"},
    )
    scratch = Scratch(root, env)
    (root / "keyring.json").write_text(
        json.dumps({"cmem-profile/bench-gateway": "bench-keyring-token-0123456789abcdef"})
    )
    for data_dir in ("claude-mem", "switched"):
        (root / data_dir).mkdir(mode=0o700)
        shutil.copy(SETTINGS_FIXTURE, root / data_dir / "settings.json")
    switch = {name: switch_profile_text(*how) for name, how in SWITCH_PROFILES.items()}
    for size in sizes:
        scratch.trees[size] = root / f"profiles-{size}"
        write_tree(scratch.trees[size], {**plain_tree_texts(size - len(switch)), **switch})
        if extends:
            scratch.extends_trees[size] = root / f"extends-{size}"
            write_tree(scratch.extends_trees[size], extends_tree_texts(size))
    return scratch


# --- timing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Floors:
    """`python3 -c pass` as the targets count it, and the interpreter that runs cmem-profile."""

    python3: list[str]
    own: list[str]


@dataclass
class Row:
    """A command timed against the floor, and optionally against a second command."""

    label: str
    argvs: list[list[str]]  # cycled run by run, e.g. `use a`, `use b`, so each run switches
    target: str = ""
    limit: float | None = None  # the largest ratio to the floor that meets the target
    versus: list[str] | None = None  # e.g. check-jsonschema on the same files
    versus_label: str = ""
    versus_limit: float | None = None
    env: dict[str, str] = field(default_factory=dict)
    before_each: Callable[[], None] | None = None  # untimed set-up before each timed command
    net_of_versus: bool = False  # the ratio leaves out the versus command's own cost
    samples: dict[str, list[float]] = field(default_factory=dict)


def run_once(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, check=False
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(
            f"bench: {' '.join(argv)} exited {done.returncode}:\n"
            + done.stderr.decode(errors="replace")[-2000:]
        )
    return elapsed


def measure(row: Row, scratch: Scratch, floors: Floors, runs: int, warmup: int) -> None:
    """Run the floors, the command and its yardstick in turn, warmup + runs times."""
    env = {**scratch.env, **row.env}
    lanes: list[tuple[str, Callable[[int], list[str]]]] = [("floor", lambda _: floors.python3)]
    if floors.own != floors.python3:
        lanes.append(("own", lambda _: floors.own))
    lanes.append(("cmd", lambda i: row.argvs[i % len(row.argvs)]))
    if row.versus:
        versus = row.versus
        lanes.append(("versus", lambda _: versus))
    row.samples = {name: [] for name, _ in lanes}
    for i in range(warmup + runs):
        for name, argv_of in lanes:
            if name == "cmd" and row.before_each:
                row.before_each()
            elapsed = run_once(argv_of(i), env, scratch.root)
            if i >= warmup:
                row.samples[name].append(elapsed)


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


@dataclass(frozen=True)
class Verdict:
    median: float
    floor: float
    own: float  # the interpreter that runs cmem-profile, started bare
    ratio: float
    shown_ratio: str
    ok: bool | None


def judge(row: Row) -> Verdict:
    cmd, floor = median_ms(row.samples["cmd"]), median_ms(row.samples["floor"])
    own = median_ms(row.samples.get("own") or row.samples["floor"])
    ratio = cmd / floor
    shown = f"{ratio:.1f}x"
    ok = None if row.limit is None else ratio <= row.limit
    if row.versus:
        other = median_ms(row.samples["versus"])
        if row.net_of_versus:
            # The yardstick runs on cmem-profile's interpreter: its own cost is what it adds.
            ratio = (cmd - (other - own)) / floor
            shown = f"{ratio:.1f}x beyond keyring's own {other - own:.0f} ms"
            ok = None if row.limit is None else ratio <= row.limit
        else:
            versus_ratio = cmd / other
            shown += f"; {versus_ratio:.2f} of {row.versus_label} ({other:.0f} ms)"
            if row.versus_limit is not None:
                ok = bool(ok) and versus_ratio <= row.versus_limit
    return Verdict(cmd, floor, own, ratio, shown, ok)


# --- the rows -------------------------------------------------------------------------------


def find_tool(name: str) -> Path | None:
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return beside
    found = shutil.which(name)
    return Path(found) if found else None


def interpreter_of(script: Path) -> str:
    """The interpreter a console script runs on, from its #! line (else this one)."""
    first = script.read_bytes().split(b"\n", 1)[0]
    if first.startswith(b"#!"):
        words = first[2:].decode().split()
        if words and Path(words[0]).name != "env":
            return words[0]
    return sys.executable


def clear(directory: Path) -> Callable[[], None]:
    return lambda: shutil.rmtree(directory, ignore_errors=True)


def table_rows(scratch: Scratch, cmem: str, check: Path | None, extends: bool) -> list[Row]:
    tree = scratch.trees[1000]
    files = sorted(str(p) for p in tree.glob("*.yaml"))
    in_tree = [cmem, "--profiles-dir", str(tree)]
    cold = {"XDG_CACHE_HOME": str(scratch.cold_cache)}
    no_state = {"CLAUDE_MEM_DATA_DIR": str(scratch.root / "never-switched")}
    rows = [
        Row(
            "cmem-profile current",
            [[cmem, "current"]],
            "≤ 1.5x",
            1.5,
            env={"CLAUDE_MEM_DATA_DIR": str(scratch.root / "switched")},
        ),
        Row(
            "cmem-profile current --json, no state yet",
            [[cmem, "current", "--json"]],
            "≤ 1.5x",
            1.5,
            env=no_state,
        ),
        Row(
            "cmem-profile list, the bundled profiles",
            [[cmem, "--profiles-dir", str(REPO / "profiles"), "list"]],
            "≤ 2.5x",
            2.5,
        ),
        Row("cmem-profile list, 1,000 profiles", [[*in_tree, "list"]], "≤ 10x", 10),
        Row(
            "cmem-profile list, 1,000 profiles, first run (no cache)",
            [[*in_tree, "list"]],
            env=cold,
            before_each=clear(scratch.cold_cache),
        ),
        Row(
            "cmem-profile validate, 1,000 profiles, no cache (CI)",
            [[*in_tree, "validate"]],
            "≤ 25x and ≤ 0.5 of check-jsonschema",
            25,
            versus=[str(check), "--schemafile", str(SCHEMA), *files] if check else None,
            versus_label="check-jsonschema",
            versus_limit=0.5,
            env=cold,
            before_each=clear(scratch.cold_cache),
        ),
        Row("cmem-profile validate, 1,000 profiles, cached", [[*in_tree, "validate"]]),
        Row(
            "cmem-profile use X, env secret, claude-mem default settings",
            [[*in_tree, "use", "bench-env-a"], [*in_tree, "use", "bench-env-b"]],
            "≤ 6x",
            6,
        ),
        Row(
            "cmem-profile use X, keyring secret",
            [[*in_tree, "use", "bench-keyring-a"], [*in_tree, "use", "bench-keyring-b"]],
            "keyring's cost + ≤ 6x",
            6,
            versus=[
                interpreter_of(Path(cmem)),
                "-c",
                "import keyring; keyring.get_password('cmem-profile', 'bench-gateway')",
            ],
            versus_label="keyring alone",
            net_of_versus=True,
        ),
    ]
    if extends:
        chains = [cmem, "--profiles-dir", str(scratch.extends_trees[1000])]
        rows += [
            Row(
                "cmem-profile list, 1,000 profiles in extends chains",
                [[*chains, "list"]],
                "≤ 10x",
                10,
            ),
            Row(
                "cmem-profile validate, 1,000 profiles in extends chains, no cache",
                [[*chains, "validate"]],
                "≤ 25x",
                25,
                env=cold,
                before_each=clear(scratch.cold_cache),
            ),
        ]
    return rows


def scaling_rows(scratch: Scratch, cmem: str, extends: bool) -> dict[tuple[str, int], Row]:
    """list and validate on 100, 1,000 and 5,000 profiles: the cost per profile should hold."""
    kinds = [("list", scratch.trees, False), ("validate, no cache", scratch.trees, True)]
    if extends:
        kinds.append(("list, extends chains", scratch.extends_trees, False))
    rows = {}
    for kind, trees, cold in kinds:
        verb = kind.split(",")[0]
        for size, tree in trees.items():
            row = Row(f"{kind}, {size:,} profiles", [[cmem, "--profiles-dir", str(tree), verb]])
            if cold:
                row.env = {"XDG_CACHE_HOME": str(scratch.cold_cache)}
                row.before_each = clear(scratch.cold_cache)
            rows[kind, size] = row
    return rows


# --- output ---------------------------------------------------------------------------------


def print_table(rows: list[Row]) -> None:
    print(
        "| command | median | `python3 -c pass` | ratio | target | met "
        "| cmem-profile's interpreter alone | ratio to it |"
    )
    print("|---|---:|---:|---|---|---|---:|---:|")
    for row in rows:
        v = judge(row)
        met = {True: "yes", False: "**no**", None: ""}[v.ok]
        print(
            f"| {row.label} | {v.median:.0f} ms | {v.floor:.0f} ms | {v.shown_ratio} "
            f"| {row.target} | {met} | {v.own:.0f} ms | {v.median / v.own:.1f}x |"
        )


def print_scaling(rows: dict[tuple[str, int], Row]) -> None:
    print("| command | profiles | median | ratio | cost per added profile |")
    print("|---|---:|---:|---:|---:|")
    previous: dict[str, tuple[int, float]] = {}
    for (kind, size), row in rows.items():
        v = judge(row)
        marginal = ""
        if kind in previous:
            size0, median0 = previous[kind]
            marginal = f"{(v.median - median0) / (size - size0) * 1000:.0f} µs"
        previous[kind] = (size, v.median)
        print(f"| {kind} | {size:,} | {v.median:.0f} ms | {v.ratio:.1f}x | {marginal} |")


def describe_run(cmem: str, floors: Floors, runs: int, warmup: int, load_before: float) -> str:
    """What was measured, how, and on what: enough to tell two tables apart."""
    where = subprocess.run(
        [floors.own[0], "-c", "import cmem_profiles; print(cmem_profiles.__file__)"],
        cwd=tempfile.gettempdir(),  # not the checkout: `-c` imports from the current directory
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    editable = Path(where).parent == REPO / "cmem_profiles"
    install = "this checkout, editable install" if editable else str(Path(where).parent)
    load_after = os.getloadavg()[0]
    lines = [
        "",
        f"cmem-profile: {cmem} (package: {install})",
        f"floor: `{' '.join(floors.python3)}`, the unit of every target; interpreter alone:"
        f" `{' '.join(floors.own)}`, which runs cmem-profile",
        f"medians of {runs} runs after {warmup} warm-up runs, each command in alternation with"
        " the floors",
        f"machine: {os.cpu_count()} CPUs, load average {load_before:.1f} before and"
        f" {load_after:.1f} after, {time.strftime('%Y-%m-%d %H:%M')}",
    ]
    if max(load_before, load_after) > (os.cpu_count() or 1):
        lines.append("warning: the machine was busy; ratios swing with load: run again")
    return "\n".join([*lines, ""])


def check_clean(cmem: str, tree: Path, scratch: Scratch) -> None:
    """Every generated profile must be clean, or the cache (and the table) means nothing."""
    done = subprocess.run(
        [cmem, "--profiles-dir", str(tree), "validate", "--json"],
        env=scratch.env,
        cwd=scratch.root,
        capture_output=True,
        text=True,
        check=False,
    )
    problems = json.loads(done.stdout or "[]")
    if done.returncode != 0 or problems:
        first = problems[0] if problems else {"message": done.stderr.strip()}
        hint = " (does this cmem-profile know `extends`?)" if "extends" in tree.name else ""
        sys.exit(f"bench: {tree.name} is not clean{hint}: {first}")


def base_python(interpreter: str) -> str:
    """The python3 a virtualenv was made from (the interpreter itself when it is no venv)."""
    done = subprocess.run(
        [interpreter, "-c", "import sys; print(getattr(sys, '_base_executable', sys.executable))"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or interpreter


def schema_knows_extends() -> bool:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return "extends" in schema.get("properties", {})


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per command (15)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs first (2, at least 1)")
    parser.add_argument("--rows", default="", help="only rows whose label contains this text")
    parser.add_argument("--no-scaling", action="store_true", help="skip the 100/1,000/5,000 rows")
    parser.add_argument(
        "--extends",
        choices=("auto", "on", "off"),
        default="auto",
        help="time profiles in extends chains (auto: when the schema knows the field)",
    )
    parser.add_argument("--cmem", help="the cmem-profile executable (default: beside python)")
    parser.add_argument(
        "--floor",
        metavar="PYTHON",
        help="the python3 of the floor (default: the one cmem-profile's virtualenv was made from)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch tree and say where")
    args = parser.parse_args(argv)
    found = Path(args.cmem) if args.cmem else find_tool("cmem-profile")
    if found is None:
        sys.exit("bench: cmem-profile is not installed; pip install -e '.[test]' first")
    cmem = str(found.resolve())
    own = interpreter_of(found)
    floors = Floors([args.floor or base_python(own), "-c", "pass"], [own, "-c", "pass"])
    check = find_tool("check-jsonschema")
    extends = args.extends == "on" or (args.extends == "auto" and schema_knows_extends())
    load_before = os.getloadavg()[0]
    root = Path(tempfile.mkdtemp(prefix="cmem-bench-"))
    try:
        scratch = build_scratch(root, SIZES, extends)
        for tree in [*scratch.trees.values(), *scratch.extends_trees.values()]:
            check_clean(cmem, tree, scratch)
        # A switch first, so `current` has a state to read.
        run_once(
            [cmem, "--profiles-dir", str(scratch.trees[1000]), "use", "bench-env-a"],
            {**scratch.env, "CLAUDE_MEM_DATA_DIR": str(root / "switched")},
            root,
        )
        rows = [r for r in table_rows(scratch, cmem, check, extends) if args.rows in r.label]
        scaling = {} if args.no_scaling else scaling_rows(scratch, cmem, extends)
        scaling = {k: r for k, r in scaling.items() if args.rows in r.label}
        for row in [*rows, *scaling.values()]:
            print(f"timing: {row.label}", file=sys.stderr, flush=True)
            measure(row, scratch, floors, args.runs, max(1, args.warmup))
        print(describe_run(cmem, floors, args.runs, max(1, args.warmup), load_before))
        if rows:
            print_table(rows)
        if scaling:
            print()
            print_scaling(scaling)
        if check is None:
            print("\ncheck-jsonschema not found: pip install -e '.[test]'", file=sys.stderr)
    finally:
        if args.keep:
            print(f"scratch tree kept in {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
