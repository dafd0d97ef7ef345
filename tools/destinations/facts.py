"""Fact builders: reference rows (shared/reference) and curated rows (data/destinations) ->
factors of the destinations.

One ``apply_*`` function per reference file or curated table.  The note templates here only
join reference cells; every sourced sentence comes from a data file.
"""

from __future__ import annotations

from .model import Destination, Factor, FreedomHouse, Version
from .tables import Row, Tables
from .text import cap, drop_after, month, years_in

FH_STATUS = {"Free": "free", "Partly Free": "partly_free", "Not Free": "not_free"}
#: Source of a spyware finding whose country has no row in spyware_sources.csv.
DEFAULT_SPYWARE_SOURCE = "citizen-lab"
_BODY_ORDER = {"UN": 0, "EU": 1, "OSCE": 2}

Rows = list[dict[str, str]]


def for_version(rows: list[Row], cfg: Version) -> list[Row]:
    """The rows of a per-version table that belong to *cfg*."""
    return [r for r in rows if r["version"] == cfg.version]


def note_override(data: Tables, cfg: Version, code: str, factor_id: str) -> str | None:
    """The note_overrides.csv note for this fact, if any."""
    for row in for_version(data["note_overrides.csv"], cfg):
        if (row["code"], row["factor"]) == (code, factor_id):
            return row["note"]
    return None


def curated(dest: Destination, factor_id: str, row: Row, cfg: Version) -> None:
    """Add a factor taken whole from a curated row (code, source, as_of, note)."""
    dest.add(Factor(factor_id, row["source"], cap(row["as_of"], cfg.snapshot), row["note"]))


def apply_freedom_house(dests: dict[str, Destination], rows: Rows, cfg: Version) -> None:
    by_parent: dict[str, Rows] = {}
    for row in rows:
        if row["iso2"]:
            dests[row["iso2"]].freedom_house = FreedomHouse(
                FH_STATUS[row["status"]], int(row["score"]), cfg.fiw_source, cfg.fiw_as_of
            )
        elif row["iso2_parent"]:
            by_parent.setdefault(row["iso2_parent"], []).append(row)
    # Palestine: composite of the Gaza Strip and West Bank rows (see destination_comments).
    parts = by_parent.get("PS", [])
    statuses = {FH_STATUS[r["status"]] for r in parts}
    if len(parts) == 2 and statuses == {"not_free"}:
        score = min(int(r["score"]) for r in parts)
        dests["PS"].freedom_house = FreedomHouse("not_free", score, cfg.fiw_source, cfg.fiw_as_of)
    else:
        raise ValueError(f"unexpected Freedom House rows for PS: {parts}")


def embargo_factor_id(row: dict[str, str], override: Row | None) -> str | None:
    if override is not None and override["factor"]:
        return None if override["factor"] == "excluded" else override["factor"]
    if row["legal_nature"].startswith("political"):
        return "arms_embargo_political"
    if row["scope"].split()[0] in ("whole_state", "whole_state_with_exemptions"):
        return "arms_embargo"
    return "arms_embargo_partial"


def embargo_source(body: str, factor_id: str) -> str:
    if body in ("UN", "OSCE"):
        return "sipri-embargoes"
    if factor_id == "arms_embargo_political":
        return "swedish-isp-embargo-list"
    return "eu-sanctions-map"


def snapshot_text(text: str, cfg: Version) -> str:
    """*text* as known at the snapshot: later-dated items are dropped for old snapshots."""
    return text if cfg.with_latest_actions else drop_after(text, int(cfg.snapshot[:4]) - 1)


def embargo_note(row: dict[str, str], cfg: Version) -> str:
    note = snapshot_text(
        f"{row['body']} {row['legal_nature']}: {row['scope']}; {row['instrument']}", cfg
    )
    if cfg.with_latest_actions and row["latest_action_2024_2026"]:
        note += f"; latest: {row['latest_action_2024_2026']}"
    return f"{note} [{row['confidence']}]"


def apply_embargoes(dests: dict[str, Destination], rows: Rows, data: Tables, cfg: Version) -> None:
    overrides = {(r["code"], r["body"]): r for r in data["embargo_overrides.csv"]}
    grouped: dict[tuple[str, str], Rows] = {}
    for row in rows:
        override = overrides.get((row["iso2"], row["body"]))
        factor_id = embargo_factor_id(row, override)
        valid_from = override["valid_from"] if override else ""
        if factor_id is None or (valid_from and valid_from > cfg.snapshot):
            continue
        grouped.setdefault((row["iso2"], factor_id), []).append(row)
    for (code, factor_id), group in sorted(grouped.items()):
        group.sort(key=lambda r: _BODY_ORDER.get(r["body"], 9))
        note = note_override(data, cfg, code, factor_id) or " | ".join(
            embargo_note(r, cfg) for r in group
        )
        as_of = cap(max(r["as_of"] for r in group), cfg.snapshot)
        dests[code].add(Factor(factor_id, embargo_source(group[0]["body"], factor_id), as_of, note))


def apply_eu_bans(
    dests: dict[str, Destination], bans: Rows, embargo_rows: Rows, data: Tables, cfg: Version
) -> None:
    eu_as_of = {r["iso2"]: r["as_of"] for r in embargo_rows if r["body"] == "EU"}
    for row in bans:
        code = row["iso2"]
        as_of = cap(eu_as_of.get(code, cfg.snapshot), cfg.snapshot)
        acts = snapshot_text(
            f"{row['council_decision']}; {row['regulation']}; in force since "
            f"{row['in_force_since']}",
            cfg,
        )
        tail = f" [{row['confidence']}]"
        if cfg.with_latest_actions and row["latest_change"]:
            tail = f"; latest: {row['latest_change']}{tail}"
        ir, telecom = (
            row["internal_repression_equipment_ban"],
            row["telecom_monitoring_interception_ban"],
        )
        if ir.startswith("yes") and "political" not in ir:
            note = note_override(data, cfg, code, "eu_internal_repression_ban") or (
                f"EU ban on equipment which might be used for internal repression: {acts}{tail}"
            )
            dests[code].add(Factor("eu_internal_repression_ban", "eu-sanctions-map", as_of, note))
        if telecom.startswith("yes"):
            note = note_override(data, cfg, code, "eu_telecom_monitoring_ban") or (
                f"EU ban on monitoring/interception equipment, technology and software: "
                f"{acts}{tail}"
            )
            dests[code].add(Factor("eu_telecom_monitoring_ban", "eu-sanctions-map", as_of, note))


def apply_us_groups(dests: dict[str, Destination], rows: Rows, data: Tables, cfg: Version) -> None:
    snapshot_note = (
        "EAR Supp. No. 1 to Part 740 as captured 2026-07-08 in a public repo doc "
        "(reviewed against eCFR) [S]"
    )
    if cfg.us_groups_note:
        snapshot_note += f"; {cfg.us_groups_note}"
    for row in rows:
        code, as_of = row["iso2"], cap(month(row["as_of"]), cfg.snapshot)
        if row["D5_us_arms_embargoed"] == "yes":
            note = f"Country Group D:5 (US arms embargoed, = ITAR 126.1); {snapshot_note}"
            if snapshot_text(row["notes"], cfg):
                note += f"; {snapshot_text(row['notes'], cfg)}"
            dests[code].add(Factor("us_arms_embargo_d5", "us-ear-country-groups", as_of, note))
        groups = [
            g
            for g, col in (
                ("E:1 terrorist-supporting", "E1_terrorist_supporting"),
                ("E:2 unilateral embargo", "E2_unilateral_embargo"),
            )
            if row[col] == "yes"
        ]
        if groups:
            note = f"Country Group {' and '.join(groups)}; {snapshot_note}"
            dests[code].add(Factor("us_embargo_e", "us-ear-country-groups", as_of, note))
    for extra in for_version(data["us_d5_extra.csv"], cfg):
        curated(dests[extra["code"]], "us_arms_embargo_d5", extra, cfg)


def apply_coc(dests: dict[str, Destination], data: Tables, cfg: Version) -> None:
    for row in data["coc_subscribers.csv"]:
        curated(dests[row["code"]], "coc_subscriber", row, cfg)


def apply_hrc_mandates(dests: dict[str, Destination], data: Tables, cfg: Version) -> None:
    for row in for_version(data["hrc_mandates.csv"], cfg):
        curated(dests[row["code"]], "serious_violations_established", row, cfg)


def apply_spyware(dests: dict[str, Destination], rows: Rows, data: Tables, cfg: Version) -> None:
    levels = {r["evidence_level"]: r["factor"] for r in data["spyware_levels.csv"]}
    sources = {r["code"]: r["source"] for r in data["spyware_sources.csv"]}
    for row in rows:
        factor_id = levels[row["evidence_level"]]
        years = [y for y in years_in(row["year_reported"]) if y <= cfg.spyware_max_year]
        if factor_id == "excluded" or not years:
            continue
        code = row["iso2"]
        note = note_override(data, cfg, code, factor_id) or (
            f"{row['evidence_level']}: {row['tool_vendor']}, reported {row['year_reported']}; "
            f"{row['finding']} [{row['confidence']}]"
        )
        source = sources.get(code, DEFAULT_SPYWARE_SOURCE)
        dests[code].add(Factor(factor_id, source, str(max(years)), note))


def shutdown_count(row: dict[str, str], year: int) -> int:
    values = [row[f"stop_derived_{year}"], row[f"report_figure_{year}"]]
    return max((int(v) for v in values if v), default=0)


def describe_shutdowns(row: dict[str, str]) -> str:
    parts = []
    for year in (2023, 2024):
        stop, report = row[f"stop_derived_{year}"], row[f"report_figure_{year}"]
        text = f"{year}: {stop or 0} STOP-derived [S]"
        if report:
            text += f", {report} in the Access Now report [V]"
        parts.append(text)
    return "; ".join(parts)


def apply_shutdowns(dests: dict[str, Destination], rows: Rows, data: Tables) -> None:
    """internet_shutdowns: >=1 shutdown in 2023-2024, attributed to the ordering government.

    Both versions use the 2023-2024 window: 2025 shutdown data is not in the reference.
    """
    attribution = {r["located"]: r for r in data["shutdown_attribution.csv"]}
    notes: dict[str, list[str]] = {}
    last_year: dict[str, int] = {}
    for row in sorted(rows, key=lambda r: r["iso2"]):
        years = [y for y in (2023, 2024) if shutdown_count(row, y) > 0]
        if not years:
            continue
        located = row["iso2"]
        ordered = attribution.get(located)
        ordering = ordered["ordered_by"] if ordered else located
        text = describe_shutdowns(row)
        if ordered and ordering != located:
            text = f"shutdowns located in {located}, {ordered['note']}: {text}"
        elif row["perpetrator_note"]:
            text += f" ({row['perpetrator_note']})"
        notes.setdefault(ordering, []).append(text)
        last_year[ordering] = max(last_year.get(ordering, 0), max(years))
    for code in sorted(notes):
        note = (
            "Access Now #KeepItOn / STOP dataset, >=1 shutdown ordered by this government "
            "in 2023-2024: " + " | ".join(notes[code])
        )
        dests[code].add(
            Factor("internet_shutdowns", "access-now-keepiton", str(last_year[code]), note)
        )


def apply_fotn_proxy(dests: dict[str, Destination], rows: Rows) -> None:
    for row in rows:
        if row["status"] != "Not Free":
            continue
        note = (
            f"proxy: FOTN Not Free (Freedom on the Net 2025 score {row['score']}/100, "
            f"coverage {row['coverage_period']}) [S]; no direct dataset on independent "
            "oversight of surveillance"
        )
        dests[row["iso2"]].add(Factor("no_surveillance_oversight", "fh-fotn-2025", "2025-11", note))
