"""Load YAML and JSON safely, keeping the line and column of every value.

PyYAML's `SafeLoader` is used only to *compose* the node graph (parse + resolve tags);
the Python values are built here so that we can
- keep a mark (line, column) for every JSON path, to report schema errors at file:line:col;
- report duplicate mapping keys (PyYAML silently keeps the last one);
- bound the size of the input and the number of nodes built, so that alias expansion
  ("billion laughs") is rejected quickly instead of exhausting memory;
- refuse every non-standard tag (no Python objects) and keep timestamps as strings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from engine.diagnostics import Diagnostic

MAX_BYTES = 4 * 1024 * 1024
MAX_NODES = 250_000
MAX_DEPTH = 100

JsonPath = tuple[str | int, ...]

# libyaml's parser when PyYAML was built with it (5x faster on the destination tables);
# both produce the same node graph with the same marks.
_COMPOSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_STD = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_STD}{t}" for t in ("str", "int", "float", "bool", "null")}
_TIMESTAMP = f"{_STD}timestamp"


@dataclass(frozen=True, slots=True)
class Mark:
    line: int  # 1-based
    column: int  # 1-based


@dataclass(slots=True)
class Document:
    """A loaded file: its data, the mark of every value, and the problems found."""

    path: str
    data: Any
    marks: dict[JsonPath, Mark] = field(default_factory=dict)
    key_marks: dict[JsonPath, Mark] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    text: str = ""

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)

    def locate(self, path: JsonPath, key: bool = False) -> Mark | None:
        """Mark of `path`, or of its nearest ancestor that has one."""
        p = tuple(path)
        if key and p in self.key_marks:
            return self.key_marks[p]
        while True:
            if p in self.marks:
                return self.marks[p]
            if not p:
                return None
            p = p[:-1]

    def diagnostic(
        self, path: JsonPath, code: str, message: str, help: str | None = None,
        key: bool = False, severity: str = "error",
    ) -> Diagnostic:
        mark = self.locate(path, key=key)
        return Diagnostic(
            code=code, message=message, file=self.path,
            line=mark.line if mark else None, column=mark.column if mark else None,
            help=help, severity=severity,
        )


class _LimitExceeded(Exception):
    pass


class _Builder:
    """Turns a composed YAML node graph into plain data with marks and problems."""

    def __init__(self, doc: Document, max_nodes: int):
        self.doc = doc
        self.max_nodes = max_nodes
        self.count = 0
        self.constructor = yaml.SafeLoader("")
        self.active: set[int] = set()

    def _mark(self, node: yaml.Node) -> Mark:
        return Mark(node.start_mark.line + 1, node.start_mark.column + 1)

    def _problem(self, node: yaml.Node, code: str, message: str, help: str | None = None) -> None:
        m = self._mark(node)
        self.doc.diagnostics.append(
            Diagnostic(code, message, self.doc.path, m.line, m.column, help=help))

    def build(self, node: yaml.Node, path: JsonPath, depth: int = 0) -> Any:
        self.count += 1
        if self.count > self.max_nodes:
            raise _LimitExceeded
        if depth > MAX_DEPTH:
            self._problem(node, "yaml-too-deep", f"nesting deeper than {MAX_DEPTH} levels")
            return None
        self.doc.marks.setdefault(path, self._mark(node))
        if id(node) in self.active:
            self._problem(node, "yaml-recursive", "recursive alias: a node contains itself")
            return None
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node)
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return self._sequence(node, path, depth)
            assert isinstance(node, yaml.MappingNode)  # the only other kind of node
            return self._mapping(node, path, depth)
        finally:
            self.active.discard(id(node))

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag == _TIMESTAMP:
            return node.value  # dates stay strings: schemas check their format
        if node.tag not in _SCALAR_TAGS:
            self._problem(node, "yaml-tag", f"unsupported tag `{node.tag}`",
                          "only plain YAML scalars, lists and mappings are allowed")
            return None
        return self.constructor.construct_object(node, deep=True)

    def _sequence(self, node: yaml.SequenceNode, path: JsonPath, depth: int) -> list[Any]:
        if node.tag != f"{_STD}seq":
            self._problem(node, "yaml-tag", f"unsupported tag `{node.tag}`")
        return [self.build(child, (*path, i), depth + 1) for i, child in enumerate(node.value)]

    def _mapping(self, node: yaml.MappingNode, path: JsonPath, depth: int) -> dict[Any, Any]:
        if node.tag != f"{_STD}map":
            self._problem(node, "yaml-tag", f"unsupported tag `{node.tag}`")
        result: dict[Any, Any] = {}
        first_seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == f"{_STD}merge":
                self._problem(key_node, "yaml-merge-key", "merge keys (`<<`) are not supported",
                              "write the keys out explicitly")
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self._problem(key_node, "yaml-key", "mapping keys must be plain scalars")
                continue
            key = self._scalar(key_node)
            if isinstance(key, bool) or key is None or isinstance(key, float):
                key = key_node.value  # `on:`/`null:` keys are names, not values
            if key in first_seen:
                self._problem(key_node, "duplicate-key",
                              f"duplicate key `{key}` (first defined at line {first_seen[key]})",
                              "YAML keeps only one of them: remove or rename the other")
                continue
            first_seen[key] = key_node.start_mark.line + 1
            child = (*path, key)
            self.doc.key_marks[child] = self._mark(key_node)
            result[key] = self.build(value_node, child, depth + 1)
        return result


def _decode(raw: bytes, path: str) -> tuple[str | None, Diagnostic | None]:
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, Diagnostic("encoding", f"invalid UTF-8 byte 0x{raw[exc.start]:02x}: "
                                "files must be UTF-8", path, line, column)


def load_yaml_bytes(raw: bytes, path: str, max_bytes: int = MAX_BYTES,
                    max_nodes: int = MAX_NODES) -> Document:
    """Parse one YAML document from bytes; problems are in `Document.diagnostics`."""
    doc = Document(path=path, data=None)
    if len(raw) > max_bytes:
        doc.diagnostics.append(Diagnostic(
            "yaml-too-large", f"file is {len(raw)} bytes, over the limit of {max_bytes}", path))
        return doc
    text, problem = _decode(raw, path)
    if problem or text is None:
        doc.diagnostics.append(problem or Diagnostic("encoding", "cannot decode file", path))
        return doc
    doc.text = text
    try:
        node = yaml.compose(text, Loader=_COMPOSER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        msg = " ".join(str(p) for p in (exc.context, exc.problem) if p) or "invalid YAML"
        doc.diagnostics.append(Diagnostic(
            "yaml-syntax", msg, path, mark.line + 1 if mark else None,
            mark.column + 1 if mark else None))
        return doc
    except yaml.YAMLError as exc:
        doc.diagnostics.append(Diagnostic("yaml-syntax", str(exc).splitlines()[0], path))
        return doc
    if node is None:
        doc.data = None
        return doc
    builder = _Builder(doc, max_nodes)
    try:
        doc.data = builder.build(node, ())
    except _LimitExceeded:
        doc.data = None
        doc.marks.clear()
        doc.diagnostics.append(Diagnostic(
            "yaml-too-many-nodes",
            f"document expands to more than {max_nodes} nodes (alias expansion bomb?)",
            path, node.start_mark.line + 1, node.start_mark.column + 1,
            help="aliases are expanded when loading: avoid deeply nested anchors"))
    return doc


def load_yaml_file(path: str | Path, display: str | None = None, **limits: int) -> Document:
    """Read and parse a YAML file; unreadable files become a diagnostic, not an exception."""
    name = display or str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        return Document(path=name, data=None, diagnostics=[
            Diagnostic("io-error", f"cannot read file: {exc.strerror or exc}", name)])
    return load_yaml_bytes(raw, name, **limits)


class DuplicateKeyError(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKeyError(f"duplicate key `{key}`")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"`{name}` is not a valid JSON number")


def load_json_text(text: str, path: str = "<input>") -> tuple[Any, list[Diagnostic]]:
    """Parse JSON strictly: duplicate keys and NaN/Infinity are errors, with line:col."""
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates,
                          parse_constant=_reject_constant), []
    except json.JSONDecodeError as exc:
        return None, [Diagnostic("json-syntax", exc.msg.lower(), path, exc.lineno, exc.colno)]
    except (DuplicateKeyError, ValueError) as exc:
        return None, [Diagnostic("json-syntax", str(exc), path)]


def load_data_text(text: str, path: str = "<input>") -> tuple[Any, list[Diagnostic]]:
    """Parse a case or fixture given as JSON or YAML (JSON first when it looks like JSON)."""
    if text.lstrip().startswith(("{", "[")):
        return load_json_text(text, path)
    doc = load_yaml_bytes(text.encode("utf-8"), path)
    return doc.data, doc.diagnostics
