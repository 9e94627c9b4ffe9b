"""Command-line wiring: the parser, dispatch to one module per verb, and the error handler."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence

from cmem_profiles import __version__
from cmem_profiles.errors import CmemProfileError

# Not `from typing import ...` at run time: `current` runs in shell prompts.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

PROG = "cmem-profile"

# verb -> module under cmem_profiles.commands; imported only when that verb runs, so a
# fast verb like `current` never pays for YAML, jsonschema or keyring.
COMMANDS = {
    "list": "list_profiles",
    "show": "show",
    "validate": "validate",
    "use": "use",
    "diff": "use",
    "current": "current",
    "history": "history",
    "rollback": "rollback",
    "secret": "secret",
    "doctor": "doctor",
}

GROUPS = (
    ("switching", ("use", "diff", "current", "history", "rollback")),
    ("profiles", ("list", "show", "validate")),
    ("secrets", ("secret", "doctor")),
)


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30, width=_terminal_width() - 2)


def _terminal_width() -> int:
    """shutil.get_terminal_size's columns, without importing shutil (and its zlib, bz2, lzma)."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size().columns
        except OSError:
            columns = 0
    return columns or 80


def _verb(
    sub: _Verbs,
    name: str,
    summary: str,
    examples: str,
) -> argparse.ArgumentParser:
    return sub.add_parser(
        name,
        help=summary,
        description=summary,
        epilog=f"examples:\n{examples}",
        formatter_class=_Formatter,
    )


def _json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


class _Verbs:
    """The verbs' subparsers; told the running verb, it builds that verb's parser alone.

    Building every verb's parser costs about as much as all the work `current` does.
    """

    def __init__(
        self, action: argparse._SubParsersAction[argparse.ArgumentParser], only: str | None
    ) -> None:
        self.action = action
        self.only = only

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        if self.only in (None, name):
            return self.action.add_parser(name, **kwargs)
        return _Unused()  # type: ignore[return-value]  # it takes any call a parser takes


class _Unused:
    """Stands in for the parser of a verb that is not running: every call does nothing."""

    def __getattr__(self, name: str) -> Callable[..., _Unused]:
        return lambda *args, **kwargs: self


# Global options as plainly spelled before a verb; anything else builds the whole parser.
_FLAGS = ("-v", "--verbose", "--debug")
_VALUED = ("--profiles-dir", "--data-dir")


def requested_verb(argv: Sequence[str]) -> str | None:
    """The verb when argv spells it plainly (`-v list`, `--data-dir D use x`), else None."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in _VALUED:
            i += 2
        elif arg in _FLAGS or arg.startswith(tuple(f"{option}=" for option in _VALUED)):
            i += 1
        else:
            return arg if arg in COMMANDS else None
    return None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every verb, or of verb ONLY alone (the same result for ONLY's argv)."""
    groups = "\n".join(f"  {title:<11} {', '.join(verbs)}" for title, verbs in GROUPS)
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Switch claude-mem's LLM backend between declared, validated profiles.",
        epilog=f"verbs by group:\n{groups}\n\nRun '{PROG} VERB --help' for a verb's options.",
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument(
        "--profiles-dir",
        action="append",
        metavar="DIR",
        help="look for profiles in DIR (repeatable; replaces CMEM_PROFILES_PATH and the defaults)",
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="claude-mem's data directory (default: $CLAUDE_MEM_DATA_DIR, else ~/.claude-mem)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="say more about each step")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = _Verbs(parser.add_subparsers(dest="verb", metavar="VERB", required=True), only)

    p = _verb(sub, "list", "list the profiles and mark the active one", f"  {PROG} list --json")
    _json_option(p)

    p = _verb(
        sub,
        "show",
        "show a profile as resolved and the claude-mem keys it maps to",
        f"  {PROG} show corporate",
    )
    p.add_argument("name", help="profile name")
    _json_option(p)

    p = _verb(
        sub,
        "validate",
        "check profiles against the schema and claude-mem's rules; exit 1 on any error",
        f"  {PROG} validate\n  {PROG} validate profiles/corporate.yaml",
    )
    p.add_argument(
        "files", nargs="*", metavar="FILE", help="files to check (default: every profile)"
    )
    _json_option(p)

    for verb, summary, example in (
        (
            "use",
            "switch claude-mem to a profile",
            f"  {PROG} use corporate\n  {PROG} use gemini --dry-run",
        ),
        ("diff", "show what switching to a profile would change", f"  {PROG} diff bedrock-shim"),
    ):
        p = _verb(sub, verb, summary, example)
        p.add_argument("name", help="profile name")
        if verb == "use":
            p.add_argument("--dry-run", action="store_true", help="show the plan, write nothing")
        p.add_argument(
            "--exit-code", action="store_true", help="exit 1 when the switch would change something"
        )
        p.add_argument("--force", action="store_true", help="overwrite owned keys edited by hand")
        p.add_argument(
            "--adopt",
            action="store_true",
            help="take hand edits of owned keys as their new baseline, then switch",
        )
        p.add_argument(
            "--no-input", action="store_true", help="never prompt; fail on a missing secret"
        )
        _json_option(p)

    p = _verb(
        sub,
        "current",
        "print the active profile and whether the live files still match it",
        f"  {PROG} current\n  {PROG} current --short",
    )
    p.add_argument("--short", action="store_true", help="print only the name (empty when none)")
    p.add_argument("--check", action="store_true", help="also compare the live files (slower)")
    _json_option(p)

    p = _verb(sub, "history", "list the numbered generations of the two files", f"  {PROG} history")
    _json_option(p)

    p = _verb(
        sub,
        "rollback",
        "restore both files from a generation (default: the one before the last)",
        f"  {PROG} rollback\n  {PROG} rollback 0   # the files as first found",
    )
    p.add_argument("generation", nargs="?", type=int, help="generation number (see 'history')")
    _json_option(p)

    p = _verb(
        sub,
        "secret",
        "store, inspect and remove secrets in the OS keyring",
        f'  {PROG} secret set corp-gateway\n  printf %s "$KEY" | {PROG} secret set corp-gateway\n'
        f"  {PROG} secret list",
    )
    ssub = p.add_subparsers(dest="secret_verb", metavar="ACTION", required=True)
    sp = ssub.add_parser("set", help="store a secret (hidden prompt, or the value piped on stdin)")
    sp.add_argument("secret_name", metavar="NAME")
    # Caught so a value typed on the command line is refused, not echoed by argparse's error.
    sp.add_argument("secret_value", nargs="?", help=argparse.SUPPRESS)
    sp = ssub.add_parser("get", help="tell whether a secret is stored; --reveal prints it")
    sp.add_argument("secret_name", metavar="NAME")
    sp.add_argument("--reveal", action="store_true", help="print the value itself")
    sp = ssub.add_parser("list", help="every secret the profiles reference, stored or missing")
    _json_option(sp)
    sp = ssub.add_parser("rm", help="remove a secret from the keyring")
    sp.add_argument("secret_name", metavar="NAME")

    p = _verb(
        sub, "doctor", "check the keyring, the data dir and the environment", f"  {PROG} doctor"
    )
    _json_option(p)
    return parser


def run(args: argparse.Namespace) -> int:
    module = importlib.import_module(f"cmem_profiles.commands.{COMMANDS[args.verb]}")
    result: int = module.run(args)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser(requested_verb(sys.argv[1:] if argv is None else argv))
    args = parser.parse_args(argv)
    try:
        code = run(args)
        sys.stdout.flush()  # inside the handlers: a closed pipe must not surface at exit
        return code
    except CmemProfileError as err:
        print(f"{PROG}: error: {err.message}", file=sys.stderr)
        if err.hint:
            print(f"hint: {err.hint}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (`cmem-profile list | head`): not an error worth a message.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        if args.debug:
            raise
        # One line, no traceback: the type names the fault; its text might hold a secret.
        print(
            f"{PROG}: internal error: {type(err).__name__} (run with --debug for the traceback)",
            file=sys.stderr,
        )
        return 3
