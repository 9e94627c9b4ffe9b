"""Completion scripts, driven in real shells: bash, zsh and fish complete verbs, options, names."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO
from terminal import Reply, run_in_pty

from cmem_profiles.completion import render, table
from cmem_profiles.main import COMMANDS, build_parser, main

PROFILES = REPO / "profiles"
BIN = Path(sys.executable).parent
VERBS = sorted(v for v in COMMANDS if not v.startswith("_"))


def _shell(name: str) -> str:
    """The shell's path; CI must have it, a local run without it skips."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is not installed; .ci/run installs it")
        pytest.skip(f"{name} is not installed")
    return path


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The installed cmem-profile first on PATH, and the bundled profiles as the search path."""
    assert (BIN / "cmem-profile").exists(), "install the package: pip install -e '.[test]'"
    monkeypatch.setenv("PATH", os.pathsep.join([str(BIN), os.environ.get("PATH", "")]))
    monkeypatch.setenv("CMEM_PROFILES_PATH", str(PROFILES))
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setenv("INPUTRC", os.devnull)
    return dict(os.environ)


def _run(
    argv: list[str], env: dict[str, str] | None = None, *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=env, capture_output=True, text=True, check=check)


def _script(shell: str, tmp_path: Path, parser: argparse.ArgumentParser | None = None) -> Path:
    path = tmp_path / f"completion.{shell}"
    path.write_text(render(shell, parser or build_parser()))
    return path


def _bash_complete(script: Path, words: list[str], env: dict[str, str]) -> list[str]:
    """COMPREPLY after sourcing the script and calling its function on `cmem-profile WORDS`."""
    line = " ".join(f"'{w}'" for w in ["cmem-profile", *words])
    probe = (
        f"source '{script}'\n"
        f"COMP_WORDS=({line}); COMP_CWORD={len(words)}\n"
        "_cmem_profile\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    result = _run([_shell("bash"), "--norc", "--noprofile", "-c", probe], env)
    assert result.stderr == ""
    return [w for w in result.stdout.splitlines() if w]


def test_the_script_registers_a_function_for_cmem_profile(
    tmp_path: Path, env: dict[str, str]
) -> None:
    script = _script("bash", tmp_path)
    result = _run(
        [_shell("bash"), "--norc", "-c", f"source '{script}'; complete -p cmem-profile"], env
    )
    assert result.stdout == "complete -F _cmem_profile cmem-profile\n"


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["use", "co"], ["corporate"]),
        (["diff", "bed"], ["bedrock-shim"]),
        (["show", "s"], ["subscription"]),
        ([""], VERBS),
        (["sec"], ["secret"]),
        (["__"], []),  # the hidden verb is never offered
        (["secret", ""], ["set", "get", "list", "rm"]),
        (["secret", "get", "corp"], ["corp-gateway"]),
        (["secret", "rm", "third"], ["third-party-token"]),
        (["use", "--d"], ["--dry-run"]),
        (["current", "--"], ["--help", "--short", "--check", "--json"]),
        (["--data-dir", "/tmp", "us"], ["use"]),
        (["-v", "use", "sub"], ["subscription"]),
        (["use", "corporate", ""], []),  # one name only
        (["completion", ""], ["bash", "zsh", "fish"]),
        (["rollback", ""], []),
    ],
)
def test_bash_completes(
    words: list[str], expected: list[str], tmp_path: Path, env: dict[str, str]
) -> None:
    assert sorted(_bash_complete(_script("bash", tmp_path), words, env)) == sorted(expected)


def test_names_come_from_the_profiles_dir_on_the_line(tmp_path: Path, env: dict[str, str]) -> None:
    team = tmp_path / "team"
    team.mkdir()
    (team / "corp-east.yaml").write_text("description: x\n")
    script = _script("bash", tmp_path)
    assert _bash_complete(script, ["--profiles-dir", str(team), "use", "co"], env) == ["corp-east"]
    # bash splits `--profiles-dir=DIR` at the '='
    assert _bash_complete(script, ["--profiles-dir", "=", str(team), "use", ""], env) == [
        "corp-east"
    ]


def test_paths_complete_as_files_and_directories(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "data-here").mkdir()
    (tmp_path / "data-file").write_text("")
    script = _script("bash", tmp_path)
    assert _bash_complete(script, ["--data-dir", str(tmp_path / "data-")], env) == [
        str(tmp_path / "data-here")
    ]
    assert sorted(_bash_complete(script, ["validate", str(tmp_path / "data-")], env)) == [
        str(tmp_path / "data-file"),
        str(tmp_path / "data-here"),
    ]


def test_a_verb_added_to_the_parser_completes_with_no_change_to_the_generator(
    tmp_path: Path, env: dict[str, str]
) -> None:
    parser = argparse.ArgumentParser(prog="cmem-profile")
    sub = parser.add_subparsers(dest="verb")
    team = sub.add_parser("team", description="team things")
    tsub = team.add_subparsers(dest="team_verb")
    adopt = tsub.add_parser("adopt", description="adopt a profile")
    adopt.add_argument("name", help="profile name")
    adopt.add_argument("--as", dest="alias", choices=("lead", "member"), help="role")
    script = _script("bash", tmp_path, parser)
    assert _bash_complete(script, ["te"], env) == ["team"]
    assert _bash_complete(script, ["team", ""], env) == ["adopt"]
    assert _bash_complete(script, ["team", "adopt", "co"], env) == ["corporate"]
    assert _bash_complete(script, ["team", "adopt", "--as", "l"], env) == ["lead"]
    assert _bash_complete(script, ["team", "adopt", "--as", "lead", "co"], env) == ["corporate"]


def test_the_table_walks_every_verb_of_the_real_parser() -> None:
    paths = {row.path for row in table(build_parser())}
    nested = {
        f"{verb} {action}"
        for verb, actions in (
            ("secret", ("set", "get", "list", "rm")),
            ("repo", ("add", "list", "rm")),
        )
        for action in actions
    }
    assert paths == {"", *VERBS, *nested}


def _complete_names(capsys: pytest.CaptureFixture[str], *argv: str) -> list[str]:
    assert main([*argv]) == 0
    return capsys.readouterr().out.split()


def test_profile_names_come_from_a_listing_without_overlays_or_duplicates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for directory in (first, second):
        directory.mkdir()
        (directory / "corporate.yaml").write_text("not: [valid")  # never parsed
    (first / "corporate.local.yaml").write_text("model: mine\n")
    (second / "gemini.yaml").write_text("")
    (second / "README.md").write_text("")
    dirs = ["--profiles-dir", str(first), "--profiles-dir", str(second)]
    assert _complete_names(capsys, *dirs, "__complete", "profiles") == ["corporate", "gemini"]


def test_profile_names_do_not_load_yaml_jsonschema_or_keyring(env: dict[str, str]) -> None:
    probe = (
        "import sys\n"
        "from cmem_profiles.main import main\n"
        "main(['__complete', 'profiles'])\n"
        "print(sorted(m for m in ('yaml', 'jsonschema', 'keyring') if m in sys.modules))\n"
    )
    result = _run([sys.executable, "-c", probe], env)
    assert result.stdout.splitlines()[-1] == "[]"
    assert "corporate" in result.stdout.splitlines()


def test_secret_names_are_the_keyring_references_of_the_profiles(
    capsys: pytest.CaptureFixture[str],
) -> None:
    names = _complete_names(capsys, "--profiles-dir", str(PROFILES), "__complete", "secrets")
    assert "corp-gateway" in names
    assert "local-no-key" not in names  # a command reference is no keyring secret


def test_completion_prints_a_script_for_each_shell(capsys: pytest.CaptureFixture[str]) -> None:
    for shell in ("bash", "zsh", "fish"):
        assert main(["completion", shell]) == 0
        assert capsys.readouterr().out == render(shell, build_parser())


def test_zsh_script_parses(tmp_path: Path) -> None:
    result = _run([_shell("zsh"), "-n", str(_script("zsh", tmp_path))], check=False)
    assert (result.returncode, result.stderr) == (0, "")


def test_fish_script_parses(tmp_path: Path) -> None:
    result = _run([_shell("fish"), "--no-execute", str(_script("fish", tmp_path))], check=False)
    assert (result.returncode, result.stderr) == (0, "")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("cmem-profile use co", ["corporate"]),
        ("cmem-profile sec", ["secret\tstore, inspect and remove secrets in the OS keyring"]),
        ("cmem-profile secret get corp", ["corp-gateway"]),
        ("cmem-profile use --dr", ["--dry-run\tshow the plan, write nothing"]),
        ("cmem-profile use corporate ", []),
        ("cmem-profile completion z", ["zsh"]),
    ],
)
def test_fish_completes(
    line: str, expected: list[str], tmp_path: Path, env: dict[str, str]
) -> None:
    script = _script("fish", tmp_path)
    result = _run(
        [_shell("fish"), "--no-config", "-c", f"source '{script}'; complete -C '{line}'"], env
    )
    assert result.stdout.splitlines() == expected


def _type_tab(argv: list[str], ready: str) -> str:
    """Start an interactive shell, type `cmem-profile use co<TAB>`, and return the line."""
    code, transcript = run_in_pty(
        argv,
        [
            Reply(ready, "cmem-profile use co\t"),
            # Ctrl-A, to the start of the line; the output "RESULT42 …" differs from the echo
            Reply("corporate", "\x01echo RESULT$((6 * 7)) \r"),
            Reply("RESULT42 ", "exit\r"),
        ],
    )
    assert code == 0, transcript
    found = re.search(r"RESULT42 ([^\r\n]*)", transcript)
    assert found, transcript
    return found.group(1).strip()


def test_tab_in_an_interactive_bash(tmp_path: Path, env: dict[str, str]) -> None:
    rc = tmp_path / "bashrc"
    rc.write_text(f"PS1='READY> '\nsource '{_script('bash', tmp_path)}'\n")
    line = _type_tab([_shell("bash"), "--noprofile", "--rcfile", str(rc), "-i"], "READY> ")
    assert line == "cmem-profile use corporate"


@pytest.mark.parametrize("install", ["fpath", "source"])
def test_tab_in_an_interactive_zsh(
    install: str, tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's two ways: the script as `_cmem-profile` in $fpath, or sourced."""
    functions = tmp_path / "zfunc"
    functions.mkdir()
    script = _script("zsh", tmp_path)
    rc = ["PS1='READY> '", "bindkey -e"]
    if install == "fpath":
        shutil.copy(script, functions / "_cmem-profile")
        rc += [f"fpath=({functions} $fpath)", "autoload -U compinit && compinit -u -D"]
    else:
        rc += ["autoload -U compinit && compinit -u -D", f"source '{script}'"]
    (tmp_path / ".zshrc").write_text("\n".join(rc) + "\n")
    monkeypatch.setenv("ZDOTDIR", str(tmp_path))
    assert _type_tab([_shell("zsh"), "-i"], "READY> ") == "cmem-profile use corporate"


def _readme_block(language: str) -> str:
    """The README's prompt snippet for a shell."""
    prompt = (REPO / "README.md").read_text().split("### Prompt", 1)[1].split("\n## ", 1)[0]
    found = re.search(rf"```{language}\n(.*?)```", prompt, re.S)
    assert found, f"no {language} block under ### Prompt"
    return found.group(1)


@pytest.mark.parametrize(
    ("shell", "show"),
    [
        ("bash", "PS1='$ '\n{snippet}printf '%s' \"${{PS1@P}}\""),
        ("zsh", "PROMPT='$ '\n{snippet}print -rnP -- \"$PROMPT\""),
    ],
)
def test_readme_prompt_snippet_shows_the_active_profile(
    shell: str, show: str, env: dict[str, str]
) -> None:
    probe = show.format(snippet=_readme_block(shell))

    def prompt() -> str:
        argv = [_shell(shell), "-f" if shell == "zsh" else "--norc", "-c", probe]
        return _run(argv, env).stdout

    assert prompt() == "$ "
    assert main(["--profiles-dir", str(PROFILES), "use", "subscription"]) == 0
    assert prompt() == "[subscription] $ "
