"""Denial notifications out of and into a register set.

`export_notices` turns this authority's denials in a decision log (engine/decisionlog/) into
notices of the register format, redacted for sharing: the exporter is never read, and a name
is exported only when the log kept it in clear (a masked value — an HMAC pseudonym or
`[masked]` — is never exported; the decision log masks the names of natural persons and
private parties by default and keeps only public, listed organisations). A denial with no
exportable party name cannot be matched by anyone and is skipped (counted). The output is
deterministic: notices sorted by id, ids derived from the decision ids, the register version
the date of the latest denial, and a manifest carrying the sha256 of the file.

`import_notices` validates every file first (schema, line:col), then merges by notice id
into the register set directory: new notices are added, a changed notice of the same state
replaces the old one (a revocation is such a change), expired notices are dropped (incoming
and already stored), and the same id with another notifying state, or two files giving one
id different content, is a conflict. Any error and nothing is written. The merge, the
deterministic writing and the manifest are shared with risk notes (engine/registers/
exchange.py); this module knows the notices and the decision log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from engine.decisionlog.reader import read_log
from engine.diagnostics import Diagnostic
from engine.registers.exchange import (
    EntryKind,
    ExportResult,
    ImportReport,
    clear_name,
    exported,
    import_entries,
    manifest_json,
)
from engine.registers.loader import notice_from
from engine.registers.model import Notice


def _expired(raw: Mapping[str, Any], today: str) -> bool:
    return notice_from(dict(raw), "").expires <= today


def _version(notices: Sequence[Mapping[str, Any]], _merged_from: Sequence[str]) -> str:
    """The date of the latest denial: the same notices give the same version."""
    return max((str(n["date_of_denial"]) for n in notices), default="none")


NOTICES = EntryKind(noun="notice", key="notices", register_kind="denial_notifications",
                    schema="register-notices", owner="notifying_state", expired=_expired,
                    version=_version)
FORMAT = NOTICES.format
HEADER = NOTICES.header


def _party(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, Mapping):
        return None
    name = clear_name(raw.get("name"))
    if name is None:
        return None
    out: dict[str, Any] = {"name": name}
    if isinstance(raw.get("country"), str) and len(raw["country"]) == 2:
        out["country"] = raw["country"].upper()
    return out


def notice_of(record: Mapping[str, Any], state: str, tlp: str, contact: str
              ) -> dict[str, Any] | None:
    """The register form of one logged denial; None when no party can be shared."""
    case, decision = record.get("case") or {}, record.get("decision") or {}
    end_user = _party(case.get("end_user"))
    consignees = [p for p in map(_party, case.get("consignees") or ()) if p]
    if end_user is None and not consignees:
        return None
    categories = sorted({i["category"] for i in case.get("items") or ()
                         if isinstance(i, Mapping) and isinstance(i.get("category"), str)})
    entries = sorted({e for i in case.get("items") or () if isinstance(i, Mapping)
                      for e in i.get("control_entries") or () if isinstance(e, str)})
    if (not categories and not entries) or not isinstance(case.get("destination"), str):
        return None
    denying = sorted({f["rule"] for f in decision.get("findings") or ()
                      if f.get("outcome") == "deny"})
    commitments = sorted({c for f in decision.get("findings") or ()
                          if f.get("outcome") == "deny" for c in f.get("commitments") or ()})
    policy = decision.get("policy") or {}
    ground = (f"{', '.join(commitments) or 'policy'}: {', '.join(denying) or 'denied'} "
              f"({policy.get('id', '?')} {policy.get('version', '?')})")
    did = str(record.get("decision_id", ""))
    out: dict[str, Any] = {
        "id": f"{state}-{hashlib.sha256(did.encode()).hexdigest()[:16]}",
        "notifying_state": state,
        "date_of_denial": str(record.get("time", ""))[:10],
        "destination": case["destination"],
    }
    if end_user:
        out["end_user"] = end_user
    if consignees:
        out["consignees"] = consignees
    items: dict[str, Any] = {}
    if categories:
        items["categories"] = categories
    if entries:
        items["control_entries"] = entries
    out.update(items=items, ground=ground, contact_point=contact, tlp=tlp)
    return out


def export_notices(log_dir: Path, state: str, tlp: str, contact: str,
                   register_id: str | None = None) -> ExportResult:
    """This authority's denials in `log_dir` as a notices register (text) and manifest."""
    notices, skipped, problems = {}, 0, []
    for entry in read_log(log_dir):
        rec = entry.record
        if rec is None:
            problems.append(Diagnostic("log-unreadable", entry.problem, entry.origin,
                                       severity="warning"))
            continue
        if (rec.get("decision") or {}).get("decision") != "deny":
            continue
        n = notice_of(rec, state, tlp, contact)
        if n is None:
            skipped += 1
        else:
            notices[n["id"]] = n
    ordered = list(notices.values())
    result = exported(NOTICES, register_id or f"{state.lower()}-denials",
                      _version(ordered, ()), ordered,
                      {"notifying_state": state, "tlp": tlp, "skipped_unshareable": skipped})
    result.problems[:0] = problems
    return result


def import_notices(files: Iterable[Path], into: Path, today: str | None = None
                   ) -> ImportReport:
    """Validate, merge and write notices files; nothing is written when a problem is an
    error (engine/registers/exchange.py)."""
    return import_entries(NOTICES, files, into, today or dt.date.today().isoformat())


__all__ = ["NOTICES", "ExportResult", "ImportReport", "Notice", "export_notices",
           "import_notices", "manifest_json"]
