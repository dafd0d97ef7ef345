"""The output formats of a diff report, registered explicitly."""

from __future__ import annotations

import json
from collections.abc import Callable

from engine.diagnostics import suggest
from engine.diff.report import DiffReport, to_dict
from engine.diff.report_html import render_html
from engine.diff.report_markdown import render_markdown
from engine.diff.report_text import render_text


def render_json(report: DiffReport) -> str:
    """Everything, provenance changes included, as indented JSON."""
    return json.dumps(to_dict(report), indent=2, ensure_ascii=False) + "\n"


RENDERERS: dict[str, Callable[[DiffReport], str]] = {
    "text": render_text,
    "json": render_json,
    "markdown": render_markdown,
    "html": render_html,
}


def render(report: DiffReport, fmt: str) -> str:
    """The report in format `fmt` (one of RENDERERS)."""
    renderer = RENDERERS.get(fmt)
    if renderer is None:
        hint = suggest(fmt, RENDERERS)
        raise ValueError(f"unknown format `{fmt}`" + (f" ({hint})" if hint else ""))
    return renderer(report)
