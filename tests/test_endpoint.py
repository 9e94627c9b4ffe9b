"""`test NAME`: one real request through a profile's endpoint, and every way it can fail.

The endpoints are fake Anthropic, OpenAI-compatible and Gemini servers on loopback, over real
HTTP (and TLS); each failure class is produced for real, never by patching the code under test,
except DNS, which would need a resolver.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO
from fake_servers import FakeEndpoint, starter, tls_context

from cmem_profiles.main import main

SECRET = "sk-ant-api03-TESTSECRETvalue-0042"
TLS_PEM = REPO / "tests" / "fixtures" / "loopback-tls.pem"


@pytest.fixture
def serve() -> Iterator[Callable[..., FakeEndpoint]]:
    def make(tls: bool = False, secret: str = SECRET, **options: Any) -> FakeEndpoint:
        endpoint = FakeEndpoint(secret, **options)
        endpoint.tls = tls_context(TLS_PEM) if tls else None
        return endpoint

    yield from starter(make)


@pytest.fixture
def profiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CMEM_PROFILE_SECRET_TEST_KEY", SECRET)
    directory = tmp_path / "profiles"
    directory.mkdir()
    return directory


def write_profile(profiles: Path, name: str, **fields: str) -> None:
    provider = fields.pop("provider", "claude")
    credential = fields.pop("credential", "api_key")
    lines = [f"description: {name}", f"provider: {provider}"]
    lines += [f"{key}: {value}" for key, value in fields.items()]
    lines += ["credentials:", f"  {credential}: {{keyring: test-key}}"]
    if provider == "claude" and "base_url" in fields:
        lines += ["settings:", '  CLAUDE_MEM_TIER_ROUTING_ENABLED: "false"']
    (profiles / f"{name}.yaml").write_text("\n".join(lines) + "\n")


def run(
    capsys: pytest.CaptureFixture[str], profiles: Path, name: str, *options: str
) -> tuple[int, str, str]:
    code = main(["--profiles-dir", str(profiles), "test", name, "--no-input", *options])
    out, err = capsys.readouterr()
    assert SECRET not in out + err, "the secret leaked"
    return code, out, err


def claude(profiles: Path, endpoint: FakeEndpoint | str, credential: str = "api_key") -> None:
    base = endpoint if isinstance(endpoint, str) else endpoint.url()
    write_profile(
        profiles, "gw", base_url=base, model="claude-haiku-4-5-20251001", credential=credential
    )


def failure(capsys: pytest.CaptureFixture[str], profiles: Path, *options: str) -> dict[str, Any]:
    code, out, err = run(capsys, profiles, "gw", "--json", *options)
    assert (code, err) == (1, "")
    result: dict[str, Any] = json.loads(out)
    return result


# -- the request claude-mem would send -------------------------------------------------------


def test_claude_with_an_api_key(
    serve: Callable[..., FakeEndpoint], profiles: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint = serve()
    claude(profiles, endpoint)
    code, out, err = run(capsys, profiles, "gw")
    assert (code, err) == (0, "")
    assert re.fullmatch(
        rf"gw: OK in \d+ ms \(HTTP 200 from POST {endpoint.url('/v1/messages')}, "
        r"model claude-haiku-4-5-20251001\)\n",
        out,
    )
    (request,) = endpoint.requests
    assert request.path == "/v1/messages"
    assert request.headers["x-api-key"] == SECRET
    assert "authorization" not in request.headers
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert request.body == {
        "model": "claude-haiku-4-5-20251001",
        "max_tokens": 1,
        "messages": [{"role": "user", "content": "ping"}],
    }


def test_claude_with_an_auth_token_sends_bearer(
    serve: Callable[..., FakeEndpoint], profiles: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint = serve(header="bearer", prefix="/anthropic")
    claude(profiles, endpoint.url("/anthropic/"), credential="auth_token")
    assert run(capsys, profiles, "gw")[0] == 0
    (request,) = endpoint.requests
    assert request.path == "/anthropic/v1/messages"  # the trailing slash does not double
    assert request.headers["authorization"] == f"Bearer {SECRET}"
    assert "x-api-key" not in request.headers


def test_openai_compatible_server_gets_chat_completions(
    serve: Callable[..., FakeEndpoint], profiles: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint = serve()
    write_profile(
        profiles,
        "local",
        provider="openrouter",
        base_url=endpoint.url("/v1"),
        model='"qwen2.5-coder:7b,llama3"',
    )
    code, out, _ = run(capsys, profiles, "local", "--json")
    assert code == 0
    result = json.loads(out)
    assert result | {"latency_ms": 0} == {
        "profile": "local",
        "provider": "openrouter",
        "url": endpoint.url("/v1/chat/completions"),
        "model": "qwen2.5-coder:7b",
        "auth": "Authorization: Bearer",
        "ok": True,
        "result": "ok",
        "status": 200,
        "latency_ms": 0,
        "message": f"OK in {result['latency_ms']} ms",
        "hint": None,
        "server_message": None,
        "other_header_mode": None,
    }
    (request,) = endpoint.requests
    assert request.headers["authorization"] == f"Bearer {SECRET}"
    assert request.headers["http-referer"] == "https://github.com/thedotmack/claude-mem"
    assert request.headers["x-openrouter-title"] == "Claude-Mem"
    # claude-mem sends the first of a list of models; the others are its fallbacks.
    assert request.body == {
        "model": "qwen2.5-coder:7b",
        "messages": [{"role": "user", "content": "ping"}],
        "max_tokens": 1,
    }


def test_gemini_generate_content_with_the_key_in_the_query(
    serve: Callable[..., FakeEndpoint], profiles: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint = serve()
    write_profile(profiles, "gem", provider="gemini", model="gemini-3.5-flash")
    code, out, _ = run(capsys, profiles, "gem", "--base-url", endpoint.url())
    assert code == 0
    shown = endpoint.url("/v1beta/models/gemini-3.5-flash:generateContent")
    assert f"(HTTP 200 from POST {shown}, model gemini-3.5-flash)" in out
    (request,) = endpoint.requests
    assert request.path == f"/v1beta/models/gemini-3.5-flash:generateContent?key={SECRET}"
    assert request.body["generationConfig"] == {"maxOutputTokens": 1}


def test_bundled_profiles_build_claude_mems_urls(
    serve: Callable[..., FakeEndpoint],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    endpoint = serve(secret="sk-or-v1-bundled", prefix="/api")
    monkeypatch.setenv("CMEM_PROFILE_SECRET_OPENROUTER", "sk-or-v1-bundled")
    base = ["--base-url", endpoint.url("/api/v1")]
    code = main(["--profiles-dir", str(REPO / "profiles"), "test", "openrouter", *base])
    assert code == 0, capsys.readouterr()
    assert endpoint.requests[0].path == "/api/v1/chat/completions"
    assert endpoint.requests[0].headers["x-openrouter-title"] == "claude-mem"


def test_a_profile_without_key_or_gateway_cannot_be_tested(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["--profiles-dir", str(REPO / "profiles"), "test", "subscription"])
    assert (code, capsys.readouterr().err) == (
        1,
        "cmem-profile: error: subscription has no key and no gateway: claude-mem then uses "
        "Claude Code's own login, which cmem-profile cannot test\n",
    )


def test_a_missing_secret_fails_before_any_request(
    serve: Callable[..., FakeEndpoint],
    profiles: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    endpoint = serve()
    claude(profiles, endpoint)
    monkeypatch.delenv("CMEM_PROFILE_SECRET_TEST_KEY")
    code, _, err = run(capsys, profiles, "gw")
    assert code == 1
    assert "test-key: not stored; run: cmem-profile secret set test-key" in err
    assert endpoint.requests == []


def test_base_url_must_be_a_url(profiles: Path, capsys: pytest.CaptureFixture[str]) -> None:
    claude(profiles, "http://127.0.0.1:9")
    assert run(capsys, profiles, "gw", "--base-url", "ftp://x") == (
        1,
        "",
        "cmem-profile: error: 'ftp://x' is not an http(s) URL\n",
    )


# -- network failures ------------------------------------------------------------------------


def test_dns(
    profiles: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = socket.getaddrinfo

    def resolve(host: str, *args: Any, **kwargs: Any) -> Any:
        if host == "gateway.corp.invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    claude(profiles, "https://gateway.corp.invalid")
    assert run(capsys, profiles, "gw") == (
        1,
        "",
        "cmem-profile: error: gw: cannot resolve gateway.corp.invalid (DNS: Name or service "
        "not known)\nhint: check the host name in base_url, and your network or VPN\n",
    )


def test_connection_refused(profiles: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as unlistened:
        unlistened.bind(("127.0.0.1", 0))
        port = unlistened.getsockname()[1]
        claude(profiles, f"http://127.0.0.1:{port}")
        assert run(capsys, profiles, "gw") == (
            1,
            "",
            f"cmem-profile: error: gw: connection refused by 127.0.0.1:{port}: nothing listens "
            "there\nhint: check the port in base_url, and that the server runs\n",
        )


def test_tls_certificate_not_trusted(
    serve: Callable[..., FakeEndpoint], profiles: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint = serve(tls=True)
    claude(profiles, endpoint)
    result = failure(capsys, profiles)
    assert (result["result"], result["hint"]) == (
        "tls",
        "a private CA? point SSL_CERT_FILE at its certificate bundle",
    )
    assert result["message"] == (
        f"TLS with 127.0.0.1:{endpoint.port} failed: self-signed certificate"
    )


def test_tls_with_the_ca_from_ssl_cert_file_works(
    serve: Callable[..., FakeEndpoint],
    profiles: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    endpoint = serve(tls=True)
    monkeypatch.setenv("SSL_CERT_FILE", str(TLS_PEM))
    claude(profiles, endpoint)
    code, out, _ = run(capsys, profiles, "gw")
    assert code == 0
    assert out.startswith("gw: OK in ")


def test_tls_to_a_plain_http_server(
    serve: Callable[..., FakeEndpoint], profiles: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint = serve()
    claude(profiles, f"https://127.0.0.1:{endpoint.port}")
    result = failure(capsys, profiles)
    assert result["result"] == "tls"
    assert result["message"].startswith(f"TLS with 127.0.0.1:{endpoint.port} failed: ")
    assert result["hint"] == (
        "does the server speak TLS on this port? an http:// endpoint needs http:// in base_url"
    )


def test_timeout(
    serve: Callable[..., FakeEndpoint], profiles: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint = serve(answer="slow", delay=2.0)
    claude(profiles, endpoint)
    assert run(capsys, profiles, "gw", "--timeout", "0.2") == (
        1,
        "",
        f"cmem-profile: error: gw: no answer from 127.0.0.1:{endpoint.port} within 0.2 s\n"
        "hint: a slow endpoint? raise --timeout; a firewall that drops packets looks the same\n",
    )


def test_connection_closed_without_an_answer(
    serve: Callable[..., FakeEndpoint], profiles: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint = serve(answer="close")
    claude(profiles, endpoint)
    result = failure(capsys, profiles)
    assert (result["result"], result["message"]) == (
        "connection",
        f"127.0.0.1:{endpoint.port} closed the connection without an answer",
    )


# -- HTTP failures ---------------------------------------------------------------------------


def test_401_where_the_other_header_mode_works(
    serve: Callable[..., FakeEndpoint], profiles: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint = serve(header="bearer")
    claude(profiles, endpoint)  # an api_key, sent as x-api-key; the server wants Bearer
    code, out, err = run(capsys, profiles, "gw")
    assert (code, out) == (1, "")
    assert err == (
        f"cmem-profile: error: gw: HTTP 401 Unauthorized from {endpoint.url('/v1/messages')}: "
        "the endpoint rejected the API key sent as x-api-key: invalid x-api-key: <redacted>\n"
        "hint: the endpoint accepts the same secret as Authorization: Bearer: move it from "
        "credentials.api_key to credentials.auth_token in the profile\n"
    )
    assert [
        sorted(r.headers.keys() & {"x-api-key", "authorization"}) for r in endpoint.requests
    ] == [
        ["x-api-key"],
        ["authorization"],
    ]


def test_401_in_both_header_modes_means_a_wrong_secret(
    serve: Callable[..., FakeEndpoint], profiles: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint = serve(secret="sk-the-right-one", header="bearer")
    claude(profiles, endpoint, credential="auth_token")
    result = failure(capsys, profiles)
    assert result["result"] == "auth"
    assert result["status"] == 401
    assert result["server_message"] == "invalid x-api-key: <redacted>"
    assert result["hint"] == (
        "rejected as x-api-key too, so the header is not the problem: the secret is wrong, "
        "expired or lacks access; store the right one with: cmem-profile secret set test-key"
    )
    assert result["other_header_mode"] == {"header": "x-api-key", "ok": False, "status": 401}


def test_403(
    serve: Callable[..., FakeEndpoint], profiles: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint = serve(answer="403")
    claude(profiles, endpoint)
    result = failure(capsys, profiles)
    assert (result["result"], result["status"]) == ("auth", 403)
    assert result["message"].endswith(
        "the endpoint rejected the API key sent as x-api-key: upstream connect error"
    )


def test_openai_compatible_wrong_key_is_redacted_from_the_servers_words(
    serve: Callable[..., FakeEndpoint], profiles: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint = serve(secret="another")
    write_profile(profiles, "gw", provider="openrouter", base_url=endpoint.url("/v1"), model="m")
    result = failure(capsys, profiles)
    assert (result["result"], result["other_header_mode"]) == ("auth", None)
    assert result["server_message"] == "Incorrect API key provided: <redacted>"
    assert result["hint"] == "store the right one with: cmem-profile secret set test-key"


def test_gemini_wrong_key_is_a_400_that_names_the_key(
    serve: Callable[..., FakeEndpoint], profiles: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint = serve(secret="AIza-the-right-one")
    write_profile(profiles, "gw", provider="gemini", model="gemini-flash-latest")
    result = failure(capsys, profiles, "--base-url", endpoint.url())
    assert (result["result"], result["status"]) == ("auth", 400)
    assert result["server_message"] == "API key not valid. Please pass a valid API key."
    assert "key=" not in json.dumps(result)


def test_404_with_a_doubled_v1(
    serve: Callable[..., FakeEndpoint], profiles: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint = serve()
    claude(profiles, endpoint.url("/v1"))
    result = failure(capsys, profiles)
    assert (result["result"], result["status"]) == ("not-found", 404)
    assert result["message"] == (
        f"HTTP 404 Not Found from {endpoint.url('/v1/v1/messages')}: 404 page not found"
    )
    assert result["hint"] == "the path has /v1 twice: drop the trailing /v1 from base_url"


def test_404_of_an_openai_compatible_server_without_v1(
    serve: Callable[..., FakeEndpoint], profiles: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint = serve()
    write_profile(profiles, "gw", provider="openrouter", base_url=endpoint.url(), model="m")
    result = failure(capsys, profiles)
    assert result["result"] == "not-found"
    assert result["hint"] == (
        "OpenAI-compatible servers usually serve /v1/chat/completions: end base_url in /v1"
    )


def test_unknown_model_anthropic(
    serve: Callable[..., FakeEndpoint], profiles: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint = serve(models=("claude-sonnet-4-5",))
    claude(profiles, endpoint)
    code, _, err = run(capsys, profiles, "gw")
    assert code == 1
    assert err == (
        f"cmem-profile: error: gw: HTTP 404 Not Found from {endpoint.url('/v1/messages')}: the "
        "endpoint does not know model 'claude-haiku-4-5-20251001': model: "
        "claude-haiku-4-5-20251001\n"
        "hint: set the profile's model to a name this endpoint serves\n"
    )


def test_unknown_model_openai_compatible(
    serve: Callable[..., FakeEndpoint], profiles: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint = serve(models=("llama3",))
    write_profile(profiles, "gw", provider="openrouter", base_url=endpoint.url("/v1"), model="m1")
    result = failure(capsys, profiles)
    assert (result["result"], result["status"], result["server_message"]) == (
        "unknown-model",
        400,
        "m1 is not a valid model ID",
    )


def test_unknown_model_gemini(
    serve: Callable[..., FakeEndpoint], profiles: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint = serve(models=("gemini-flash-lite-latest",))
    write_profile(profiles, "gw", provider="gemini", model="gemini-flash-latest")
    result = failure(capsys, profiles, "--base-url", endpoint.url())
    assert (result["result"], result["server_message"]) == (
        "unknown-model",
        "models/gemini-flash-latest is not found for API version v1beta",
    )


def test_rate_limited(
    serve: Callable[..., FakeEndpoint], profiles: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint = serve(answer="429")
    claude(profiles, endpoint)
    result = failure(capsys, profiles)
    assert (result["result"], result["hint"]) == ("rate-limited", "the endpoint asks to wait 7 s")
    assert result["message"].endswith(": rate limited: rate limit exceeded")


@pytest.mark.parametrize("status", ["500", "502", "503"])
def test_server_errors(
    status: str,
    serve: Callable[..., FakeEndpoint],
    profiles: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    endpoint = serve(answer=status)
    claude(profiles, endpoint)
    result = failure(capsys, profiles)
    assert (result["result"], result["status"]) == ("server-error", int(status))
    assert result["message"].endswith(
        "the server or a gateway in front of it failed: upstream connect error"
    )


def test_redirect_names_the_new_address_without_the_key(
    serve: Callable[..., FakeEndpoint], profiles: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint = serve(answer="301")
    write_profile(profiles, "gw", provider="gemini", model="gemini-flash-latest")
    result = failure(capsys, profiles, "--base-url", endpoint.url())
    assert (result["result"], result["status"]) == ("redirect", 301)
    assert result["message"].endswith(
        ": redirected to https://moved.example.com/v2/v1beta/models/gemini-flash-latest"
        ":generateContent"
    )
    assert result["hint"] == "use the address it redirects to in base_url"


def test_another_client_error_shows_the_servers_words(
    serve: Callable[..., FakeEndpoint], profiles: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint = serve(answer="422")
    claude(profiles, endpoint)
    result = failure(capsys, profiles)
    assert (result["result"], result["message"]) == (
        "bad-request",
        f"HTTP 422 Unprocessable Entity from {endpoint.url('/v1/messages')}: "
        "upstream connect error",
    )
