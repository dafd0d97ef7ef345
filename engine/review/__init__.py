"""Reviews of a policy change that read off a grid of synthetic cases.

    old, new = load_pair("echri-baseline@2025.1", "echri-baseline@2026.1")
    space = decision_space(old, new)
    print(render_markdown(space, command="echri review decision-space ..."))

The decision space (`echri review decision-space OLD NEW`) decides one plain case per
category × end-user type × destination band × exporter due diligence under both versions
and shows, per cell, the outcome and the decisive rule, highlighting the cells that changed.
Pipeline: axes (categories, end-user types, bands and their representative destinations)
→ grid (cases, decisions, comparison) → markdown (the document).
"""

from engine.review.axes import Axes, BandAxis, CategoryAxis, build_axes
from engine.review.grid import (
    CHANGES,
    Cell,
    Comparison,
    DecisionSpace,
    Settings,
    decision_space,
    grid_case,
)
from engine.review.markdown import render_markdown

__all__ = [
    "CHANGES",
    "Axes",
    "BandAxis",
    "CategoryAxis",
    "Cell",
    "Comparison",
    "DecisionSpace",
    "Settings",
    "build_axes",
    "decision_space",
    "grid_case",
    "render_markdown",
]
