"""The facts of one compiled version as expressions of the shared case inputs.

engine/analysis/inputs.py holds the variables; here every fact of engine/facts.py is derived
from them with the version's compiled tables, as engine/cases/ normalises a case. One
module per scope:
- version.py `Derived`: choices among destination codes and vocabularies as this version
  sees them (known, unknown, band, factors), the unknown-id finding, and the world;
- case.py `CaseFacts`: case-scope facts (parties' bands, factors and Freedom House data,
  payment, re-export, due diligence, sanctions targets, implicated-party matches of every
  named party's name);
- item.py `ItemDerived`, `ItemFacts`: the classification of each item (declared category,
  longest mapped prefix of each entry, the category-conflict and unmapped-entry findings),
  item kinds, and the facts of each item view, sanctions regimes in force included.
"""

from engine.analysis.derive.case import NAMED
from engine.analysis.derive.item import UNMAPPED_ENTRY, match_entry
from engine.analysis.derive.version import Derived

__all__ = ["NAMED", "UNMAPPED_ENTRY", "Derived", "match_entry"]
