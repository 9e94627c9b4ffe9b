"""Strict YAML loading that remembers where every key and value came from.

PyYAML's safe loader silently keeps the last of duplicate keys and turns `no`, `on`, `0755`
and dates into non-strings. We compose the node tree ourselves so that duplicates become
problems, typed scalars stay visibly typed (the schema then says "quote it"), and every
JSON path maps back to a file, line and column.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import yaml

from cmem_profiles.document import Document, JsonPath, Mark, json_path
from cmem_profiles.problems import Problem
from cmem_profiles.secrets_scan import named, shown

try:
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader  # type: ignore[assignment]

_TAG = "tag:yaml.org,2002:"


def _mark(node: yaml.Node) -> Mark:
    text = node.value if isinstance(node, yaml.ScalarNode) and not node.style else None
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1, text)


# A profile nests four levels; far deeper nesting overflows the stack of libyaml's composer
# (a segfault near 30,000 levels) and of the builder (RecursionError near 500).
MAX_DEPTH = 64
_DEPTH_MESSAGE = f"nested more than {MAX_DEPTH} levels deep: a profile nests a few levels at most"


class _Refused(Exception):
    """A document too deep, too self-referential or too repetitive to build."""

    def __init__(self, node: yaml.Node, path: JsonPath, message: str) -> None:
        super().__init__(message)
        self.node, self.path, self.message = node, path, message


class _Builder:
    """Turns a composed node tree into plain data, recording marks and problems."""

    def __init__(self, doc: Document, budget: int) -> None:
        self.doc = doc
        self.constructor = SafeLoader("")  # only its scalar constructors are used
        # Aliases repeat a node wherever they appear: a few lines can expand to billions of
        # values. Building may cost about what the text holds; aliases that go far beyond fail.
        self.budget = budget
        self.open: set[int] = set()  # ids of the nodes being built: an alias back is a cycle

    def build(self, node: yaml.Node, path: JsonPath) -> Any:
        self.budget -= 1 + (len(node.value) if isinstance(node, yaml.ScalarNode) else 0)
        if self.budget < 0:
            what = "aliases repeat values until the profile is far larger than its file"
            raise _Refused(node, path, f"{what}: write the values out")
        if len(path) > MAX_DEPTH:
            raise _Refused(node, path, _DEPTH_MESSAGE)
        if id(node) in self.open:
            raise _Refused(node, path, "an alias here refers to a value that contains it")
        self.doc.values[path] = _mark(node)
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node)
        self.open.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path)
            assert isinstance(node, yaml.SequenceNode)
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        finally:
            self.open.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, path: JsonPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != _TAG + "str":
                mark = _mark(key_node)
                quoted = shown(key_node.value) if isinstance(key_node, yaml.ScalarNode) else None
                what = f"key {quoted}" if quoted else "a key"
                message = f"{what} is not a plain string: quote it"
                if key_node.tag == _TAG + "merge":  # quoted, '<<' would be an unknown key
                    message = "merge keys ('<<') are not supported: write the keys out"
                self.doc.problems.append(
                    Problem(self.doc.file, mark.line, mark.column, json_path(path), message)
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
                        f"duplicate {named('key', key)} (first set on line {first.line}): keep one",
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


EMPTY_PROFILE = "empty file: a profile needs at least a description and a provider"


def load_document(text: str, file: str, empty: str | None = EMPTY_PROFILE) -> Document:
    """Parse one YAML document; syntax errors and duplicates become Problems, not exceptions.

    An empty document is the problem `empty` says, or data None when `empty` is None.
    """
    doc = Document(file=file, data=None, text=text)
    try:
        too_deep = _too_deep(text)
        if too_deep is not None:
            doc.problems.append(Problem(file, *too_deep, "$", _DEPTH_MESSAGE))
            return doc
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
        if empty is not None:
            doc.problems.append(Problem(file, 1, 1, "$", empty))
        return doc
    try:
        doc.data = _Builder(doc, budget=2 * len(text) + 10_000).build(node, ())
    except _Refused as refused:
        at = _mark(refused.node)
        doc.problems.append(
            Problem(file, at.line, at.column, json_path(refused.path), refused.message)
        )
    return doc


def _too_deep(text: str) -> tuple[int, int] | None:
    """The 1-based line and column where the text first nests deeper than MAX_DEPTH."""
    # Read from events, which libyaml produces without recursing, before composing the tree.
    depth = 0
    for event in yaml.parse(text, Loader=SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                start = event.start_mark
                return (start.line + 1, start.column + 1) if start else (1, 1)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return None
