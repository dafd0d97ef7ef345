"""`echri diff` says why every changed case changed, in every report format."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from engine.diff import diff_versions, load_fixtures, load_pair, read_jsonl, render
from engine.diff.behavioural import CaseChange, CaseKeys
from engine.diff.causes import NO_CAUSE, Explainer
from engine.diff.corpus import Recorded
from engine.diff.fmt import causes
from tests.data.diff.demo import cases, destinations, old_rules, write_new, write_old
from tests.support import BASE, case, compiled, write_version

ROOT = Path(__file__).resolve().parent.parent


def _corpus(items: list[dict[str, object]]):  # type: ignore[no-untyped-def]
    return read_jsonl([json.dumps(c) for c in items], "cases")


def _causes(report) -> dict[str, tuple[str, ...]]:  # type: ignore[no-untyped-def]
    assert report.behavioural is not None
    return {c.case_id: c.causes for c in report.behavioural.changes}


def test_demo_cases_say_why(tmp_path: Path) -> None:
    write_old(tmp_path)
    write_new(tmp_path)
    report = diff_versions(*load_pair("demo@2026.1", "demo@2026.2", tmp_path), _corpus(cases()))
    found = _causes(report)
    assert found["C-restricted"] == ("rule removed: deny-restricted (deny)",)
    assert found["C-brazil"] == (
        "now fires, condition unchanged: refer-high: destination.band low → high",
        "band moved: BR Brazil low → high (factor added: misuse)")
    assert found["C-threshold"] == (
        "condition changed: condition-large: item.value ≥ 100000 → item.value ≥ 50000",)


def test_outcome_change_of_a_rule_that_fired_on_both_sides(tmp_path: Path) -> None:
    rules = [dict(r, outcome="refer") if r["id"] == "deny-restricted" else r
             for r in old_rules()]
    write_old(tmp_path)
    write_version(tmp_path, files={"destinations.yaml": destinations()}, rules=rules,
                  version="2026.3")
    report = diff_versions(*load_pair("demo@2026.1", "demo@2026.3", tmp_path),
                           _corpus(cases()[:1]))
    assert report.behavioural is not None
    (change,) = report.behavioural.changes
    assert (change.old, change.new, change.only_old, change.only_new) == ("deny", "refer", (), ())
    assert change.causes == ("outcome changed: deny-restricted: deny → refer",)
    for fmt in ("text", "markdown", "html", "json"):
        assert "outcome changed: deny-restricted: deny → refer" in render(report, fmt)


def test_category_mapping_of_a_control_entry(tmp_path: Path) -> None:
    categories = copy.deepcopy(BASE["categories.yaml"])
    for cat in categories["categories"]:
        if cat["id"] == "network_surveillance":
            cat["control_entries"] = []
        if cat["id"] == "intrusion_software":
            cat["control_entries"].append({"entry": "5A001.j", "regime": "wassenaar"})
    write_old(tmp_path)
    write_version(tmp_path, files={"destinations.yaml": destinations(),
                                   "categories.yaml": categories},
                  rules=old_rules(), version="2026.3")
    probe = case(case_id="C-entry", destination="BY",
                 items=[{"id": "i1", "control_entries": ["5A001.j.1"], "value": 10}],
                 end_user={"name": "Z", "country": "BY", "type": "law_enforcement",
                           "flags": []}, assurances=["end_use_certificate"])
    report = diff_versions(*load_pair("demo@2026.1", "demo@2026.3", tmp_path),
                           _corpus([probe]))
    found = _causes(report)["C-entry"]
    assert "category mapping: control entry 5A001.j.1: network_surveillance → " \
        "intrusion_software" in found
    assert any(c.startswith("now fires, condition unchanged: refer-high: item.category "
                            "network_surveillance → intrusion_software") for c in found)


def test_nothing_found_is_said_explicitly(tmp_path: Path) -> None:
    policy = compiled(tmp_path)
    explainer = Explainer(None, policy)
    rules = frozenset({"deny-restricted"})
    found = explainer.explain(case(), None, None, Recorded("deny", rules, version="demo 2025.9"),
                              Recorded("refer", rules))
    assert found == (f"{NO_CAUSE}: the same rules fire under both versions, the outcome "
                     "moves from deny to refer (recorded by demo 2025.9)",)
    bare = CaseChange("C", "o", "deny", "refer", "loosened", (), (), (), CaseKeys((), "low"))
    assert causes(bare) and causes(bare)[0].startswith(NO_CAUSE)


def test_replay_names_rules_that_appeared_or_vanished(tmp_path: Path) -> None:
    explainer = Explainer(None, compiled(tmp_path))
    found = explainer.explain(case(), None, None, Recorded("deny", frozenset({"gone-rule"})),
                              Recorded("approve", frozenset({"refer-high"})))
    assert found == ("rule not in 2026.1: gone-rule", "fires only under 2026.1: refer-high")


@pytest.fixture(scope="module")
def shipped():  # type: ignore[no-untyped-def]
    old, new = load_pair("echri-baseline@2025.1", "echri-baseline@2026.1", ROOT / "policies")
    return diff_versions(old, new, load_fixtures(ROOT / "fixtures", new.policy.id))


def test_shipped_diff_has_no_empty_cause(shipped) -> None:  # type: ignore[no-untyped-def]
    changes = shipped.behavioural.changes
    assert len(changes) > 50
    for c in changes:
        assert c.causes and all(text.strip() for text in c.causes), c.case_id
        assert not any(text.startswith(NO_CAUSE) for text in c.causes), (c.case_id, c.causes)
    data = json.loads(render(shipped, "json"))
    assert all(c["causes"] and all(text.strip() for text in c["causes"])
               for c in data["behavioural"]["changes"])
    lines = render(shipped, "text").splitlines()
    heads = [i for i, line in enumerate(lines) if re.match(r"  FX-\S+ \(fixtures/.*\): ", line)]
    assert len(heads) == len(changes)
    for i in heads:
        block = []
        for line in lines[i + 1:]:
            if not line.startswith("      "):
                break
            block.append(line)
        assert any(line.startswith("      why: ") and line[11:].strip() for line in block), \
            lines[i]
    html = render(shipped, "html")
    cells = re.findall(r'<ul class="why">(.*?)</ul>', html)
    assert len(cells) == len(changes)
    assert all(re.search(r"<li>[^<\s][^<]*</li>", cell) for cell in cells)
    rows = [line for line in render(shipped, "markdown").splitlines()
            if line.startswith("| `FX-")]
    assert rows
    for row in rows:
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]]
        assert len(cells) == 5 and all(cells), row
