"""Command-line wiring: the parser, dispatch to one module per verb, and the error handler."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence

from cmem_profiles import __version__
from cmem_profiles.errors import CmemProfileError
from cmem_profiles.output import style

# Not `from typing import ...` at run time: `current` runs in shell prompts.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NoReturn

PROG = "cmem-profile"

HIDDEN = "__complete"  # lists names for the completion scripts; not in help or completion

# verb -> module under cmem_profiles.commands; imported only when that verb runs, so a
# fast verb like `current` never pays for YAML, jsonschema or keyring.
COMMANDS = {
    "list": "list_profiles",
    "show": "show",
    "explain": "explain",
    "validate": "validate",
    "use": "use",
    "diff": "use",
    "current": "current",
    "history": "history",
    "rollback": "rollback",
    "secret": "secret",
    "doctor": "doctor",
    "trust": "trust",
    "import": "import_profile",
    "init": "init_repo",
    "repo": "repo",
    "completion": "completion",
    HIDDEN: "completion",
    "worker": "worker",
    "test": "test_endpoint",
}

GROUPS = (
    ("switching", ("use", "diff", "current", "history", "rollback")),
    ("profiles", ("list", "show", "explain", "validate")),
    ("secrets", ("secret", "trust", "doctor")),
    ("team", ("init", "repo", "import")),
    ("shell", ("completion",)),
    ("worker", ("worker", "test")),
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # The hidden verb is for the completion scripts, not for people to choose from.
        super().error(message.replace(f", {HIDDEN!r}", ""))


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


def _verb(
    sub: _Verbs | argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    summary: str,
    examples: str,
    details: str = "",
) -> argparse.ArgumentParser:
    return sub.add_parser(
        name,
        help=summary,
        description=summary,
        epilog=f"{details}\n\n" * bool(details) + f"examples:\n{examples}",
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


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every verb, or of verb ONLY alone (the same result for ONLY's argv)."""
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
    sub = _Verbs(
        parser.add_subparsers(
            dest="verb",
            metavar="VERB",
            required=True,
            help=argparse.SUPPRESS,
            prog=PROG,
            parser_class=argparse.ArgumentParser,
        ),
        only,
    )
    _profile_verbs(sub)
    _switching_verbs(sub)
    _secret_verbs(sub)
    _team_verbs(sub)
    _import_parser(sub)
    _completion_verbs(sub)
    _worker_verbs(sub)
    if only is not None:
        return parser  # one verb's parser: the grouped list of every verb is not needed
    parser.epilog = (
        f"{_grouped_verbs(sub.action)}\n\n"
        f"examples:\n  {PROG} use corporate\n  {PROG} use --help\n\n"
        f"Run '{PROG} VERB --help' for a verb's options."
    )
    return parser


def _profile_verbs(sub: _Verbs) -> None:
    """list, show, explain, validate."""
    p = _verb(sub, "list", "list the profiles and mark the active one", f"  {PROG} list --json")
    p.add_argument(
        "--all", action="store_true", help="also list abstract profiles (shared defaults)"
    )
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
        "explain",
        "show each key a profile renders, its value and the file and line that set it",
        f"  {PROG} explain corporate\n  {PROG} explain corporate CLAUDE_MEM_MODEL",
    )
    p.add_argument("name", help="profile name (abstract profiles too)")
    p.add_argument("key", nargs="?", help="only this claude-mem key, e.g. CLAUDE_MEM_MODEL")
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


def _switching_verbs(sub: _Verbs) -> None:
    """use, diff, current, history, rollback."""
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
                "--trust",
                action="store_true",
                help="agree to send the profile's secrets to its host though they never went there",
            )
            _verify_options(p)
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


def _secret_verbs(sub: _Verbs) -> None:
    """secret and doctor."""
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
        sub,
        "trust",
        "allow a profile's secrets to go to its endpoint host; list or revoke such pairs",
        f"  {PROG} trust corporate\n  {PROG} trust --list\n  {PROG} trust --revoke corporate",
    )
    p.add_argument("name", nargs="?", help="profile whose secrets may go to its host")
    p.add_argument("--list", action="store_true", help="show every secret and host pair")
    p.add_argument(
        "--revoke", action="store_true", help="remove the pairs of NAME's secrets and its host"
    )
    _json_option(p)

    p = _verb(
        sub, "doctor", "check the keyring, the data dir and the environment", f"  {PROG} doctor"
    )
    _json_option(p)


def _import_parser(sub: _Verbs) -> None:
    p = _verb(
        sub,
        "import",
        "turn the live claude-mem files (or Claude Code's settings) into a profile",
        f"  {PROG} import mine --dry-run\n  {PROG} import mine\n"
        f"  {PROG} import glm --from-claude-code\n"
        f"  {PROG} import team-bridge --project ~/src/app --to profiles",
        "Read claude-mem's .env and settings.json, write profiles/NAME.yaml that renders to\n"
        "exactly those keys, store each secret in the OS keyring as NAME-api-key or\n"
        "NAME-auth-token, check that 'diff NAME' would change nothing, and make NAME the\n"
        "active profile. With --from-claude-code, read the env block of Claude Code's\n"
        "settings instead; that profile is written but not switched to.",
    )

    p.add_argument("name", help="name of the new profile (lowercase letters, digits, '-')")
    p.add_argument(
        "--from-claude-code",
        action="store_true",
        help="read ANTHROPIC_* from the env block of Claude Code's settings "
        "($CLAUDE_CONFIG_DIR/settings.json, else ~/.claude/settings.json)",
    )
    p.add_argument(
        "--project",
        metavar="DIR",
        help="with --from-claude-code (implied): read DIR/.claude/settings.json and "
        "DIR/.claude/settings.local.json, the local file winning",
    )
    p.add_argument(
        "--to",
        metavar="DIR",
        help="write the profile into DIR (default: the first profile directory searched, "
        "./profiles when it exists, else the user's)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="replace secrets of the same names already in the keyring (never a profile file)",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print the profile and the secret names; store and write nothing",
    )
    _json_option(p)


def _team_verbs(sub: _Verbs) -> None:
    p = _verb(
        sub,
        "init",
        "create a team profile repository: an example profile, the schema, a pre-commit hook",
        f"  {PROG} init team-profiles",
    )
    p.add_argument("directory", metavar="DIR", help="the new repository (created when missing)")
    p.add_argument(
        "--hook-repo",
        metavar="URL",
        help="fetch the pre-commit hook from cmem-profile's repository at URL (or a mirror); "
        "default: run the cmem-profile each person has installed",
    )
    p.add_argument(
        "--hook-rev",
        metavar="REV",
        help="with --hook-repo: the tag or commit to use",
    )

    p = _verb(
        sub,
        "repo",
        "register team profile repositories; their profiles/ joins the search path",
        f"  {PROG} repo add ~/src/team-profiles\n"
        f"  {PROG} repo add https://git.example.com/platform/team-profiles.git\n"
        f"  {PROG} repo list",
    )
    rsub = p.add_subparsers(dest="repo_verb", metavar="ACTION", required=True)
    rp = _verb(
        rsub,
        "add",
        "register a clone's directory, or clone a git URL with your git and register it",
        f"  {PROG} repo add ~/src/team-profiles\n"
        f"  {PROG} repo add git@git.example.com:platform/team-profiles.git --name team",
    )
    rp.add_argument("source", metavar="PATH|URL", help="a clone's top directory, or a git URL")
    rp.add_argument("--name", help="the repository's name (default: from the directory or URL)")
    rp = _verb(
        rsub,
        "list",
        "registered repositories: path, git commit, clean or dirty, profile count",
        f"  {PROG} repo list --json",
    )
    _json_option(rp)
    rp = _verb(
        rsub,
        "rm",
        "stop searching a repository (its files are kept)",
        f"  {PROG} repo rm team",
    )
    rp.add_argument("repo_name", metavar="NAME", help="the repository's name in 'repo list'")


def _completion_verbs(sub: _Verbs) -> None:
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


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds (0 to 3600)")
    return value


def _verify_options(p: argparse.ArgumentParser) -> None:
    """`use` asks the running worker which backend it uses after the switch."""
    p.add_argument(
        "--no-verify",
        action="store_true",
        help="do not ask the running claude-mem worker which backend it uses now",
    )
    p.add_argument(
        "--restart",
        action="store_true",
        help="restart the claude-mem worker after the switch (needed for keys it reads "
        "only at start: port, host, data dir, Chroma, queue, log level)",
    )


def _worker_verbs(sub: _Verbs) -> None:
    """`worker` and `test`: the running claude-mem worker, and a profile's endpoint."""
    p = _verb(
        sub,
        "worker",
        "show the claude-mem worker's status, or restart it",
        f"  {PROG} worker\n  {PROG} worker restart",
    )
    p.add_argument(
        "action",
        nargs="?",
        choices=("status", "restart"),
        default="status",
        help="status (default): running or not, pid, port, version, provider, auth method; "
        "restart: restart it and wait until the new worker answers",
    )
    p.add_argument(
        "--timeout",
        type=_seconds,
        default=30.0,
        metavar="SECONDS",
        help="how long restart waits for the new worker (default: 30)",
    )
    _json_option(p)

    p = _verb(
        sub,
        "test",
        "send one minimal real request through a profile's endpoint",
        f"  {PROG} test corporate\n  {PROG} test gemini --timeout 5 --json",
    )
    p.add_argument("name", help="profile name")
    p.add_argument(
        "--timeout",
        type=_seconds,
        default=10.0,
        metavar="SECONDS",
        help="give up on an answer after SECONDS (default: 10)",
    )
    p.add_argument(
        "--base-url",
        metavar="URL",
        help="send the request to URL instead of the profile's endpoint (a staging gateway, "
        "a local proxy); the path is built as claude-mem builds it",
    )
    p.add_argument("--no-input", action="store_true", help="never prompt; fail on a missing secret")
    p.add_argument(
        "--trust",
        action="store_true",
        help="agree to send the profile's secrets to this host though they never went there",
    )
    _json_option(p)


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
