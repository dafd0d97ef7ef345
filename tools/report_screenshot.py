"""Render the HTML diff report of the shipped versions in headless Chromium (`make report-check`).

    .venv/bin/python tools/report_screenshot.py                 # writes docs/report.png
    .venv/bin/python tools/report_screenshot.py --html /tmp/report.html

The report compares echri-baseline 2025.1 with 2026.1 on the fixtures, the examples and a few
hundred generated cases (seeded), so that every part of the page has content. The page is
checked to be self-contained (no external URL), then Chromium loads it from a file with
networking features off and takes a 1280×1800 screenshot. Exit 0 when the PNG was written,
1 when the page or the screenshot is not right, 2 when Chromium is missing (on Debian:
`apt-get install -y chromium`).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.diff import diff_versions, load_fixtures, load_pair, read_jsonl, render  # noqa: E402
from engine.diff.pdf import chromium, run_chromium  # noqa: E402
from engine.generator import generate_cases  # noqa: E402

SCREENSHOT_TIMEOUT = 120
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", default="echri-baseline@2025.1")
    parser.add_argument("--new", default="echri-baseline@2026.1")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "report.png")
    parser.add_argument("--html", type=Path, default=None, help="Also keep the HTML here.")
    parser.add_argument("--generated", type=int, default=300, help="Generated cases to add.")
    parser.add_argument("--size", default="1280,1800", help="Window size WIDTH,HEIGHT.")
    return parser.parse_args()


def build_html(args: argparse.Namespace) -> str:
    old, new = load_pair(args.old, args.new, ROOT / "policies")
    corpus = load_fixtures(ROOT / "fixtures", new.policy.id)
    examples = [json.dumps(json.loads(p.read_text(encoding="utf-8")))
                for p in sorted((ROOT / "examples").glob("*.json"))]
    corpus.extend(read_jsonl(examples, "examples"))
    generated = [json.dumps(c) for c in generate_cases(new.compiled, args.generated, seed=1)]
    corpus.extend(read_jsonl(generated, "generated"))
    return render(diff_versions(old, new, corpus, jobs=2), "html")


def self_contained(html: str) -> list[str]:
    """Why the page is not self-contained (empty when it is)."""
    problems = []
    if re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I):
        problems.append("the page links to an external URL")
    if re.search(r"@import|url\(|<script|<link", html, re.I):
        problems.append("the page loads stylesheets, scripts or fonts")
    return problems


def screenshot(browser: str, page: Path, output: Path, size: str) -> str | None:
    """Take the screenshot; an error message, or None when the PNG was written."""
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        run_chromium(browser, [f"--screenshot={output.resolve()}", f"--window-size={size}"],
                     page, timeout=SCREENSHOT_TIMEOUT)
    except subprocess.TimeoutExpired:
        return f"Chromium did not finish within {SCREENSHOT_TIMEOUT} s"
    if not output.is_file() or output.read_bytes()[:8] != PNG_MAGIC:
        return f"Chromium wrote no PNG to {output}"
    return None


def main() -> int:
    args = options()
    browser = chromium()
    if browser is None:
        print("error: Chromium not found (Debian: apt-get install -y chromium)", file=sys.stderr)
        return 2
    html = build_html(args)
    problems = self_contained(html)
    if problems:
        print("error: " + "; ".join(problems), file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="echri-report-") as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(html, encoding="utf-8")
        if args.html is not None:
            args.html.parent.mkdir(parents=True, exist_ok=True)
            args.html.write_text(html, encoding="utf-8")
        error = screenshot(browser, page, args.output, args.size)
    if error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {args.output} ({args.output.stat().st_size:,} bytes) from a "
          f"{len(html):,}-character self-contained report")
    return 0


if __name__ == "__main__":
    sys.exit(main())
