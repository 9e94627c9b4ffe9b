"""Remember which profile files were judged clean, so an unchanged file skips the schema.

A record is one line: a 256-bit BLAKE2 hash of the validator's identity (the schema, and the
code that judges a profile) followed by the file's bytes. Only "these exact bytes had no
problem at all" is ever written: never a file's content, a name or a value. A changed file, a
changed schema or a changed judge gives a different record, so it is judged again; a file with
any problem, warnings included, is never recorded and is judged every time. A cache that
cannot be read or written is ignored: it can only make a command slower, never change its
verdict.
"""

from __future__ import annotations

import os
from pathlib import Path

try:  # hashlib's own BLAKE2, without importing hashlib: that loads OpenSSL, ~2 ms a run
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - a Python built without it
    from hashlib import blake2b

from cmem_profiles import __version__
from cmem_profiles.paths import cache_dir

CACHE_FILE = "validated-v1"
PACKAGE = Path(__file__).parent  # where the judges below are read from
# Past this size (about 60,000 records, mostly of files edited since) the file starts over.
MAX_BYTES = 4 << 20
# What a verdict depends on besides the file: editing any of these invalidates every record.
JUDGES = (
    "schemas/profile.schema.json",
    "profiles.py",
    "rules.py",
    "schema.py",
    "secretref.py",
    "secrets_scan.py",
    "yamldoc.py",
)


class ValidationCache:
    """The records of one cache file, read once; lookups never fail, writes fail silently."""

    def __init__(self, path: Path, package: Path) -> None:
        self.path = path
        self.package = package
        self._identity: bytes | None = None
        self._records: set[str] | None = None
        self._start_over = False

    def key(self, texts: tuple[str, ...]) -> str:
        if self._identity is None:
            self._identity = _identity(self.package)
        digest = blake2b(self._identity, digest_size=32)
        for text in texts:
            data = text.encode()
            digest.update(len(data).to_bytes(8, "big"))
            digest.update(data)
        return digest.hexdigest()

    def known_clean(self, texts: tuple[str, ...]) -> bool:
        return self.key(texts) in self._load()

    def remember_clean(self, texts: tuple[str, ...]) -> None:
        key = self.key(texts)
        records = self._load()
        if key in records:
            return
        records.add(key)
        flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if self._start_over else os.O_APPEND)
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, flags | os.O_NOFOLLOW, 0o600)
            try:
                # One short O_APPEND write: concurrent runs add whole lines, never interleave.
                os.write(fd, f"{key}\n".encode("ascii"))
            finally:
                os.close(fd)
        except OSError:
            return
        self._start_over = False

    def _load(self) -> set[str]:
        if self._records is None:
            try:
                data = self.path.read_bytes()
            except OSError:
                data = b""
            self._start_over = len(data) > MAX_BYTES
            # Anything that is not a record (corruption, a stray edit) simply never matches.
            self._records = set() if self._start_over else set(data.decode("latin-1").split())
        return self._records


def _identity(package: Path) -> bytes:
    digest = blake2b(f"cmem-profile {__version__}".encode(), digest_size=32)
    for name in JUDGES:
        try:
            digest.update((package / name).read_bytes())
        except OSError:
            digest.update(f"{name} unreadable".encode())
    return digest.digest()


_caches: dict[Path, ValidationCache] = {}


def validation_cache() -> ValidationCache:
    """This process's view of the cache under $XDG_CACHE_HOME/cmem-profile."""
    path = cache_dir() / CACHE_FILE
    cache = _caches.get(path)
    if cache is None:
        cache = _caches[path] = ValidationCache(path, PACKAGE)
    return cache


def known_clean(*texts: str) -> bool:
    """Whether these exact texts (one file, or every file a verdict rests on) were judged clean."""
    return validation_cache().known_clean(texts)


def remember_clean(*texts: str) -> None:
    """Record that these exact texts were judged clean: no error and no warning."""
    validation_cache().remember_clean(texts)
