"""The schema is a contract that works on its own, in editors and stock validators."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from conftest import REPO

SCHEMA_PATH = REPO / "schemas" / "profile.schema.json"
BUNDLED = sorted((REPO / "profiles").glob("*.yaml"))


def _schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SCHEMA_PATH.read_text())
    return data


def test_schema_is_valid_draft_2020_12() -> None:
    schema = _schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"]
    jsonschema.Draft202012Validator.check_schema(schema)


def _objects(node: Any, path: str = "$") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        if node.get("type") == "object":
            yield path, node
        for key, value in node.items():
            yield from _objects(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _objects(value, f"{path}[{i}]")


def test_every_object_is_closed_and_every_property_documented() -> None:
    objects = list(_objects(_schema()))
    assert len(objects) >= 4
    for path, obj in objects:
        assert obj.get("additionalProperties") is False, path
        for name, prop in obj.get("properties", {}).items():
            assert prop.get("description"), f"{path}.{name}"
    top = _schema()["properties"]
    for name in ("description", "provider", "base_url", "model", "credentials", "settings"):
        assert top[name]["title"] and top[name]["examples"], name


def test_installed_package_carries_the_same_schema() -> None:
    from cmem_profiles.schema import schema_text

    assert schema_text() == SCHEMA_PATH.read_text()


@pytest.mark.parametrize("path", BUNDLED, ids=[p.stem for p in BUNDLED])
def test_stock_validator_accepts_bundled_profile(path: Path) -> None:
    jsonschema.Draft202012Validator(_schema()).validate(yaml.safe_load(path.read_text()))


def test_stock_validator_rejects_a_literal_secret() -> None:
    bad = {"description": "x", "provider": "claude", "credentials": {"api_key": "sk-ant-x"}}
    assert not jsonschema.Draft202012Validator(_schema()).is_valid(bad)


def test_check_jsonschema_accepts_bundled_profiles() -> None:
    exe = shutil.which("check-jsonschema") or str(Path(sys.executable).parent / "check-jsonschema")
    result = subprocess.run(
        [exe, "--schemafile", str(SCHEMA_PATH), *map(str, BUNDLED)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
