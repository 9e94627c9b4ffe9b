"""Command-line wiring: the parser, dispatch to one module per verb, and the error handler."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from cmem_profiles import __version__
from cmem_profiles.errors import CmemProfileError
from cmem_profiles.output import style

PROG = "cmem-profile"

HIDDEN = "__complete"  # lists names for the completion scripts; not in help or completion

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
    "completion": "completion",
    HIDDEN: "completion",
}

GROUPS = (
    ("switching", ("use", "diff", "current", "history", "rollback")),
    ("profiles", ("list", "show", "validate")),
    ("secrets", ("secret", "doctor")),
    ("shell", ("completion",)),
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # The hidden verb is for the completion scripts, not for people to choose from.
        super().error(message.replace(f", {HIDDEN!r}", ""))


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30)


def _verb(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
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


def _grouped_verbs(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> str:
    """The verbs under their GROUPS titles, each with its one-line summary."""
    width = max(len(verb) for _, verbs in GROUPS for verb in verbs) + 2
    return "\n\n".join(
        f"{title}:\n"
        + "\n".join(f"  {verb:<{width}}{sub.choices[verb].description}" for verb in verbs)
        for title, verbs in GROUPS
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        usage=f"{PROG} [OPTIONS] VERB [ARGS]",
        description="Switch claude-mem's LLM backend between declared, validated profiles.",
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
    # The verbs are listed by group in the epilog, not in one flat list.
    sub = parser.add_subparsers(
        dest="verb",
        metavar="VERB",
        required=True,
        help=argparse.SUPPRESS,
        prog=PROG,
        parser_class=argparse.ArgumentParser,
    )

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
            f"  {PROG} use corporate\n  {PROG} use gemini --dry-run\n"
            f"  {PROG} use -   # back to the previous profile\n"
            f"  {PROG} use     # pick from a numbered list",
        ),
        ("diff", "show what switching to a profile would change", f"  {PROG} diff bedrock-shim"),
    ):
        p = _verb(sub, verb, summary, example)
        p.add_argument(
            "name",
            nargs="?",
            help="profile name; '-' for the previous one; none to pick one on a terminal",
        )
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
            "--no-input",
            action="store_true",
            help="never prompt: fail on a missing secret, and on a missing name",
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
    name_help = "secret name, as a profile's {keyring: NAME} refers to it"
    sp = _verb(
        ssub,
        "set",
        "store a secret (hidden prompt, or the value piped on stdin)",
        f'  {PROG} secret set corp-gateway\n  printf %s "$KEY" | {PROG} secret set corp-gateway',
    )
    sp.add_argument("secret_name", metavar="NAME", help=name_help)
    # Caught so a value typed on the command line is refused, not echoed by argparse's error.
    sp.add_argument("secret_value", nargs="?", help=argparse.SUPPRESS)
    sp = _verb(
        ssub,
        "get",
        "tell whether a secret is stored; --reveal prints it",
        f"  {PROG} secret get corp-gateway",
    )
    sp.add_argument("secret_name", metavar="NAME", help=name_help)
    sp.add_argument("--reveal", action="store_true", help="print the value itself")
    sp = _verb(
        ssub,
        "list",
        "every secret the profiles reference, stored or missing",
        f"  {PROG} secret list --json",
    )
    _json_option(sp)
    sp = _verb(ssub, "rm", "remove a secret from the keyring", f"  {PROG} secret rm corp-gateway")
    sp.add_argument("secret_name", metavar="NAME", help=name_help)

    p = _verb(
        sub, "doctor", "check the keyring, the data dir and the environment", f"  {PROG} doctor"
    )
    _json_option(p)

    _completion_verbs(sub)
    parser.epilog = (
        f"{_grouped_verbs(sub)}\n\nexamples:\n  {PROG} use corporate\n  {PROG} use --help\n\n"
        f"Run '{PROG} VERB --help' for a verb's options."
    )
    return parser


def _completion_verbs(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = _verb(
        sub,
        "completion",
        "print a shell completion script for verbs, options, profile and secret names",
        f"  {PROG} completion bash > ~/.local/share/bash-completion/completions/{PROG}\n"
        f"  {PROG} completion zsh > ~/.zfunc/_{PROG}\n"
        f"  {PROG} completion fish > ~/.config/fish/completions/{PROG}.fish",
    )
    p.add_argument("shell", choices=("bash", "zsh", "fish"), help="the shell to complete for")
    # Hidden (no help): the completion scripts call it for names, so it must stay cheap.
    p = sub.add_parser(HIDDEN)
    p.add_argument("kind", choices=("profiles", "secrets"))


def run(args: argparse.Namespace) -> int:
    module = importlib.import_module(f"cmem_profiles.commands.{COMMANDS[args.verb]}")
    result: int = module.run(args)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = run(args)
        sys.stdout.flush()  # inside the handlers: a closed pipe must not surface at exit
        return code
    except CmemProfileError as err:
        print(f"{PROG}: {style('error', '31', sys.stderr)}: {err.message}", file=sys.stderr)
        if err.hint:
            print(f"hint: {err.hint}", file=sys.stderr)
        return err.exit_code
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
