"""Both of claude-mem's files at once, parsed, and read key by key the way claude-mem reads them."""

from __future__ import annotations

import json

from cmem_profiles.envfile import EnvDocument
from cmem_profiles.errors import TargetError
from cmem_profiles.fileio import read_snapshot
from cmem_profiles.paths import DataPaths
from cmem_profiles.render import ENV, SETTINGS
from cmem_profiles.settings_json import parse_settings_document, settings_of
from cmem_profiles.state import load_generation


class Files:
    """Both files' content, parsed, and read key by key the way claude-mem reads them."""

    def __init__(self, contents: dict[str, bytes | None], names: dict[str, str]) -> None:
        self.contents = contents
        self.env = EnvDocument.parse(_text(contents[ENV] or b"", names[ENV]), names[ENV])
        self.document = parse_settings_document(contents[SETTINGS] or b"", names[SETTINGS])
        self.settings = settings_of(self.document)

    def get(self, file: str, key: str) -> str | None:
        if file == ENV:
            return self.env.get(key) or None  # claude-mem: an empty value counts as absent
        raw = self.settings.get(key)
        return None if raw is None else raw if isinstance(raw, str) else json.dumps(raw)

    def keys(self, file: str) -> list[str]:
        return self.env.keys() if file == ENV else list(self.settings)


class LiveFiles(Files):
    """The live files as read under the lock."""

    def __init__(self, paths: DataPaths) -> None:
        self.snapshots = {
            ENV: read_snapshot(paths.env_file),
            SETTINGS: read_snapshot(paths.settings_file),
        }
        contents = {
            name: snap.data if snap.exists else None for name, snap in self.snapshots.items()
        }
        super().__init__(contents, {ENV: str(paths.env_file), SETTINGS: str(paths.settings_file)})


def generation_files(paths: DataPaths, number: int) -> Files:
    contents, _, _ = load_generation(paths, number)
    return Files(contents, {name: f"generation {number} {name}" for name in (ENV, SETTINGS)})


def _text(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise TargetError(
            f"{name}: not UTF-8 text (byte {err.start})",
            hint="fix it by hand, or run 'cmem-profile rollback'",
        ) from None
