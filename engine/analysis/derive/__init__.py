"""The facts of one compiled version as expressions of the shared case inputs.

engine/analysis/inputs.py holds the variables; here every fact of engine/facts.py is derived
from them with the version's compiled tables, as engine/cases/ normalises a case. One
module per scope:
- choices.py `Choices`: choices among destination codes and vocabularies as this version
  sees them (known, unknown, band, factors);
- version.py `world_of`: the world of the version, with the unknown-id finding;
- case.py `CaseFacts`: case-scope facts (parties' bands, factors and Freedom House data,
  payment, re-export, due diligence, sanctions targets, implicated-party matches of every
  named party's name);
- item.py `ItemDerived`, `ItemFacts`: the classification of each item (declared category,
  longest mapped prefix of each entry, the category-conflict and unmapped-entry findings),
  item kinds, and the facts of each item view, sanctions regimes in force included.
"""

from engine.analysis.derive.version import world_of

__all__ = ["world_of"]
