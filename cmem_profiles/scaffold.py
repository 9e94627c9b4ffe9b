"""The files of a new team profile repository, as text (pure: `init` writes them)."""

from __future__ import annotations

import json
import re

HOOK_ID = "cmem-profile-validate"
EXAMPLE = "team-gateway"

_EXAMPLE_PROFILE = """\
# yaml-language-server: $schema=../schemas/profile.schema.json
#
# An example team profile: the team's LLM gateway in front of api.anthropic.com.
# One file per backend, named profiles/<name>.yaml (lowercase letters, digits and '-');
# the name is what people type: cmem-profile use team-gateway
#
# No key is ever written here. Each person stores it once in their own OS keyring:
#
#   cmem-profile secret set team-gateway
#
# Personal tweaks (another model, another secret name) go in profiles/<name>.local.yaml,
# which git ignores.
description: Team LLM gateway in front of api.anthropic.com (example)
provider: claude                     # claude | gemini | openrouter
# Without /v1: claude-mem appends /v1/messages itself.
base_url: https://llm-gateway.example.com
# A model name the gateway accepts.
model: claude-haiku-4-5-20251001
credentials:
  api_key: {keyring: team-gateway}   # or {env: VAR}, or {command: [op, read, op://...]}
settings:
  # Tier routing sends the literal model "haiku" for simple batches; most gateways do not
  # map that alias, so keep every batch on the model above.
  CLAUDE_MEM_TIER_ROUTING_ENABLED: "false"
"""

_GITIGNORE = """\
# Personal overlays: each person's own tweaks to a team profile.
*.local.yaml
"""

_PRE_COMMIT_HEAD = """\
# Checks every changed profile against the schema and claude-mem's rules, and refuses
# pasted keys. Once per clone: pre-commit install
"""
# Without a hook repository: the same hook as cmem-profile's .pre-commit-hooks.yaml, run by
# the cmem-profile each person has installed.
_PRE_COMMIT_LOCAL = """\
# It runs the cmem-profile each person has installed. To pin one release for everyone, use
# the hook from cmem-profile's repository: cmem-profile init --hook-repo URL --hook-rev REV
repos:
  - repo: local
    hooks:
      - id: {hook}
        name: cmem-profile validate
        entry: cmem-profile validate
        language: system
        files: ^profiles/.*\\.ya?ml$
"""
_PRE_COMMIT_REMOTE = """\
repos:
  - repo: {repo}
    rev: {rev}
    hooks:
      - id: {hook}
"""

_README = """\
# Team profiles for claude-mem

Each file in `profiles/` is one LLM backend for [claude-mem](https://github.com/thedotmack/claude-mem),
switched to with cmem-profile. Profiles name their secrets; the values stay in
each person's OS keyring and never enter this repository.

## Use them

```sh
cmem-profile repo add <this repository's URL, or your clone's directory>
cmem-profile list                       # the REPO column shows where each profile comes from
cmem-profile secret set team-gateway    # once: the key, into your keyring
cmem-profile use team-gateway
```

## Change them

- One file per backend, `profiles/<name>.yaml`; start from `profiles/{example}.yaml`.
  `schemas/profile.schema.json` lets editors complete and check them.
- Check before you push: `cmem-profile validate profiles/*.yaml`, or once per clone
  `pre-commit install`, and every commit runs the same check. It fails on a pasted key
  anywhere in a profile, comments included.
- Personal tweaks go in `profiles/<name>.local.yaml`, which git ignores.
"""


def _yaml_scalar(text: str) -> str:
    # A JSON string is a YAML string: quote anything beyond a plain URL or path.
    return text if re.fullmatch(r"[\w@:/.~+-]+", text) and text[0] not in "@~" else json.dumps(text)


def pre_commit_config(hook_repo: str | None, hook_rev: str | None) -> str:
    """pre-commit's config: the hook from a repository at a revision, or run locally."""
    if hook_repo is None or hook_rev is None:
        return _PRE_COMMIT_HEAD + _PRE_COMMIT_LOCAL.format(hook=HOOK_ID)
    body = _PRE_COMMIT_REMOTE.format(
        repo=_yaml_scalar(hook_repo), rev=_yaml_scalar(hook_rev), hook=HOOK_ID
    )
    return _PRE_COMMIT_HEAD + body


def team_repo_files(
    schema: str, hook_repo: str | None = None, hook_rev: str | None = None
) -> dict[str, str]:
    """Each file of a new team repository by its relative path, in the order to write them."""
    return {
        f"profiles/{EXAMPLE}.yaml": _EXAMPLE_PROFILE,
        "schemas/profile.schema.json": schema,
        ".gitignore": _GITIGNORE,
        ".pre-commit-config.yaml": pre_commit_config(hook_repo, hook_rev),
        "README.md": _README.format(example=EXAMPLE),
    }
