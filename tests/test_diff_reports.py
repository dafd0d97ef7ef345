"""Markdown, HTML and JSON reports of a diff, and `echri replay` of recorded decisions."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.api import evaluate_with
from engine.backends.python import PythonBackend
from engine.cli import main
from engine.diff import diff_versions, load_fixtures, load_pair, read_jsonl, render
from engine.diff.report import DiffReport
from tests.data.diff.demo import cases, write_new, write_old


@pytest.fixture
def report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DiffReport:
    monkeypatch.chdir(tmp_path)
    write_old(tmp_path / "pol")
    write_new(tmp_path / "pol")
    old, new = load_pair("demo@2026.1", "demo@2026.2", Path("pol"))
    return diff_versions(old, new, read_jsonl([json.dumps(c) for c in cases()], "cases"))


class Page(HTMLParser):
    """Collects the structure of an HTML document."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str | None]] = []
        self.stack: list[str] = []
        self.text: dict[str, list[str]] = {}
        self.style = ""
        self.unclosed: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [(tag, k, v) for k, v in attrs]
        if tag not in ("meta", "br", "rect"):
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [(tag, k, v) for k, v in attrs]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("meta", "br", "rect"):
            return
        if not self.stack or self.stack[-1] != tag:
            self.unclosed.append(tag)
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.stack:
            self.text.setdefault(self.stack[-1], []).append(data)
            if self.stack[-1] == "style":
                self.style += data


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


def test_html_is_one_self_contained_well_formed_page(report: DiffReport) -> None:
    html = render(report, "html")
    assert html.startswith("<!DOCTYPE html>")
    page = parse(html)
    assert page.unclosed == [] and page.stack == []
    assert page.tags[:3] == ["html", "head", "meta"]
    assert page.tags.count("style") == 1 and "@media print" in page.style
    assert not {"script", "link", "img", "iframe", "object"} & set(page.tags)
    urls = [v for _, k, v in page.attrs if k in ("src", "href", "xmlns") and v]
    assert urls and all(url.startswith("#") for url in urls)  # links stay inside the page
    ids = {v for _, k, v in page.attrs if k == "id"}
    assert {url[1:] for url in urls} <= ids
    assert not re.search(r"https?://|@import|url\(", html)
    assert page.text["h1"] == ["echri diff: demo 2026.1 → demo 2026.2"]
    sections = [v for tag, k, v in page.attrs if tag == "section" and k == "id"]
    assert sections == ["summary", "loosened", "rules", "tightened", "reasons", "overview",
                        "policy", "undeclared", "destinations"]
    assert "Transition matrix" in page.text["h3"] and "Derived risk bands" in page.text["h3"]


def test_html_draws_the_transition_matrix_as_svg(report: DiffReport) -> None:
    page = parse(render(report, "html"))
    assert page.tags.count("svg") >= 2  # matrix + legend (+ breakdown bars)
    classes = [v or "" for tag, k, v in page.attrs if tag == "rect" and k == "class"]
    cells = [c for c in classes if c.startswith("cell ")]
    assert len(cells) == 25
    assert "cell loosened" in classes and "cell tightened" in classes
    assert page.tags.count("table") >= 5  # versions, cases x3, breakdowns, structure


def test_html_shows_old_and_new_side_by_side(report: DiffReport) -> None:
    html = render(report, "html")
    assert "<del>100000</del>" in html and "<ins>50000</ins>" in html
    assert '<span class="badge removed">removed</span> <code>deny-restricted</code>' in html
    assert '<span class="band low">low</span>' in html


def test_markdown_summary_first_details_collapsible(report: DiffReport) -> None:
    md = render(report, "markdown")
    lines = md.splitlines()
    assert lines[0] == "### echri diff: demo 2026.1 → demo 2026.2"
    assert lines[2].startswith("**Structural:** 4 element(s)")
    assert lines[3].startswith("**Behavioural:** 4 case(s)")
    assert "> [!WARNING]" in md and "1 decision(s) would be less severe" in md
    assert md.count("<details") == md.count("</details>") >= 5
    assert "<details open><summary><b>Loosened (less severe outcome)</b>: 1</summary>" in md
    assert "| `C-restricted` | `cases:1` | `deny` → `approve` | only old: deny-restricted |" in md
    assert "- **~** `condition-large` Large" in md
    assert "  - `when`: `item.value ≥ 100000 → item.value ≥ 50000`" in md
    assert "| BR | Brazil | low | high | factor added: misuse |" in md


def test_markdown_of_the_shipped_diff_fits_a_comment() -> None:
    root = Path(__file__).resolve().parent.parent
    old, new = load_pair("echri-baseline@2025.1", "echri-baseline@2026.1", root / "policies")
    report = diff_versions(old, new, load_fixtures(root / "fixtures", "echri-baseline"))
    assert len(render(report, "markdown")) < 65536


def test_json_carries_everything(report: DiffReport) -> None:
    data = json.loads(render(report, "json"))
    assert data["mode"] == "diff"
    assert [c["case_id"] for c in data["behavioural"]["changes"]] == [
        "C-restricted", "C-brazil", "C-threshold"]
    assert data["structural"]["bands"] == [{"code": "BR", "name": "Brazil", "old": "low",
                                            "new": "high", "causes": ["factor added: misuse"]}]


def recorded(tmp_path: Path) -> Path:
    """Decisions made under 2026.1, as {"case", "decision"} lines."""
    old, _ = load_pair("demo@2026.1", "demo@2026.2", tmp_path / "pol")
    backend = PythonBackend(old.compiled)
    lines = [json.dumps({"case": c, "decision": evaluate_with(old.compiled, backend, c)
                         .to_dict()}) for c in cases()]
    path = tmp_path / "decisions.jsonl"
    path.write_text("\n".join([*lines, '{"case": {}}']) + "\n")
    return path


def test_replay_finds_the_decisions_the_new_version_flips(report: DiffReport,
                                                          tmp_path: Path) -> None:
    path = recorded(tmp_path)
    runner = CliRunner()
    args = ["replay", "--cases", str(path), "--policy", "demo@2026.2", "--policy-dir", "pol"]
    result = runner.invoke(main, [*args, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["mode"] == "replay" and data["structural"] is None
    assert data["behavioural"]["counts"] == {"loosened": 1, "tightened": 1, "reasons": 1}
    assert data["behavioural"]["old_versions"] == ["demo 2026.1"]
    assert len(data["behavioural"]["skipped"]) == 1
    assert runner.invoke(main, [*args, "--fail-on", "loosened"]).exit_code == 1
    text = runner.invoke(main, args).stdout
    assert text.startswith("echri replay: recorded decisions → demo 2026.2\n")
    assert "  C-restricted (decisions.jsonl:1): deny → approve" in text
    same = runner.invoke(main, ["replay", "--cases", str(path), "--policy", "demo@2026.1",
                                "--policy-dir", "pol", "--fail-on", "any"])
    assert same.exit_code == 0 and "no decision changed" in same.stdout


def test_markdown_is_cut_to_fit_one_comment(report: DiffReport,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.diff import report_markdown

    full = render(report, "markdown")
    monkeypatch.setattr(report_markdown, "COMMENT_LIMIT", len(full) - 1)
    monkeypatch.setattr(report_markdown, "MAX_ITEMS", 2)
    cut = render(report, "markdown")
    assert len(cut) < len(full)
    assert "_… and 1 more (see `--format html` or `json`)_" in cut
