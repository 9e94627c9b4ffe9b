"""Shell completion scripts for bash, zsh and fish, generated from the argparse parser.

The parser is walked into one table of rows: for a verb path ("" for the top level,
"secret set" for a nested verb) and a slot, what may come next. Slots: `sub` (the verbs
below), `opts` (the options), an option that takes a value (`--data-dir`), or a positional
(`@0`, `@1`, `@*` for one that repeats). Each shell gets the same table in its own syntax
and a fixed driver that walks the words typed so far; profile and secret names come from the
hidden `__complete` verb at the time of completion.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Callable
from dataclasses import dataclass

# A positional with one of these dests completes names known at completion time.
DYNAMIC = {"name": "profiles", "secret_name": "secrets"}
PATHS = {"DIR": "dirs", "FILE": "files"}


@dataclass(frozen=True)
class Row:
    """What completes in one slot of one verb: a kind, and for `words` the words themselves."""

    path: str
    slot: str
    kind: str  # words | profiles | secrets | dirs | files | none
    words: tuple[tuple[str, str], ...] = ()  # (word, description)


def table(parser: argparse.ArgumentParser) -> list[Row]:
    """Every row of the parser and of each verb below it; hidden verbs (`__…`) are left out."""
    rows: list[Row] = []
    _walk(parser, "", rows)
    return rows


def _walk(parser: argparse.ArgumentParser, path: str, rows: list[Row]) -> None:
    options: list[tuple[str, str]] = []
    positionals: list[argparse.Action] = []
    below: list[tuple[str, argparse.ArgumentParser]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            below = [(n, p) for n, p in action.choices.items() if not n.startswith("_")]
        elif action.help == argparse.SUPPRESS:
            continue
        elif action.option_strings:
            options += [(flag, action.help or "") for flag in action.option_strings]
            if action.nargs != 0:  # takes a value
                rows += [_values(path, flag, action) for flag in action.option_strings]
        else:
            positionals.append(action)
    rows.append(Row(path, "opts", "words", tuple(options)))
    for index, action in enumerate(positionals):
        repeats = index == len(positionals) - 1 and action.nargs in ("*", "+")
        rows.append(_values(path, "@*" if repeats else f"@{index}", action))
    if below:
        rows.append(Row(path, "sub", "words", tuple((n, p.description or "") for n, p in below)))
    for name, verb in below:
        _walk(verb, f"{path} {name}".strip(), rows)


def _values(path: str, slot: str, action: argparse.Action) -> Row:
    if action.choices:
        return Row(path, slot, "words", tuple((str(c), "") for c in action.choices))
    if action.dest in DYNAMIC:
        return Row(path, slot, DYNAMIC[action.dest])
    metavar = action.metavar if isinstance(action.metavar, str) else ""
    return Row(path, slot, PATHS.get(metavar, "none"))


def render(shell: str, parser: argparse.ArgumentParser) -> str:
    """The completion script of `parser.prog` for bash, zsh or fish."""
    rows = table(parser)
    if shell == "bash":
        walk = _SH_WALK.replace("@FIRST@", "1").replace("@CWORD@", "COMP_CWORD")
        script = BASH.replace("@WALK@", walk.replace("@WORD@", '"${COMP_WORDS[i]}"'))
        text = _sh_table(rows, lambda w, _: w)
    elif shell == "zsh":
        walk = _SH_WALK.replace("@FIRST@", "2").replace("@CWORD@", "CURRENT")
        script = ZSH.replace("@WALK@", walk.replace("@WORD@", "${words[i]}"))
        # _describe takes `word:description`; a colon in the word itself is escaped
        text = _sh_table(rows, lambda w, d: w.replace(":", "\\:") + (f":{d}" if d else ""))
    else:
        script, text = FISH, _fish_table(rows)
    script = script.replace("@SPEC@", _SH_SPEC).replace("@PROG@", parser.prog)
    return script.replace("@TABLE@", text)


def _pattern(row: Row) -> str:
    """The case pattern of a row; `@*` stays a glob, so it must come after the exact indexes."""
    if row.slot == "@*":
        return shlex.quote(f"{row.path}|@") + "*"
    return shlex.quote(f"{row.path}|{row.slot}")


def _sh_table(rows: list[Row], word: Callable[[str, str], str]) -> str:
    lines = []
    for row in rows:
        words = " ".join(shlex.quote(word(w, d)) for w, d in row.words)
        body = f"kind={row.kind}" + (f"; cands=({words})" if row.words else "")
        lines.append(f"        {_pattern(row)}) {body} ;;")
    return "\n".join(lines)


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _fish_table(rows: list[Row]) -> str:
    lines = []
    for row in rows:
        pattern = _fish_quote(f"{row.path}|{row.slot}")
        lines.append(f"        case {pattern}\n            echo {row.kind}")
        if row.words:
            pairs = " ".join(f"{_fish_quote(w)} {_fish_quote(d)}" for w, d in row.words)
            lines.append(f"            printf '%s\\t%s\\n' {pairs}")
    return "\n".join(lines)


# The three drivers walk the words before the cursor the same way: an option that takes a
# value swallows the next word (bash splits `--opt=value` at `=`), a verb name extends the
# path while no positional has been seen, anything else is the next positional. Top-level
# options with values (--profiles-dir) are passed on to `__complete`, so names come from the
# same search path the command will use. Placeholders are @NAME@, so the shell's braces stay.

_SH_SPEC = """\
_cmem_profile_spec() {
    kind="" cands=()
    case "$1|$2" in
@TABLE@
    esac
}
"""

# bash and zsh share the walk; each supplies its words (@WORD@), the first index and the cursor.
_SH_WALK = """\
    for ((i = @FIRST@; i < @CWORD@; i++)); do
        w=@WORD@
        if [[ -n $want ]]; then
            [[ $w == "=" ]] && continue
            [[ -z $at ]] && passed+=("$want" "$w")
            want=""
            continue
        fi
        case $w in
            --*=*)
                _cmem_profile_spec "$at" "${w%%=*}"
                [[ -n $kind && -z $at ]] && passed+=("$w") ;;
            -?*)
                _cmem_profile_spec "$at" "$w"
                [[ -n $kind ]] && want=$w ;;
            *)
                _cmem_profile_spec "$at" sub
                verb=""
                for c in "${cands[@]}"; do [[ ${c%%:*} == "$w" ]] && verb=$w; done
                if [[ $npos == 0 && -n $verb ]]; then
                    at="${at:+$at }$w"
                else
                    npos=$((npos + 1))
                fi ;;
        esac
    done
    if [[ -n $want ]]; then
        _cmem_profile_spec "$at" "$want"
    elif [[ $cur == -* ]]; then
        _cmem_profile_spec "$at" opts
    else
        _cmem_profile_spec "$at" sub
        [[ $npos != 0 || $kind != words ]] && _cmem_profile_spec "$at" "@$npos"
    fi
"""

BASH = """\
# bash completion for @PROG@; generated from its parser by `@PROG@ completion bash`.

@SPEC@
_cmem_profile_reply() {
    local line
    while IFS= read -r line; do COMPREPLY+=("$line"); done < <("$@")
}

_cmem_profile_names() {
    command @PROG@ ${passed[@]+"${passed[@]}"} __complete "$kind" 2>/dev/null
}

_cmem_profile() {
    local cur="${COMP_WORDS[COMP_CWORD]}" at="" npos=0 want="" w i c verb kind
    local -a cands passed=()
    COMPREPLY=()
@WALK@    case $kind in
        words) _cmem_profile_reply compgen -W "${cands[*]}" -- "$cur" ;;
        profiles | secrets) _cmem_profile_reply compgen -W "$(_cmem_profile_names)" -- "$cur" ;;
        dirs) compopt -o filenames 2>/dev/null; _cmem_profile_reply compgen -d -- "$cur" ;;
        files) compopt -o filenames 2>/dev/null; _cmem_profile_reply compgen -f -- "$cur" ;;
    esac
}

complete -F _cmem_profile @PROG@
"""

ZSH = """\
#compdef @PROG@
# zsh completion for @PROG@; generated from its parser by `@PROG@ completion zsh`.

@SPEC@
_cmem_profile() {
    emulate -L zsh
    local cur=$PREFIX at="" npos=0 want="" w i c verb kind
    local -a cands passed names
@WALK@    case $kind in
        words) _describe -t values value cands ;;
        profiles | secrets)
            names=(${(f)"$(command @PROG@ "${passed[@]}" __complete $kind 2>/dev/null)"})
            compadd -a names ;;
        dirs) _files -/ ;;
        files) _files ;;
    esac
}

# Autoloaded from $fpath the file is the function itself; sourced, it registers one.
if [[ ${funcstack[1]-} == _@PROG@ ]]; then
    _cmem_profile "$@"
else
    compdef _cmem_profile @PROG@
fi
"""

FISH = r"""# fish completion for @PROG@; generated from its parser by `@PROG@ completion fish`.

function __cmem_profile_spec
    switch "$argv[1]|$argv[2]"
@TABLE@
    end
end

function __cmem_profile_complete
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l at ''
    set -l npos 0
    set -l want ''
    set -l passed
    set -l spec
    for w in $tokens
        if test -n "$want"
            test -z "$at"; and set -a passed $want $w
            set want ''
        else if string match -q -- '--*=*' $w
            set spec (__cmem_profile_spec "$at" (string split -m 1 = -- $w)[1])
            if set -q spec[1]; and test -z "$at"
                set -a passed $w
            end
        else if string match -q -- '-*' $w; and test "$w" != -
            set spec (__cmem_profile_spec "$at" $w)
            set -q spec[1]; and set want $w
        else
            set spec (__cmem_profile_spec "$at" sub)
            if test $npos -eq 0; and contains -- $w (string split -f 1 \t -- $spec[2..])
                set at (string trim -- "$at $w")
            else
                set npos (math $npos + 1)
            end
        end
    end
    set -l cur (commandline -ct)
    if test -n "$want"
        set spec (__cmem_profile_spec "$at" $want)
    else if string match -q -- '-*' $cur
        set spec (__cmem_profile_spec "$at" opts)
    else
        set spec (__cmem_profile_spec "$at" sub)
        if test $npos -ne 0; or test "$spec[1]" != words
            set spec (__cmem_profile_spec "$at" @$npos)
        end
    end
    switch "$spec[1]"
        case words
            printf '%s\n' $spec[2..]
        case profiles secrets
            command @PROG@ $passed __complete $spec[1] 2>/dev/null
        case dirs
            __fish_complete_directories $cur
        case files
            __fish_complete_path $cur
    end
end

complete -c @PROG@ -f -a '(__cmem_profile_complete)'
"""
