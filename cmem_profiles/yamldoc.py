"""Strict YAML loading that remembers where every key and value came from.

PyYAML's safe loader silently keeps the last of duplicate keys and turns `no`, `on`, `0755`
and dates into non-strings. We compose the node tree ourselves so that duplicates become
problems, typed scalars stay visibly typed (the schema then says "quote it"), and every
JSON path maps back to a file, line and column.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import yaml

from cmem_profiles.problems import Problem

try:
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader  # type: ignore[assignment]

JsonPath = tuple[str | int, ...]

_TAG = "tag:yaml.org,2002:"


@dataclass(frozen=True)
class Mark:
    """A 1-based line and column, and the scalar's source text when it is a plain scalar."""

    line: int
    column: int
    text: str | None = None


@dataclass
class Document:
    """A loaded YAML file: its data, where each value and key sits, and the problems found."""

    file: str
    data: Any
    values: dict[JsonPath, Mark] = field(default_factory=dict)
    keys: dict[JsonPath, Mark] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def value_mark(self, path: JsonPath) -> Mark:
        """The position of the value at path, or of its nearest ancestor we know."""
        while path not in self.values and path:
            path = path[:-1]
        return self.values.get(path, Mark(1, 1))

    def key_mark(self, path: JsonPath) -> Mark:
        return self.keys.get(path) or self.value_mark(path)

    def problem(
        self, path: JsonPath, message: str, *, at_key: bool = False, warning: bool = False
    ) -> Problem:
        mark = self.key_mark(path) if at_key else self.value_mark(path)
        return Problem(
            self.file,
            mark.line,
            mark.column,
            json_path(path),
            message,
            "warning" if warning else "error",
        )


def json_path(path: JsonPath) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def _mark(node: yaml.Node) -> Mark:
    text = node.value if isinstance(node, yaml.ScalarNode) and not node.style else None
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1, text)


class _Builder:
    """Turns a composed node tree into plain data, recording marks and problems."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.constructor = SafeLoader("")  # only its scalar constructors are used

    def build(self, node: yaml.Node, path: JsonPath) -> Any:
        self.doc.values[path] = _mark(node)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        return self._scalar(node)

    def _mapping(self, node: yaml.MappingNode, path: JsonPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != _TAG + "str":
                mark = _mark(key_node)
                what = (
                    f"key {key_node.value!r}" if isinstance(key_node, yaml.ScalarNode) else "a key"
                )
                self.doc.problems.append(
                    Problem(
                        self.doc.file,
                        mark.line,
                        mark.column,
                        json_path(path),
                        f"{what} is not a plain string: quote it",
                    )
                )
                continue
            key = key_node.value
            child = (*path, key)
            if key in result:
                mark = _mark(key_node)
                first = self.doc.keys[child]
                self.doc.problems.append(
                    Problem(
                        self.doc.file,
                        mark.line,
                        mark.column,
                        json_path(child),
                        f"duplicate key {key!r} (first set on line {first.line}): keep one",
                    )
                )
                continue
            self.doc.keys[child] = _mark(key_node)
            result[key] = self.build(value_node, child)
        return result

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        tag = node.tag
        if tag == _TAG + "str":
            return node.value
        resolve = self.constructor.resolve
        implicit = resolve(yaml.ScalarNode, node.value, (True, False))  # type: ignore[no-untyped-call]
        if tag in _TYPED and tag == implicit:
            # Called directly, not through construct_object, which would remember a failure
            # and refuse the node again where an alias repeats it.
            construct = SafeLoader.yaml_constructors[tag]
            with contextlib.suppress(ValueError):  # 2024-13-45, 0x_, an int past 4300 digits
                return construct(self.constructor, node)
        # An explicit tag on text of another type (`!!int x`) breaks PyYAML's constructors;
        # binary, sets and other tags have no place in a profile. Keep the text, typed apart.
        return TaggedScalar(tag.removeprefix(_TAG), node.value)


_TYPED = frozenset(_TAG + name for name in ("bool", "int", "float", "null", "timestamp"))


@dataclass(frozen=True)
class TaggedScalar:
    """A scalar YAML reads as a type that JSON has no value for: its tag (`int` for
    `tag:yaml.org,2002:int`) and its text."""

    tag: str
    text: str


def load_document(text: str, file: str) -> Document:
    """Parse one YAML document; syntax errors and duplicates become Problems, not exceptions."""
    doc = Document(file=file, data=None)
    try:
        node = yaml.compose(text, Loader=SafeLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = err.problem or err.context or "invalid YAML"
        if "another document" in what:
            what = "a profile is one YAML document: remove the '---' and what follows"
        doc.problems.append(Problem(file, line, column, "$", f"YAML syntax error: {what}"))
        return doc
    except yaml.reader.ReaderError as err:
        # A control character or bad encoding: say where, without echoing the file's content.
        before = text[: err.position]
        line, column = before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1
        code = ord(err.character) if isinstance(err.character, str) else err.character
        message = f"unacceptable character #x{code:04x}: remove it"
        doc.problems.append(Problem(file, line, column, "$", message))
        return doc
    if node is None:
        doc.problems.append(
            Problem(
                file, 1, 1, "$", "empty file: a profile needs at least a description and a provider"
            )
        )
        return doc
    doc.data = _Builder(doc).build(node, ())
    return doc
