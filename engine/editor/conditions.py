"""The condition schema of one version, keyed on its discriminating key.

The hand-written `common.schema.json#/$defs/condition` is a `oneOf` of six shapes; a
validator that cannot tell which shape was meant reports all of them ("more properties than
limit", "matches more than one"). Here every shape is an `if` on its key (`all`, `any`,
`not`, `at_least`/`of`, `ref`, `fact`) with a `then` that lists exactly its properties, and a
test is an `if` on the value of `fact` with a `then` that admits the operators of that fact's
type with arguments drawn from its vocabulary. yaml-language-server completes fact names,
operators and values from these branches and reports `Property lt is not allowed`.
"""

from __future__ import annotations

from typing import Any

from engine.editor.vocabulary import Vocab, fact_markdown, fact_summary, operators_for
from engine.facts import BOOL, FACT_TYPES, FACTS, NUMBER, FactSpec
from engine.operators import FLAG, MEMBER, NUM, OPERATORS, SCALAR, VALUES

COND = "#/$defs/condition"
SHAPE_KEYS = ("all", "any", "not", "at_least", "of", "ref", "fact")
SHAPE_HELP = {
    "all": "every condition of the list holds (`all: []` is true)",
    "any": "at least one condition of the list holds",
    "not": "the condition does not hold",
    "at_least": "a count: how many of the conditions in `of` must hold",
    "of": "a count: the conditions counted by `at_least` (at most 8)",
    "ref": "a named condition (`definitions:` in a rules file), by its id",
    "fact": "the fact a test reads (engine/facts.py); its type decides the operators",
}


def vocab_ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/$defs/vocab_{name}"}


def enum_schema(vocab: Vocab) -> dict[str, Any]:
    """An enum whose members carry their titles (completion lists and hovers)."""
    ids = vocab.ids
    labels = [title or ident for ident, title in vocab.terms]
    return {"description": f"one of the {vocab.what}", "enum": ids,
            "enumDescriptions": labels, "markdownEnumDescriptions": labels}


def _argument(spec: FactSpec, op: str) -> dict[str, Any]:
    kind = OPERATORS[op].arg
    text = f"`{op}` on {spec.type} fact `{spec.name}`"
    if kind == FLAG:
        return {"type": "boolean", "description": f"{text}: true = given, false = missing"}
    if kind == NUM:
        return {"type": "number", "description": text}
    member: dict[str, Any]
    if spec.vocab is not None:
        member = vocab_ref(spec.vocab)
    elif spec.type == BOOL:
        member = {"type": "boolean"}
    elif spec.type == NUMBER:
        member = {"type": "number"}
    else:
        member = {"type": "string"}
    if kind in (SCALAR, MEMBER):
        return {**member, "description": text} if "$ref" not in member else \
            {"allOf": [member], "description": text}
    assert kind == VALUES
    return {"type": "array", "minItems": 1, "items": member,
            "description": f"{text}: a non-empty list"}


def _fact_branch(spec: FactSpec) -> dict[str, Any]:
    props: dict[str, Any] = {"fact": True}
    for op in operators_for(spec):
        props[op] = _argument(spec, op)
    return {
        "if": {"properties": {"fact": {"const": spec.name}}, "required": ["fact"]},
        "then": {"properties": props, "additionalProperties": False,
                 "description": fact_summary(spec)},
    }


def test_schema(facts: Vocab, allowed: list[str] | None = None) -> dict[str, Any]:
    """`{fact: NAME, OP: ARG}`: the fact name completes, the operators follow its type."""
    names = allowed if allowed is not None else list(FACTS)
    specs = [FACTS[n] for n in names]
    return {
        "type": "object",
        "description": "a test `{fact: NAME, OPERATOR: ARGUMENT}` with exactly one operator",
        "required": ["fact"],
        "minProperties": 2,
        "maxProperties": 2,
        "properties": {
            "fact": {
                "description": "fact name (engine/facts.py); its type decides the operators",
                "markdownDescription": "fact name (`engine/facts.py`); its type decides the "
                                       "operators: "
                                       + "; ".join(f"{t}: " + ", ".join(
                                           f"`{o}`" for o, op in OPERATORS.items()
                                           if t in op.types) for t in FACT_TYPES),
                "enum": names,
                "enumDescriptions": [fact_summary(s) for s in specs],
                "markdownEnumDescriptions": [fact_markdown(s) for s in specs],
            },
        },
        "allOf": [_fact_branch(s) for s in specs],
    }


def _shape(keys: list[str], props: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "if": {"anyOf": [{"required": [k]} for k in keys]} if len(keys) > 1
        else {"required": keys},
        "then": {"required": list(props) if len(props) > 1 else keys,
                 "properties": props, "additionalProperties": False,
                 "description": description},
    }


def condition_schema(with_refs: bool, self_ref: str = COND,
                     test_ref: str = "#/$defs/test") -> dict[str, Any]:
    """The condition, one `if`/`then` per shape; `with_refs` admits `{ref: id}`."""
    conds = {"type": "array", "items": {"$ref": self_ref}}
    shapes = [
        _shape(["all"], {"all": {**conds, "description": "every condition holds ([] is "
                                                          "true)"}}, "`all`: a conjunction"),
        _shape(["any"], {"any": {**conds, "minItems": 1,
                                 "description": "at least one condition holds"}},
               "`any`: a disjunction"),
        _shape(["not"], {"not": {"$ref": self_ref, "description": "the condition does not hold"}},
               "`not`: a negation"),
        _shape(["at_least", "of"], {
            "at_least": {"type": "integer", "minimum": 1, "maximum": 8,
                         "description": "how many of `of` must hold (1 ≤ N ≤ len(of))"},
            "of": {**conds, "minItems": 1, "maxItems": 8,
                   "description": "the counted conditions (at most 8)"}},
            "a count: at least `at_least` of the conditions in `of` hold"),
    ]
    keys = [k for k in SHAPE_KEYS if with_refs or k != "ref"]
    if with_refs:
        shapes.append(_shape(["ref"], {"ref": {
            "allOf": [vocab_ref("definitions")],
            "description": "a named condition (`definitions:` in a rules file), by its id"}},
            "a reference to a named condition"))
    shapes.append({"if": {"required": ["fact"]}, "then": {"$ref": test_ref}})
    shapes.append({"if": {"not": {"anyOf": [{"required": [k]} for k in keys]}},
                   "then": {"required": ["fact"], "description": "a condition needs one of "
                            + ", ".join(f"`{k}`" for k in keys)}})
    return {
        "type": "object",
        "minProperties": 1,
        "description": "a condition: `all`, `any`, `not`, `at_least`/`of`"
                       + (", `ref`" if with_refs else "") + " or a test `{fact: NAME, OP: ARG}`",
        "properties": {k: {"description": SHAPE_HELP[k]} for k in keys},
        "allOf": shapes,
    }

