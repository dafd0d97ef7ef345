"""The decision log's two encodings (engine/decisionlog/record.py) are json.dumps's bytes,
whichever library wrote them: the hash chain of every existing log depends on it."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.decisionlog.record import canonical, encode_line, seal


def reference_canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=True,
                      separators=(",", ":")).encode("ascii")


def reference_line(record: dict[str, Any]) -> bytes:
    try:
        return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
    except UnicodeEncodeError:
        return json.dumps(record, ensure_ascii=True, separators=(",", ":")).encode() + b"\n"


ODD_TEXT = ["plain", "é ü ß", "中文", "😀", "\u2028\u2029", "\x7f", "\x00\x1f\x1b[31m", '"\\/',
            "\t\n\r\b\f", "\ufeff", "\U0010ffff", "\ud800", "null", ":1e5", ",0.00001", "5E002"]
ODD_NUMBERS = [0, -1, 2**53, 2**63 - 1, 2**63, 2**64 - 1, 2**64, -2**63, -2**63 - 1, 10**30,
               0.0, -0.0, 1.0, 0.1, 1e-4, 9.99e-5, 1e-5, 1e-7, 1e15, 1e16, 1.5e16, 1e22,
               1e300, 5e-324, 1.7976931348623157e308, 123456.789, math.nan, math.inf, -math.inf,
               True, False, None]

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                    st.text(), st.sampled_from(ODD_TEXT), st.sampled_from(ODD_NUMBERS))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.one_of(st.text(max_size=6), st.sampled_from(ODD_TEXT)), inner,
                    max_size=4)), max_leaves=20)
records = st.dictionaries(st.one_of(st.text(max_size=6), st.sampled_from(ODD_TEXT)), values,
                          max_size=6)


@pytest.mark.parametrize("value", [*ODD_TEXT, *ODD_NUMBERS], ids=repr)
def test_odd_scalars_encode_as_json_dumps(value: Any) -> None:
    for wrapped in (value, [value], {"k": value}, {"k": [value], "n": None}):
        assert canonical(wrapped) == reference_canonical(wrapped)
    assert encode_line({"k": value, "n": None}) == reference_line({"k": value, "n": None})


@settings(max_examples=600, deadline=None)
@given(values)
def test_canonical_is_json_dumps(value: Any) -> None:
    assert canonical(value) == reference_canonical(value)


@settings(max_examples=600, deadline=None)
@given(records)
def test_line_is_json_dumps(record: dict[str, Any]) -> None:
    assert encode_line(record) == reference_line(record)


def test_keys_that_are_not_text_are_written_as_json_dumps_writes_them() -> None:
    for value in ({1: "a", 2: "b"}, {"b": {2.5: None, True: 1}}):
        assert canonical(value) == reference_canonical(value)


@settings(max_examples=300, deadline=None)
@given(records)
def test_seal_is_the_hash_and_line_of_json_dumps(record: dict[str, Any]) -> None:
    import hashlib

    body = dict(record)
    body.pop("hash", None)
    line = seal(body)
    assert body["hash"] == "sha256:" + hashlib.sha256(
        reference_canonical({k: v for k, v in body.items() if k != "hash"})).hexdigest()
    assert line == reference_line(body)


def test_floats_inside_other_containers_are_checked() -> None:
    from collections import OrderedDict

    for value in (OrderedDict(a=math.nan), OrderedDict(a=[1e-7]), {"a": (1e16,)}):
        assert canonical(value) == reference_canonical(value)
