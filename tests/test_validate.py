"""`validate`: every kind of bad profile gives one exact file:line:col message and exit 1."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cmem_profiles.main import main

GOOD = "description: A gateway\nprovider: claude\n"
SECRET = "sk-ant-api03-AbCdEf0123456789xyzXYZ0123"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "description: x\nprovider: [claude\n",
            "p.yaml:3:1: $: YAML syntax error: did not find expected ',' or ']'",
            id="syntax",
        ),
        pytest.param(
            GOOD + "provider: gemini\n",
            "p.yaml:3:1: $.provider: duplicate key 'provider' (first set on line 2): keep one",
            id="duplicate-key",
        ),
        pytest.param(
            GOOD + "modle: x\n",
            "p.yaml:3:1: $.modle: unknown key 'modle': did you mean 'model'?",
            id="unknown-key",
        ),
        pytest.param(
            GOOD + "settings:\n  CLAUDE_MEM_TIER_ROUTING_ENABLED: false\n",
            "p.yaml:4:36: $.settings.CLAUDE_MEM_TIER_ROUTING_ENABLED: YAML reads 'false' as a "
            "boolean; every value here is a string: quote it",
            id="yaml-bool",
        ),
        pytest.param(
            GOOD + "settings:\n  CLAUDE_MEM_WORKER_PORT: 8080\n",
            "p.yaml:4:27: $.settings.CLAUDE_MEM_WORKER_PORT: YAML reads '8080' as a number; "
            "every value here is a string: quote it",
            id="yaml-int",
        ),
        pytest.param(
            GOOD + "settings:\n  CLAUDE_MEM_MODE: no\n",
            "p.yaml:4:20: $.settings.CLAUDE_MEM_MODE: YAML reads 'no' as a boolean; "
            "every value here is a string: quote it",
            id="yaml-1.1-no",
        ),
        pytest.param(
            GOOD + "settings:\n  CLAUDE_MEM_MODE: 2024-01-02\n",
            "p.yaml:4:20: $.settings.CLAUDE_MEM_MODE: YAML reads '2024-01-02' as a date; "
            "every value here is a string: quote it",
            id="yaml-date",
        ),
        pytest.param(
            GOOD + "settings:\n  CLAUDE_MEM_MODE: 2024-13-45\n",
            "p.yaml:4:20: $.settings.CLAUDE_MEM_MODE: YAML reads '2024-13-45' as a date; "
            "every value here is a string: quote it",
            id="yaml-impossible-date",
        ),
        pytest.param(
            GOOD + "settings:\n  CLAUDE_MEM_MODE: 0x_\n",
            "p.yaml:4:20: $.settings.CLAUDE_MEM_MODE: YAML reads '0x_' as a number; "
            "every value here is a string: quote it",
            id="yaml-int-without-digits",
        ),
        pytest.param(
            GOOD + "settings:\n  CLAUDE_MEM_MODE: !!int x\n",
            "p.yaml:4:20: $.settings.CLAUDE_MEM_MODE: YAML reads 'x' as a number; "
            "every value here is a string: quote it",
            id="yaml-int-tag-on-text",
        ),
        pytest.param(
            GOOD + "settings:\n  CLAUDE_MEM_MODE: &d 2024-02-30\n  CLAUDE_MEM_OTHER: *d\n",
            [
                "p.yaml:4:20: $.settings.CLAUDE_MEM_MODE: YAML reads '2024-02-30' as a date; "
                "every value here is a string: quote it",
                "p.yaml:4:20: $.settings.CLAUDE_MEM_OTHER: YAML reads '2024-02-30' as a date; "
                "every value here is a string: quote it",
            ],
            id="yaml-impossible-date-aliased",
        ),
        pytest.param(
            GOOD + "settings:\n  CLAUDE_MEM_MODE: " + "1" * 5000 + "\n",
            "p.yaml:4:20: $.settings.CLAUDE_MEM_MODE: YAML reads the value as a number; "
            "every value here is a string: quote it",
            id="yaml-int-too-long-to-show",
        ),
        pytest.param(
            "description: &d [*d]\nprovider: claude\n",
            "p.yaml:1:14: $.description[0]: an alias here refers to a value that contains it",
            id="alias-cycle",
        ),
        pytest.param(
            GOOD + "settings:\n  CLAUDE_MEM_MODE: " + "[" * 1000 + "]" * 1000 + "\n",
            "p.yaml:4:82: $: nested more than 64 levels deep: a profile nests a few levels at most",
            id="deep-nesting",
        ),
        pytest.param(
            "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
            + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 5)),
            "p.yaml:1:28: $.a3[3][8][8][6]: aliases repeat values until the profile is far "
            "larger than its file: write the values out",
            id="alias-expansion",
        ),
        pytest.param(
            GOOD + f"credentials:\n  api_key: {SECRET}\n",
            "p.yaml:4:12: $.credentials.api_key: must be a secret reference such as "
            "{keyring: NAME}, not a literal value: store the value with "
            "'cmem-profile secret set NAME'",
            id="literal-secret",
        ),
        pytest.param(
            GOOD + "base_url: gateway\n",
            "p.yaml:3:11: $.base_url: 'gateway' is not an http(s) URL with a host "
            "(like https://gateway.example.com)",
            id="bad-url",
        ),
        *(
            pytest.param(
                GOOD + f"base_url: {url}\n",
                f"p.yaml:3:11: $.base_url: '{url}' is not an http(s) URL with a host "
                "(like https://gateway.example.com)",
                id=f"bad-url-{name}",
            )
            for name, url in [
                ("unclosed-ipv6", "https://[gw.example.com"),
                ("stray-bracket", "https://gw]example.com"),
                ("port-too-big", "https://gw.example.com:99999"),
                ("port-not-a-number", "https://gw.example.com:https"),
            ]
        ),
        pytest.param(
            "description: x\nprovider: gemini\nmodel: gemini-pro\ncredentials:\n  api_key: {keyring: g}\n",
            "p.yaml:3:8: $.model: 'gemini-pro' is not one of: gemini-flash-latest, "
            "gemini-flash-lite-latest, gemini-3.5-flash, gemini-3.1-flash-lite, gemini-3-flash-preview",
            id="bad-gemini-model",
        ),
        pytest.param(
            "description: x\nprovider: gemini\nbase_url: https://g.example.com\n"
            "credentials:\n  api_key: {keyring: g}\n",
            "p.yaml:3:1: $.base_url: is not allowed here: Gemini has a fixed endpoint in claude-mem.",
            id="gemini-base-url",
        ),
        pytest.param(
            "provider: claude\n",
            "p.yaml:1:1: $: missing required key 'description'",
            id="missing-description",
        ),
        pytest.param(
            GOOD + "settings:\n  CLAUDE_MEM_DATA_DIR: /tmp/x\n",
            "p.yaml:4:3: $.settings.CLAUDE_MEM_DATA_DIR: is not allowed here: "
            "Never set: parts of claude-mem follow it and parts do not.",
            id="data-dir",
        ),
        pytest.param(
            GOOD + "settings:\n  CLAUDE_MEM_SERVER_API_KEY: plain\n",
            "p.yaml:4:30: $.settings.CLAUDE_MEM_SERVER_API_KEY: must be a secret reference such as "
            "{keyring: NAME}, not a literal value: store the value with "
            "'cmem-profile secret set NAME'",
            id="literal-secret-setting",
        ),
        pytest.param(
            GOOD + "settings:\n  FOO: bar\n",
            "p.yaml:4:3: $.settings.FOO: 'FOO' is not a claude-mem setting: names start with "
            "CLAUDE_MEM_ and use A-Z, 0-9, _",
            id="not-a-setting",
        ),
        pytest.param(
            GOOD + "credentials:\n  api_key: {keyring: Bad Name}\n",
            "p.yaml:4:22: $.credentials.api_key.keyring: 'Bad Name' is not a secret name: "
            "use lowercase letters, digits, '-' and '_' (up to 64)",
            id="bad-secret-name",
        ),
        pytest.param(
            GOOD + "credentials:\n  api_key: {keyring: a}\n  auth_token: {keyring: b}\n",
            "p.yaml:5:3: $.credentials.auth_token: set api_key or auth_token, not both: "
            "claude-mem then sends only the API key",
            id="key-and-token",
        ),
        pytest.param(
            "description: x\nprovider: openrouter\n",
            "p.yaml:2:11: $.provider: openrouter needs credentials.api_key: without a key "
            "claude-mem silently falls back to claude (use a dummy reference for a local server)",
            id="openrouter-without-key",
        ),
        pytest.param(
            GOOD + f"model: {SECRET}\n",
            "p.yaml:3:8: $.model: looks like a pasted secret (key prefix sk-ant-): store it with "
            "'cmem-profile secret set NAME' and reference it as {keyring: NAME}",
            id="pasted-secret",
        ),
        pytest.param(
            GOOD + "---\ndescription: y\n",
            "p.yaml:3:1: $: YAML syntax error: a profile is one YAML document: remove the '---' "
            "and what follows",
            id="two-documents",
        ),
        pytest.param(
            "",
            "p.yaml:1:1: $: empty file: a profile needs at least a description and a provider",
            id="empty",
        ),
        pytest.param(
            GOOD + "settings:\n  CLAUDE_MEM_GEMINI_API_KEY: {keyring: g}\n",
            "p.yaml:4:3: $.settings.CLAUDE_MEM_GEMINI_API_KEY: is not allowed here: Use "
            "credentials.api_key: this settings key silently beats .env, so cmem-profile keeps it empty.",
            id="settings-api-key",
        ),
        pytest.param(
            GOOD + f"settings:\n  {SECRET}: x\n",
            "p.yaml:4:3: $.settings: a key that looks like a pasted secret: "
            "remove it (and rotate the secret)",
            id="secret-as-setting-name",
        ),
        pytest.param(
            GOOD + f"{SECRET}: x\n",
            "p.yaml:3:1: $: a key that looks like a pasted secret: remove it (and rotate the secret)",
            id="secret-as-key",
        ),
        pytest.param(
            GOOD + f"settings:\n  !!binary {SECRET}: x\n",
            "p.yaml:4:3: $.settings: a key is not a plain string: quote it",
            id="secret-as-tagged-key",
        ),
        pytest.param(
            GOOD + f"{'x' * 100}: 1\n{'x' * 100}: 2\n",
            "p.yaml:4:1: $.<key not shown>: duplicate key (first set on line 3): keep one",
            id="long-duplicate-key",
        ),
        pytest.param(
            "base: &b {provider: claude}\ndescription: x\n<<: *b\n",
            "p.yaml:3:1: $: merge keys ('<<') are not supported: write the keys out",
            id="merge-key",
        ),
        pytest.param(
            'description: "x \\e[2J"\nprovider: claude\n',
            "p.yaml:1:14: $.description: contains control character U+001B, which a terminal "
            "acts on: remove it",
            id="terminal-escape",
        ),
        pytest.param(
            GOOD + 'settings:\n  CLAUDE_MEM_NOTE: "abc\\u202edcb"\n',
            "p.yaml:4:20: $.settings.CLAUDE_MEM_NOTE: contains control character U+202E, which "
            "a terminal acts on: remove it",
            id="bidi-override",
        ),
        pytest.param(
            GOOD + 'settings:\n  CLAUDE_MEM_NOTE: "ok\\rfake"\n',
            "p.yaml:4:20: $.settings.CLAUDE_MEM_NOTE: contains control character U+000D, which "
            "a terminal acts on: remove it",
            id="carriage-return",
        ),
    ],
)
def test_bad_profile_gives_one_exact_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str | list[str]
) -> None:
    (tmp_path / "p.yaml").write_text(text)
    assert main(["validate", "p.yaml"]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == (expected if isinstance(expected, list) else [expected])
    assert "Traceback" not in err
    assert SECRET not in out + err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            GOOD + "base_url: https://gw.example.com/v1\nsettings:\n"
            '  CLAUDE_MEM_TIER_ROUTING_ENABLED: "false"\n',
            "p.yaml:3:11: $.base_url: warning: ends in /v1: claude-mem appends /v1/messages, so "
            "requests go to .../v1/v1/messages; drop the /v1",
            id="v1-suffix",
        ),
        pytest.param(
            GOOD + "base_url: https://gw.example.com\n",
            "p.yaml:3:11: $.base_url: warning: a gateway with tier routing on: claude-mem sends "
            "the literal model 'haiku' for simple batches; set "
            'settings.CLAUDE_MEM_TIER_ROUTING_ENABLED: "false" or the CLAUDE_MEM_TIER_*_MODEL settings',
            id="gateway-tier-routing",
        ),
    ],
)
def test_warnings_do_not_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    (tmp_path / "p.yaml").write_text(text)
    assert main(["validate", "p.yaml"]) == 0
    assert capsys.readouterr().out.splitlines() == [expected]


def test_all_errors_of_all_files_sorted_by_position(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = tmp_path / "team"
    d.mkdir()
    (d / "a.yaml").write_text("provider: nope\nextra: 1\n")
    (d / "b.yaml").write_text(GOOD + "x: 1\n")
    (d / "Bad_Name.yaml").write_text(GOOD)
    assert main(["--profiles-dir", str(d), "validate"]) == 1
    out, err = capsys.readouterr()
    assert [line.split(": ", 1)[0] for line in out.splitlines()] == [
        "team/Bad_Name.yaml:1:1",
        "team/a.yaml:1:1",
        "team/a.yaml:1:11",
        "team/a.yaml:2:1",
        "team/b.yaml:3:1",
    ]
    assert err == "3 files checked: 5 errors, 0 warnings\n"


def test_json_records(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "p.yaml").write_text(GOOD + "provider: gemini\n")
    assert main(["validate", "--json", "p.yaml"]) == 1
    assert json.loads(capsys.readouterr().out) == [
        {
            "file": "p.yaml",
            "line": 3,
            "column": 1,
            "path": "$.provider",
            "message": "duplicate key 'provider' (first set on line 2): keep one",
            "severity": "error",
        }
    ]


def test_missing_file_is_a_problem_not_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "nope.yaml"]) == 1
    assert capsys.readouterr().out == "nope.yaml:1:1: $: no such file\n"


def test_binary_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "p.yaml").write_bytes(b"description: \xff\xfe\n")
    assert main(["validate", "p.yaml"]) == 1
    assert capsys.readouterr().out == "p.yaml:1:1: $: not UTF-8 text (byte 13): save it as UTF-8\n"


def test_a_profile_nested_too_deep_for_libyaml_is_an_error(tmp_path: Path) -> None:
    # libyaml's composer recurses per level and overflows the C stack near 30,000 levels.
    (tmp_path / "p.yaml").write_text("description: " + "[" * 100_000 + "]" * 100_000 + "\n")
    done = subprocess.run(
        [sys.executable, "-m", "cmem_profiles", "validate", "p.yaml"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout) == (
        1,
        "p.yaml:1:77: $: nested more than 64 levels deep: a profile nests a few levels at most\n",
    )


def test_bundled_profiles_validate(repo_profiles: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--profiles-dir", str(repo_profiles), "validate"]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "7 files checked: 0 errors, 0 warnings\n"


OR_KEY = "sk-or-v1-0123456789abcdef0123456789abcdef"
GOOGLE_KEY = "AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUv"
RANDOM = "Zx9Qm2Lp8Rt4Vw6Yb3Nc7Kd1Hf5Gj0Ts"
PASTED = "looks like a pasted secret"
IN_COMMENT = "a comment holds what looks like a pasted secret"
ROTATE = "delete it, and rotate the key if it was ever pushed"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            f"# the key: {SECRET}\n" + GOOD,
            [f"p.yaml:1:1: $: {IN_COMMENT} (key prefix sk-ant-): {ROTATE}"],
            id="comment-line",
        ),
        pytest.param(
            GOOD + f"model: m   # {GOOGLE_KEY}\n",
            [f"p.yaml:3:12: $: {IN_COMMENT} (key prefix AIza): {ROTATE}"],
            id="trailing-comment",
        ),
        pytest.param(
            GOOD + "settings:\n  # was:\n  #   " + RANDOM + "\n"
            '  CLAUDE_MEM_TIER_ROUTING_ENABLED: "false"\n',
            [f"p.yaml:5:3: $: {IN_COMMENT} (a long random-looking token): {ROTATE}"],
            id="indented-comment-random-token",
        ),
        pytest.param(
            GOOD + f"model: {OR_KEY}\n",
            [
                f"p.yaml:3:8: $.model: {PASTED} (key prefix sk-or-): store it with "
                "'cmem-profile secret set NAME' and reference it as {keyring: NAME}"
            ],
            id="openrouter-value",
        ),
        pytest.param(
            f'description: "gateway # {RANDOM}"\nprovider: claude\n',
            [
                f"p.yaml:1:14: $.description: {PASTED} (a long random-looking token): store it "
                "with 'cmem-profile secret set NAME' and reference it as {keyring: NAME}"
            ],
            id="hash-inside-a-quoted-value-is-not-a-comment",
        ),
        pytest.param(
            GOOD + f"settings:\n  {SECRET}: x\n",
            [
                "p.yaml:4:3: $.settings: a key that looks like a pasted secret: remove it "
                "(and rotate the secret)"
            ],
            id="pasted-as-a-key",
        ),
    ],
)
def test_pasted_secret_anywhere_names_the_line_never_the_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: list[str]
) -> None:
    (tmp_path / "p.yaml").write_text(text)
    assert main(["validate", "p.yaml"]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == expected
    for value in (SECRET, OR_KEY, GOOGLE_KEY, RANDOM):
        assert value not in out + err
    assert main(["validate", "--json", "p.yaml"]) == 1
    out = capsys.readouterr().out
    for value in (SECRET, OR_KEY, GOOGLE_KEY, RANDOM):
        assert value not in out


def test_comments_without_keys_and_url_fragments_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], repo_profiles: Path
) -> None:
    (tmp_path / "p.yaml").write_text(
        "# yaml-language-server: $schema=../schemas/profile.schema.json\n"
        "# model ids like us.anthropic.claude-haiku-4-5-20251001-v1:0 are not keys\n"
        + GOOD
        + "base_url: http://127.0.0.1:8080/#frag  # a fragment, then a comment\n"
        + 'settings:\n  CLAUDE_MEM_TIER_ROUTING_ENABLED: "false"  # off: see README\n'
    )
    assert main(["validate", "p.yaml"]) == 0
    assert capsys.readouterr() == ("", "1 file checked: 0 errors, 0 warnings\n")


def test_a_yml_file_is_named_as_never_found(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "p.yml").write_text(GOOD)
    assert main(["validate", "p.yml"]) == 1
    assert capsys.readouterr().out == (
        "p.yml:1:1: $: profiles are found only as NAME.yaml: rename the file\n"
    )


def test_several_files_at_once_as_the_hook_passes_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "a.yaml").write_text(GOOD + 'settings:\n  CLAUDE_MEM_MODE: "x"\n')
    (tmp_path / "profiles" / "b.yaml").write_text(GOOD + f"# {SECRET}\n")
    assert main(["validate", "profiles/a.yaml", "profiles/b.yaml"]) == 1
    out, err = capsys.readouterr()
    assert out == f"profiles/b.yaml:3:1: $: {IN_COMMENT} (key prefix sk-ant-): {ROTATE}\n"
    assert err == "2 files checked: 1 error, 0 warnings\n"


def test_a_key_glued_to_filler_is_not_echoed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = "ZyXwVu9876543210abcABC9876"
    key = "F" * 40 + token
    (tmp_path / "p.yaml").write_text(f"{key}: 1\n{key}: 2\n")
    assert main(["validate", str(tmp_path / "p.yaml")]) == 1
    out = capsys.readouterr().out
    assert "duplicate key" in out
    assert token not in out
