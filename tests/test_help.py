"""Help for every verb (summary, options, example), verbs grouped, color only where it belongs."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO
from terminal import run_in_pty

from cmem_profiles.main import COMMANDS, GROUPS, PROG, build_parser, main

ESCAPE = re.compile(r"\x1b|\033|\\x1b|\\033|\\u001b|\\e\[")


def _verbs(
    parser: argparse.ArgumentParser, path: str = PROG
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every verb and sub-verb parser with its command path, hidden (`__…`) verbs left out."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, verb in action.choices.items():
                if not name.startswith("_"):
                    yield from _verbs(verb, f"{path} {name}")


VERBS = list(_verbs(build_parser()))


@pytest.mark.parametrize(("path", "parser"), VERBS, ids=[path for path, _ in VERBS])
def test_every_verb_has_a_summary_explained_options_and_an_example(
    path: str, parser: argparse.ArgumentParser
) -> None:
    summary = parser.description or ""
    assert summary and "\n" not in summary and len(summary) <= 90, "one-line summary"
    for action in parser._actions:
        if action.help == argparse.SUPPRESS or isinstance(action, argparse._SubParsersAction):
            continue
        assert action.help, f"{path}: {action.option_strings or action.dest} is not explained"
    examples = (parser.epilog or "").split("examples:\n", 1)
    assert len(examples) == 2, f"{path}: no examples"
    assert any(line.startswith(f"  {path}") for line in examples[1].splitlines()), path


def test_verbs_of_the_parser_are_the_commands_each_in_one_group() -> None:
    (sub,) = (a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert set(sub.choices) == set(COMMANDS)
    grouped = [verb for _, verbs in GROUPS for verb in verbs]
    assert sorted(grouped) == sorted(v for v in COMMANDS if not v.startswith("_"))
    assert len({title for title, _ in GROUPS}) == len(GROUPS)


def test_top_level_help_lists_each_verb_under_its_group(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    parsers = dict(VERBS)
    for title, verbs in GROUPS:
        block = out.split(f"\n{title}:\n", 1)[1].split("\n\n", 1)[0].splitlines()
        assert [line.split()[0] for line in block] == list(verbs)
        for line, verb in zip(block, verbs, strict=True):
            assert line.endswith(parsers[f"{PROG} {verb}"].description or "?")
    assert "__complete" not in out


def test_only_the_output_module_writes_escape_codes() -> None:
    for path in (REPO / "cmem_profiles").rglob("*.py"):
        if path.name != "output.py":
            assert not ESCAPE.search(path.read_text()), f"{path}: color outside output.style"


PTY_RUNS = [
    ["--help"],
    ["use", "--help"],
    ["list"],
    ["validate"],
    ["use", "no-such-profile"],  # an error: colored on a terminal
    ["use"],  # the picker, cancelled
]


@pytest.mark.parametrize("argv", PTY_RUNS, ids=" ".join)
def test_no_color_means_no_escape_codes_even_on_a_terminal(
    argv: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("TERM", "xterm-256color")
    cli = [sys.executable, "-m", "cmem_profiles", "--profiles-dir", str(REPO / "profiles")]
    _, transcript = run_in_pty([*cli, *argv], ["\x04"])
    assert "\x1b" not in transcript


def test_color_on_a_terminal_without_no_color(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The counterpart of the test above, so that one can fail."""
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("TERM", "xterm-256color")
    cli = [sys.executable, "-m", "cmem_profiles", "--profiles-dir", str(REPO / "profiles")]
    _, transcript = run_in_pty([*cli, "use", "no-such-profile"], [])
    assert "\x1b[31merror\x1b[0m" in transcript
    assert main(["--profiles-dir", str(REPO / "profiles"), "use", "subscription"]) == 0
    _, transcript = run_in_pty([*cli, "use"], ["\x04"])
    assert "\x1b[32m*\x1b[0m" in transcript


def test_no_color_when_not_a_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("NO_COLOR")
    assert main(["use", "no-such-profile"]) == 1
    assert "\x1b" not in capsys.readouterr().err


def test_an_unknown_verb_names_the_verbs_but_not_the_hidden_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["frobnicate"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'frobnicate' (choose from 'list'," in err
    assert "__complete" not in err
