"""Real HTTP on loopback: a fake claude-mem worker and fake Anthropic, OpenAI and Gemini APIs.

Each server runs in a thread on a free port of 127.0.0.1 and stops when its test ends.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

from cmem_profiles.envfile import parse_claude_mem
from cmem_profiles.render import ENV_KEYS
from cmem_profiles.secretref import SECRET_SUFFIXES

# claude-mem 13.25's strings for ai.authMethod (D0() in worker-service.cjs).
API_KEY_AUTH = "API key (from ~/.claude-mem/.env)"
GATEWAY_AUTH = "Gateway auth token (from ~/.claude-mem/.env)"
OAUTH_AUTH = "Claude Code OAuth token (read from system keychain at spawn) profile=default"


S = TypeVar("S", "FakeWorker", "FakeEndpoint")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (a timeout test) is expected; anything else is a bug here.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    owner: Any  # the fake the server belongs to, set per server class

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self.owner.handle(self, "GET")

    def do_POST(self) -> None:
        self.owner.handle(self, "POST")

    def reply(self, status: int, data: object, headers: dict[str, str] | None = None) -> None:
        body = data if isinstance(data, bytes) else json.dumps(data).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("content-length") or 0))


class _Running:
    """Start a handler-backed server in a thread; `stop` shuts it down."""

    server: _Server
    tls: ssl.SSLContext | None = None

    def start(self) -> None:
        handler = type("Handler", (_Handler,), {"owner": self})
        self.server = _Server(("127.0.0.1", 0), handler)
        if self.tls is not None:
            self.server.socket = self.tls.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def handle(self, request: _Handler, method: str) -> None:
        raise NotImplementedError


@dataclass
class FakeWorker(_Running):
    """claude-mem's worker API, deciding provider and auth from the data dir as claude-mem does.

    `environment` plays the CLAUDE_MEM_* variables in the worker's environment; `restart`
    is "ok" (a new pid answers at once, worker.pid rewritten) or "stuck" (the pid never changes).
    """

    data_dir: Path
    pid: int = 4242
    version: str = "13.25.3"
    environment: dict[str, str] = field(default_factory=dict)
    restart: str = "ok"
    settings_api: bool = True  # False plays a release without GET /api/settings
    health_status: int = 200
    health_delay: float = 0.0  # > the client's timeout plays a hung worker
    reports: str | None = None  # a provider to report whatever the files say
    write_pid_file: bool = True
    calls: list[str] = field(default_factory=list)

    def start(self) -> None:
        super().start()
        if self.write_pid_file:
            self.write_pid()

    def write_pid(self) -> None:
        info = {"pid": self.pid, "port": self.port, "startedAt": "2026-01-01T00:00:00.000Z"}
        (self.data_dir / "worker.pid").write_text(json.dumps(info, indent=2))

    def effective(self) -> dict[str, str]:
        path = self.data_dir / "settings.json"
        data = json.loads(path.read_text()) if path.exists() else {}
        settings = data.get("env", data) if isinstance(data.get("env"), dict) else data
        merged = {k: v for k, v in settings.items() if isinstance(v, str)}
        return {**merged, **self.environment}

    def credentials(self) -> dict[str, str]:
        path = Path(self.environment.get("CLAUDE_MEM_ENV_FILE") or self.data_dir / ".env")
        values = parse_claude_mem(path.read_text()) if path.exists() else {}
        return {k: v for k, v in values.items() if k in ENV_KEYS and v}

    def ai(self) -> dict[str, str]:
        settings, env = self.effective(), self.credentials()
        chosen = settings.get("CLAUDE_MEM_PROVIDER", "claude")
        provider = "claude"
        for name, variable in (("gemini", "GEMINI_API_KEY"), ("openrouter", "OPENROUTER_API_KEY")):
            key = settings.get(f"CLAUDE_MEM_{name.upper()}_API_KEY") or env.get(variable)
            if chosen == name and key:
                provider = name
        if "ANTHROPIC_API_KEY" in env:
            auth = API_KEY_AUTH
        elif "ANTHROPIC_AUTH_TOKEN" in env:
            auth = GATEWAY_AUTH
        else:
            auth = OAUTH_AUTH
        return {"provider": provider, "authMethod": auth}

    def handle(self, request: _Handler, method: str) -> None:
        self.calls.append(f"{method} {request.path}")
        if method == "GET" and request.path == "/api/health":
            time.sleep(self.health_delay)
            ai = {**self.ai(), **({"provider": self.reports} if self.reports else {})}
            health = {"status": "ok", "version": self.version, "pid": self.pid, "ai": ai}
            request.reply(self.health_status, health)
        elif method == "GET" and request.path == "/api/settings" and self.settings_api:
            masked = {
                k: ("••••" + v[-4:] if v and k.endswith(SECRET_SUFFIXES) else v)
                for k, v in self.effective().items()
            }
            request.reply(200, masked)
        elif method == "POST" and request.path == "/api/admin/restart":
            request.reply(200, {"status": "restarting"})
            if self.restart == "ok":
                self.pid += 1
                self.write_pid()
        else:
            request.reply(404, {"error": "not found"})


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FakeEndpoint(_Running):
    """Anthropic Messages, OpenAI chat completions and Gemini generateContent on one server.

    A request with the right secret gets the `answer`: "ok", "429", "500", "slow" (answers
    after `delay` s) or "close" (hangs up). A wrong or missing secret gets that API's own
    authentication error, which echoes the secret it received, as some servers do.
    """

    secret: str
    header: str = "x-api-key"  # Anthropic only: "x-api-key" or "bearer"
    prefix: str = ""  # the path before /v1/messages, /v1/chat/completions or /v1beta/models
    models: tuple[str, ...] = ()  # the models served; empty serves any
    answer: str = "ok"
    delay: float = 1.0
    requests: list[Request] = field(default_factory=list)

    def url(self, path: str = "") -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def handle(self, request: _Handler, method: str) -> None:
        raw = request.body()
        body = json.loads(raw) if raw else {}
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.requests.append(Request(request.path, headers, body))
        path = request.path.split("?", 1)[0]
        gemini = re.fullmatch(
            re.escape(self.prefix) + r"/v1beta/models/([^/]+):generateContent", path
        )
        if method == "POST" and path == f"{self.prefix}/v1/messages":
            self._anthropic(request, headers, body)
        elif method == "POST" and path == f"{self.prefix}/v1/chat/completions":
            self._openai(request, headers, body)
        elif method == "POST" and gemini:
            self._gemini(request, gemini.group(1))
        else:
            request.reply(404, b"404 page not found")

    def _bearer(self, headers: dict[str, str]) -> str:
        return headers.get("authorization", "").removeprefix("Bearer ")

    def _anthropic(self, request: _Handler, headers: dict[str, str], body: dict[str, Any]) -> None:
        sent = headers.get("x-api-key", "") if self.header == "x-api-key" else self._bearer(headers)
        if sent != self.secret:
            received = headers.get("x-api-key") or self._bearer(headers)
            error = {"type": "authentication_error", "message": f"invalid x-api-key: {received}"}
            request.reply(401, {"type": "error", "error": error})
        elif self.models and body.get("model") not in self.models:
            error = {"type": "not_found_error", "message": f"model: {body.get('model')}"}
            request.reply(404, {"type": "error", "error": error})
        else:
            self._answer(request, {"type": "message", "content": [{"type": "text", "text": "p"}]})

    def _openai(self, request: _Handler, headers: dict[str, str], body: dict[str, Any]) -> None:
        sent = self._bearer(headers)
        if sent != self.secret:
            error = {"message": f"Incorrect API key provided: {sent}", "code": 401}
            request.reply(401, {"error": error})
        elif self.models and body.get("model") not in self.models:
            error = {"message": f"{body.get('model')} is not a valid model ID", "code": 400}
            request.reply(400, {"error": error})
        else:
            self._answer(request, {"choices": [{"message": {"content": "p"}}]})

    def _gemini(self, request: _Handler, model: str) -> None:
        key = re.search(r"[?&]key=([^&]*)", request.path)
        if not key or key.group(1) != self.secret:
            error = {
                "code": 400,
                "message": "API key not valid. Please pass a valid API key.",
                "status": "INVALID_ARGUMENT",
            }
            request.reply(400, {"error": error})
        elif self.models and model not in self.models:
            message = f"models/{model} is not found for API version v1beta"
            request.reply(404, {"error": {"code": 404, "message": message, "status": "NOT_FOUND"}})
        else:
            self._answer(request, {"candidates": [{"content": {"parts": [{"text": "p"}]}}]})

    def _answer(self, request: _Handler, ok: object) -> None:
        if self.answer == "slow":
            time.sleep(self.delay)
        if self.answer == "close":
            request.close_connection = True
            request.connection.shutdown(socket.SHUT_RDWR)
            return
        if self.answer == "301":
            # Some gateways redirect, and echo the query (a Gemini key) into Location.
            location = f"https://moved.example.com/v2{request.path}"
            request.reply(301, b"", {"location": location})
        elif self.answer == "429":
            request.reply(429, {"error": {"message": "rate limit exceeded"}}, {"retry-after": "7"})
        elif self.answer.isdigit():
            request.reply(int(self.answer), {"error": {"message": "upstream connect error"}})
        else:
            request.reply(200, ok)


def starter(make: Callable[..., S]) -> Iterator[Callable[..., S]]:
    """A fixture's body: start servers built by `make`; stop them all when the test ends."""
    started: list[S] = []

    def start(**options: Any) -> S:
        server = make(**options)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def tls_context(pem: Path) -> ssl.SSLContext:
    """A server context with the fixture's self-signed certificate for 127.0.0.1."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pem)
    return context
