"""A profile's layers: `extends` chains and `.local.yaml` overlays merged into one document.

A profile is its base (through `extends`, recursively), then its own file, then its overlay
`<name>.local.yaml` beside it. Merging follows JSON Merge Patch: mappings merge key by key,
other values replace, and null removes an inherited key. A secret reference is replaced whole,
so a child's `{env: X}` never mixes with a base's `{keyring: y}`.

Every value of the merged document keeps the mark of the file and line that set it, so
schema errors, rule findings and `explain` point at the right layer. Each file is read and
parsed once, and each profile resolved once, however many profiles extend it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cmem_profiles.document import Document, JsonPath, Mark
from cmem_profiles.problems import Problem

SUFFIX = ".yaml"
OVERLAY_SUFFIX = ".local.yaml"
# Keys of a profile's own file that are not inherited and that an overlay may not set.
OWN_KEYS = ("extends", "abstract")


def overlay_path(profile_file: Path) -> Path:
    return profile_file.with_name(profile_file.name[: -len(SUFFIX)] + OVERLAY_SUFFIX)


def is_overlay(path: Path) -> bool:
    return path.name.endswith(OVERLAY_SUFFIX)


@dataclass(frozen=True)
class Layer:
    """One file of a resolved profile and its part in it."""

    role: str  # "base", "profile" or "overlay"
    name: str  # the profile the file belongs to
    file: str  # as displayed


@dataclass
class Resolved:
    """A profile's merged document, the layers it came from (base first), and its problems."""

    doc: Document
    layers: list[Layer] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    sources: list[Document] = field(default_factory=list)  # each layer's own file, as parsed
    # A layer could not be read or parsed, or the base is missing: the merged document is
    # incomplete, so checking it would only add noise to the problems already found.
    broken: bool = False


def _is_secret_ref(path: JsonPath) -> bool:
    return len(path) == 2 and path[0] == "credentials"


def _stamp(doc: Document) -> Document:
    """A copy of doc whose marks all name its file."""
    return Document(
        file=doc.file,
        data=doc.data,
        text=doc.text,
        values={p: replace(m, file=doc.file) for p, m in doc.values.items()},
        keys={p: replace(m, file=doc.file) for p, m in doc.keys.items()},
        problems=list(doc.problems),
    )


def _drop(marks: dict[JsonPath, Mark], path: JsonPath) -> None:
    for p in [p for p in marks if p[: len(path)] == path]:
        del marks[p]


def _take(out: Document, layer: Document, path: JsonPath) -> None:
    """Replace everything out knows at and under path with what layer has there."""
    for src, dst in ((layer.values, out.values), (layer.keys, out.keys)):
        _drop(dst, path)
        dst.update({p: m for p, m in src.items() if p[: len(path)] == path})


def _merge(out: Document, base: Any, over: Any, layer: Document, path: JsonPath) -> Any:
    if not (isinstance(base, dict) and isinstance(over, dict)) or _is_secret_ref(path):
        _take(out, layer, path)
        return over
    merged = dict(base)
    for key, value in over.items():
        child = (*path, key)
        if value is None:
            merged.pop(key, None)
            _drop(out.values, child)
            _drop(out.keys, child)
        elif key in merged:
            merged[key] = _merge(out, merged[key], value, layer, child)
        else:
            merged[key] = value
            _take(out, layer, child)
    if path in layer.values:
        out.values[path] = layer.values[path]
    if path in layer.keys:
        out.keys[path] = layer.keys[path]
    return merged


def merge(base: Document, over: Document) -> Document:
    """over's data merged onto base's, marks following the values; both must be stamped."""
    out = Document(file=over.file, data=None, values=dict(base.values), keys=dict(base.keys))
    out.data = _merge(out, base.data, over.data, over, ())
    return out


def _without(doc: Document, keys: tuple[str, ...]) -> Document:
    data = {k: v for k, v in doc.data.items() if k not in keys}
    out = Document(file=doc.file, data=data, values=dict(doc.values), keys=dict(doc.keys))
    for key in keys:
        _drop(out.values, (key,))
        _drop(out.keys, (key,))
    return out


Reader = Callable[[Path], Document]
Locator = Callable[[str, Path], Path | None]


class Resolver:
    """Resolves profile files into merged documents, reading and resolving each file once."""

    def __init__(self, read: Reader, locate: Locator, display: Callable[[Path], str]) -> None:
        self._read = read
        self._locate = locate
        self._display = display
        self._docs: dict[Path, Document] = {}
        self._resolved: dict[Path, Resolved] = {}

    def document(self, path: Path) -> Document:
        if path not in self._docs:
            self._docs[path] = _stamp(self._read(path))
        return self._docs[path]

    def resolve(self, path: Path) -> Resolved:
        return self._resolve(path, [])

    def _resolve(self, path: Path, chain: list[tuple[str, Path]]) -> Resolved:
        if path in self._resolved:
            return self._resolved[path]
        name = path.name[: -len(SUFFIX)]
        doc = self.document(path)
        result = Resolved(doc=doc, layers=[Layer("profile", name, doc.file)], sources=[doc])
        if doc.problems:
            result.problems = list(doc.problems)
            result.broken = True
            return self._done(path, result)
        if not isinstance(doc.data, dict):
            # The schema reports the wrong type; there is nothing to extend or overlay.
            return self._done(path, result)
        merged = doc
        parent = doc.data.get("extends")
        if isinstance(parent, str):
            base = self._base(path, name, parent, chain, result)
            if base is not None:
                result.layers = [
                    replace(layer, role="base") for layer in base.layers
                ] + result.layers
                result.sources = base.sources + result.sources
                # A broken base breaks the profile: show the base's own findings.
                result.problems += base.problems
                result.broken = base.broken
                if isinstance(base.doc.data, dict):
                    merged = merge(_without(base.doc, OWN_KEYS), doc)
            else:
                result.broken = True
        overlay_file = overlay_path(path)
        if overlay_file.is_file():
            overlay = self.document(overlay_file)
            result.layers.append(Layer("overlay", name, overlay.file))
            result.sources.append(overlay)
            result.problems += overlay.problems
            result.broken = result.broken or bool(overlay.problems)
            if not overlay.problems:
                if not isinstance(overlay.data, dict):
                    result.broken = True
                    result.problems.append(
                        overlay.problem((), "an overlay is a mapping of the keys it changes")
                    )
                else:
                    result.problems += [
                        overlay.problem(
                            (key,),
                            f"{key!r} belongs in {doc.file}, not in its overlay",
                            at_key=True,
                        )
                        for key in OWN_KEYS
                        if key in overlay.data
                    ]
                    merged = merge(merged, _without(overlay, OWN_KEYS))
        result.doc = merged
        return self._done(path, result)

    def _base(
        self,
        path: Path,
        name: str,
        parent: str,
        chain: list[tuple[str, Path]],
        result: Resolved,
    ) -> Resolved | None:
        doc = self.document(path)
        located = self._locate(parent, path)
        if located is None:
            message = (
                f"{name!r} extends itself and shadows no other {name!r}: name another profile"
                if parent == name
                else f"no profile {parent!r} to extend in the search path"
            )
            result.problems.append(doc.problem(("extends",), message))
            return None
        seen = [*chain, (name, path)]
        cycle_start = next((i for i, (_, p) in enumerate(seen) if p == located), None)
        if cycle_start is not None:
            result.problems.append(self._cycle(seen[cycle_start:]))
            return None
        return self._resolve(located, seen)

    def _cycle(self, members: list[tuple[str, Path]]) -> Problem:
        """One problem for a cycle, the same whichever member resolution started from."""
        first = min(range(len(members)), key=lambda i: members[i])
        ring = members[first:] + members[:first]
        names = " -> ".join([n for n, _ in ring] + [ring[0][0]])
        return self.document(ring[0][1]).problem(
            ("extends",), f"extends cycle: {names}: remove one 'extends'"
        )

    def _done(self, path: Path, result: Resolved) -> Resolved:
        self._resolved[path] = result
        return result
