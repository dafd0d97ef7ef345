"""Render a fixture run (engine.fixtures.RunReport) as text, JSON, JUnit XML, GitHub
annotations or Markdown.

`REPORTERS` is the registry `echri test --format` chooses from. Every reporter is a pure
function of the report; `render_summary` is the short text printed next to `--output`.
Differences are shown as diff lines: `-` what the fixture expects, `+` what the engine did.
"""

from __future__ import annotations

import html
import json
import re
import socket
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

from engine.diagnostics import Diagnostic, format_text, suggest
from engine.fixtures import (
    CHANGED,
    ERROR,
    FAIL,
    OUTDATED,
    PASS,
    FixtureResult,
    RunReport,
    VersionCoverage,
)
from engine.version import __version__

MAX_IDS = 3  # fixture ids listed per covered rule in the text coverage report
QUIET = (PASS, OUTDATED)  # statuses a summary does not list one by one


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def counts_line(report: RunReport) -> str:
    """`12 fixtures: 10 passed, 1 failed, 1 error; 1 invalid file`."""
    parts = [f"{report.count(PASS)} passed", f"{report.count(FAIL)} failed"]
    if report.count(ERROR):
        parts.append(_plural(report.count(ERROR), "error"))
    parts += [f"{report.count(s)} {s}" for s in (CHANGED, OUTDATED) if report.count(s)]
    line = f"{_plural(len(report.results), 'fixture')}: {', '.join(parts)}"
    if report.invalid_files:
        line += f"; {_plural(report.invalid_files, 'invalid file')}"
    return line


def _actual(result: FixtureResult) -> str:
    d = result.decision
    if d is None:
        return ""
    rules = ", ".join(d.rules) or "none"
    return f"actual: {d.decision} under {d.policy['id']} {d.policy['version']}; rules: {rules}"


def _how(result: FixtureResult) -> str:
    """`pinned`, or the version the date selects when --policy-version overrode it."""
    if result.how == "pinned":
        return ", pinned"
    if result.carried is not None:
        return f", its date selects {result.carried.by_date or 'no version'}"
    return ""


def _version_label(result: FixtureResult) -> str:
    f = result.fixture
    if result.decision is not None:
        return f" ({result.decision.policy['id']} {result.version}{_how(result)})"
    return f" ({f.policy_id})" if f.policy_id else ""


def ran_under(report: RunReport) -> list[str]:
    """With --policy-version: how many fixtures ran under which version, and why."""
    if not report.policy_version:
        return []
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for r in report.results:
        if r.decision is not None:
            key = (r.decision.policy["id"], r.decision.policy["version"])
            how = counts.setdefault(key, {})
            how[r.how] = how.get(r.how, 0) + 1
    lines = ["", f"ran under --policy-version {report.policy_version} (fixtures pinned to "
                 "another version stay pinned):"]
    for (pid, version), how in sorted(counts.items()):
        parts = ", ".join(f"{n} {label}" for label, n in sorted(how.items()))
        lines.append(f"  {pid} {version}: {_plural(sum(how.values()), 'fixture')} ({parts})")
    return lines


# ---------------------------------------------------------------- text


def _text_result(result: FixtureResult) -> list[str]:
    head = f"{result.status.upper():<5} {result.fixture.test_id}{_version_label(result)}"
    if result.status == PASS:
        return [head]
    if result.status == OUTDATED:
        return [head, f"      {result.summary()}"]
    lines = [head, f"      {result.fixture.display}:{result.line}"]
    if result.status == CHANGED:
        lines.append(f"      {result.summary()}")
    lines += [f"      {line}" for line in result.diff().splitlines()]
    if result.decision is not None:
        lines.append(f"      {_actual(result)}")
    return lines


def _coverage_head(c: VersionCoverage) -> str:
    status = "released" if c.released else "draft"
    carried = f" ({c.carried} of other dates carried forward)" if c.carried else ""
    return (f"{c.policy_id} {c.version} ({status}): {len(c.covered)}/{len(c.rules)} rules "
            f"fired ({c.percent:.1f}%) by {_plural(c.fixtures, 'fixture')}{carried}")


def _coverage_text(report: RunReport, detail: bool) -> list[str]:
    if report.coverage is None:
        return []
    lines = ["", "rule coverage:"]
    for c in report.coverage:
        lines.append(f"  {_coverage_head(c)}")
        if detail:
            for rule in c.rules:
                ids = c.fired.get(rule, ())
                more = ", ..." if len(ids) > MAX_IDS else ""
                shown = f"{_plural(len(ids), 'fixture')}: {', '.join(ids[:MAX_IDS])}{more}"
                lines.append(f"    {rule}: {shown if ids else 'never fired'}")
        elif c.uncovered:
            lines.append(f"    never fired: {', '.join(c.uncovered)}")
    return lines


def _tail(report: RunReport, detail: bool) -> list[str]:
    lines: list[str] = []
    if report.diagnostics:
        lines += ["", format_text(list(report.diagnostics))]
    lines += _coverage_text(report, detail)
    for u in report.updates:
        verb = "updated" if u.written else "could not update"
        note = f" ({'; '.join(u.notes)})" if u.notes else ""
        lines.append(f"{verb} {u.fixture.display}{note}")
    lines += ran_under(report)
    lines += ["", counts_line(report)]
    for c in report.below_threshold:
        lines.append(f"rule coverage of {c.policy_id} {c.version} is {c.percent:.1f}%, below "
                     f"{report.min_coverage:g}%: never fired: {', '.join(c.uncovered)}")
    return lines


def render_text(report: RunReport) -> str:
    """Every fixture with its status, differences of the failing ones, then the totals."""
    lines = [line for r in report.results for line in _text_result(r)]
    return "\n".join(lines + _tail(report, detail=True)).strip("\n")


def render_summary(report: RunReport) -> str:
    """Failing fixtures with their differences, problems, uncovered rules and the totals."""
    lines = [line for r in report.results if r.status not in QUIET for line in _text_result(r)]
    return "\n".join(lines + _tail(report, detail=False)).strip("\n")


# ---------------------------------------------------------------- json


def _result_json(result: FixtureResult) -> dict[str, Any]:
    f = result.fixture
    out: dict[str, Any] = {
        "id": f.test_id, "file": f.display, "line": result.line,
        "description": f.description, "status": result.status,
        "policy": result.decision.policy["id"] if result.decision else f.policy_id,
        "version": result.version, "how": result.how, "registers": f.registers,
        "by_date": result.carried.by_date if result.carried else None,
        "change": result.carried.change or None if result.carried else None,
        "mismatches": [{"key": m.key, "message": m.summary, "expected": list(m.removed),
                        "actual": list(m.added)} for m in result.mismatches],
    }
    if result.error is not None:
        out["error"] = result.error.to_dict()
    if result.decision is not None:
        out["decision"] = result.decision.to_dict()
    return out


def _coverage_json(c: VersionCoverage) -> dict[str, Any]:
    return {"policy": c.policy_id, "version": c.version,
            "status": "released" if c.released else "draft", "fixtures": c.fixtures,
            "carried": c.carried, "rules": len(c.rules), "covered": len(c.covered),
            "percent": round(c.percent, 2), "uncovered": list(c.uncovered),
            "fired": {r: list(ids) for r, ids in c.fired.items()}}


def render_json(report: RunReport) -> str:
    data: dict[str, Any] = {
        "summary": {"fixtures": len(report.results), "passed": report.count(PASS),
                    "failed": report.count(FAIL), "errors": report.count(ERROR),
                    "invalid_files": report.invalid_files},
        "policy_version": report.policy_version,
        "results": [_result_json(r) for r in report.results],
        "problems": [d.to_dict() for d in report.diagnostics],
        "coverage": None if report.coverage is None else
        [_coverage_json(c) for c in report.coverage],
        "min_coverage": report.min_coverage,
        "updates": [{"file": u.fixture.display, "written": u.written, "notes": list(u.notes)}
                    for u in report.updates],
    }
    if report.policy_version:  # only a run under --policy-version has these statuses
        data["summary"].update(changed=report.count(CHANGED), outdated=report.count(OUTDATED))
    return json.dumps(data, indent=2, ensure_ascii=False)


# ---------------------------------------------------------------- junit


def _folder(display: str) -> str:
    return PurePosixPath(display).parent.as_posix()


def _seconds(value: float) -> str:
    return f"{max(value, 0.0):.3f}"


def _testcase(suite: ET.Element, display: str, seconds: float = 0.0) -> ET.Element:
    attrs = {"classname": _folder(display), "name": PurePosixPath(display).name,
             "time": _seconds(seconds)}
    return ET.SubElement(suite, "testcase", attrs)


def _location(display: str, line: int | None) -> str:
    """`file:line` as the first line of a failure's text (the XSDs allow no file attribute)."""
    return f"{display}:{line}" if line else display


def _junit_result(suite: ET.Element, result: FixtureResult) -> None:
    case = _testcase(suite, result.fixture.display, result.seconds)
    if result.status == PASS:
        return
    if result.status == OUTDATED:
        ET.SubElement(case, "skipped", {"message": result.summary()})
        return
    tag, kind = {FAIL: ("failure", "mismatch"), CHANGED: ("failure", "changed")}.get(
        result.status, ("error", "error"))
    element = ET.SubElement(case, tag, {"message": result.summary(), "type": kind})
    element.text = "\n".join(filter(None, [_location(result.fixture.display, result.line),
                                           result.diff(), _actual(result)]))


def _junit_invalid(suite: ET.Element, diagnostics: list[Diagnostic]) -> None:
    errors = [d for d in diagnostics if d.severity == "error"]
    for file in sorted({d.file or "<input>" for d in errors}):
        mine = [d for d in errors if (d.file or "<input>") == file]
        case = _testcase(suite, file)
        element = ET.SubElement(case, "error", {"message": mine[0].message,
                                                "type": "invalid-fixture"})
        element.text = format_text(mine)


def _junit_coverage(suite: ET.Element, report: RunReport) -> None:
    if report.coverage is None or report.min_coverage is None:
        return
    for c in (c for c in report.coverage if c.released):
        case = ET.SubElement(suite, "testcase", {"classname": "rule-coverage",
                                                 "name": f"{c.policy_id} {c.version}",
                                                 "time": _seconds(0.0)})
        if c.percent < report.min_coverage:
            message = f"{c.percent:.1f}% of the rules fired, below {report.min_coverage:g}%"
            failure = ET.SubElement(case, "failure", {"message": message, "type": "coverage"})
            failure.text = "never fired: " + ", ".join(c.uncovered)


def _junit_properties(suite: ET.Element, report: RunReport) -> None:
    props = ET.SubElement(suite, "properties")
    values = {"engine": f"echri {__version__}", "policy_version": report.policy_version,
              "min_coverage": None if report.min_coverage is None else f"{report.min_coverage:g}"}
    for name, value in values.items():
        if value is not None:
            ET.SubElement(props, "property", {"name": name, "value": value})


def render_junit(report: RunReport) -> str:
    """JUnit XML: one testcase per fixture (classname = folder, name = file), with times.

    The document is valid under both schemas CI servers use (tests/data/junit/): Jenkins
    xunit's junit-10.xsd and the Apache Ant JUnit schema, so: a bare `testsuites` root, one
    `testsuite` with `package`, `id`, `timestamp` (UTC, no zone), `hostname` and `time`,
    `properties` first and `system-out` / `system-err` last, at most one child per
    `testcase`, and the fixture's `file:line` as the first line of a failure's text.
    """
    root = ET.Element("testsuites")
    timestamp = report.timestamp or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    suite = ET.SubElement(root, "testsuite", {
        "name": "echri fixtures", "package": "echri", "id": "0", "timestamp": timestamp,
        "hostname": socket.gethostname() or "localhost"})
    _junit_properties(suite, report)
    for result in report.results:
        _junit_result(suite, result)
    _junit_invalid(suite, list(report.diagnostics))
    _junit_coverage(suite, report)
    suite.set("tests", str(len(suite.findall("testcase"))))
    suite.set("failures", str(len(suite.findall("testcase/failure"))))
    suite.set("errors", str(len(suite.findall("testcase/error"))))
    suite.set("skipped", str(len(suite.findall("testcase/skipped"))))
    suite.set("time", _seconds(report.seconds or sum(r.seconds for r in report.results)))
    ET.SubElement(suite, "system-out").text = render_summary(report)
    ET.SubElement(suite, "system-err")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


# ---------------------------------------------------------------- github


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _annotation(props: dict[str, str], message: str, level: str = "error") -> str:
    """One workflow command, every property and the message escaped (no forged lines)."""
    joined = ",".join(f"{k}={_escape_property(v)}" for k, v in props.items())
    return f"::{level} {joined}::{_escape_data(message)}"


def _diagnostic_annotations(diagnostics: list[Diagnostic]) -> list[str]:
    """Like engine.diagnostics.format_github, with the properties escaped too: a fixture
    file name is user input and must not end the `file=` property or the line."""
    lines = []
    for d in sorted(diagnostics, key=Diagnostic.sort_key):
        props = {"file": d.file, "line": d.line, "col": d.column, "title": d.code}
        text = d.message + (f" ({d.help})" if d.help else "")
        lines.append(_annotation({k: str(v) for k, v in props.items() if v is not None}, text,
                                 "error" if d.severity == "error" else "warning"))
    return lines


def render_github(report: RunReport) -> str:
    """GitHub workflow commands: an annotation at the differing expect key of each failure."""
    lines = []
    for r in report.results:
        if r.status in QUIET:
            continue
        word = {FAIL: "failed", CHANGED: f"changed under {r.version}"}.get(r.status, "error")
        title = f"fixture {r.fixture.test_id} {word}"
        change = r.summary() if r.status == CHANGED else ""
        body = "\n".join(filter(None, [change, r.diff(), _actual(r)]))
        lines.append(_annotation({"file": r.fixture.display, "line": str(r.line),
                                  "title": title}, body))
    lines += _diagnostic_annotations(list(report.diagnostics))
    for c in report.below_threshold:
        lines.append(_annotation(
            {"title": f"rule coverage {c.policy_id} {c.version}"},
            f"{c.percent:.1f}% of the rules fired, below {report.min_coverage:g}%: never "
            f"fired: {', '.join(c.uncovered)}"))
    for u in report.updates:
        lines.append(_annotation({"file": u.fixture.display, "title": "fixture updated"},
                                 "; ".join(u.notes) or "expect block rewritten", "notice"))
    lines.append(counts_line(report))
    return "\n".join(lines)


# ---------------------------------------------------------------- markdown


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(report: RunReport) -> list[str]:
    rows = [("Passed", report.count(PASS)), ("Failed", report.count(FAIL)),
            ("Errors", report.count(ERROR)), ("Invalid files", report.invalid_files)]
    rows[3:3] = [(s.capitalize(), report.count(s)) for s in (CHANGED, OUTDATED)
                 if report.count(s)]
    return ["| Result | Count |", "|---|---:|", *(f"| {k} | {v} |" for k, v in rows)]


def _md_coverage(report: RunReport) -> list[str]:
    if report.coverage is None:
        return []
    lines = ["", "### Rule coverage", "",
             "| Policy | Version | Status | Rules fired | Coverage | Never fired |",
             "|---|---|---|---:|---:|---|"]
    low = {(c.policy_id, c.version) for c in report.below_threshold}
    for c in report.coverage:
        mark = " :x:" if (c.policy_id, c.version) in low else ""
        never = ", ".join(f"`{r}`" for r in c.uncovered) or "none"
        status = "released" if c.released else "draft"
        lines.append(f"| {c.policy_id} | {c.version} | {status} | {len(c.covered)}/"
                     f"{len(c.rules)} | {c.percent:.1f}%{mark} | {_cell(never)} |")
    return lines


def _html(text: str) -> str:
    """Escape for HTML; `code` spans become <code> (Markdown is not parsed in <summary>).

    Line breaks become spaces: a blank line would end the HTML block and let the rest of
    the text be parsed as Markdown."""
    text = html.escape(" ".join(text.splitlines()), quote=False)
    return re.sub(r"`([^`]*)`", r"<code>\1</code>", text)


def _details(summary: str, body: str, lang: str) -> list[str]:
    # the fence is longer than any backtick run of the body, so the body cannot close it
    runs = [len(run) for run in re.findall(r"`+", body)]
    fence = "`" * max(3, max(runs, default=0) + 1)
    return ["<details>", f"<summary>{summary}</summary>", "", f"{fence}{lang}", body, fence,
            "", "</details>"]


def _md_failures(report: RunReport) -> list[str]:
    failing = [r for r in report.results if r.status not in QUIET]
    if not failing:
        return []
    lines = ["", "### Failures", ""]
    for r in failing:
        icon = "❌" if r.status in (FAIL, CHANGED) else "⚠️"
        summary = f"{icon} {_html(f'`{r.fixture.test_id}`: {r.summary()}')}"
        body = "\n".join(filter(None, [r.diff(), _actual(r)]))
        lines += _details(summary, f"# {r.fixture.display}:{r.line}\n{body}", "diff")
    return lines


def _md_invalid(report: RunReport) -> list[str]:
    errors = [d for d in report.diagnostics if d.severity == "error"]
    if not errors:
        return []
    summary = f"⚠️ {_plural(report.invalid_files, 'invalid fixture file')}"
    return ["", "### Invalid fixtures", "", *_details(summary, format_text(errors), "text")]


def render_markdown(report: RunReport) -> str:
    """A pull-request comment: headline and summary table first, failures folded away."""
    ok = not (report.count(FAIL) or report.count(CHANGED) or report.has_errors
              or report.below_threshold)
    icon = "✅" if ok else "❌"
    lines = ["## ECHRI policy fixtures", "", f"{icon} {counts_line(report)}", "",
             *_md_table(report), *_md_coverage(report), *_md_failures(report),
             *_md_invalid(report)]
    return "\n".join(lines) + "\n"


REPORTERS: dict[str, Callable[[RunReport], str]] = {
    "text": render_text,
    "json": render_json,
    "junit": render_junit,
    "github": render_github,
    "markdown": render_markdown,
}


def reporter(name: str) -> Callable[[RunReport], str]:
    """The reporter called `name`; an unknown name fails with a suggestion."""
    if name not in REPORTERS:
        hint = suggest(name, REPORTERS)
        raise KeyError(f"unknown report format `{name}`" + (f" ({hint})" if hint else ""))
    return REPORTERS[name]
