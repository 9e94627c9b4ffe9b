"""claude-mem's .env: the reading model pinned to real util.parseEnv, the editor, the write rule."""

from __future__ import annotations

import io
import json
import logging
import shutil
import string
import subprocess
from collections.abc import Callable, Iterator

import pytest
from dotenv import dotenv_values
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cmem_profiles.envfile import EnvDocument, check_value, parse_claude_mem, parse_dotenv
from cmem_profiles.errors import TargetError

NodeParse = Callable[[str], dict[str, str]]

# One node process answers every test: a JSON string per line in, parseEnv's object per line out.
NODE_SCRIPT = """
const { parseEnv } = require("util");
require("readline").createInterface({ input: process.stdin }).on("line", (line) => {
  process.stdout.write(JSON.stringify(parseEnv(JSON.parse(line))) + "\\n");
});
"""

SECRET = "s3cr3t"
SAFE_ALPHABET = string.ascii_letters + string.digits + "_.~+/:=@%,&?!*-"


@pytest.fixture(scope="module")
def node_parse() -> Iterator[NodeParse]:
    """util.parseEnv of the machine's node, as a function."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    with subprocess.Popen(
        [node, "-e", NODE_SCRIPT],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    ) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        stdin, stdout = proc.stdin, proc.stdout

        def parse(text: str) -> dict[str, str]:
            stdin.write(json.dumps(text) + "\n")
            stdin.flush()
            answer = stdout.readline()
            assert answer, "node exited"
            result: dict[str, str] = json.loads(answer)
            return result

        yield parse
        stdin.close()


READS = [
    pytest.param("KEY=v\n", {"KEY": "v"}, id="plain"),
    pytest.param("export KEY=v\n", {"KEY": "v"}, id="export"),
    pytest.param("KEY=abc#def\n", {"KEY": "abc"}, id="hash-without-space"),
    pytest.param("KEY=abc # note\n", {"KEY": "abc"}, id="inline-comment"),
    pytest.param("KEY=http://h/v1?x=1#frag\n", {"KEY": "http://h/v1?x=1"}, id="url-fragment"),
    pytest.param('KEY="a b#c"\n', {"KEY": "a b#c"}, id="double-quotes"),
    pytest.param("KEY='a b#c'\n", {"KEY": "a b#c"}, id="single-quotes"),
    pytest.param("KEY=`a b#c`\n", {"KEY": "a b#c"}, id="backticks"),
    pytest.param('KEY="  x  "\n', {"KEY": "  x  "}, id="quoted-spaces-kept"),
    pytest.param('KEY="x" # note\nB=2\n', {"KEY": "x", "B": "2"}, id="quoted-then-comment"),
    pytest.param('KEY="x" trailing\n', {"KEY": "x"}, id="quoted-then-text-dropped"),
    pytest.param("KEY=$HOME\nB=${HOME}\n", {"KEY": "$HOME", "B": "${HOME}"}, id="no-expansion"),
    pytest.param('KEY="a\\nb"\n', {"KEY": "a\nb"}, id="newline-escape-double"),
    pytest.param("KEY='a\\nb'\n", {"KEY": "a\\nb"}, id="newline-escape-single"),
    pytest.param("KEY=a\\nb\n", {"KEY": "a\\nb"}, id="newline-escape-bare"),
    pytest.param("KEY=1\nKEY=2\n", {"KEY": "2"}, id="duplicate-last-wins"),
    pytest.param("export KEY=1\nKEY=2\nKEY=3\n", {"KEY": "3"}, id="duplicate-export"),
    pytest.param("# KEY=1\nKEY=2\n# KEY=3\n", {"KEY": "2"}, id="comments"),
    pytest.param("\n\nA=1\n\n\nB=2\n\n", {"A": "1", "B": "2"}, id="blank-lines"),
    pytest.param("A=1\r\nB=2\r\n", {"A": "1", "B": "2"}, id="crlf"),
    pytest.param("A=1\nB=2", {"A": "1", "B": "2"}, id="no-final-newline"),
    pytest.param("  A = 1  \n", {"A": "1"}, id="spaces-around"),
    pytest.param("A=  x y  \n", {"A": "x y"}, id="value-spaces-trimmed"),
    pytest.param("A=\nB=\"\"\nC=''\n", {"A": "", "B": "", "C": ""}, id="empty-values"),
    pytest.param("A=a=b\n", {"A": "a=b"}, id="equals-in-value"),
    pytest.param('A="x\nB=1\nC="y\n', {"A": "x\nB=1\nC="}, id="unclosed-quote-swallows"),
    pytest.param("A='x\nB=1\n", {"A": "'x", "B": "1"}, id="unclosed-quote-keeps-line"),
    pytest.param('A="x\\"y"\n', {"A": "x\\"}, id="backslash-quote"),
    pytest.param("A=1\n  # note\nB=2\n", {"A": "1", "# note\nB": "2"}, id="indented-comment"),
    pytest.param("A=1\n   \nB=2\n", {"A": "1", "\nB": "2"}, id="line-of-spaces"),
    pytest.param("A=1\nno pair\nB=2\n", {"A": "1", "no pair\nB": "2"}, id="line-without-equals"),
    pytest.param("\tA=\t1\t\n", {"\tA": "\t1\t"}, id="tabs-not-trimmed"),
    pytest.param("export  A=1\n", {" A": "1"}, id="export-two-spaces"),
    pytest.param("A=1\rB=2\r\n", {"A": "1B=2"}, id="cr-only"),
    pytest.param("B=1\n#A=1", {"B": "1", "#A": "1"}, id="last-comment-without-newline"),
]


@pytest.mark.parametrize(("text", "expected"), READS)
def test_parse_claude_mem(text: str, expected: dict[str, str]) -> None:
    assert parse_claude_mem(text) == expected


@pytest.mark.parametrize(("text", "expected"), READS)
def test_node_parse_env_reads_the_same(
    node_parse: NodeParse, text: str, expected: dict[str, str]
) -> None:
    assert node_parse(text) == expected


ROUND_TRIPS = [
    "",
    "\n",
    "# only a comment",
    (
        "# claude-mem credentials\n"
        "export ANTHROPIC_API_KEY=sk-ant-api03-abc\n"
        "\n"
        "ANTHROPIC_BASE_URL = https://gateway.example/v1  # corporate gateway\n"
        "OTHER_TOOL_TOKEN='quoted value'\n"
        'MULTI="a\\nb"\n'
        "GEMINI_API_KEY=\n"
        "  INDENTED=ok\n"
        "#ANTHROPIC_AUTH_TOKEN=old\n"
    ),
    "A=1\r\nexport B=two\r\n# note\r\n\r\nC=3",
    "A=1\n  # trailing indented comment\n   \n",
    "UNICODE=café # résumé\n",
]


@pytest.mark.parametrize("text", ROUND_TRIPS)
def test_render_returns_the_parsed_text(text: str) -> None:
    assert EnvDocument.parse(text, ".env").render() == text


@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                ["", "# c", "A=1", "export B=x y", 'C="q#" # c', "  D = 4", "A=", "  # x"]
            ),
            st.sampled_from(["\n", "\r\n"]),
        )
    ),
    st.booleans(),
)
def test_render_round_trips_any_accepted_text(lines: list[tuple[str, str]], cut: bool) -> None:
    text = "".join(body + ending for body, ending in lines)
    text = text.rstrip("\r\n") if cut else text
    try:
        document = EnvDocument.parse(text, ".env")
    except TargetError:
        return
    assert document.render() == text


def test_get_reads_like_claude_mem() -> None:
    document = EnvDocument.parse('export A=1 # c\nB="x y"\nA=2\nE=\n', ".env")
    assert (document.get("A"), document.get("B"), document.get("E")) == ("2", "x y", "")
    assert document.get("MISSING") is None
    assert document.keys() == ["A", "B", "E"]


def test_a_large_file_reads_whole() -> None:
    # The parser once sliced the rest of the text per line: quadratic, a second per megabyte.
    lines = [f"KEY_{i}='v {i}' # c" if i % 2 else f"export KEY_{i}=v{i}" for i in range(60_000)]
    document = EnvDocument.parse("\n".join([*lines, "ANTHROPIC_API_KEY=last"]), ".env")
    read = parse_claude_mem(document.render())
    assert (len(read), read["KEY_1"], read["KEY_59998"]) == (60_001, "v 1", "v59998")
    assert document.get("ANTHROPIC_API_KEY") == "last"


def test_get_follows_each_edit() -> None:
    document = EnvDocument.parse("A=1\nB=2\n", ".env")
    assert (document.get("A"), document.get("C")) == ("1", None)
    document.set("A", "9")
    document.set("C", "3")
    assert (document.get("A"), document.get("C")) == ("9", "3")
    document.remove("A")
    assert (document.get("A"), document.get("B"), document.get("C")) == (None, "2", "3")


EDITS = [
    pytest.param(
        "export ANTHROPIC_BASE_URL=http://old\r\nX=1\r\n",
        "ANTHROPIC_BASE_URL",
        "https://new.example/v1",
        "export ANTHROPIC_BASE_URL=https://new.example/v1\r\nX=1\r\n",
        id="keeps-export-and-crlf",
    ),
    pytest.param(
        "# keys\nA=1\n# c\nexport A=2\nB=3\n  A = 4 # mine\n",
        "A",
        "9",
        "# keys\n# c\nB=3\n  A = 9 # mine\n",
        id="rewrites-the-winner-drops-duplicates",
    ),
    pytest.param('A="old" # note\n', "A", "new", "A=new # note\n", id="quoted-keeps-comment"),
    pytest.param("A=old#note\n", "A", "new", "A=new\n", id="drops-unspaced-comment"),
    pytest.param('A="old" tail\n', "A", "new", "A=new\n", id="drops-text-after-quote"),
    pytest.param("A=\n", "A", "new", "A=new\n", id="fills-empty"),
    pytest.param("", "A", "v", "A=v\n", id="append-to-empty"),
    pytest.param("X=1\n", "A", "v", "X=1\nA=v\n", id="append"),
    pytest.param("X=1", "A", "v", "X=1\nA=v\n", id="append-after-unterminated"),
    pytest.param("# c", "A", "v", "# c\nA=v\n", id="append-after-comment"),
    pytest.param(
        "X=1\n\n  # end\n   \n",
        "A",
        "v",
        "X=1\n\nA=v\n  # end\n   \n",
        id="append-above-lines-that-glue",
    ),
]


@pytest.mark.parametrize(("text", "key", "value", "expected"), EDITS)
def test_set(text: str, key: str, value: str, expected: str) -> None:
    document = EnvDocument.parse(text, ".env")
    document.set(key, value)
    assert document.render() == expected
    assert EnvDocument.parse(expected, ".env").get(key) == value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A=1\nB=2\nexport A=3\n", "B=2\n"),
        ("# c\r\nA=1\r\nB=2", "# c\r\nB=2"),
        ("B=2\nA=1", "B=2\n"),
        ("B=2\n", "B=2\n"),
    ],
)
def test_remove(text: str, expected: str) -> None:
    document = EnvDocument.parse(text, ".env")
    document.remove("A")
    assert document.render() == expected


def test_set_refuses_unsafe_value_and_changes_nothing() -> None:
    document = EnvDocument.parse("A=1\n", ".env")
    with pytest.raises(TargetError):
        document.set("A", "has space")
    with pytest.raises(ValueError, match=r"not a \.env key"):
        document.set("1A", "v")
    assert document.render() == "A=1\n"


PARSE_ERRORS = [
    pytest.param(
        f"\ufeffA={SECRET}\n",
        "1: the file starts with a byte order mark, which .env readers disagree on",
        id="bom",
    ),
    pytest.param(
        f"A=1\nB={SECRET}\x00\n", "2: the line contains control character U+0000", id="nul"
    ),
    pytest.param(f"A={SECRET}\t\n", "1: the line contains control character U+0009", id="tab"),
    pytest.param(
        f"A={SECRET}\rB=2\n", "1: the line contains control character U+000D", id="cr-only"
    ),
    pytest.param(
        f"A=1\n{SECRET}\n", "2: not a comment or a KEY=VALUE line (no '=')", id="no-equals"
    ),
    pytest.param(
        f"1A={SECRET}\n",
        "1: not a KEY=VALUE line: the name before '=' is not a valid key",
        id="key-digit",
    ),
    pytest.param(
        f"A B={SECRET}\n",
        "1: not a KEY=VALUE line: the name before '=' is not a valid key",
        id="key-space",
    ),
    pytest.param(
        f"export  A={SECRET}\n",
        "1: not a KEY=VALUE line: the name before '=' is not a valid key",
        id="export-two-spaces",
    ),
    pytest.param(
        f'A="{SECRET}\nB=1\n',
        "1: A: the value opens a quote that this line does not close, "
        "so claude-mem would read the following lines into it",
        id="unclosed-double",
    ),
    pytest.param(
        f"X=1\nA=`{SECRET}\n",
        "2: A: the value opens a quote that this line does not close, "
        "so claude-mem would read the following lines into it",
        id="unclosed-backtick",
    ),
    pytest.param(
        f"A='{SECRET}\\'\n",
        "1: A: a backslash before the closing quote splits .env readers",
        id="escaped-quote",
    ),
    pytest.param(
        f"A=1\n  # note\n\nB={SECRET}\n",
        "2: an indented comment before B makes claude-mem misread that key",
        id="indented-comment",
    ),
    pytest.param(
        f"A=1\n   \nB={SECRET}\n",
        "2: a line of spaces before B makes claude-mem misread that key",
        id="line-of-spaces",
    ),
]


@pytest.mark.parametrize(("text", "expected"), PARSE_ERRORS)
def test_parse_errors(text: str, expected: str) -> None:
    with pytest.raises(TargetError) as caught:
        EnvDocument.parse(text, "home/.claude-mem/.env")
    assert caught.value.message == f"home/.claude-mem/.env:{expected}"
    assert caught.value.hint == "fix the line by hand, or run 'cmem-profile rollback'"
    assert SECRET not in f"{caught.value.message} {caught.value.hint}"


BAD_VALUES = [
    pytest.param("", "the value is empty, which claude-mem reads as absent", id="empty"),
    *(
        pytest.param(
            f"{SECRET}{char}",
            "it contains whitespace, which claude-mem trims or reads as the end of the value",
            id=f"whitespace-{ord(char):x}",
        )
        for char in " \t\n\r\u00a0"
    ),
    *(
        pytest.param(
            f"{SECRET}{char}",
            "it contains a quote, which claude-mem strips or reads as an unclosed string",
            id=f"quote-{ord(char):x}",
        )
        for char in "\"'"
    ),
    pytest.param(
        f"{SECRET}\\", "it contains a backslash, which .env readers treat as an escape", id="bs"
    ),
    pytest.param(
        f"{SECRET}#x",
        "it contains '#', which claude-mem reads as the start of a comment",
        id="hash",
    ),
    pytest.param(
        f"{SECRET}$X",
        "it contains '$', which python-dotenv and shells expand as a variable",
        id="dollar",
    ),
    pytest.param(
        f"{SECRET}`", "it contains a backtick, which claude-mem reads as a quote", id="backtick"
    ),
    *(
        pytest.param(
            f"{SECRET}{char}", "it contains a control character", id=f"control-{ord(char):x}"
        )
        for char in "\x00\x1b\x7f\x85"
    ),
    pytest.param(f"{SECRET}é", "it contains a non-ASCII character", id="non-ascii"),
    pytest.param(
        f"{SECRET};",
        "it contains ';', which is outside the characters written unquoted",
        id="semicolon",
    ),
]


@pytest.mark.parametrize(("value", "reason"), BAD_VALUES)
def test_check_value_refuses(value: str, reason: str) -> None:
    with pytest.raises(TargetError) as caught:
        check_value("ANTHROPIC_BASE_URL", value)
    assert caught.value.message == f"cannot write ANTHROPIC_BASE_URL to .env safely: {reason}"
    assert SECRET not in f"{caught.value.message} {caught.value.hint}"


def test_check_value_accepts_the_whole_safe_alphabet() -> None:
    check_value("ANTHROPIC_API_KEY", SAFE_ALPHABET)


@pytest.mark.parametrize(
    "text",
    [
        "A=1\nB='${A}'\nC=\"${A}\"\nD=$A\n",
        "FLAG\nA=1 # c\nexport B=two\n",
        "A='unclosed\nB=2\n",
    ],
)
def test_parse_dotenv_is_dotenv_values_without_expansion(
    text: str, caplog: pytest.LogCaptureFixture
) -> None:
    expected = dotenv_values(stream=io.StringIO(text), interpolate=False)
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        assert parse_dotenv(text) == {k: v for k, v in expected.items() if v is not None}
    assert caplog.records == []


BASES = [
    (
        "# claude-mem credentials\n"
        "export ANTHROPIC_API_KEY=sk-ant-old\n"
        "ANTHROPIC_BASE_URL = https://gateway.example/v1  # corporate\n"
        "OTHER_TOOL='keep me'\n"
        "ANTHROPIC_API_KEY=duplicate\n"
        "  # trailing note\n"
    ),
    'GEMINI_API_KEY=\r\nUNRELATED="a b"\r\n# end',
    "",
]
BASE_KEYS = ["ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "GEMINI_API_KEY", "OTHER_TOOL"]
keys = st.one_of(
    st.sampled_from(BASE_KEYS),
    # A JavaScript object cannot hold an own key named __proto__.
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,15}", fullmatch=True).filter(
        lambda key: key != "__proto__"
    ),
)


# The autouse HOME fixture need not be reset between examples: everything here is pure.
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    base=st.sampled_from(BASES),
    assignments=st.dictionaries(keys, st.text(SAFE_ALPHABET, min_size=1), min_size=1, max_size=8),
)
def test_written_values_read_back_in_every_reader(
    node_parse: NodeParse, base: str, assignments: dict[str, str]
) -> None:
    document = EnvDocument.parse(base, ".env")
    for key, value in assignments.items():
        document.set(key, value)
    text = document.render()
    readings = {
        "claude-mem model": parse_claude_mem(text),
        "python-dotenv": parse_dotenv(text),
        "node": node_parse(text),
    }
    for reader, reading in readings.items():
        assert {key: reading.get(key) for key in assignments} == assignments, reader
    reread = EnvDocument.parse(text, ".env")
    assert {key: reread.get(key) for key in assignments} == assignments
    before = EnvDocument.parse(base, ".env")
    for key in set(before.keys()) - set(assignments):
        assert reread.get(key) == before.get(key)
