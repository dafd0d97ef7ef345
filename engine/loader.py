"""Load YAML and JSON safely, keeping the line and column of every value.

PyYAML's `SafeLoader` is used only to *compose* the node graph (parse + resolve tags);
the Python values are built here so that we can
- keep a mark (line, column) for every JSON path, to report schema errors at file:line:col;
- report duplicate mapping keys (PyYAML silently keeps the last one);
- bound the size of the input and the number of nodes built, so that alias expansion
  ("billion laughs") is rejected quickly instead of exhausting memory;
- refuse every non-standard tag (no Python objects) and keep timestamps as strings;
- resolve booleans as YAML 1.2 does: only `true`/`false` (`True`, `TRUE`...) are booleans,
  so `destination: NO` is Norway and `yes`/`on`/`off` stay strings (PyYAML follows YAML 1.1);
- report a character YAML forbids (NUL, other control characters) at its line and column.

JSON is parsed strictly (duplicate keys, NaN/Infinity, numbers out of range and nesting
deeper than `MAX_DEPTH` are errors), and JSON Lines are read as bytes, line by line, with a
bound on the size of a line, so that one bad line never breaks the reading of the others.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import msgspec
import yaml

from engine.diagnostics import Diagnostic

MAX_BYTES = 4 * 1024 * 1024
MAX_NODES = 250_000
MAX_DEPTH = 100
MAX_INT_DIGITS = 300  # beyond this an integer cannot even be converted to a float
MAX_LINE_BYTES = 10 * 1024 * 1024  # one JSON Lines record, and one case file

JsonPath = tuple[str | int, ...]

# libyaml's parser when PyYAML was built with it (5x faster on the destination tables);
# both produce the same node graph with the same marks.
_BASE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_STD = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_STD}{t}" for t in ("str", "int", "float", "bool", "null")}
_TIMESTAMP = f"{_STD}timestamp"
_BOOL = f"{_STD}bool"
_INT = f"{_STD}int"
_STR = f"{_STD}str"


class _Composer(_BASE_LOADER):  # type: ignore[misc, valid-type]
    """The safe loader with YAML 1.2 core-schema booleans (the resolver decides the tags)."""


_Composer.yaml_implicit_resolvers = {
    first: kept for first, resolvers in _BASE_LOADER.yaml_implicit_resolvers.items()
    if (kept := [(tag, rx) for tag, rx in resolvers if tag != _BOOL])
}
_Composer.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                list("tTfF"))
_COMPOSER = _Composer
_NON_PRINTABLE = yaml.reader.Reader.NON_PRINTABLE  # the characters YAML forbids in a stream


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
        if node.tag == _STR:
            return node.value  # what SafeConstructor makes of it, without the call chain
        if node.tag == _TIMESTAMP:
            return node.value  # dates stay strings: schemas check their format
        if node.tag not in _SCALAR_TAGS:
            self._problem(node, "yaml-tag", f"unsupported tag `{node.tag}`",
                          "only plain YAML scalars, lists and mappings are allowed")
            return None
        if node.tag == _INT and len(node.value) > MAX_INT_DIGITS:
            self._problem(node, "yaml-number", f"integer of {len(node.value)} characters is "
                          f"too long (at most {MAX_INT_DIGITS} digits)")
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


def _forbidden_character(text: str, path: str) -> Diagnostic | None:
    found = _NON_PRINTABLE.search(text)
    if found is None:
        return None
    pos = found.start()
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return Diagnostic("yaml-character", f"character U+{ord(found.group()):04X} is not allowed "
                      "in YAML", path, line, column,
                      help="remove it, or write it as an escape (`\\x00`) in a double-quoted "
                      "string")


def _syntax_problem(exc: yaml.YAMLError, path: str) -> Diagnostic:
    if not isinstance(exc, yaml.MarkedYAMLError):
        return Diagnostic("yaml-syntax", str(exc).splitlines()[0], path)
    mark = exc.problem_mark or exc.context_mark
    msg = " ".join(str(p) for p in (exc.context, exc.problem) if p) or "invalid YAML"
    code = "yaml-too-deep" if "maximum nesting depth" in msg else "yaml-syntax"
    return Diagnostic(code, msg, path, mark.line + 1 if mark else None,
                      mark.column + 1 if mark else None)


def load_yaml_bytes(raw: bytes, path: str, max_bytes: int = MAX_BYTES,
                    max_nodes: int = MAX_NODES) -> Document:
    """Parse one YAML document from bytes; problems are in `Document.diagnostics`."""
    doc = Document(path=path, data=None)
    if len(raw) > max_bytes:
        doc.diagnostics.append(Diagnostic(
            "yaml-too-large", f"file is {len(raw)} bytes, over the limit of {max_bytes}", path))
        return doc
    text, problem = _decode(raw, path)
    if problem is None and text is not None:
        problem = _forbidden_character(text, path)
    if problem or text is None:
        doc.diagnostics.append(problem or Diagnostic("encoding", "cannot decode file", path))
        return doc
    doc.text = text
    try:
        node = yaml.compose(text, Loader=_COMPOSER)
    except yaml.YAMLError as exc:
        doc.diagnostics.append(_syntax_problem(exc, path))
        return doc
    except RecursionError:  # the pure-Python parser, without libyaml's own depth limit
        doc.diagnostics.append(Diagnostic(
            "yaml-too-deep", f"nesting deeper than {MAX_DEPTH} levels", path))
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
    result = dict(pairs)  # in C; only a shorter dict means a duplicate, then find the first
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKeyError(f"duplicate key `{key}`")
            seen.add(key)
    return result


class _NumberError(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise ValueError(f"`{name}` is not a valid JSON number")


def _parse_int(text: str) -> int:
    if len(text) > MAX_INT_DIGITS:
        raise _NumberError(f"integer of {len(text)} characters is too long (at most "
                           f"{MAX_INT_DIGITS} digits)")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NumberError(f"number `{text[:40]}` is out of range")
    return value


def _deeper_than(data: Any, limit: int) -> bool:
    """Whether containers nest more than `limit` levels (iterative: no recursion limit)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value
        if depth > limit:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


# the end of every key of a JSON text (its closing quote, JSON whitespace, the colon); an
# escaped quote inside a string may match too, never fewer than the keys (see `_fast`)
_KEY_END = re.compile(r'"[ \t\n\r]*:')
# an integer below this in magnitude has at most MAX_INT_DIGITS characters with its sign,
# so `_parse_int` accepts it as well
_INT_BOUND = 10 ** (MAX_INT_DIGITS - 1)
_SLOW = object()  # `_fast`: the strict parser must decide
_decode_json = msgspec.json.Decoder().decode


def _fast(text: str) -> Any:
    """The value of `text` when msgspec's parser proves it valid under the strict rules,
    else `_SLOW`; about a quarter of the strict parser's time, whose Python hooks (one call
    an object and a number) were most of a case line's parse.

    msgspec rejects NaN/Infinity and numbers out of the float range, and keeps big integers
    exact, as `json` with the hooks does; it keeps the last of duplicate keys, which the
    strict parser rejects, so the keys are counted. A duplicate leaves fewer keys in the
    value than the text has (one, or a replaced subtree's), and the text has at most as many
    keys as colons (a key is followed by one, a colon in a string adds one) and as matches
    of `_KEY_END` (an escaped quote and a colon in a string add one): as many keys in the
    value as either count means no duplicate. The colons are counted first (`str.count`,
    a tenth of the regular expression's time; strings rarely hold one). On anything else
    (an error, more of both, a very long integer) the strict parser decides and reports
    with its own messages and locations."""
    try:
        data = _decode_json(text)
    except Exception:  # malformed, a lone surrogate, too deep for msgspec: the strict parser
        return _SLOW
    keys = 0
    stack = [data]
    pop, push = stack.pop, stack.extend
    while stack:
        value = pop()
        kind = type(value)
        if kind is dict:
            keys += len(value)
            push(value.values())
        elif kind is list:
            push(value)
        elif kind is int and not -_INT_BOUND < value < _INT_BOUND:
            return _SLOW
    # each key is followed by one colon, and only a key is; a colon in a string adds one
    if keys and keys != text.count(":") and keys != len(_KEY_END.findall(text)):
        return _SLOW
    return data


def load_json_text(text: str, path: str = "<input>") -> tuple[Any, list[Diagnostic]]:
    """Parse JSON strictly, with line:col where known.

    Duplicate keys, NaN/Infinity, integers over `MAX_INT_DIGITS` digits, numbers out of the
    float range and nesting deeper than `MAX_DEPTH` are errors. A text msgspec proves valid
    is not parsed again (`_fast`); the others go through `json` with strict hooks.
    """
    data = _fast(text)
    if data is _SLOW:
        try:
            data = json.loads(text, object_pairs_hook=_no_duplicates, parse_int=_parse_int,
                              parse_float=_parse_float, parse_constant=_reject_constant)
        except json.JSONDecodeError as exc:
            return None, [Diagnostic("json-syntax", exc.msg.lower(), path, exc.lineno,
                                     exc.colno)]
        except RecursionError:
            return None, [Diagnostic("json-too-deep", f"nesting deeper than {MAX_DEPTH} "
                                     "levels", path)]
        except _NumberError as exc:
            return None, [Diagnostic("json-number", str(exc), path)]
        except (DuplicateKeyError, ValueError) as exc:
            return None, [Diagnostic("json-syntax", str(exc), path)]
    # a cheap filter first: a line with few brackets cannot nest deeply
    if (text.count("[") + text.count("{") > MAX_DEPTH
            and isinstance(data, dict | list) and _deeper_than(data, MAX_DEPTH)):
        return None, [Diagnostic("json-too-deep", f"nesting deeper than {MAX_DEPTH} levels",
                                 path)]
    return data, []


def load_data_text(text: str, path: str = "<input>") -> tuple[Any, list[Diagnostic]]:
    """Parse a case or fixture given as JSON or YAML (JSON first when it looks like JSON)."""
    if text.lstrip().startswith(("{", "[")):
        return load_json_text(text, path)
    doc = load_yaml_bytes(text.encode("utf-8"), path)
    return doc.data, doc.diagnostics


def load_data_bytes(raw: bytes, path: str = "<input>",
                    max_bytes: int = MAX_LINE_BYTES) -> tuple[Any, list[Diagnostic]]:
    """Parse a case file given as bytes (JSON or YAML), bounded in size, UTF-8 checked."""
    if len(raw) > max_bytes:
        return None, [Diagnostic("too-large", f"input is {len(raw)} bytes, over the limit "
                                 f"of {max_bytes}", path)]
    text, problem = _decode(raw, path)
    if problem is not None or text is None:
        return None, [problem or Diagnostic("encoding", "cannot decode input", path)]
    if text.lstrip().startswith(("{", "[")):
        return load_json_text(text, path)
    doc = load_yaml_bytes(raw, path, max_bytes=max_bytes)
    return doc.data, doc.diagnostics


@dataclass(frozen=True, slots=True)
class RawLine:
    """One line of a JSON Lines input, as bytes without its line ending."""

    number: int  # 1-based
    data: bytes
    problem: str = ""  # set when the line was too large to keep (data is then empty)


def read_lines(stream: IO[bytes], max_bytes: int = MAX_LINE_BYTES) -> Iterator[RawLine]:
    """Lines split on LF (a CR before the LF is dropped); longer lines are not kept."""
    number = 0
    while chunk := stream.readline(max_bytes + 1):
        number += 1
        if chunk.endswith(b"\n") or len(chunk) <= max_bytes:
            data = chunk[:-1] if chunk.endswith(b"\n") else chunk
            yield RawLine(number, data[:-1] if data.endswith(b"\r") else data)
            continue
        size = len(chunk)
        while chunk and not chunk.endswith(b"\n"):  # skip the rest without keeping it
            chunk = stream.readline(1 << 20)
            size += len(chunk)
        size -= chunk.endswith(b"\n")
        yield RawLine(number, b"", f"line too large: {size} bytes, over the limit of "
                      f"{max_bytes}")


_BOM = b"\xef\xbb\xbf"


def decode_line(line: RawLine) -> tuple[str | None, str]:
    """The text of a JSON Lines line, or None and why it cannot be used.

    A UTF-8 byte order mark is accepted at the start of line 1 only; a carriage return
    other than in a CRLF line ending is refused, so line numbers mean the same to every tool.
    """
    if line.problem:
        return None, line.problem
    raw = line.data
    if raw.startswith(_BOM):
        if line.number != 1:
            return None, "byte order mark (BOM) is only allowed at the start of the input"
        raw = raw[len(_BOM):]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"invalid UTF-8 byte 0x{raw[exc.start]:02x} at column {exc.start + 1}"
    cr = text.find("\r")
    if cr >= 0:
        return None, f"carriage return (CR) at column {cr + 1}: lines must end with LF or CRLF"
    return text, ""
