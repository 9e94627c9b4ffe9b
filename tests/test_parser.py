"""The parser built for the running verb alone reads every argv as the whole parser does."""

from __future__ import annotations

import pytest

from cmem_profiles.main import COMMANDS, build_parser, requested_verb


@pytest.mark.parametrize(
    ("argv", "verb"),
    [
        (["current"], "current"),
        (["-v", "--debug", "list", "--json"], "list"),
        (["--profiles-dir", "use", "list"], "list"),  # a directory named like a verb
        (["--data-dir=/tmp/d", "--profiles-dir", "p", "use", "x"], "use"),
        (["secret", "set", "name"], "secret"),
        ([], None),
        (["--help"], None),
        (["--help", "list"], None),  # the top-level help lists every verb
        (["--prof", "p", "list"], None),  # an abbreviation: the whole parser decides
        (["--version"], None),
        (["lsit"], None),  # a typo: the whole parser says which verbs exist
        (["--profiles-dir"], None),
    ],
)
def test_requested_verb(argv: list[str], verb: str | None) -> None:
    assert requested_verb(argv) == verb


@pytest.mark.parametrize(
    "argv",
    [
        ["current"],
        ["current", "--short", "--check"],
        ["--data-dir", "/tmp/d", "current", "--json"],
        ["-v", "list", "--json"],
        ["--profiles-dir", "a", "--profiles-dir=b", "validate", "x.yaml", "y.yaml"],
        ["use", "corporate", "--dry-run", "--force", "--no-input"],
        ["diff", "gemini", "--exit-code"],
        ["history", "--json"],
        ["rollback", "0"],
        ["secret", "set", "corp-gateway"],
        ["secret", "list", "--json"],
        ["doctor"],
        ["show", "corporate", "--json"],
    ],
    ids=" ".join,
)
def test_the_verb_alone_parses_as_the_whole_parser(argv: list[str]) -> None:
    verb = requested_verb(argv)
    assert verb is not None
    assert vars(build_parser(verb).parse_args(argv)) == vars(build_parser().parse_args(argv))


@pytest.mark.parametrize("verb", sorted(COMMANDS))
def test_each_verb_alone_has_the_same_help_and_errors(
    verb: str, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = []
    for parser in (build_parser(verb), build_parser()):
        for argv in ([verb, "--help"], [verb, "--no-such-option"]):
            with pytest.raises(SystemExit):
                parser.parse_args(argv)
            outputs.append(capsys.readouterr())
    assert outputs[:2] == outputs[2:]
    assert outputs[0].out.startswith(f"usage: cmem-profile {verb}")
