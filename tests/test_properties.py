"""Properties over generated input: values read back exactly, bad input never crashes, a
switch keeps what it does not own.

Hypothesis runs derandomized (the same examples on every run) with bounded example counts;
the open-ended search is bench/fuzz.py. Generated text never holds lone surrogates, which
no file or environment variable can carry.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import tempfile
from pathlib import Path

import pytest
import yaml
from conftest import REPO
from dotenv import dotenv_values
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from cmem_profiles.envfile import EnvDocument, parse_claude_mem
from cmem_profiles.errors import CmemProfileError
from cmem_profiles.main import main
from cmem_profiles.render import ENV_KEYS
from cmem_profiles.settings_json import parse_settings_document, render_settings, settings_of

# Deterministic and bounded: the same examples every run, the whole file in seconds.
PROPERTY = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=150,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CORPUS = REPO / "tests" / "fuzz-corpus"
FIXTURE = (REPO / "tests" / "fixtures" / "claude-mem-13.25-settings.json").read_bytes()
PROFILES = REPO / "profiles"
SAFE = "abcXYZ019_.~+/:=@%,&?!*-"
# Mostly harmless text with the characters .env readers disagree on.
NEAR_SAFE = st.text(SAFE + " \t\n\r#$'\"`\\;é\x00\x7f\x85\u00a0\u2028\ufeff", min_size=1)
# Starts every generated secret: finding it in any output means a secret was echoed.
MARK = "Zq9"
TEXT = st.text(st.characters(exclude_categories=("Cs",)))
# The bundled profiles' secrets, given the way CI gives them.
SECRETS = {
    f"CMEM_PROFILE_SECRET_{name}": f"{name.lower()}-value-{MARK}"
    for name in ("CORP_GATEWAY", "GEMINI", "OPENROUTER", "BEDROCK_SHIM", "THIRD_PARTY_TOKEN")
}


def cli(*argv: str) -> tuple[int, str, str]:
    """main(argv) with its exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def read_env(text: str) -> list[dict[str, str]]:
    """The .env as claude-mem's parser and as python-dotenv read it."""
    dotenv = dotenv_values(stream=io.StringIO(text), interpolate=False)
    return [parse_claude_mem(text), {k: v for k, v in dotenv.items() if v is not None}]


def yaml_quoted(text: str) -> str:
    """text as a YAML double-quoted scalar that reads back exactly."""
    escaped = "".join(
        char if char.isprintable() and char not in '"\\' else f"\\U{ord(char):08x}" for char in text
    )
    return f'"{escaped}"'


# 1. Any value a profile or a secret can hold is written so that every reader agrees, or
#    refused with an error that names the key and never the value.

ENV_BASES = [
    "",
    "# claude-mem credentials\nexport ANTHROPIC_API_KEY=old\n\n"
    "ANTHROPIC_BASE_URL = https://gw.example.com  # corporate\nOTHER_TOOL='keep me'\n",
    'GEMINI_API_KEY=\r\nUNRELATED="a b"\r\n# end',
    "ANTHROPIC_AUTH_TOKEN=1\nexport ANTHROPIC_AUTH_TOKEN=2\n  # trailing\n   \n",
    "OPENROUTER_API_KEY='x' tail\nX=1",
]
env_values = st.one_of(TEXT, NEAR_SAFE, NEAR_SAFE.map(MARK.__add__), st.text(SAFE, min_size=1))


@settings(PROPERTY, max_examples=1000)
@given(
    base=st.sampled_from(ENV_BASES),
    values=st.dictionaries(st.sampled_from(ENV_KEYS), env_values, min_size=1),
)
def test_env_values_read_back_in_both_readers_or_are_refused(
    base: str, values: dict[str, str]
) -> None:
    document = EnvDocument.parse(base, ".env")
    written = {}
    for key, value in values.items():
        try:
            document.set(key, value)
        except CmemProfileError as refused:  # any other exception fails the test
            assert refused.message.startswith(f"cannot write {key} to .env safely: ")
            assert MARK not in f"{refused.message} {refused.hint}"
        else:
            event("written")
            written[key] = value
    text = document.render()
    for reading in read_env(text):
        assert {key: reading.get(key) for key in written} == written
    EnvDocument.parse(text, ".env")  # and the next switch can read the file again


@PROPERTY
@given(st.dictionaries(st.from_regex(r"CLAUDE_MEM_[A-Z0-9_]{1,12}", fullmatch=True), st.text()))
def test_settings_values_read_back_exactly(values: dict[str, str]) -> None:
    rendered = render_settings({**json.loads(FIXTURE), **values})
    assert {k: v for k, v in json.loads(rendered).items() if k in values} == values
    assert parse_settings_document(rendered, "settings.json") == json.loads(rendered)


@settings(PROPERTY, max_examples=60)
@given(
    secret=st.one_of(TEXT, NEAR_SAFE, st.text(SAFE)).map(lambda t: MARK + t.replace("\0", "")),
    url_path=st.one_of(TEXT, NEAR_SAFE, st.text(SAFE)),
    model=st.one_of(TEXT, NEAR_SAFE, st.text(SAFE, min_size=1)),
    setting=st.one_of(TEXT, NEAR_SAFE),
)
def test_a_switch_writes_each_value_exactly_or_refuses(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    secret: str,
    url_path: str,
    model: str,
    setting: str,
) -> None:
    root = Path(tempfile.mkdtemp(dir=tmp_path))
    (root / "profiles").mkdir()
    base_url = f"https://gw.example.com/{url_path}"
    (root / "profiles" / "fz.yaml").write_text(
        "description: generated\nprovider: claude\n"
        f"base_url: {yaml_quoted(base_url)}\nmodel: {yaml_quoted(model)}\n"
        "credentials:\n  api_key: {keyring: fz}\n"
        f'settings:\n  CLAUDE_MEM_TIER_ROUTING_ENABLED: "false"\n'
        f"  CLAUDE_MEM_FZ_NOTE: {yaml_quoted(setting)}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("CMEM_PROFILE_SECRET_FZ", secret)
    data = root / "data"
    data.mkdir(mode=0o700)
    (data / "settings.json").write_bytes(FIXTURE)

    code, out, err = cli("--profiles-dir", str(root / "profiles"), "--data-dir", str(data), "use",
                         "--no-input", "fz")  # fmt: skip

    assert MARK not in out + err
    event(f"exit {code}")
    if code == 1:
        assert err.startswith("cmem-profile: error: ")
        assert (data / "settings.json").read_bytes() == FIXTURE
        assert not (data / ".env").exists()
        assert not (data / ".cmem-profile" / "state.json").exists()
        return
    assert code == 0, err
    for reading in read_env((data / ".env").read_bytes().decode()):
        assert reading["ANTHROPIC_API_KEY"] == secret
        assert reading["ANTHROPIC_BASE_URL"] == base_url
    written = json.loads((data / "settings.json").read_bytes())
    assert (written["CLAUDE_MEM_MODEL"], written["CLAUDE_MEM_FZ_NOTE"]) == (model, setting)
    assert all(isinstance(value, str) for value in written.values())


# 2. Any document given to validate gets messages and exit 0 or 1, never an internal error.

# Looks like a key to the scanner: whatever document holds it, no message may repeat it.
PLANTED = "sk-ant-api03-Zq9x7Kp2mWq8Rt5Lv3Nb6Hc1Jd4"
SCHEMA_KEYS = [
    "description",
    "provider",
    "base_url",
    "model",
    "credentials",
    "settings",
    "api_key",
    "auth_token",
    "keyring",
    "env",
    "command",
    "CLAUDE_MEM_TIER_ROUTING_ENABLED",
    "CLAUDE_MEM_WORKER_PORT",
    "CLAUDE_MEM_X_API_KEY",
    "CLAUDE_MEM_DATA_DIR",
    "CLAUDE_MEM_NOTE",
    PLANTED,
]
SCHEMA_VALUES = [
    "claude",
    "gemini",
    "openrouter",
    "https://gw.example.com",
    "http://127.0.0.1:8080/v1",
    "https://[gw",
    "gemini-flash-latest",
    "corp-gateway",
    "false",
    PLANTED,
    f"prefix {PLANTED} suffix",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    TEXT,
    st.sampled_from(SCHEMA_VALUES),
)
near_schema = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(SCHEMA_KEYS) | TEXT, inner, max_size=6)
    ),
    max_leaves=25,
)
FRAGMENTS = [
    "&a ", "*a", "<<: *a\n", "!!binary aGk=", "!!int x", "!!timestamp 2024-13-45", "!foo x",
    "? [a]\n: b\n", "---\n", "...\n", "%YAML 1.1\n", "\ufeff", "\r\n", "\r", "\t", "{", "[",
    "'", '"', "|\n  x\n", ">-\n x\n", "0x_", "1e400", "9" * 400, "2001-12-14t21:59:43.10+25:00",
    ".nan", "~", "no", "&a [*a]", "[" * 70, "\x01", "\u2028", "\x85", PLANTED,
]  # fmt: skip
CORPUS_YAML = sorted((CORPUS / "yaml").iterdir()) + sorted(PROFILES.iterdir())


def _splice(base: bytes, inserts: list[tuple[int, str]]) -> bytes:
    for at, fragment in inserts:
        cut = at % (len(base) + 1)
        base = base[:cut] + fragment.encode() + base[cut:]
    return base


yaml_documents = st.one_of(
    st.binary(max_size=200),
    TEXT.map(str.encode),
    near_schema.map(lambda data: yaml.safe_dump(data, allow_unicode=True).encode()),
    st.builds(
        _splice,
        st.sampled_from(CORPUS_YAML).map(Path.read_bytes),
        st.lists(st.tuples(st.integers(min_value=0), st.sampled_from(FRAGMENTS)), max_size=4),
    ),
    st.builds(
        lambda base, cut: base[:cut],
        st.sampled_from(CORPUS_YAML).map(Path.read_bytes),
        st.integers(min_value=0, max_value=2000),
    ),
)
PROBLEM_LINE = re.compile(r"p\.yaml:[1-9][0-9]*:[1-9][0-9]*: \$.*: (warning: )?\S.*")


@settings(PROPERTY, max_examples=300)
@example(b"description: x\nprovider: claude\nsettings: " + b"[" * 1000 + b"]" * 1000)
@given(yaml_documents)
def test_validate_reports_any_document_and_never_crashes(tmp_path: Path, document: bytes) -> None:
    (tmp_path / "p.yaml").write_bytes(document)
    code, out, err = cli("validate", "p.yaml")
    event(f"exit {code}")
    assert code in (0, 1), err
    assert re.fullmatch(r"1 file checked: \d+ errors?, \d+ warnings?\n", err), err
    lines = out.splitlines()
    assert all(PROBLEM_LINE.fullmatch(line) for line in lines), out
    assert all(line.isprintable() and len(line) < 1000 for line in lines), "raw or long text"
    json_code, records, _ = cli("validate", "--json", "p.yaml")
    assert json_code == code
    assert (code == 1) == any(r["severity"] == "error" for r in json.loads(records))
    assert PLANTED not in out + err + records


# 3. Whatever claude-mem's files hold, a switch keeps every key it does not own, or refuses
#    and leaves both files and the state as they were.

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=12,
)
setting_keys = st.sampled_from(
    ["CLAUDE_MEM_PROVIDER", "CLAUDE_MEM_MODEL", "CLAUDE_MEM_GEMINI_API_KEY", "env", "0", "1"]
) | st.text(max_size=10)
settings_objects = st.dictionaries(setting_keys, json_values, max_size=6)
settings_contents = st.one_of(
    settings_objects.map(lambda d: json.dumps({**json.loads(FIXTURE), **d}, indent=2).encode()),
    settings_objects.map(lambda d: json.dumps({"env": d}).encode()),
    st.tuples(settings_objects, settings_objects).map(
        lambda pair: json.dumps({**pair[0], "env": pair[1]}).encode()
    ),
    st.sampled_from(sorted((CORPUS / "settings").iterdir())).map(Path.read_bytes),
    st.integers(min_value=0, max_value=len(FIXTURE)).map(lambda cut: FIXTURE[:cut]),
    st.binary(max_size=64),
)
env_lines = st.one_of(
    TEXT.filter(lambda line: "\n" not in line),
    st.builds(
        "{}{}={}".format,
        st.sampled_from(["", "export ", " "]),
        st.sampled_from([*ENV_KEYS, "OTHER", "MY_VAR"]),
        st.one_of(st.text(SAFE), st.sampled_from(["'a b'", '"x#y" # c', "v # note", "$HOME"])),
    ),
    st.sampled_from(["# comment", "", "  # indented", "   "]),
)
env_contents = st.one_of(
    st.lists(st.tuples(env_lines, st.sampled_from(["\n", "\r\n"]))).map(
        lambda lines: "".join(body + end for body, end in lines).encode()
    ),
    st.sampled_from(sorted((CORPUS / "env").iterdir())).map(Path.read_bytes),
    st.binary(max_size=64),
)
HUGE_SETTINGS = json.dumps(
    {**json.loads(FIXTURE), **{f"USER_{i}": [str(i), {"n": i}] for i in range(20_000)}}
).encode()
HUGE_ENV = "".join(f"export USER_{i}='value {i}' # note {i}\n" for i in range(20_000)).encode()


NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
KEY_LINE = re.compile(rf" *(?:export )?({NAME.pattern}) *=")


def _unowned_lines(text: str, owned: set[str]) -> list[str]:
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the end of the last line, or an unterminated last line now ended
    return [line for line in lines if not ((m := KEY_LINE.match(line)) and m[1] in owned)]


def _as_claude_mem_writes(document: dict[str, object]) -> dict[str, object]:
    # Numbers are doubles to claude-mem (1e400 reads as Infinity, writes as null) and index
    # keys come first: compare with the document as its own writer would leave it.
    return parse_settings_document(render_settings(document), "settings.json")


@settings(PROPERTY, max_examples=120)
@example(settings_data=HUGE_SETTINGS, env_data=HUGE_ENV, profile="corporate")
@example(
    settings_data=b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}", env_data=None, profile="gemini"
)
@example(settings_data=b'{"env": {"A": "1"}, "hooks": {}}', env_data=b"", profile="subscription")
@given(
    settings_data=settings_contents,
    env_data=st.none() | env_contents,
    profile=st.sampled_from(sorted(path.stem for path in PROFILES.iterdir())),
)
def test_a_switch_keeps_every_key_it_does_not_own_or_changes_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    settings_data: bytes,
    env_data: bytes | None,
    profile: str,
) -> None:
    for variable, value in SECRETS.items():
        monkeypatch.setenv(variable, value)
    data = Path(tempfile.mkdtemp(dir=tmp_path))
    (data / "settings.json").write_bytes(settings_data)
    if env_data is not None:
        (data / ".env").write_bytes(env_data)
    state = data / ".cmem-profile" / "state.json"

    code, out, err = cli("--profiles-dir", str(PROFILES), "--data-dir", str(data), "use",
                         "--no-input", profile)  # fmt: skip

    event(f"exit {code}")
    assert MARK not in out + err
    if code == 1:
        assert err.startswith(f"cmem-profile: error: {data}/"), err
        assert _contents(data) == (settings_data, env_data)
        assert not state.exists()
        return
    assert code == 0, err
    owned = json.loads(state.read_bytes())["owned"]

    before = _as_claude_mem_writes(parse_settings_document(settings_data, "before"))
    after = parse_settings_document((data / "settings.json").read_bytes(), "after")
    mine = set(owned["settings.json"])
    kept = {k: v for k, v in settings_of(before).items() if k not in mine}
    assert [(k, v) for k, v in settings_of(after).items() if k in kept] == list(kept.items())
    if isinstance(before.get("env"), dict) and len(before) > 1:  # the legacy shape, kept
        assert {k: v for k, v in after.items() if k != "env"} == {
            k: v for k, v in before.items() if k != "env"
        }

    if env_data is not None:
        old_text, new_text = env_data.decode(), (data / ".env").read_bytes().decode()
        mine = set(owned[".env"])
        assert _unowned_lines(new_text, mine) == _unowned_lines(old_text, mine)
        # Not '#A' of a last line '#A=1' without a newline: a comment, once a line follows.
        kept_env = [{k: v for k, v in parse_claude_mem(text).items() if NAME.fullmatch(k)}
                    for text in (old_text, new_text)]  # fmt: skip
        assert {k: v for k, v in kept_env[1].items() if k not in mine} == {
            k: v for k, v in kept_env[0].items() if k not in mine
        }

    # And the files as first found come back byte for byte.
    assert cli("--data-dir", str(data), "rollback", "0")[0] == 0
    assert _contents(data) == (settings_data, env_data)


def _contents(data: Path) -> tuple[bytes, bytes | None]:
    env = data / ".env"
    return (data / "settings.json").read_bytes(), env.read_bytes() if env.exists() else None
