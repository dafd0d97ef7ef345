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
id different content, is a conflict. Any error and nothing is written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from engine.decisionlog.reader import read_log
from engine.diagnostics import Diagnostic
from engine.loader import load_yaml_bytes
from engine.registers.loader import SETTINGS, digest, notice_from
from engine.registers.model import Notice
from engine.schemas import check_data, check_document

FORMAT = "echri-notices-export/1"
HEADER = "# yaml-language-server: $schema=../schemas/register-notices.schema.json\n"
MASK_PREFIXES = ("hmac-sha256:", "[masked]")


def _clear(value: Any) -> str | None:
    """The name if the log kept it in clear, else None (masked or blank)."""
    if not isinstance(value, str) or not value.strip():
        return None
    if value.startswith(MASK_PREFIXES):
        return None
    return value.strip()


def _party(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, Mapping):
        return None
    name = _clear(raw.get("name"))
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


@dataclass(slots=True)
class ExportResult:
    text: str
    manifest: dict[str, Any]
    problems: list[Diagnostic] = field(default_factory=list)


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
    ordered = [notices[k] for k in sorted(notices)]
    version = max((n["date_of_denial"] for n in ordered), default="none")
    rid = register_id or f"{state.lower()}-denials"
    doc = {"register": {"id": rid, "kind": "denial_notifications", "version": version},
           "notices": ordered}
    problems.extend(check_data("register-notices", doc, "<export>"))
    text = HEADER + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
    manifest = {"format": FORMAT, "register": rid, "notifying_state": state, "tlp": tlp,
                "version": version, "notices": len(ordered), "skipped_unshareable": skipped,
                "sha256": digest(text.encode("utf-8"))}
    return ExportResult(text, manifest, problems)


@dataclass(slots=True)
class ImportReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)  # incoming, not added
    dropped: list[str] = field(default_factory=list)  # stored, now expired: removed
    problems: list[Diagnostic] = field(default_factory=list)
    written: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)

    def to_dict(self) -> dict[str, Any]:
        return {k: sorted(getattr(self, k)) for k in
                ("added", "updated", "revoked", "unchanged", "expired", "dropped", "written")}


def _read(path: Path, report: ImportReport) -> tuple[str, list[dict[str, Any]]] | None:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        report.problems.append(Diagnostic("io-error", f"cannot read: {exc}", str(path)))
        return None
    doc = load_yaml_bytes(raw, str(path))
    report.problems.extend(doc.diagnostics)
    if not doc.ok:
        return None
    found = check_document(doc, "register-notices")
    report.problems.extend(found)
    if found:
        return None
    return doc.data["register"]["id"], list(doc.data["notices"])


def _stored(into: Path, report: ImportReport, paths: dict[str, Path]
            ) -> dict[str, tuple[str, dict[str, Any]]]:
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for path in sorted(into.glob("*.notices.yaml")) if into.is_dir() else ():
        got = _read(path, report)
        if got is not None:
            paths[got[0]] = path
            for n in got[1]:
                out[n["id"]] = (got[0], n)
    return out


def import_notices(files: Iterable[Path], into: Path, today: str | None = None
                   ) -> ImportReport:
    """Validate, merge and write; nothing is written when a problem is an error."""
    today = today or dt.date.today().isoformat()
    report = ImportReport()
    paths: dict[str, Path] = {}
    stored = _stored(into, report, paths)
    incoming: dict[str, tuple[str, dict[str, Any], str]] = {}
    for path in files:
        got = _read(Path(path), report)
        if got is None:
            continue
        rid, notices = got
        for n in notices:
            prev = incoming.get(n["id"])
            if prev is not None and prev[1] != n:
                report.problems.append(Diagnostic(
                    "conflict", f"notice `{n['id']}` differs between `{prev[2]}` and this file",
                    str(path)))
            old = stored.get(n["id"])
            if old is not None and old[1]["notifying_state"] != n["notifying_state"]:
                report.problems.append(Diagnostic(
                    "conflict", f"notice `{n['id']}` is stored as notified by "
                    f"{old[1]['notifying_state']}, this file says {n['notifying_state']}",
                    str(path)))
            incoming[n["id"]] = (rid, n, str(path))
    if not report.ok:
        return report
    merged = dict(stored)
    for nid, (rid, n, _) in sorted(incoming.items()):
        if notice_from(n, rid).expires <= today:
            report.expired.append(nid)
            continue
        old = merged.get(nid)
        if old is None:
            report.added.append(nid)
        elif old[1] == n:
            report.unchanged.append(nid)
            continue
        elif n.get("revoked") and not old[1].get("revoked"):
            report.revoked.append(nid)
        else:
            report.updated.append(nid)
        merged[nid] = (old[0] if old else rid, n)
    changed = set(report.added) | set(report.updated) | set(report.revoked)
    # stored notices that expired leave the register with the next change (an import
    # that adds nothing writes nothing: an expired or repeated file changes nothing)
    for nid, (rid, n) in list(merged.items()) if changed else ():
        if notice_from(n, rid).expires <= today:
            del merged[nid]
            if nid in stored:
                report.dropped.append(nid)
    touched = {merged[i][0] for i in changed} | {stored[i][0] for i in report.dropped}
    if touched:
        _write(into, merged, touched, paths, report)
    return report


def _write(into: Path, merged: Mapping[str, tuple[str, dict[str, Any]]], touched: set[str],
           paths: Mapping[str, Path], report: ImportReport) -> None:
    """Write every touched register file (validated first), each by an atomic replace."""
    texts: dict[Path, str] = {}
    for rid in sorted(touched):
        notices = [n for i, (r, n) in sorted(merged.items()) if r == rid]
        version = max((n["date_of_denial"] for n in notices), default="none")
        doc = {"register": {"id": rid, "kind": "denial_notifications", "version": version},
               "notices": notices}
        problems = check_data("register-notices", doc, rid)
        if problems:
            report.problems.extend(problems)
            return
        texts[paths.get(rid, into / f"{rid}.notices.yaml")] = HEADER + yaml.safe_dump(
            doc, sort_keys=False, allow_unicode=True, width=100)
    into.mkdir(parents=True, exist_ok=True)
    if not (into / SETTINGS).exists():
        texts[into / SETTINGS] = "registers: echri-registers/1\n"
    for path, text in texts.items():
        fd, tmp = tempfile.mkstemp(dir=into, prefix=".import-")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
        report.written.append(path.name)


def manifest_json(manifest: Mapping[str, Any]) -> str:
    return json.dumps(manifest, sort_keys=True, indent=2) + "\n"


__all__ = ["ExportResult", "ImportReport", "Notice", "export_notices", "import_notices"]
