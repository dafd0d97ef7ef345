"""Meeting statistics (Code of Conduct, additional commitment 2e): anonymised counts of
logged decisions with small-cell suppression.

Steps (one module each): aggregate (verified decision logs → count tables) → suppress
(primary and secondary suppression of one table) → publish (every table suppressed, plain
values) → render_markdown | render_html | render_json. See docs/DESIGN.md, "Meeting
statistics".
"""

from __future__ import annotations

from collections.abc import Callable

from engine.stats.aggregate import Aggregates, Selection, StatsError, aggregate, read_verified
from engine.stats.publish import Report, publish
from engine.stats.render_html import render_html
from engine.stats.render_json import render_json
from engine.stats.render_markdown import render_markdown

RENDERERS: dict[str, Callable[[Report], str]] = {
    "markdown": render_markdown,
    "html": render_html,
    "json": render_json,
}

__all__ = ["RENDERERS", "Aggregates", "Report", "Selection", "StatsError", "aggregate",
           "publish", "read_verified"]
