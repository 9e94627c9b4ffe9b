"""`test NAME`: one minimal real request through a profile's endpoint, as claude-mem sends it."""

from __future__ import annotations

import argparse
import sys
from urllib.parse import urlsplit

from cmem_profiles import output, trust
from cmem_profiles.endpoint import build_probe
from cmem_profiles.errors import EndpointError
from cmem_profiles.paths import data_paths
from cmem_profiles.probe import run_probe
from cmem_profiles.profiles import find_profile
from cmem_profiles.render import render_plan


def run(args: argparse.Namespace) -> int:
    profile = find_profile(args.name, args.profiles_dir)
    plan = render_plan(profile)
    # The request carries the secrets: the same trust gate as a switch guards it.
    host = urlsplit(args.base_url).netloc if args.base_url else None
    gate = trust.pass_gate(
        data_paths(args.data_dir), profile, host=host, accept=args.trust, no_input=args.no_input
    )
    refs = plan.secret_refs()
    values = {}
    if refs:
        from cmem_profiles.secrets import resolve_all

        values = resolve_all(refs, interactive=not args.no_input and sys.stdin.isatty())
    probe = build_probe(plan.bind(values), args.base_url)
    result = run_probe(probe, args.timeout)
    trust.record(data_paths(args.data_dir), gate.pairs())
    if args.json:
        output.emit_json(
            {
                "profile": plan.profile,
                "provider": probe.provider,
                "url": probe.shown_url,
                "model": probe.model,
                "auth": probe.auth,
                "ok": result.ok,
                "result": result.kind,
                "status": result.status,
                "latency_ms": result.latency_ms,
                "message": result.message,
                "hint": result.hint,
                "server_message": result.server_message,
                "other_header_mode": result.other_header_mode,
            }
        )
        return 0 if result.ok else 1
    if not result.ok:
        raise EndpointError(f"{plan.profile}: {result.message}", hint=result.hint)
    output.emit(
        f"{plan.profile}: {result.message} (HTTP {result.status} from POST {probe.shown_url}, "
        f"model {probe.model})"
    )
    return 0
