"""A decision log as the corpus of `echri replay --log DIR` (engine.diff's Corpus).

Each record gives its (masked) case and its recorded decision; masking keeps what the
rules test (a masked name is still present), so the recorded case decides as the original.
Torn and corrupt lines are `Skipped` entries with their FILE:LINE, as in JSON Lines input.
"""

from __future__ import annotations

from pathlib import Path

from engine.decisionlog.reader import read_log
from engine.diff.corpus import Corpus, CorpusCase, Recorded, Skipped


def log_corpus(directory: Path) -> Corpus:
    """The recorded decisions of every stream under `directory` (raises OSError)."""
    out = Corpus()
    for entry in read_log(directory):
        record = entry.record
        if record is None:
            out.skipped.append(Skipped(entry.origin, entry.problem))
            continue
        case, decision = record.get("case"), record.get("decision")
        if not isinstance(case, dict) or not isinstance(decision, dict):
            out.skipped.append(Skipped(entry.origin, "a log record needs `case` and `decision`"))
            continue
        try:
            out.cases.append(CorpusCase(entry.origin, case, Recorded.from_dict(decision)))
        except (KeyError, TypeError, AttributeError) as exc:
            out.skipped.append(Skipped(entry.origin, f"the recorded decision is incomplete "
                                                     f"({type(exc).__name__}: {exc})"))
    out.sources.append(f"{len(out.cases)} logged decision(s) from {directory}/")
    return out
