"""Markdown that is safe for text from policy or case data, in a pull-request comment or a
printed pack: the escaping every Markdown renderer of the project uses (the diff report,
the meeting statistics, the register and decision-space reports).

Every text that comes from policy or case data goes through `escape` (Markdown),
`escape_html` (inside `<summary>`) or `code` (code span): HTML is escaped, Markdown
punctuation that makes links, images, emphasis or table cells is backslash-escaped, and
@mentions, `#123` references and URL / www autolinks are broken with a zero-width space.
Text the tool writes itself is left as it is.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

ZWSP = "&#8203;"  # zero-width space: invisible, but no mention or autolink runs across it
# `_` between two letters or digits cannot open or close emphasis: ids stay unescaped
_MD_PUNCTUATION = re.compile(r"[\\`*\[\]()!|~#$]|(?<![^\W_])_|_(?![^\W_])")
_LINKISH = re.compile(r"@|#(?=\d)|:(?=//)|www(?=\.)", re.IGNORECASE)


def _one_line(text: str) -> str:
    # a line break could end the list item, table row or HTML block the text sits in
    return " ".join(text.splitlines())


def _unlink(text: str) -> str:
    """Break @mentions, issue references and URL / www autolinks with a zero-width space."""
    return _LINKISH.sub(lambda m: m.group(0) + ZWSP, text)


def escape(value: str) -> str:
    """Policy or case text in Markdown: no HTML, links, images, emphasis or table cells."""
    escaped = _MD_PUNCTUATION.sub(r"\\\g<0>", _one_line(value))
    return _unlink(html.escape(escaped, quote=False))


def escape_html(value: str) -> str:
    """Policy or case text inside an HTML block (`<summary>`), where Markdown is not parsed."""
    return _unlink(html.escape(_one_line(value), quote=False))


def code(value: str) -> str:
    """An inline code span that survives backticks, line breaks and table pipes."""
    value = _one_line(value).replace("|", "\\|")
    runs = [len(run) for run in re.findall(r"`+", value)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if runs else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def cell(value: str) -> str:
    """A table cell: pipes not escaped yet are escaped (they would start a new cell)."""
    return re.sub(r"(?<!\\)\|", r"\\|", _one_line(value))


def table(head: Sequence[str], rows: Iterable[Sequence[str]], right: int = 1) -> list[str]:
    """A GitHub table; columns from `right` on are right-aligned (numbers)."""
    align = ["---" if i < right else "---:" for i in range(len(head))]
    out = ["| " + " | ".join(head) + " |", "| " + " | ".join(align) + " |"]
    out += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return out


def details(summary_text: str, body: list[str], open_: bool = False) -> list[str]:
    flag = " open" if open_ else ""
    return [f"<details{flag}><summary>{summary_text}</summary>", "", *body, "", "</details>", ""]
