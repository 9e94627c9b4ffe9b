"""The trust gate: a secret goes only to hosts it has been used with on this machine.

A profile pulled from a shared repository can be edited to send a person's key elsewhere.
This module remembers, per secret reference, the endpoint hosts the user has sent it to. The
first use of a secret records its host; a later profile sending the same secret to another
host stops until the user says yes on a terminal, runs `cmem-profile trust NAME`, or passes
`use --trust`. The records hold reference names and host names, never a value.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cmem_profiles.errors import CmemProfileError
from cmem_profiles.paths import DataPaths
from cmem_profiles.profiles import Profile, display_path
from cmem_profiles.secretref import SecretRef


class UntrustedHost(CmemProfileError):
    """A profile would send a secret to a host it was never used with."""


@dataclass(frozen=True)
class Pair:
    """A secret reference and a host it may be sent to."""

    secret: str
    host: str
    profile: str = ""  # the profile that first recorded the pair
    since: str = ""


def identity(ref: SecretRef) -> str:
    """A secret's stable name: the label, or a command's whole argv (its label is argv[0])."""
    if ref.source == "command":
        return "command:" + " ".join(ref.argv)
    return ref.label()


@dataclass
class Gate:
    """What a profile's switch means for trust: pairs to record, and hosts never used."""

    profile: Profile
    host: str
    new: list[str] = field(default_factory=list)  # secrets never used anywhere yet
    untrusted: dict[str, list[str]] = field(default_factory=dict)  # secret -> known hosts

    def pairs(self) -> list[Pair]:
        now = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        secrets = [*self.new, *self.untrusted]
        return [Pair(s, self.host, self.profile.name, now) for s in secrets]


def trust_file(paths: DataPaths) -> Path:
    return paths.trust_file


def load_pairs(paths: DataPaths) -> list[Pair]:
    try:
        raw = json.loads(trust_file(paths).read_bytes())
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        raise CmemProfileError(
            f"cannot read the trust records {trust_file(paths)}: {exc}",
            hint="move the file aside; every secret is then trusted again on its next use",
        ) from None
    pairs = raw.get("pairs") if isinstance(raw, dict) else None
    if not isinstance(pairs, list):
        return []
    return [
        Pair(**{k: str(p.get(k, "")) for k in ("secret", "host", "profile", "since")})
        for p in pairs
        if isinstance(p, dict) and p.get("secret") and p.get("host")
    ]


def check(paths: DataPaths, profile: Profile, host: str | None = None) -> Gate:
    """The gate for sending profile's secrets to host (default: the profile's endpoint)."""
    known = load_pairs(paths)
    gate = Gate(profile, host or profile.endpoint_host)
    for _, ref in profile.secret_refs():
        secret = identity(ref)
        hosts = [p.host for p in known if p.secret == secret]
        if not hosts:
            gate.new.append(secret)
        elif gate.host not in hosts:
            gate.untrusted[secret] = hosts
    return gate


def record(paths: DataPaths, pairs: list[Pair]) -> list[Pair]:
    """Add pairs not yet recorded (under the switch lock); return those that were new."""
    from cmem_profiles.targets import SwitchLock, write_atomic

    if not pairs:
        return []
    with SwitchLock(paths.state_dir):
        known = load_pairs(paths)
        seen = {(p.secret, p.host) for p in known}
        added = [p for p in pairs if (p.secret, p.host) not in seen]
        if added:
            data = {"pairs": [asdict(p) for p in [*known, *added]]}
            write_atomic(trust_file(paths), (json.dumps(data, indent=2) + "\n").encode(), 0o600)
    return added


def forget(paths: DataPaths, profile: Profile) -> list[Pair]:
    """Remove the pairs of profile's secrets with its host; return those removed."""
    from cmem_profiles.targets import SwitchLock, write_atomic

    secrets = {identity(ref) for _, ref in profile.secret_refs()}
    host = profile.endpoint_host
    with SwitchLock(paths.state_dir):
        known = load_pairs(paths)
        removed = [p for p in known if p.secret in secrets and p.host == host]
        if removed:
            kept = [asdict(p) for p in known if p not in removed]
            write_atomic(
                trust_file(paths), (json.dumps({"pairs": kept}, indent=2) + "\n").encode(), 0o600
            )
    return removed


def provenance(file: Path) -> str:
    """The profile file, and its git commit when it is in a repository (with local edits)."""
    shown = display_path(file)
    git = ["git", "-C", str(file.parent)]
    try:
        commit = subprocess.run(
            [*git, "log", "-1", "--format=%h", "--", file.name],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.strip()
        if not commit:
            return shown
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--", file.name],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return shown
    return f"{shown} at commit {commit}{' with uncommitted changes' if dirty else ''}"


def describe(gate: Gate) -> list[str]:
    """What a person needs to decide: profile, file and commit, secret, old and new host."""
    mark = gate.profile.marks.get(("base_url",))
    if mark is not None and mark.file is not None:
        # The host may come from a base or an overlay: name the file (and commit) that set it.
        where = f"base_url set in {provenance(Path(mark.file))}, line {mark.line}"
    else:
        where = provenance(gate.profile.file)
    lines = [f"profile {gate.profile.name} ({where})"]
    for secret, hosts in gate.untrusted.items():
        lines.append(
            f"  would send {secret} to {gate.host}; it has been used with {', '.join(hosts)}"
        )
    return lines


def refusal(gate: Gate) -> UntrustedHost:
    secrets = ", ".join(gate.untrusted)
    return UntrustedHost(
        f"{gate.profile.name} would send {secrets} to a new host, {gate.host}; nothing written\n"
        + "\n".join(describe(gate)),
        hint=f"if {gate.host} is right: cmem-profile trust {gate.profile.name}"
        " (or use --trust); otherwise check who changed the profile",
    )


def pass_gate(
    paths: DataPaths,
    profile: Profile,
    *,
    host: str | None = None,
    accept: bool = False,
    no_input: bool = False,
) -> Gate:
    """Stop unless every secret goes to a host it went to before, or the user agrees now.

    The caller records `gate.pairs()` once the secrets have actually been used.
    """
    from cmem_profiles import output

    gate = check(paths, profile, host)
    if not gate.untrusted or accept:
        return gate
    if no_input or not (sys.stdin.isatty() and sys.stderr.isatty()):
        raise refusal(gate)
    for line in describe(gate):
        output.note(line)
    sys.stderr.write(f"send these secrets to {gate.host} from now on? [y/N] ")
    sys.stderr.flush()
    if sys.stdin.readline().strip().lower() not in ("y", "yes"):
        raise UntrustedHost(
            f"not trusted: {gate.host}; nothing written",
            hint=f"run 'cmem-profile trust {profile.name}' once you have checked the profile",
        )
    return gate
