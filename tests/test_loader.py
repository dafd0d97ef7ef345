"""The safe YAML/JSON loader: marks, duplicate keys, tags, timestamps, limits, encodings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import loader
from engine.loader import (
    Mark,
    load_data_text,
    load_json_text,
    load_yaml_bytes,
    load_yaml_file,
)

BOMB = b"""\
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
"""


def codes(raw: bytes, **limits: int) -> list[tuple[str, int | None, int | None]]:
    doc = load_yaml_bytes(raw, "x.yaml", **limits)
    return [(d.code, d.line, d.column) for d in doc.diagnostics]


def test_marks_point_at_values_and_keys() -> None:
    doc = load_yaml_bytes(b"# comment\nrules:\n  - id: a\n    when: {fact: x, equals: 1}\n",
                          "x.yaml")
    assert doc.ok
    assert doc.data == {"rules": [{"id": "a", "when": {"fact": "x", "equals": 1}}]}
    assert doc.marks[("rules", 0, "id")] == Mark(3, 9)
    assert doc.marks[("rules", 0, "when", "equals")] == Mark(4, 29)
    assert doc.key_marks[("rules", 0, "when")] == Mark(4, 5)
    assert doc.locate(("rules", 0, "when", "missing", 3)) == Mark(4, 11)


def test_diagnostic_uses_the_nearest_mark() -> None:
    doc = load_yaml_bytes(b"a:\n  b: 1\n", "x.yaml")
    d = doc.diagnostic(("a", "b", "c"), "code", "message")
    assert (d.file, d.line, d.column) == ("x.yaml", 2, 6)


def test_duplicate_keys_are_reported_with_the_first_line() -> None:
    doc = load_yaml_bytes(b"a: 1\nb: 2\na: 3\n", "x.yaml")
    assert [(d.code, d.line, d.column) for d in doc.diagnostics] == [("duplicate-key", 3, 1)]
    assert "first defined at line 1" in doc.diagnostics[0].message
    assert doc.data == {"a": 1, "b": 2}  # the first value is kept, never silently the last


@pytest.mark.parametrize("text", [
    b"x: !!python/object/apply:os.system ['echo pwned']\n",
    b"x: !!python/name:os.system\n",
    b"x: !custom value\n",
    b"x: !!binary aGVsbG8=\n",
    b"x: !!set {a, b}\n",
])
def test_non_standard_tags_are_refused(text: bytes) -> None:
    doc = load_yaml_bytes(text, "x.yaml")
    assert [d.code for d in doc.diagnostics] == ["yaml-tag"]
    assert doc.diagnostics[0].line == 1


def test_merge_keys_are_refused() -> None:
    assert [c for c, _, _ in codes(b"base: &b {x: 1}\nother:\n  <<: *b\n")] == ["yaml-merge-key"]


def test_timestamps_stay_strings() -> None:
    doc = load_yaml_bytes(b"d: 2026-01-01\nt: 2026-01-01T10:00:00Z\nq: \"2026-02-01\"\n", "x")
    assert doc.data == {"d": "2026-01-01", "t": "2026-01-01T10:00:00Z", "q": "2026-02-01"}
    assert all(isinstance(v, str) for v in doc.data.values())


def test_boolean_looking_keys_stay_names() -> None:
    assert load_yaml_bytes(b"on: 1\nnull: 2\n", "x").data == {"on": 1, "null": 2}


def test_alias_bomb_is_stopped_by_the_node_limit() -> None:
    doc = load_yaml_bytes(BOMB, "bomb.yaml")
    assert [d.code for d in doc.diagnostics] == ["yaml-too-many-nodes"]
    assert doc.data is None and not doc.marks


def test_node_limit_applies_to_ordinary_documents_too() -> None:
    assert codes(b"[1, 2, 3, 4, 5]\n", max_nodes=3)[0][0] == "yaml-too-many-nodes"
    assert codes(b"[1, 2]\n", max_nodes=3) == []


def test_size_limit() -> None:
    assert codes(b"a: 12345\n", max_bytes=4) == [("yaml-too-large", None, None)]


def test_recursive_alias_is_reported_at_its_anchor() -> None:
    assert codes(b"a: &x\n  - 1\n  - *x\n") == [("yaml-recursive", 1, 4)]


def test_deep_nesting_is_reported() -> None:
    assert codes(b"[" * 120 + b"]" * 120)[0][0] == "yaml-too-deep"


def test_invalid_utf8_reports_line_and_column() -> None:
    assert codes(b"a: 1\nb: caf\xe9\n") == [("encoding", 2, 7)]


def test_utf8_bom_is_accepted() -> None:
    assert load_yaml_bytes("\ufeffa: é\n".encode(), "x").data == {"a": "é"}


def test_syntax_error_has_a_location() -> None:
    found = codes(b"a: [1, 2\nb: 3\n")
    assert len(found) == 1 and found[0][0] == "yaml-syntax" and found[0][1] == 2


def test_unreadable_file_is_a_diagnostic(tmp_path: Path) -> None:
    doc = load_yaml_file(tmp_path / "absent.yaml", display="absent.yaml")
    assert [(d.code, d.file) for d in doc.diagnostics] == [("io-error", "absent.yaml")]


def test_json_duplicate_keys_are_refused() -> None:
    data, problems = load_json_text('{"a": 1, "a": 2}')
    assert data is None
    assert [p.code for p in problems] == ["json-syntax"]
    assert "duplicate key `a`" in problems[0].message


@pytest.mark.parametrize("text", ['{"a": NaN}', '{"a": Infinity}', '[-Infinity]'])
def test_json_nan_and_infinity_are_refused(text: str) -> None:
    data, problems = load_json_text(text)
    assert data is None and [p.code for p in problems] == ["json-syntax"]


def test_json_syntax_error_has_line_and_column() -> None:
    _, problems = load_json_text('{\n  "a": 1,\n}')
    assert [(p.code, p.line) for p in problems] == [("json-syntax", 3)]


def test_valid_json_and_yaml_data() -> None:
    assert load_json_text('{"a": [1, 2.5]}') == ({"a": [1, 2.5]}, [])
    assert load_data_text('{"a": 1}') == ({"a": 1}, [])
    assert load_data_text("a: 1\n") == ({"a": 1}, [])


# -- the msgspec fast path of load_json_text agrees with the strict parser ----------------

_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(10**320), 10**320),
                     st.integers(-(2**70), 2**70), st.floats(allow_nan=False,
                                                             allow_infinity=False),
                     st.text(alphabet=st.sampled_from('ab"\\: \t\n\u00e9\u4e2d{}[],'),
                             max_size=6))
_keys = st.text(alphabet=st.sampled_from('ab"\\: '), max_size=4)
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(_keys, inner, max_size=4)), max_leaves=20)


def _strict(text: str) -> tuple[Any, list[Any]]:
    """load_json_text without the fast path (the strict parser alone)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(loader, "_fast", lambda _: loader._SLOW)
        return load_json_text(text)


def _same(text: str) -> None:
    fast, strict = load_json_text(text), _strict(text)
    assert repr(fast[0]) == repr(strict[0]), text  # repr: 1 vs 1.0 vs True differ
    assert [(p.code, p.message) for p in fast[1]] == [(p.code, p.message) for p in strict[1]]


@settings(max_examples=400, derandomize=True, deadline=None)
@given(value=_values, spaced=st.booleans())
def test_json_fast_path_agrees_on_values(value: Any, spaced: bool) -> None:
    text = json.dumps(value, separators=(", ", " : ") if spaced else (",", ":"))
    _same(text)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(value=st.dictionaries(_keys, _values, min_size=1, max_size=4), data=st.data())
def test_json_fast_path_refuses_every_duplicate(value: dict[str, Any],
                                                data: st.DataObject) -> None:
    """A key given twice, at the top or nested, with or without spaces before the colon."""
    key = data.draw(st.sampled_from(sorted(value)))
    again = json.dumps({key: data.draw(_values)})[1:-1]
    space = data.draw(st.sampled_from(["", " ", "\n"]))
    inner = json.dumps(value, separators=(",", space + ":"))[1:-1]
    text = "{" + inner + "," + again + "}"
    if data.draw(st.booleans()):
        text = '{"outer": ' + text + ', "x": "a\\":b"}'  # a colon after an escaped quote
    _same(text)
    assert load_json_text(text)[0] is None


@pytest.mark.parametrize("text", [
    '{"a": 1, "a": 2}', '{"a\\":": 1, "a": 1, "a": 2}', '{"a" :1,"a" : 2}',
    '{"a": {"b": 1, "b": 1}}', '[{"a": 1}, {"a": 1, "a": 1}]', '{"a": 1e400}',
    '{"a": "\\ud800"}', '[' + '9' * 300 + ']', '[-' + '9' * 299 + ']', '[-' + '9' * 300 + ']',
    '{"a": NaN}', '{"a": 1,}', ' {"a": [1, 2.5, -0, -0.0, 1E5, 1e-400]} ', '"\\u0000"',
    "[" * 101 + "]" * 101, "[" * 100 + "]" * 100, '{"a":"x\\":1,\\"a\\":2"}',
    # what JSON does not allow, which a lenient parser might: both paths refuse each
    '{\f"a":1}', '{\v"a":1}', '{\u00a0"a":1}', '\ufeff{}', '[1,]', "{'a':1}", '{a:1}',
    '[0x10]', '[+1]', '[.5]', '[5.]', '[01]', '[-01]', '[True]', '[1]//c', '[1] x',
    '["a\\x"]', '["\t"]', '[1e]', '[1.e5]', '["\\u12"]', '[1]\x00', '\r\n[1E+2, 1e-2]\r\n'])
def test_json_fast_path_agrees_on_edges(text: str) -> None:
    _same(text)
