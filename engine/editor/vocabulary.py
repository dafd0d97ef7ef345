"""The vocabulary of one policy version, as editors show it: ids with their titles.

Values come from the policy itself (`Policy.vocab`, the same table the validator checks
conditions against) and from the fact and operator registries (engine/facts.py `FACTS`,
engine/operators.py `OPERATORS`), read at generation time, so a new fact, category or flag
reaches the editor schemas with the next `echri schema generate` and never by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.facts import FACTS, FactSpec
from engine.model import Policy
from engine.operators import OPERATORS


@dataclass(frozen=True, slots=True)
class Vocab:
    """One vocabulary: what it is, and its ids in order, each with a title."""

    name: str
    what: str
    terms: tuple[tuple[str, str], ...]

    @property
    def ids(self) -> list[str]:
        return [i for i, _ in self.terms]


def _label(value: Any) -> str:
    for attr in ("title", "name"):
        text = getattr(value, attr, None)
        if isinstance(text, str) and text:
            return text
    return str(value) if isinstance(value, str) else ""


def _titled(ids: Any, titles: Mapping[str, Any] | None = None) -> tuple[tuple[str, str], ...]:
    titles = titles or {}
    return tuple((i, _label(titles.get(i, ""))) for i in sorted(ids))


def _fact_titles(policy: Policy) -> dict[str, Mapping[str, Any]]:
    """Vocabulary name (engine/facts.py `vocab`) → id → object with a title, where the
    policy has one."""
    return {
        "destinations": policy.destinations,
        "factors": policy.factors,
        "end_user_types": policy.end_user_types,
        "red_flags": policy.red_flags,
        "end_use_purposes": policy.purposes,
        "intermediary_roles": policy.roles,
        "assurances": policy.assurances,
        "categories": policy.categories,
        "groups": policy.groups,
        "control_entries": {e: f"category {c}" for e, c in policy.control_map().items()},
        "sanctions": policy.sanctions,
        "implicated_parties": policy.implicated,
    }


def vocabularies(policy: Policy) -> dict[str, Vocab]:
    """Every vocabulary a generated schema names, keyed by name."""
    titles = _fact_titles(policy)
    out = {name: Vocab(name, f"`{name}` of {policy.id}@{policy.version}",
                       _titled(values, titles.get(name)))
           for name, values in policy.vocab.items()}
    extra: dict[str, tuple[str, Mapping[str, Any]]] = {
        "commitments": ("Code of Conduct commitments (policy.yaml)", policy.commitments),
        "sources": ("sources (sources.yaml)", policy.sources),
        "license_conditions": ("licence conditions (assurances.yaml)",
                               policy.license_conditions),
        "definitions": ("named conditions (`definitions:` in rules/*.yaml)",
                        policy.definitions),
        "rules": ("rule and information requirement ids", {r.id: r for r in policy.rules}),
    }
    for name, (what, mapping) in extra.items():
        out[name] = Vocab(name, what, _titled(mapping, mapping))
    out["facts"] = Vocab("facts", "fact names (engine/facts.py)",
                         tuple((n, fact_summary(s)) for n, s in FACTS.items()))
    return out


def operators_for(spec: FactSpec) -> list[str]:
    """The operators a condition may apply to a fact of this type, in registry order."""
    return [name for name, op in OPERATORS.items() if spec.type in op.types]


def fact_summary(spec: FactSpec) -> str:
    """One line for hovers and completion lists: type, vocabulary and meaning."""
    vocab = f" of `{spec.vocab}`" if spec.vocab else ""
    return f"{spec.type}{vocab}, {spec.scope} fact: {spec.description}"


def fact_markdown(spec: FactSpec) -> str:
    """The Markdown hover of a fact name."""
    ops = ", ".join(f"`{o}`" for o in operators_for(spec))
    vocab = f" of `{spec.vocab}`" if spec.vocab else ""
    scope = ("evaluated once per item" if spec.scope == "item" else "one value per case")
    return (f"**`{spec.name}`** — {spec.type}{vocab} ({scope})\n\n{spec.description}\n\n"
            f"operators: {ops}")
