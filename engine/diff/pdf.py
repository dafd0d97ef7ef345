"""Print an HTML report to PDF with headless Chromium (`echri diff --format pdf`).

The report's own `@page` rules decide the paper: A4, the running header with the policy,
both versions and their short digests, and `page X of Y` (engine/diff/html_style.py), so
Chromium prints with its own header and footer off. Chromium is an external program, not a
Python dependency: `chromium()` finds it on PATH (Debian: `apt-get install -y chromium`),
and a caller without it gets `PdfError`, never a half-written file. tools/report_pdf.py
checks a printed pack (A4 pages, headings in order, running header, nothing clipped).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars")
PDF_MAGIC = b"%PDF-"
TIMEOUT = 180


class PdfError(RuntimeError):
    """The PDF could not be printed (no Chromium, a timeout, no output)."""


def chromium() -> str | None:
    """The path of a Chromium-like browser on PATH, or None."""
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


def run_chromium(browser: str, args: Sequence[str], page: Path, timeout: float = TIMEOUT
                 ) -> subprocess.CompletedProcess[str]:
    """Chromium headless on `page` with a throw-away profile (TimeoutExpired after
    `timeout` seconds)."""
    with tempfile.TemporaryDirectory(prefix="echri-chromium-") as profile:
        command = [browser, *FLAGS, f"--user-data-dir={profile}", *args,
                   page.resolve().as_uri()]
        return subprocess.run(command, capture_output=True, timeout=timeout, check=False,
                              text=True)


def print_file(page: Path, output: Path, browser: str | None = None) -> None:
    """Print the HTML file `page` to `output` (PdfError when it cannot)."""
    browser = browser or chromium()
    if browser is None:
        raise PdfError("Chromium not found (Debian: apt-get install -y chromium); "
                       "`--format html` writes the report to print from a browser")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.unlink(missing_ok=True)
    try:
        run_chromium(browser, ["--no-pdf-header-footer",
                               f"--print-to-pdf={output.resolve()}"], page)
    except subprocess.TimeoutExpired:
        raise PdfError(f"Chromium did not finish within {TIMEOUT} s") from None
    if not output.is_file() or output.read_bytes()[:5] != PDF_MAGIC:
        output.unlink(missing_ok=True)
        raise PdfError(f"Chromium wrote no PDF to {output}")


def print_html(html: str, output: Path, browser: str | None = None) -> None:
    """Print the report text `html` to `output` (through a private temporary file)."""
    with tempfile.TemporaryDirectory(prefix="echri-pdf-") as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(html, encoding="utf-8")
        print_file(page, output, browser)
