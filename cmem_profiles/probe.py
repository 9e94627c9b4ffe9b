"""Send a Probe and say in plain words what happened; the secret is redacted from every word."""

from __future__ import annotations

import http.client
import json
import re
import socket
import ssl
import time
from dataclasses import dataclass, field, replace
from urllib.parse import quote, urlsplit

from cmem_profiles.endpoint import BEARER, X_API_KEY, Probe, other_header_mode

MAX_BODY = 64 * 1024
MAX_MESSAGE = 300
REDACTED = "<redacted>"
UNKNOWN_MODEL = re.compile(
    r"model\b.{0,80}\b(not found|does not exist|not exist|unknown|invalid|not a valid|"
    r"not supported|unsupported|no such)|\b(unknown|invalid|unsupported|no such|not a valid) model",
    re.IGNORECASE,
)
API_KEY_INVALID = re.compile(r"api[ _-]?key", re.IGNORECASE)


@dataclass
class Result:
    """The outcome of one test request, in words a person can act on."""

    ok: bool
    kind: str  # ok, dns, refused, tls, timeout, connection, auth, not-found, unknown-model,
    # rate-limited, server-error, redirect, bad-request
    message: str
    hint: str | None = None
    status: int | None = None
    latency_ms: int | None = None
    server_message: str | None = None
    other_header_mode: dict[str, object] | None = field(default=None)


@dataclass(frozen=True)
class Answer:
    status: int
    reason: str
    headers: http.client.HTTPMessage
    body: bytes
    latency_ms: int


def send(probe: Probe, timeout: float) -> Answer:
    """POST the probe; network failures surface as OSError or http.client.HTTPException."""
    parts = urlsplit(probe.url)
    host = parts.hostname or ""
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(
            host, parts.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        conn = http.client.HTTPConnection(host, parts.port, timeout=timeout)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    start = time.monotonic()
    try:
        conn.request("POST", target, body=probe.body, headers=dict(probe.headers))
        response = conn.getresponse()
        body = response.read(MAX_BODY)
    finally:
        conn.close()
    elapsed = round((time.monotonic() - start) * 1000)
    return Answer(response.status, response.reason, response.headers, body, elapsed)


def run_probe(probe: Probe, timeout: float) -> Result:
    """Send the probe; on 401/403 of a claude endpoint, also try the other header mode once."""
    result = _attempt(probe, timeout)
    other = other_header_mode(probe) if result.kind == "auth" else None
    if other is not None:
        second = _attempt(other, timeout)
        result.other_header_mode = {"header": other.auth, "ok": second.ok, "status": second.status}
        result.hint = _other_mode_hint(probe, second)
    return _redacted(result, probe.secret)


def _attempt(probe: Probe, timeout: float) -> Result:
    try:
        answer = send(probe, timeout)
    except (OSError, http.client.HTTPException) as err:
        return network_failure(probe, err, timeout)
    except ValueError:
        # http.client refuses header values with control characters; never echo them.
        return Result(False, "bad-request", "the secret cannot be sent in an HTTP header")
    if 200 <= answer.status < 300:
        return Result(
            True,
            "ok",
            f"OK in {answer.latency_ms} ms",
            status=answer.status,
            latency_ms=answer.latency_ms,
        )
    return http_failure(probe, answer)


def network_failure(probe: Probe, err: Exception, timeout: float) -> Result:
    host = probe.host
    if isinstance(err, socket.gaierror):
        hostname = urlsplit(probe.url).hostname
        return Result(
            False,
            "dns",
            f"cannot resolve {hostname} (DNS: {err.strerror or err})",
            hint="check the host name in base_url, and your network or VPN",
        )
    if isinstance(err, ConnectionRefusedError):
        return Result(
            False,
            "refused",
            f"connection refused by {host}: nothing listens there",
            hint="check the port in base_url, and that the server runs",
        )
    if isinstance(err, ssl.SSLError):
        if isinstance(err, ssl.SSLCertVerificationError):
            reason = err.verify_message or err.reason
            hint = "a private CA? point SSL_CERT_FILE at its certificate bundle"
        else:
            reason = err.reason or str(err)
            hint = (
                "does the server speak TLS on this port? an http:// endpoint needs http:// "
                "in base_url"
            )
        return Result(False, "tls", f"TLS with {host} failed: {reason}", hint=hint)
    if isinstance(err, TimeoutError):
        return Result(
            False,
            "timeout",
            f"no answer from {host} within {timeout:g} s",
            hint="a slow endpoint? raise --timeout; a firewall that drops packets looks the same",
        )
    if isinstance(err, http.client.RemoteDisconnected):
        return Result(False, "connection", f"{host} closed the connection without an answer")
    reason = getattr(err, "strerror", None) or type(err).__name__
    return Result(False, "connection", f"cannot talk to {host}: {reason}")


def http_failure(probe: Probe, answer: Answer) -> Result:
    status = answer.status
    said = server_message(answer.body)
    code = f"HTTP {status}" + (f" {answer.reason}" if answer.reason else "")
    where = f"{code} from {probe.shown_url}"
    base = Result(False, "bad-request", where, status=status, server_message=said or None)
    detail = f": {said}" if said else ""
    if status in (401, 403) or (status == 400 and probe.auth != "none" and _names_key(said)):
        return replace(
            base,
            kind="auth",
            message=f"{where}: the endpoint rejected the {_credential(probe)}{detail}",
            hint=_store_hint(probe),
        )
    model_named = bool(UNKNOWN_MODEL.search(said)) or (status == 404 and "model" in said.lower())
    if status in (400, 404) and model_named:
        return replace(
            base,
            kind="unknown-model",
            message=f"{where}: the endpoint does not know model '{probe.model}'{detail}",
            hint="set the profile's model to a name this endpoint serves",
        )
    if status == 404:
        return replace(base, kind="not-found", message=f"{where}{detail}", hint=_path_hint(probe))
    if status == 429:
        wait = answer.headers.get("retry-after")
        return replace(
            base,
            kind="rate-limited",
            message=f"{where}: rate limited{detail}",
            hint=f"the endpoint asks to wait {wait} s" if wait else "retry later",
        )
    if status >= 500:
        return replace(
            base,
            kind="server-error",
            message=f"{where}: the server or a gateway in front of it failed{detail}",
            hint="retry later; if it persists, the endpoint's operators can tell why",
        )
    if 300 <= status < 400:
        location = answer.headers.get("location", "")
        return replace(
            base,
            kind="redirect",
            message=f"{where}: redirected to {location.split('?', 1)[0] or 'nowhere'}",
            hint="use the address it redirects to in base_url",
        )
    return replace(base, message=f"{where}{detail}")


def server_message(body: bytes) -> str:
    """The error message in an answer's body (Anthropic, OpenAI, Gemini, Ollama shapes)."""
    text = body.decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            text = error["message"]
        elif isinstance(error, str):
            text = error
        elif isinstance(data.get("message"), str):
            text = data["message"]
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def _names_key(said: str) -> bool:
    # Gemini answers a wrong key with 400 INVALID_ARGUMENT "API key not valid".
    return bool(API_KEY_INVALID.search(said))


def _credential(probe: Probe) -> str:
    if probe.auth == "none":
        return "request, which carries no credentials (add credentials.api_key or auth_token)"
    return {
        X_API_KEY: "API key sent as x-api-key",
        BEARER: "token sent as Authorization: Bearer",
    }.get(probe.auth, "key")


def _store_hint(probe: Probe) -> str | None:
    ref = probe.secret_source.secret if probe.secret_source else None
    if ref is None:
        return None
    if ref.source == "keyring":
        return f"store the right one with: cmem-profile secret set {ref.name}"
    return f"check what {ref.label()} gives"


def _other_mode_hint(probe: Probe, second: Result) -> str | None:
    field_now, field_other = (
        ("credentials.api_key", "credentials.auth_token")
        if probe.auth == X_API_KEY
        else ("credentials.auth_token", "credentials.api_key")
    )
    other = BEARER if probe.auth == X_API_KEY else X_API_KEY
    if second.ok:
        return (
            f"the endpoint accepts the same secret as {other}: move it from {field_now} to "
            f"{field_other} in the profile"
        )
    store = _store_hint(probe)
    tail = f"; {store}" if store else ""
    return (
        f"rejected as {other} too, so the header is not the problem: the secret is wrong, "
        f"expired or lacks access{tail}"
    )


def _path_hint(probe: Probe) -> str:
    path = urlsplit(probe.url).path
    if "/v1/v1/" in path:
        return "the path has /v1 twice: drop the trailing /v1 from base_url"
    if probe.provider == "openrouter" and not path.rstrip("/").endswith(
        "/v1" + "/chat/completions"
    ):
        return "OpenAI-compatible servers usually serve /v1/chat/completions: end base_url in /v1"
    return "check the path in base_url"


def _redacted(result: Result, secret: str) -> Result:
    """Servers echo keys back in errors; no form of the secret leaves this module."""
    if not secret:
        return result
    forms = {secret, quote(secret, safe=""), quote(secret)}

    def clean(text: str | None) -> str | None:
        if text is None:
            return None
        for form in forms:
            text = text.replace(form, REDACTED)
        return text

    return replace(
        result,
        message=clean(result.message) or "",
        hint=clean(result.hint),
        server_message=clean(result.server_message),
    )
