"""Policy version diff: what changed between two versions, and which decisions it changes.

    old, new = load_pair("echri-baseline@2025.1", "echri-baseline@2026.1")
    report = diff_versions(old, new, load_fixtures(Path("fixtures")))
    print(render(report, "markdown"))

Pipeline (one module per step): sources (name and load versions, git revisions included)
→ elements + structural + bands (structural diff) → corpus + runner + behavioural
(behavioural diff) → proof (`echri analyze compare` read back) → report (plain data,
summary, --fail-on) → render (text, json, markdown, html).
"""

from engine.diff.corpus import Corpus, load_fixtures, load_jsonl, read_jsonl
from engine.diff.proof import Proof, ProofError, load_proof, proof_from_data
from engine.diff.render import RENDERERS, render
from engine.diff.report import (
    FAIL_ON,
    DiffReport,
    diff_versions,
    fail_on_lines,
    replay_decisions,
    should_fail,
    strict_lines,
    with_proof,
)
from engine.diff.sources import LoadedVersion, SourceError, load_pair, load_spec

__all__ = [
    "FAIL_ON",
    "RENDERERS",
    "Corpus",
    "DiffReport",
    "LoadedVersion",
    "Proof",
    "ProofError",
    "SourceError",
    "diff_versions",
    "fail_on_lines",
    "load_fixtures",
    "load_jsonl",
    "load_pair",
    "load_proof",
    "load_spec",
    "proof_from_data",
    "read_jsonl",
    "render",
    "replay_decisions",
    "should_fail",
    "strict_lines",
    "with_proof",
]
