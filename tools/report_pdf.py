"""Print an HTML diff report (the meeting pack) to an A4 PDF in headless Chromium, and check it.

    .venv/bin/python tools/report_pdf.py docs/meeting-pack.html --output build/meeting-pack.pdf
    .venv/bin/python tools/report_pdf.py build/report-check.html --output build/x.pdf --check

`make meeting-pack-pdf` prints docs/meeting-pack.html; `make report-check` prints and checks
both the checked-in pack and the richer 2025.1 → 2026.1 report. Chromium prints with
`--print-to-pdf --no-pdf-header-footer`, so the page's own `@page` rules apply: A4, the
running header (policy, versions, short digests) and `page X of Y` in the margin boxes.

`--check` (needs pypdf, a development dependency) reads the PDF back and fails when a page
is not A4 (595×842 pt), a section heading (`h2`, `h3`) of the page is missing from the PDF
text or out of order, a page lacks the running header or its `page X of Y`, or something
is wider than the A4 text width. That last check lays out a copy of the page in Chromium at
the text width of an A4 page (210 mm less both margins) with the print rules applied and a
probe script that lists every element reaching past the right edge; the report itself never
has a script. Exit 0 when the PDF was written (and passed), 1 on problems, 2 when Chromium
is missing (Debian: `apt-get install -y chromium`).
"""

from __future__ import annotations

import argparse
import html as htmllib
import json
import re
import subprocess
import sys
import tempfile
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from report_screenshot import self_contained

from engine.diff.pdf import TIMEOUT, PdfError, chromium, print_file, run_chromium

A4_PT = (595.28, 841.89)
TOLERANCE_PT = 1.0
# the text width of an A4 page in CSS px: 210 mm less the 12 mm side margins of @page
TEXT_WIDTH_PX = round((210 - 2 * 12) / 25.4 * 96)
PROBE = """<script>
(() => {
  const width = document.documentElement.clientWidth, found = [];
  for (const el of document.body.querySelectorAll('*')) {
    const right = el.getBoundingClientRect().right;
    if (right > width + 1) {
      const what = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
        + (el.getAttribute('class') ? '.' + el.getAttribute('class').split(' ')[0] : '');
      found.push(what + ' to ' + Math.round(right) + 'px: '
        + (el.textContent || '').trim().slice(0, 60));
    }
  }
  const out = document.createElement('pre');
  out.id = 'echri-overflow';
  out.textContent = JSON.stringify({width: width, overflow: found.slice(0, 20),
                                    count: found.length});
  document.body.append(out);
})();
</script>"""


@dataclass(frozen=True, slots=True)
class PdfPage:
    """What the check reads from one PDF page: its size in points and its text."""

    width: float
    height: float
    text: str


def squash(text: str) -> str:
    """Text compared without whitespace and with ligatures unfolded (NFKC), since PDF text
    extraction breaks lines and keeps the ligature glyphs (ﬀ, ﬁ) the fonts use."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def headings(page_html: str) -> list[str]:
    """The text of every `h2` and `h3` of the page, in order, as printed (the `.noprint`
    links left out)."""
    out = []
    for match in re.finditer(r"<(h[23])\b[^>]*>(.*?)</\1>", page_html, re.DOTALL):
        inner = re.sub(r'<a class="top noprint"[^>]*>.*?</a>', "", match.group(2))
        text = htmllib.unescape(re.sub(r"<[^>]+>", "", inner)).strip()
        if text:
            out.append(text)
    return out


def running_header(page_html: str) -> str:
    """The running header the page's `@page` rule puts on every page (CSS escapes undone)."""
    found = re.search(r'@top-left\s*{\s*content:\s*"((?:[^"\\]|\\.)*)"', page_html)
    if found is None:
        return ""
    return re.sub(r"\\([0-9a-fA-F]{1,6}) ?", lambda m: chr(int(m.group(1), 16)),
                  found.group(1))


def page_problems(pages: Sequence[PdfPage], wanted: Sequence[str], header: str) -> list[str]:
    """Why the printed pages are not right (empty when they are): size, headings in
    order, running header and `page X of Y` on every page."""
    problems = []
    if not pages:
        return ["the PDF has no page"]
    for k, p in enumerate(pages, start=1):
        if abs(p.width - A4_PT[0]) > TOLERANCE_PT or abs(p.height - A4_PT[1]) > TOLERANCE_PT:
            problems.append(f"page {k} is {p.width:.0f}×{p.height:.0f} pt, not A4 (595×842)")
        text = squash(p.text)
        if f"page{k}of{len(pages)}" not in text:
            problems.append(f"page {k} does not say `page {k} of {len(pages)}`")
        if header and squash(header) not in text:
            problems.append(f"page {k} lacks the running header `{header}`")
    full, at = squash("".join(p.text for p in pages)), 0
    for heading in wanted:
        found = full.find(squash(heading), at)
        if found < 0:
            where = "missing" if squash(heading) not in full else "out of order"
            problems.append(f"heading `{heading}` is {where} in the PDF text")
            continue
        at = found + len(squash(heading))
    return problems


def read_pdf(path: Path) -> list[PdfPage]:
    """The pages of a PDF (pypdf, a development dependency)."""
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    return [PdfPage(float(p.mediabox.width), float(p.mediabox.height), p.extract_text() or "")
            for p in reader.pages]


def probe_html(page_html: str) -> str:
    """A copy of the page with its print rules applied on screen and the overflow probe."""
    applied = page_html.replace("@media print {", "@media all {")
    return applied.replace("</body>", PROBE + "</body>", 1)


def overflow_problems(dom: str) -> list[str]:
    """What the probe found in Chromium's `--dump-dom` output."""
    found = re.search(r'<pre id="echri-overflow">(.*?)</pre>', dom, re.DOTALL)
    if found is None:
        return ["the overflow probe did not run"]
    result = json.loads(htmllib.unescape(found.group(1)))
    problems = []
    if abs(result["width"] - TEXT_WIDTH_PX) > 2:
        problems.append(f"the probe laid the page out {result['width']} px wide, not "
                        f"{TEXT_WIDTH_PX}")
    problems += [f"wider than an A4 page: {what}" for what in result["overflow"]]
    if result["count"] > len(result["overflow"]):
        problems.append(f"… and {result['count'] - len(result['overflow'])} more elements")
    return problems


def print_pdf(browser: str, page: Path, output: Path) -> str | None:
    """Print `page` to `output`; an error message, or None when the PDF was written."""
    try:
        print_file(page, output, browser)
    except PdfError as exc:
        return str(exc)
    return None


def overflow(browser: str, page_html: str) -> list[str]:
    """Elements wider than the A4 text width once the print rules apply."""
    with tempfile.TemporaryDirectory(prefix="echri-probe-") as tmp:
        probe = Path(tmp) / "probe.html"
        probe.write_text(probe_html(page_html), encoding="utf-8")
        try:
            done = run_chromium(browser, ["--dump-dom",
                                          f"--window-size={TEXT_WIDTH_PX},1200"], probe)
        except subprocess.TimeoutExpired:
            return [f"Chromium did not finish the overflow probe within {TIMEOUT} s"]
    return overflow_problems(done.stdout)


def check(browser: str, page_html: str, pdf: Path) -> list[str]:
    """Every problem of the printed report (empty when there is none)."""
    problems = self_contained(page_html)
    problems += page_problems(read_pdf(pdf), headings(page_html), running_header(page_html))
    return problems + overflow(browser, page_html)


def options(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", type=Path, help="The HTML report to print.")
    parser.add_argument("--output", type=Path, required=True, help="The PDF to write.")
    parser.add_argument("--check", action="store_true",
                        help="Read the PDF back and check it (needs pypdf).")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = options(argv)
    browser = chromium()
    if browser is None:
        print("error: Chromium not found (Debian: apt-get install -y chromium)", file=sys.stderr)
        return 2
    page_html = args.html.read_text(encoding="utf-8")
    error = print_pdf(browser, args.html, args.output)
    if error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.check:
        problems = check(browser, page_html, args.output)
        for problem in problems:
            print(f"{args.output}: error[pdf-check]: {problem}", file=sys.stderr)
        if problems:
            return 1
    pages = f", {len(read_pdf(args.output))} A4 page(s), checked" if args.check else ""
    print(f"wrote {args.output} ({args.output.stat().st_size:,} bytes{pages}) from {args.html}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
