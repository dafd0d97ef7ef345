"""The HTML meeting pack: `echri diff OLD NEW --format html`, checked in as docs/meeting-pack.html.

The checked-in pack must be what `make meeting-pack` makes now (the versions are read from
the Makefile, the pack regenerated with the same command through the CLI runner). The pack
puts what matters first (loosened decisions, rule changes) and the destination data last,
with the score-only destinations in one compact table, and prints on A4 with a running
header; its bar charts count what its tables count. Printing it in Chromium is
tests/test_report_pdf.py.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import main
from engine.diff import html_charts, render
from engine.diff.bands import BandChange
from engine.diff.behavioural import Breakdown
from engine.diff.html_structure import score_only, split_destinations
from engine.diff.html_style import css_string, running_header
from engine.diff.report import DiffReport, recorded_info
from engine.diff.structural import ElementChange, FieldChange, Section, StructuralDiff
from tests.data.diff.demo import report as demo_report
from tests.test_diff_reports import parse
from tests.test_injection import EVIL, hostile_report
from tests.test_report_pdf import report_pdf

ROOT = Path(__file__).resolve().parent.parent
PACK = ROOT / "docs" / "meeting-pack.html"
PROOF = ROOT / "docs" / "meeting-pack-proof.json"  # `make meeting-pack` writes both
ORDER = ("summary", "contents", "loosened", "rules", "tightened", "reasons", "overview",
         "policy", "declared", "destinations", "score-only")


def make_variables() -> dict[str, str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    found = dict(re.findall(r"^(MP_OLD|MP_NEW) \?= (\S+)$", text, re.MULTILINE))
    assert set(found) == {"MP_OLD", "MP_NEW"}, "the Makefile sets MP_OLD and MP_NEW"
    recipe = re.search(r"^meeting-pack:.*\n((?:\t.*\n)+)", text, re.MULTILINE)
    assert recipe is not None, "the Makefile has a meeting-pack target"
    commands = " ".join(recipe.group(1).replace("\\\n", " ").split())
    assert commands == (
        "$(BIN)/echri analyze compare $(MP_OLD) $(MP_NEW) --max-regions $(MP_REGIONS) "
        "--format json --output docs/meeting-pack-proof.json "
        "$(BIN)/echri diff $(MP_OLD) $(MP_NEW) --format html --proof "
        "docs/meeting-pack-proof.json --output docs/meeting-pack.html")
    return found


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The pack as `make meeting-pack` would write it now (run from the repository root)."""
    variables = make_variables()
    out = tmp_path_factory.mktemp("pack") / "meeting-pack.html"
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)
        result = CliRunner().invoke(main, ["diff", variables["MP_OLD"], variables["MP_NEW"],
                                           "--format", "html", "--proof",
                                           "docs/meeting-pack-proof.json",
                                           "--output", str(out)])
    assert result.exit_code == 0, result.output
    yield out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def rich(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The pack of 2025.1 → 2026.1, which has every part (destination data and score-only
    rows included), for the structure tests; the checked-in pack may lack some parts."""
    out = tmp_path_factory.mktemp("rich") / "pack.html"
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)
        result = CliRunner().invoke(main, ["diff", "echri-baseline@2025.1",
                                           "echri-baseline@2026.1", "--format", "html",
                                           "--output", str(out)])
    assert result.exit_code == 0, result.output
    yield out.read_text(encoding="utf-8")


def test_checked_in_meeting_pack_is_up_to_date(generated: str) -> None:
    assert PACK.exists(), "docs/meeting-pack.html is missing: run `make meeting-pack`"
    assert PACK.read_bytes() == generated.encode("utf-8"), \
        "docs/meeting-pack.html is stale: run `make meeting-pack` and commit the result"


def test_the_pack_links_to_a_complete_proof(generated: str) -> None:
    """The checked-in pack says what is proven: every loosened and tightened region of the
    bounded space is listed (the proof enumerated all of them), for these very versions (a
    proof of other digests is refused, so `generated` would not build)."""
    proof = json.loads(PROOF.read_text(encoding="utf-8"))
    assert proof["complete"] == {"loosened": True, "tightened": True}
    loosened = sum(r["direction"] == "loosened" for r in proof["regions"])
    assert loosened > 0
    assert f"proven: no loosening outside these {loosened} region(s)" in generated


def test_what_matters_comes_first(rich: str) -> None:
    positions = [rich.find(f'id="{anchor}"') for anchor in ORDER]
    assert all(p >= 0 for p in positions), dict(zip(ORDER, positions, strict=True))
    assert positions == sorted(positions)
    assert rich.find('id="kind-rules"') < rich.find('id="kind-categories"') \
        < rich.find('id="bands"') < rich.find('id="kind-destinations"')


def test_contents_link_to_every_part(rich: str) -> None:
    page = parse(rich)
    ids = {v for _, k, v in page.attrs if k == "id"}
    hrefs = {v for _, k, v in page.attrs if k == "href"}
    assert hrefs and all(h and h.startswith("#") and h[1:] in ids for h in hrefs)
    nav = re.search(r'<nav id="contents".*?</nav>', rich)
    assert nav is not None
    listed = re.findall(r'<a href="#([^"]+)">', nav.group(0))
    sections = [v for tag, k, v in page.attrs if tag == "section" and k == "id"]
    assert listed == [s for s in sections if s != "summary"]
    assert page.unclosed == [] and page.stack == []


def test_score_only_destinations_share_one_compact_table(rich: str) -> None:
    start, end = rich.find('id="kind-destinations"'), rich.find('id="score-only"')
    full = rich[start:end]
    bands = re.search(r'id="bands".*?</table>', rich, re.DOTALL)
    moved = set(re.findall(r"<tr><td><code>([A-Z]{2})</code>", bands.group(0) if bands else ""))
    rows = re.findall(r"<tbody>(.*?)</tbody>", full)
    assert rows, "destinations with factor or status changes keep their rows"
    for element in rows:
        code = re.search(r"</span> <code>([^<]*)</code>", element)
        fields = re.findall(r'<td class="f"><code>([^<]*)</code>', element)
        assert code is not None
        assert fields != ["freedom_house.score"] or code.group(1) in moved, element[:200]
    compact = re.search(r'id="score-only".*?</table>', rich[end - 4:], re.DOTALL)
    assert compact is not None
    listed = re.findall(r"<td><code>([A-Z]{2})</code></td>", compact.group(0))
    assert len(listed) > 50 and listed == sorted(listed)
    counted = re.search(r'id="score-only">[^<]*<span class="counts">(\d+) destination', rich)
    assert counted is not None and int(counted.group(1)) == len(listed)
    assert rich.rfind("<table") == rich.find('<table class="scores"')  # the last one


def test_cover_names_versions_digests_dates_and_counts(rich: str) -> None:
    cover = rich[rich.find('id="summary"'):rich.find('id="contents"')]
    assert len(re.findall(r"sha256:[0-9a-f]{64}", cover)) == 2
    assert "2025-01-01 to 2025-12-31" in cover and "from 2026-01-01" in cover
    for label in ("rules added", "rules removed", "rules changed", "decisions loosened",
                  "decisions tightened"):
        assert f"<div>{label}</div>" in cover, label
    assert 'class="transitions"' in cover  # the chart of changed decisions


def test_pack_prints_on_a4(rich: str) -> None:
    style = parse(rich).style
    page = re.search(r"@page\s*{[^}]*size:\s*A4", style)
    assert page is not None
    assert "counter(page)" in style and "@media print" in style
    assert "thead { display: table-header-group; }" in style
    assert "break-inside: avoid" in style and ".noprint { display: none" in style
    assert 'class="top noprint"' in rich
    assert not re.search(r"https?://|@import|url\(|<script|<link|<img", rich)


# ---------------------------------------------------------------- small reports


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DiffReport:
    monkeypatch.chdir(tmp_path)
    return demo_report(tmp_path)


def test_demo_pack_is_deterministic_and_ordered(demo: DiffReport) -> None:
    html = render(demo, "html")
    assert html == render(demo, "html")
    assert html.find('id="loosened"') < html.find('id="rules"') < html.find('id="tightened"') \
        < html.find('id="destinations"')
    chart = re.search(r'<svg[^>]*class="transitions".*?</svg>', html)
    assert chart is not None
    labels = re.findall(r'text-anchor="end">([^<]*)</text>', chart.group(0))
    assert labels[0] == "deny → approve"  # loosened first


def score(code: str, *extra: FieldChange) -> ElementChange:
    return ElementChange(code, "changed", code, (
        FieldChange("freedom_house.score", "70", "68"), *extra,
        FieldChange("freedom_house.source", "fh-1", "fh-2", provenance=True)))


def test_score_only_means_score_alone_and_no_band_move() -> None:
    moved = frozenset({"BR"})
    plain, status = score("AD"), score("FJ", FieldChange("freedom_house.status", "free",
                                                         "partly_free"))
    factor = score("IT", FieldChange("factors", added=("misuse",)))
    section = Section("destinations", "Destinations", (plain, status, factor, score("BR")))
    assert [score_only(c, moved) for c in section.changes] == [True, False, False, False]
    rest, scores = split_destinations(section, moved)
    assert scores == (plain,) and [c.id for c in rest.changes] == ["FJ", "IT", "BR"]
    band = BandChange("BR", "Brazil", "low", "elevated", ("freedom score: 70 → 68",))
    report = dataclasses.replace(hostile_report(), structural=StructuralDiff((section,), (band,)))
    html = render(report, "html")
    assert '<td><code>AD</code></td><td>AD</td><td>70 → 68 <span class="delta">−2</span></td>' \
        in html
    assert html.count('<td class="f"><code>freedom_house.score</code>') == 3  # FJ, IT, BR


def test_hostile_text_stays_text_in_the_pack() -> None:
    html = render(hostile_report(), "html")
    page = parse(html)
    assert not {"script", "img", "iframe", "object", "link"} & set(page.tags)
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert all(v is None or v.startswith("#") for _, k, v in page.attrs if k == "href")
    assert page.unclosed == [] and page.stack == []
    assert EVIL.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in html


def test_replay_pack_has_no_structural_parts() -> None:
    report = dataclasses.replace(hostile_report(), mode="replay", structural=None)
    html = render(report, "html")
    sections = re.findall(r'<section id="([^"]+)"', html)
    assert sections == ["summary", "loosened", "tightened", "reasons", "overview", "declared"]


# ---------------------------------------------------------------- print and charts


def test_running_header_names_the_policy_both_versions_and_short_digests(rich: str) -> None:
    style = parse(rich).style
    page = re.search(r"@page\s*{.*?}\s*}", style, re.DOTALL)
    assert page is not None
    digests = re.findall(r"sha256:[0-9a-f]{64}", rich[:rich.find('id="contents"')])
    header = report_pdf.running_header(rich)
    assert header == (f"echri-baseline: 2025.1 ({digests[0][:19]}) → 2026.1 "
                      f"({digests[1][:19]})")
    assert re.search(r'@bottom-right\s*{\s*content:\s*"page " counter\(page\) " of " '
                     r"counter\(pages\)", page.group(0))
    assert "@top-left" in page.group(0) and "@bottom-left" in page.group(0)


def test_text_in_the_running_header_cannot_leave_its_css_string() -> None:
    nasty = f'{EVIL} "; }} body {{ display: none }} </style><script>x</script> \\ \n→'
    quoted = css_string(nasty)
    inner = quoted[1:-1]
    assert quoted.startswith('"') and quoted.endswith('"')
    assert not re.search(r'(?<!\\)"|[<>{}\n]', inner)
    decoded = report_pdf.running_header(f'@top-left {{ content: {quoted}; }}')
    assert decoded == nasty.replace("\n", "")  # control characters are dropped
    report = dataclasses.replace(hostile_report(), new=dataclasses.replace(
        hostile_report().new, label=f"demo {nasty}", version="2026.2"))
    html = render(report, "html")
    style = parse(html).style
    assert "</style>" not in style and "<script" not in html
    assert html.count("<style>") == 1 and html.count("</style>") == 1


def test_charts_count_what_the_tables_count(demo: DiffReport) -> None:
    b = demo.behavioural
    assert b is not None
    html = render(demo, "html")
    figures = re.findall(r'<svg[^>]*class="directions".*?</svg>', html)
    assert len(figures) == 3  # category, band, destination
    by_category = figures[0]
    for row in b.by_category:
        if row.loosened or row.tightened:
            parts = [f"{n} {d}" for d, n in (("loosened", row.loosened),
                                             ("tightened", row.tightened)) if n]
            assert f"{', '.join(parts)} of {row.total}</text>" in by_category, row
        else:
            assert f">{row.key}<" not in by_category
    assert ">low<" in figures[1] or ">high<" in figures[1]
    assert "Brazil (BR)" in figures[2]
    for tag in ("rect", "text"):
        assert f"<{tag}" in figures[0]
    assert not re.search(r"https?://|url\(|<script|<image|href=", "".join(figures))
    assert html.find('id="chart-category"') < html.find('id="chart-band"') \
        < html.find('id="chart-destination"') < html.find("<h3>By category</h3>")


def test_destination_breakdown_comes_from_the_same_cases(demo: DiffReport) -> None:
    b = demo.behavioural
    assert b is not None
    assert sum(r.total for r in b.by_destination) == b.total
    assert sum(r.changed for r in b.by_destination) == len(b.changes)
    per = {r.key: r for r in b.by_destination}
    assert per["BR"].title == "Brazil"
    for change in b.changes:
        assert change.keys.destination in per
    assert [r.key for r in b.by_destination] == sorted(per)


def test_destination_chart_ranks_the_top_ones_and_says_how_many_more() -> None:
    rows = tuple(Breakdown(f"D{k:02}", 10, loosened=k % 3, tightened=k % 2, title=f"Land {k}")
                 for k in range(30))
    shown, more = html_charts.chart_rows(rows, html_charts.TOP_DESTINATIONS)
    changed = [r for r in rows if r.loosened or r.tightened]
    assert len(shown) == html_charts.TOP_DESTINATIONS
    assert more == len(changed) - html_charts.TOP_DESTINATIONS
    totals = [r.changed for r in shown]
    assert totals == sorted(totals, reverse=True)
    assert min(totals) >= max(r.loosened + r.tightened for r in changed
                              if f"{r.title} ({r.key})" not in {s.label for s in shown})
    assert shown[0].label.endswith(")") and "Land" in shown[0].label
    behaviour = dataclasses.replace(hostile_report().behavioural, by_destination=rows)
    html = html_charts.charts_html(behaviour)
    assert f"{more} more ranked lower not shown" in html


def _grey(colour: str) -> float:
    r, g, b = (int(colour[k:k + 2], 16) for k in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_chart_colours_are_okabe_ito_and_differ_in_grayscale() -> None:
    okabe_ito = {"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
                 "#000000"}
    assert set(html_charts.PALETTE.values()) <= okabe_ito
    assert abs(_grey(html_charts.PALETTE["loosened"]) - _grey(html_charts.PALETTE["tightened"])
               ) > 40
    assert html_charts.OUTLINE["tightened"] and not html_charts.OUTLINE["loosened"]


def test_replay_header_names_the_recorded_decisions() -> None:
    report = dataclasses.replace(hostile_report(), mode="replay", structural=None,
                                 old=recorded_info(None, "log.jsonl"))
    header = running_header(report)
    # the new label is not `policy version`, so it is shown whole
    assert header == f"demo {EVIL}: recorded decisions (none) → demo {EVIL} (sha256:bbbbbbbbbbbb)"
    assert report_pdf.running_header(render(report, "html")) == header
