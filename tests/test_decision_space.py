"""`echri review decision-space`: the checked-in review is up to date; cells, markers, --check."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import main
from engine.diff import load_pair
from engine.review import DecisionSpace, decision_space, render_markdown
from engine.review.grid import LOOSER, REASON, STRICTER, Cell, classify
from tests.data.diff.demo import write_new, write_old

ROOT = Path(__file__).resolve().parent.parent
DOC = "docs/decision-space.md"


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def makefile_pair() -> tuple[str, str]:
    """DS_OLD and DS_NEW as the Makefile sets them (the pair `make decision-space` uses)."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    found = {m["name"]: m["value"] for m in
             re.finditer(r"^(?P<name>DS_OLD|DS_NEW)\s*\?=\s*(?P<value>\S+)", text, re.M)}
    return found["DS_OLD"], found["DS_NEW"]


def test_checked_in_review_is_up_to_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    old, new = makefile_pair()
    code, _, err = cli("review", "decision-space", old, new, "--output", DOC, "--check")
    assert code == 0, f"{DOC} is out of date for {old} → {new}: run `make decision-space` " \
                      f"({err.strip()})"


def _edit_outcome(version_dir: Path, rule_id: str, old: str, new: str) -> None:
    """Change one rule's `outcome:` in its rules file, as a policy author would."""
    for path in sorted((version_dir / "rules").glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        block = re.search(rf"  - id: {re.escape(rule_id)}\n(?:(?!  - id: ).*\n)*", text)
        if block:
            edited = block[0].replace(f"    outcome: {old}\n", f"    outcome: {new}\n", 1)
            assert edited != block[0], rule_id
            path.write_text(text.replace(block[0], edited), encoding="utf-8")
            return
    raise AssertionError(f"rule {rule_id} not found")


@pytest.fixture(scope="module")
def edited(tmp_path_factory: pytest.TempPathFactory) -> DecisionSpace:
    """2026.1 against a draft copy where one denial refers and one approval refers."""
    shipped = ROOT / "policies" / "echri-baseline" / "2026.1"
    draft = tmp_path_factory.mktemp("edited") / "echri-baseline" / "2026.2"
    shutil.copytree(shipped, draft)
    meta = draft / "policy.yaml"
    text = meta.read_text(encoding="utf-8")
    for was, now in (('version: "2026.1"', 'version: "2026.2"'),
                     ("status: released", "status: draft")):
        assert was in text
        text = text.replace(was, now, 1)
    meta.write_text(text, encoding="utf-8")
    _edit_outcome(draft, "deny-embargoed-destination", "deny", "refer")
    _edit_outcome(draft, "approve-general-it", "approve", "refer")
    return decision_space(*load_pair(str(shipped), str(draft)))


EDITED = {"deny-embargoed-destination", "approve-general-it"}


def test_only_cells_decided_by_the_edited_rules_change(edited: DecisionSpace) -> None:
    changed = edited.changed()
    assert changed
    for c in changed:
        assert {c.old.rule, c.new.rule} & EDITED, c
        assert c.change in (LOOSER, STRICTER, REASON)
    counts = edited.counts()
    assert counts[LOOSER] and counts[STRICTER]


def test_looser_and_stricter_cells_are_classified_and_highlighted(edited: DecisionSpace) -> None:
    denied = edited.index[("intrusion_software", "other_government", "embargoed", True)]
    assert (denied.old, denied.change) == (Cell("deny", "deny-embargoed-destination"), LOOSER)
    assert denied.new.outcome == "refer"
    approved = edited.index[("general_it", "private_company", "low", True)]
    assert approved.old == Cell("approve", "approve-general-it")
    assert (approved.new, approved.change) == (Cell("refer", "approve-general-it"), STRICTER)
    text = render_markdown(edited, "echri review decision-space OLD NEW")
    assert f"**deny (deny-embargoed-destination) → refer ({denied.new.rule})** ▼" in text
    assert "**approve (approve-general-it) → refer (approve-general-it)** ▲" in text
    summary = text.partition("## Legend")[0]
    loosened = summary.partition("### Loosened cells")[2]
    assert "`intrusion_software` · `other_government` · embargoed (SS) · DD: deny " \
           "(deny-embargoed-destination) → refer" in loosened
    assert "approve-general-it" not in loosened  # stricter cells are not listed as loosened
    unchanged = edited.index[("torture_goods", "ngo", "low", False)]
    assert unchanged.change is None and unchanged.old == unchanged.new


def test_classify_by_precedence() -> None:
    order = ("deny", "refer", "request_information", "approve_with_conditions", "approve")
    assert classify(Cell("approve", "a"), Cell("deny", "b"), order) == STRICTER
    assert classify(Cell("refer", "a"), Cell("approve", None), order) == LOOSER
    assert classify(Cell("refer", "a"), Cell("refer", "b"), order) == REASON
    assert classify(Cell("refer", "a"), Cell("refer", "b"), order, {"b": "a"}) is None
    assert classify(Cell(None), Cell("deny", "b"), order) == "added"
    assert classify(Cell("deny", "b"), Cell(None), order) == "removed"


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with the small demo policy: pol/demo/2026.1 and 2026.2."""
    monkeypatch.chdir(tmp_path)
    write_old(tmp_path / "pol")
    write_new(tmp_path / "pol")
    return tmp_path


DEMO = ("review", "decision-space", "demo@2026.1", "demo@2026.2", "--policy-dir", "pol")


def test_output_is_deterministic_and_names_its_command(demo: Path) -> None:
    assert cli(*DEMO, "--output", "a.md")[0] == 0
    assert cli(*DEMO, "--output", "b.md")[0] == 0
    a, b = (demo / "a.md").read_bytes(), (demo / "b.md").read_bytes()
    assert a.replace(b"a.md", b"b.md") == b
    code, out, _ = cli(*DEMO)
    assert code == 0 and out.encode() == a.replace(b" --output a.md", b"")
    assert "Generated by `echri review decision-space demo@2026.1 demo@2026.2 --policy-dir " \
           "pol --output a.md`" in a.decode()
    assert "demo 2026.1 → 2026.2" in a.decode()


def test_check_exit_codes(demo: Path) -> None:
    args = (*DEMO, "--output", "review.md")
    code, _, err = cli(*args, "--check")
    assert code == 1 and err.strip() == (
        "review.md: error[stale]: is missing: regenerate it with `echri review "
        "decision-space demo@2026.1 demo@2026.2 --policy-dir pol --output review.md`")
    assert cli(*args)[0] == 0
    code, _, err = cli(*args, "--check")
    assert code == 0 and "up to date" in err
    path = demo / "review.md"
    path.write_text(path.read_text(encoding="utf-8").replace("deny", "refer", 1),
                    encoding="utf-8")
    code, _, err = cli(*args, "--check")
    assert code == 1 and len(err.strip().splitlines()) == 1 and "is out of date" in err
    assert cli(*DEMO, "--check")[0] == 2  # --check needs --output
    assert cli(*DEMO, "--purpose", "no_such_purpose")[0] == 2
    code, _, err = cli("review", "decision-space", "demo@2026.1", "demo@2099.1",
                       "--policy-dir", "pol")
    assert code == 2 and "error[version-source]" in err


def test_demo_axes_are_the_union_and_representatives_keep_their_band(demo: Path) -> None:
    old, new = load_pair("demo@2026.1", "demo@2026.2", Path("pol"))
    space = decision_space(old, new)
    assert [b.band for b in space.axes.bands] == list(new.policy.bands)
    represented = [b for b in space.axes.bands if b.code is not None]
    assert len(represented) == 3  # the demo has no destination in the elevated band
    for b in represented:
        assert not b.moved
        assert old.compiled.destinations[b.code].band == b.band
        assert new.compiled.destinations[b.code].band == b.band
    elevated = [c for c in space.cells if c.band == "elevated"]
    assert elevated and all(c.old == c.new == Cell(None) for c in elevated)
    assert space.axes.categories[-1].id == "unclassified"
    assert len(space.cells) == (len(space.axes.categories) * len(space.axes.end_user_types)
                                * len(space.axes.bands) * 2)
