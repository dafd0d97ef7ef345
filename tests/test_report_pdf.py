"""The printed meeting pack: tools/report_pdf.py (`make meeting-pack-pdf`, `make report-check`).

The checks on a PDF's pages (A4, headings in order, running header and `page X of Y` on every
page) and on the overflow probe's answer are plain functions, tested here on made-up pages.
The tests marked `browser` print real reports in headless Chromium; `make test` leaves them
out (CI machines may have no Chromium), `make report-check` runs them.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.diff import render
from engine.diff.report import DiffReport
from tests.data.diff.demo import report as demo_report
from tests.support import load_tool

ROOT = Path(__file__).resolve().parent.parent
report_pdf = load_tool("report_pdf")
PdfPage = report_pdf.PdfPage
A4 = report_pdf.A4_PT
HEADER = "demo: 2026.1 (sha256:aaaaaaaaaaaa) → 2026.2 (sha256:bbbbbbbbbbbb)"


def pages(*texts: str, size: tuple[float, float] = A4) -> list[object]:
    n = len(texts)
    return [PdfPage(size[0], size[1], f"{HEADER}\npage {k} of {n}\n{t}")
            for k, t in enumerate(texts, start=1)]


def test_headings_are_what_the_page_prints() -> None:
    html = ('<h2><span class="n">1.</span> Loosened decisions <a class="top noprint" '
            'href="#contents">contents ↑</a></h2><p>x</p><h3 id="k">Rules <span '
            'class="counts">1 added</span></h3><h2>A &amp; B</h2><h4>not this</h4>')
    assert report_pdf.headings(html) == ["1. Loosened decisions", "Rules 1 added", "A & B"]


def test_good_pages_pass() -> None:
    good = pages("Summary Contents", "1. Loosened de-\ncisions", "2. Rule ch\nanges 3 added")
    wanted = ["Summary", "Contents", "1. Loosened de-cisions", "2. Rule changes 3 added"]
    assert report_pdf.page_problems(good, wanted, HEADER) == []


def test_size_numbering_header_and_heading_order_are_checked() -> None:
    letter = pages("Summary", size=(612.0, 792.0))
    assert report_pdf.page_problems(letter, ["Summary"], HEADER) == [
        "page 1 is 612×792 pt, not A4 (595×842)"]
    unnumbered = [PdfPage(*A4, f"{HEADER} Summary"), *pages("x", "y")[1:]]
    problems = report_pdf.page_problems(unnumbered, [], HEADER)
    assert problems == ["page 1 does not say `page 1 of 2`"]
    headless = [dataclasses.replace(p, text=p.text.replace(HEADER, "")) for p in pages("a")]
    assert report_pdf.page_problems(headless, [], HEADER) == [
        f"page 1 lacks the running header `{HEADER}`"]
    swapped = pages("2. Rule changes", "1. Loosened decisions")
    assert report_pdf.page_problems(swapped, ["1. Loosened decisions", "2. Rule changes",
                                              "3. Tightened"], HEADER) == [
        "heading `2. Rule changes` is out of order in the PDF text",
        "heading `3. Tightened` is missing in the PDF text"]
    assert report_pdf.page_problems([], [], HEADER) == ["the PDF has no page"]


def test_ligatures_and_line_breaks_do_not_hide_a_heading() -> None:
    printed = pages("Same outcome, di\ufb00erent reasons Classi\ufb01cation")
    assert report_pdf.page_problems(printed, ["Same outcome, different reasons",
                                              "Classification"], HEADER) == []


def test_overflow_probe_answer_is_read() -> None:
    width = report_pdf.TEXT_WIDTH_PX
    assert width == 703  # 186 mm at 96 px per inch
    ok = json.dumps({"width": width, "overflow": [], "count": 0})
    assert report_pdf.overflow_problems(f'<pre id="echri-overflow">{ok}</pre>') == []
    wide = json.dumps({"width": 1280, "overflow": ["table.cases to 900px: C-1"], "count": 3})
    assert report_pdf.overflow_problems(f'<pre id="echri-overflow">{wide}</pre>') == [
        f"the probe laid the page out 1280 px wide, not {width}",
        "wider than an A4 page: table.cases to 900px: C-1", "… and 2 more elements"]
    assert report_pdf.overflow_problems("<html></html>") == ["the overflow probe did not run"]


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DiffReport:
    monkeypatch.chdir(tmp_path)
    return demo_report(tmp_path)


def test_probe_is_a_copy_with_print_rules_on_screen(demo: DiffReport) -> None:
    html = render(demo, "html")
    probe = report_pdf.probe_html(html)
    assert "<script" not in html and "@media print {" in html
    assert probe.count("<script>") == 1 and "@media print {" not in probe
    assert probe.replace(report_pdf.PROBE, "").replace("@media all {", "@media print {") == html


def test_running_header_is_read_back_from_the_page(demo: DiffReport) -> None:
    header = report_pdf.running_header(render(demo, "html"))
    assert re.fullmatch(r"demo: 2026\.1 \(sha256:[0-9a-f]{12}\) → 2026\.2 "
                        r"\(sha256:[0-9a-f]{12}\)", header), header


def test_make_targets_print_and_check_outside_make_test() -> None:
    make = (ROOT / "Makefile").read_text(encoding="utf-8")
    target = re.search(r"^report-check:.*\n((?:\t.*\n)+)", make, re.MULTILINE)
    assert target is not None
    recipe = target.group(1)
    assert "tools/report_pdf.py docs/meeting-pack.html" in recipe and "--check" in recipe
    assert "-m browser tests/test_report_pdf.py" in recipe
    pdf = re.search(r"^meeting-pack-pdf: (.*)\n\t(.*)$", make, re.MULTILINE)
    assert pdf is not None and "meeting-pack" in pdf.group(1).split()
    assert "tools/report_pdf.py docs/meeting-pack.html --output build/meeting-pack.pdf" \
        in pdf.group(2)
    test = re.search(r"^test: (.*)$", make, re.MULTILINE)
    assert test is not None and "report-check" not in test.group(1)
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert "not browser" in re.search(r"^addopts = .*$", pyproject, re.MULTILINE).group(0)
    assert re.search(r'^  "pypdf[=<>~]', pyproject, re.MULTILINE)
    assert re.search(r"^pypdf==", (ROOT / "constraints.txt").read_text(), re.MULTILINE)


# ---------------------------------------------------------------- in Chromium

chromium = report_pdf.chromium()
browser = pytest.mark.browser


@pytest.fixture
def printed(demo: DiffReport, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    if chromium is None:
        pytest.skip("Chromium is not installed")
    html = render(demo, "html")
    page = tmp_path / "pack.html"
    page.write_text(html, encoding="utf-8")
    pdf = tmp_path / "pack.pdf"
    assert report_pdf.print_pdf(chromium, page, pdf) is None
    yield html, pdf


@browser
def test_the_printed_pack_passes_every_check(printed: tuple[str, Path]) -> None:
    html, pdf = printed
    assert report_pdf.check(chromium, html, pdf) == []
    read = report_pdf.read_pdf(pdf)
    assert len(read) >= 2
    text = report_pdf.squash("".join(p.text for p in read))
    assert report_pdf.squash("Changed decisions by destination band") in text
    assert report_pdf.squash("Brazil (BR)") in text  # the destination chart, as text


@browser
def test_a_table_wider_than_a4_is_reported(printed: tuple[str, Path], tmp_path: Path
                                           ) -> None:
    html, _ = printed
    wide = html.replace("</body>", '<table class="wide"><tr><td style="white-space: nowrap">'
                        + "overflowing " * 80 + "</td></tr></table></body>")
    problems = report_pdf.overflow(chromium, wide)
    assert any(p.startswith("wider than an A4 page: table.wide") for p in problems), problems


@browser
def test_the_running_header_prints_hostile_text_as_text(demo: DiffReport, tmp_path: Path
                                                        ) -> None:
    if chromium is None:
        pytest.skip("Chromium is not installed")
    nasty = 'x"; } body { display: none } </style> <b>bold</b> \\ ok'
    report = dataclasses.replace(demo, new=dataclasses.replace(demo.new,
                                                               label=f"demo {nasty}"))
    page = tmp_path / "nasty.html"
    page.write_text(render(report, "html"), encoding="utf-8")
    pdf = tmp_path / "nasty.pdf"
    assert report_pdf.print_pdf(chromium, page, pdf) is None
    read = report_pdf.read_pdf(pdf)
    assert all(report_pdf.squash(nasty) in report_pdf.squash(p.text) for p in read)
    assert report_pdf.squash("Loosened decisions") in report_pdf.squash(read[0].text + read[1].text)


# ---------------------------------------------------------------- echri diff --format pdf

def _diff(tmp_path: Path, *extra: str) -> Any:
    from click.testing import CliRunner

    from engine.cli import main
    return CliRunner().invoke(main, ["diff", "echri-baseline@2025.1", "echri-baseline@2026.1",
                                     "--no-fixtures", "--policy-dir", str(ROOT / "policies"),
                                     "--format", "pdf", *extra])


def test_pdf_needs_an_output_file(tmp_path: Path) -> None:
    result = _diff(tmp_path)
    assert result.exit_code == 2 and "--format pdf needs --output FILE" in result.output


def test_pdf_without_chromium_is_a_clear_error_and_writes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.diff import pdf

    monkeypatch.setattr(pdf, "chromium", lambda: None)
    out = tmp_path / "pack.pdf"
    result = _diff(tmp_path, "--output", str(out))
    assert result.exit_code == 2 and "error[pdf]: Chromium not found" in result.output
    assert not out.exists()


@browser
def test_echri_diff_prints_an_a4_pdf(tmp_path: Path) -> None:
    if chromium is None:
        pytest.skip("Chromium is not installed")
    out = tmp_path / "pack.pdf"
    result = _diff(tmp_path, "--output", str(out))
    assert result.exit_code == 0, result.output
    pages = report_pdf.read_pdf(out)
    assert pages and all(abs(p.width - 595.28) < 1 and abs(p.height - 841.89) < 1
                         for p in pages)
    assert "echri-baseline" in pages[0].text
