"""Rule messages: `{fact}` placeholders filled for the items a finding concerns.

A template is split once (per template and rule scope) into literal text and one getter per
placeholder, so a finding only calls the getters and joins the parts. A template that names
item facts (`item.*`, `category`, the item sanctions) and concerns several item views is
filled once per view and the distinct texts are joined with "; ", so each value stays next
to its own item; what does not depend on the view is then read once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from engine import implicated, sanctions

if TYPE_CHECKING:
    from engine.cases import ItemView, NormalizedCase
    from engine.compiler import CompiledPolicy, CompiledRule

_PLACEHOLDER = re.compile(r"\{([a-z_]+(?:\.[a-z_]+)*)\}")
_NONE = type(None)

# a placeholder's text from (policy, rule, case, the views it concerns, their items)
Getter = Callable[["CompiledPolicy", "CompiledRule", "NormalizedCase",
                   "tuple[ItemView, ...]", "tuple[str, ...]"], str]


@dataclass(frozen=True, slots=True)
class Template:
    """A template split into literal text and getters; `per_view[i]` tells whether part i
    reads the views, `per_item` whether the message is filled once per view, `text` is the
    whole message when it names no fact."""

    parts: tuple[str | Getter, ...]
    per_view: tuple[bool, ...]
    per_item: bool
    text: str | None

    def fill(self, policy: CompiledPolicy, rule: CompiledRule, case: NormalizedCase,
             views: tuple[ItemView, ...], items: tuple[str, ...]) -> str:
        """The message for `views` (with their distinct `items`, in order)."""
        if self.text is not None:
            return self.text
        if len(views) > 1 and self.per_item:
            common = tuple(p if isinstance(p, str) or each
                           else p(policy, rule, case, views, items)
                           for p, each in zip(self.parts, self.per_view, strict=True))
            texts = (_join(common, policy, rule, case, (v,), (v.item,)) for v in views)
            return "; ".join(dict.fromkeys(texts))
        return _join(self.parts, policy, rule, case, views, items)


def render_message(template: str, policy: CompiledPolicy, rule: CompiledRule,
                   case: NormalizedCase, views: tuple[ItemView, ...]) -> str:
    """Fill `{fact}` placeholders for the item views a rule fired on."""
    items = tuple(dict.fromkeys(v.item for v in views))
    return compile_template(template, rule.scope).fill(policy, rule, case, views, items)


def _join(parts: tuple[str | Getter, ...], policy: CompiledPolicy, rule: CompiledRule,
          case: NormalizedCase, views: tuple[ItemView, ...], items: tuple[str, ...]) -> str:
    return "".join([p if isinstance(p, str) else p(policy, rule, case, views, items)
                    for p in parts])


@lru_cache(maxsize=4096)
def compile_template(template: str, scope: str) -> Template:
    """A template split once into literal text and placeholder getters."""
    parts: list[str | Getter] = []
    per_view: list[bool] = []
    names: list[str] = []
    pos = 0
    for m in _PLACEHOLDER.finditer(template):
        if m.start() > pos:
            parts.append(template[pos:m.start()])
            per_view.append(False)
        getter, each = _getter(m.group(1), scope)
        parts.append(getter)
        per_view.append(each)
        names.append(m.group(1))
        pos = m.end()
    if pos < len(template):
        parts.append(template[pos:])
        per_view.append(False)
    per_item = any(n.startswith("item.") or n == "category" or
                   (n == "sanctions" and scope == "item") for n in names)
    return Template(tuple(parts), tuple(per_view), per_item, None if names else template)


def fmt(value: Any) -> str:
    """A fact value as a message shows it."""
    kind = type(value)
    if kind is str:  # most facts: the checks below are for the rest
        return value
    if kind is _NONE:
        return "not given"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, frozenset | set | list | tuple):
        return ", ".join(sorted(map(str, value))) or "none"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _getter(name: str, scope: str) -> tuple[Getter, bool]:
    """The getter of a placeholder, and whether it reads the views."""
    if name == "sanctions":
        return (_item_sanctions, True) if scope == "item" else (_case_sanctions, False)
    if name in _NAMED:
        return _NAMED[name]
    if name.startswith("item."):
        return _item_fact(name), True
    return _case_fact(name), False


def _items(policy: CompiledPolicy, rule: CompiledRule, case: NormalizedCase,
           views: tuple[ItemView, ...], items: tuple[str, ...]) -> str:
    return ", ".join(items)


def _rule_id(policy: CompiledPolicy, rule: CompiledRule, case: NormalizedCase,
             views: tuple[ItemView, ...], items: tuple[str, ...]) -> str:
    return rule.id


def _rule_title(policy: CompiledPolicy, rule: CompiledRule, case: NormalizedCase,
                views: tuple[ItemView, ...], items: tuple[str, ...]) -> str:
    return rule.title


def _destination_name(policy: CompiledPolicy, rule: CompiledRule, case: NormalizedCase,
                      views: tuple[ItemView, ...], items: tuple[str, ...]) -> str:
    dest = policy.destinations.get(case.facts.get("destination", ""))
    return dest.name if dest else str(case.facts.get("destination", "unknown destination"))


def _category(policy: CompiledPolicy, rule: CompiledRule, case: NormalizedCase,
              views: tuple[ItemView, ...], items: tuple[str, ...]) -> str:
    cats = policy.policy.categories
    if len(views) == 1:  # the usual case: one title, nothing to sort
        category = views[0].category
        return cats[category].title if category else "unclassified item"
    titles = {cats[v.category].title if v.category else "unclassified item" for v in views}
    return ", ".join(sorted(titles))


def _item_sanctions(policy: CompiledPolicy, rule: CompiledRule, case: NormalizedCase,
                    views: tuple[ItemView, ...], items: tuple[str, ...]) -> str:
    """The regimes that apply to the items, with title and legal act (an item rule)."""
    ids = {r for v in views for r in v.facts.get("item.sanctions", ())}
    return sanctions.describe(policy.sanctions, ids, case.facts)


def _case_sanctions(policy: CompiledPolicy, rule: CompiledRule, case: NormalizedCase,
                    views: tuple[ItemView, ...], items: tuple[str, ...]) -> str:
    """The regimes that apply to the case, with title and legal act (a case rule)."""
    return sanctions.describe(policy.sanctions, case.facts.get("case.sanctions", ()),
                              case.facts)


def _implicated(policy: CompiledPolicy, rule: CompiledRule, case: NormalizedCase,
                views: tuple[ItemView, ...], items: tuple[str, ...]) -> str:
    """Each party matching an implicated-party entry, with status and basis."""
    return implicated.describe(policy.implicated, case.implicated)


def _control_entries(policy: CompiledPolicy, rule: CompiledRule, case: NormalizedCase,
                     views: tuple[ItemView, ...], items: tuple[str, ...]) -> str:
    """The items' control entries as given, mapped or not."""
    return fmt(frozenset({e for i in case.items if i.id in items for e in i.given_entries}))


def _item_fact(name: str) -> Getter:
    def getter(policy: CompiledPolicy, rule: CompiledRule, case: NormalizedCase,
               views: tuple[ItemView, ...], items: tuple[str, ...]) -> str:
        if len(views) == 1:
            return fmt(views[0].facts.get(name))
        return ", ".join(sorted({fmt(v.facts.get(name)) for v in views}))
    return getter


def _case_fact(name: str) -> Getter:
    def getter(policy: CompiledPolicy, rule: CompiledRule, case: NormalizedCase,
               views: tuple[ItemView, ...], items: tuple[str, ...]) -> str:
        return fmt(case.facts.get(name))
    return getter


# placeholders other than plain facts: (getter, whether it reads the views)
_NAMED: dict[str, tuple[Getter, bool]] = {
    "items": (_items, True), "rule.id": (_rule_id, False), "rule.title": (_rule_title, False),
    "destination.name": (_destination_name, False), "category": (_category, True),
    "implicated": (_implicated, False), "item.control_entries": (_control_entries, True),
}
