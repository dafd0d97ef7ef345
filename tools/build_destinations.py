#!/usr/bin/env python3
"""Generate ``policies/echri-baseline/<version>/destinations.yaml``.

The destination table is built from the reference CSVs in ``shared/reference`` (see
``destinations.md`` there) plus the small hand-curated tables below for facts that are not
in the CSVs (Subscribing States of the Code, UN Human Rights Council country mandates,
version-specific changes such as the Iran snapback or Cambodia's removal from D:5).

Usage::

    python tools/build_destinations.py --version 2025.1
    python tools/build_destinations.py --version 2026.1 --reference ../shared/reference

The output is deterministic: destinations sorted by code, factors sorted by id, no
timestamps.  ``tests/test_destinations.py`` re-runs the generator and compares bytes.

Conventions of the generated file
---------------------------------
* ``as_of`` is the date of the newest source that confirms the fact *for the snapshot of the
  version*, capped at the snapshot date (2025.1: 2025-01, 2026.1: 2026-07).  Format
  ``YYYY-MM``; ``YYYY`` where the reference gives only a year (spyware reports, shutdown
  data years).
* Every factor has ``source`` (a sources.yaml id), ``as_of`` and a ``note`` that names the
  instrument / report, the year and the evidence level ([V] verified, [S] secondary,
  [R] recollection, [?] uncertain), as in the reference.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pycountry
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REFERENCE = REPO_ROOT.parent / "shared" / "reference"
POLICY_DIR = REPO_ROOT / "policies" / "echri-baseline"
MODELINE = "# yaml-language-server: $schema=../../../schemas/destinations.schema.json"

#: Source ids defined in sources.yaml (owned by another file; keep in sync).
ALLOWED_SOURCES = frozenset(
    {
        "fh-fiw-2025",
        "fh-fiw-2026",
        "fh-fotn-2025",
        "access-now-keepiton",
        "sipri-embargoes",
        "swedish-isp-embargo-list",
        "citizen-lab",
        "amnesty-security-lab",
        "us-ear-country-groups",
        "eu-sanctions-map",
        "ohchr-hrc-country-mandates",
        "echri-subscribing-states-2023",
    }
)
#: Further source ids this generator cites, also defined in sources.yaml: Access Now's 2018
#: FinSpy/Turkey report (see the comment above SPYWARE_SOURCE_OVERRIDES).
EXTRA_SOURCES = frozenset({"access-now-finspy-turkey"})

FACTOR_IDS = (
    "arms_embargo",
    "arms_embargo_partial",
    "arms_embargo_political",
    "eu_internal_repression_ban",
    "eu_telecom_monitoring_ban",
    "coc_subscriber",
    "serious_violations_established",
    "surveillance_misuse_documented",
    "spyware_customer",
    "internet_shutdowns",
    "no_surveillance_oversight",
    "us_arms_embargo_d5",
    "us_embargo_e",
)


# --------------------------------------------------------------------------- data model


@dataclass(frozen=True)
class Factor:
    id: str
    source: str
    as_of: str
    note: str


@dataclass(frozen=True)
class FreedomHouse:
    status: str  # free | partly_free | not_free
    score: int
    source: str
    as_of: str


@dataclass
class Destination:
    code: str
    name: str
    freedom_house: FreedomHouse | None = None
    factors: dict[str, Factor] = field(default_factory=dict)
    comments: list[str] = field(default_factory=list)

    def add(self, factor: Factor) -> None:
        if factor.id not in FACTOR_IDS:
            raise ValueError(f"{self.code}: unknown factor id {factor.id!r}")
        if factor.source not in ALLOWED_SOURCES | EXTRA_SOURCES:
            raise ValueError(f"{self.code}: unknown source id {factor.source!r}")
        if factor.id in self.factors:
            raise ValueError(f"{self.code}: factor {factor.id} added twice")
        self.factors[factor.id] = factor


@dataclass(frozen=True)
class VersionConfig:
    version: str
    snapshot: str  # YYYY-MM: facts known at this date
    fiw_file: str
    fiw_source: str
    fiw_as_of: str
    spyware_max_year: int  # spyware findings reported up to this year (year_reported)
    use_fotn_proxy: bool  # no_surveillance_oversight from FOTN 2025 "Not Free"
    with_latest_actions: bool  # include 2025-26 "latest action" texts in embargo notes


VERSIONS: dict[str, VersionConfig] = {
    "2025.1": VersionConfig(
        version="2025.1",
        snapshot="2025-01",
        fiw_file="freedom_house_fiw_2025.csv",
        fiw_source="fh-fiw-2025",
        fiw_as_of="2025-02",
        spyware_max_year=2024,
        use_fotn_proxy=False,
        with_latest_actions=False,
    ),
    "2026.1": VersionConfig(
        version="2026.1",
        snapshot="2026-07",
        fiw_file="freedom_house_fiw_2026.csv",
        fiw_source="fh-fiw-2026",
        fiw_as_of="2026-03",
        spyware_max_year=2025,
        use_fotn_proxy=True,
        with_latest_actions=True,
    ),
}

FH_STATUS = {"Free": "free", "Partly Free": "partly_free", "Not Free": "not_free"}


# ------------------------------------------------------------- hand-curated data tables

#: Subscribing States of the ECHRI Code of Conduct (domain.md §1.2, 25 at the Sept 2023
#: plenary).  Value: extra note text.
COC_SUBSCRIBERS: dict[str, str] = {
    "US": "initiative founder (joint statement 2021-12-10)",
    "AU": "initiative founder (joint statement 2021-12-10)",
    "DK": "initiative founder (joint statement 2021-12-10)",
    "NO": "initiative founder (joint statement 2021-12-10)",
    "CA": "supported the initiative 2021",
    "FR": "supported the initiative 2021",
    "NL": "supported the initiative 2021",
    "GB": "supported the initiative 2021",
    "AL": "",
    "BG": "",
    "HR": "",
    "CZ": "",
    "EC": "",
    "EE": "",
    "FI": "",
    "DE": "",
    "JP": "",
    "XK": "",
    "LV": "",
    "NZ": "",
    "MK": "",
    "KR": "",
    "SK": "",
    "ES": "",
    "CR": "[?] missing from first-day lists (WTTL, Mirage News), listed by later reprints; "
    "joining date not found",
}

#: Extra US D:5 entries that are not in the 2026-07-08 snapshot of us_country_groups.csv,
#: per version.  Cambodia was removed from ITAR 126.1 on 2025-11-07 and from D:5 by the BIS
#: conforming rule effective 2026-02-03 (row KH of us_country_groups.csv, [V]).
D5_EXTRA: dict[str, dict[str, str]] = {
    "2025.1": {
        "KH": "EAR Supp. No. 1 to Part 740, Country Group D:5 (US arms embargoed, = ITAR "
        "126.1): Cambodia listed at 2025-01-01; removed from ITAR 126.1 2025-11-07 and from "
        "D:5 effective 2026-02-03 [V]",
    },
    "2026.1": {},
}

#: Embargo rows whose classification is not derivable from scope/legal_nature alone.
#: Value None = row not used (reason in the comment).
EMBARGO_FACTOR_OVERRIDES: dict[tuple[str, str], str | None] = {
    # The EU arms embargo on Syria rests on a Council declaration (political, Swedish ISP
    # list); the binding bans on IR equipment and interception software are separate
    # factors from eu_internal_repression_telecom.csv.
    ("SY", "EU"): "arms_embargo_political",
    # Arab League 2011 embargo: status after Syria's readmission (May 2023) and the Dec 2024
    # regime change not verified ([?] in the reference) -> not used.
    ("SY", "Arab League"): None,
}

#: Embargo rows that only apply from a date (YYYY-MM) on.
EMBARGO_VALID_FROM: dict[tuple[str, str], str] = {
    # UN snapback: UNSCR 1737/1747/1929 re-applied 2025-09-27 20:00 EDT.
    ("IR", "UN"): "2025-09",
}

#: Notes that must not mention facts after the version's snapshot.
NOTE_OVERRIDES: dict[tuple[str, str, str], str] = {
    ("2025.1", "IR", "arms_embargo"): (
        "EU binding: whole_state (+ internal-repression + telecom-monitoring equipment); "
        "Decision 2010/413/CFSP (arms); Decision 2011/235/CFSP + Reg (EU) No 359/2011 (human "
        "rights) [V]. No UN arms embargo at 2025-01-01: UNSCR 2231 restrictions lapsed "
        "2020-10-18 (snapback only on 2025-09-27)"
    ),
    ("2025.1", "SY", "eu_internal_repression_ban"): (
        "EU ban on equipment which might be used for internal repression: Decision "
        "2013/255/CFSP; Regulation (EU) No 36/2012, in force since 2011-05-09, state before "
        "the 2025 suspension/lifting of economic measures [V]"
    ),
    ("2025.1", "SY", "eu_telecom_monitoring_ban"): (
        "EU ban on monitoring/interception equipment and software: Decision 2013/255/CFSP; "
        "Regulation (EU) No 36/2012, state before the 2025 suspension/lifting of economic "
        "measures [V]"
    ),
    ("2025.1", "ZW", "arms_embargo"): (
        "EU binding: whole_state (arms + equipment which might be used for internal "
        "repression); Decision 2011/101/CFSP; Regulation (EC) No 314/2004; in force since "
        "2002-02-18 [V]"
    ),
    ("2025.1", "RS", "surveillance_misuse_documented"): (
        "attributed_abuse: NoviSpy (domestic) installed via Cellebrite UFED by police/BIA "
        "during detention of journalists and activists, Amnesty 'A Digital Prison' "
        "(2024-12-16) [V]"
    ),
}

#: Shutdowns located in one country but ordered by another government (perpetrator_note in
#: internet_shutdowns_2023_2024.csv).  They are attributed to the ordering government.
SHUTDOWN_ATTRIBUTION: dict[str, tuple[str, str]] = {
    "PS": ("IL", "mostly imposed by Israel (Access Now)"),
    "UA": ("RU", "imposed by Russian forces/attacks (Access Now)"),
    "NC": ("FR", "TikTok block in New Caledonia ordered by France, May 2024"),
}

#: spyware_documented.csv evidence levels -> factor id.  targeting_unattributed is not
#: used: confirmed infections whose operator is not attributed do not establish misuse by
#: the destination's government (PS: Pegasus on Palestinian HRDs, Israel suspected).
SPYWARE_LEVELS: dict[str, str | None] = {
    "attributed_abuse": "surveillance_misuse_documented",
    "pegasus_project_client": "surveillance_misuse_documented",
    "targeting_unattributed": None,
    "customer_identified": "spyware_customer",
}

#: Which research group documented the finding (row source / finding text of the CSV).
#: Pegasus Project and Predator Files forensics were done by Amnesty's Security Lab.
#: TR: the 2018 FinSpy finding is an Access Now report: source id "access-now-finspy-turkey"
#: ("European-made FinSpy malware is being used to target critics in Turkey", 2018, [V]).
SPYWARE_SOURCE_OVERRIDES: dict[str, str] = {
    "MA": "amnesty-security-lab",
    "IN": "amnesty-security-lab",
    "HU": "amnesty-security-lab",
    "AZ": "amnesty-security-lab",
    "KZ": "amnesty-security-lab",
    "RW": "amnesty-security-lab",
    "TG": "amnesty-security-lab",
    "RS": "amnesty-security-lab",
    "DO": "amnesty-security-lab",
    "PK": "amnesty-security-lab",
    "KE": "amnesty-security-lab",
    "QA": "amnesty-security-lab",
    "SG": "amnesty-security-lab",
    "AO": "amnesty-security-lab",
    "MN": "amnesty-security-lab",
    "SD": "amnesty-security-lab",
    "TR": "access-now-finspy-turkey",
}


@dataclass(frozen=True)
class Mandate:
    """A UN Human Rights Council country mandate, per version: (as_of, note) or absent."""

    codes: tuple[str, ...]
    per_version: dict[str, tuple[str, str]]


#: UN Human Rights Council country mandates (special rapporteurs / independent experts on a
#: country, commissions of inquiry, fact-finding missions, groups of experts) in force at the
#: version date or within the 12 months before it.  Verified with the search tool against
#: HRC session summaries (ungeneva.org / ohchr.org meeting summaries for HRC55 Apr 2024,
#: HRC57 Oct 2024, HRC59 Jul 2025, HRC60 Oct 2025, S-37 Feb 2025, S-39 Jan 2026) and press
#: reports naming the resolution; [?] where a renewal was not found.
#: Not used: OHCHR's Sri Lanka accountability mandate (an OHCHR secretariat mandate, not an
#: independent expert body); Ethiopia ICHREE (ended Oct 2023) and Libya FFM (ended Apr 2023),
#: more than 12 months before 2025.1.  The Commission of Inquiry on Ukraine investigates
#: violations in the context of the Russian aggression and is attributed to RU, not UA.
HRC_MANDATES: tuple[Mandate, ...] = (
    Mandate(
        ("AF",),
        {
            "2025.1": (
                "2024-10",
                "Special Rapporteur on Afghanistan, extended 1 year at HRC57 "
                "(Oct 2024), item 4 [V]",
            ),
            "2026.1": (
                "2025-10",
                "Special Rapporteur on Afghanistan, extended 1 year at HRC60 "
                "(Oct 2025); HRC60 also established an independent investigative "
                "mechanism on Afghanistan [V]",
            ),
        },
    ),
    Mandate(
        ("BY",),
        {
            "2025.1": (
                "2024-04",
                "Special Rapporteur on Belarus extended and Group of "
                "Independent Experts on Belarus established at HRC55 (Apr 2024), "
                "item 4 [V]",
            ),
            "2026.1": (
                "2025-04",
                "Special Rapporteur and Group of Independent Experts on "
                "Belarus extended 1 year at HRC58 (Apr 2025; 25-5-17); resolution "
                "condemns widespread and systematic violations [V]",
            ),
        },
    ),
    Mandate(
        ("BI",),
        {
            "2025.1": (
                "2024-10",
                "Special Rapporteur on Burundi, extended 1 year by HRC res. "
                "57/22 (Oct 2024), item 4 [V]",
            ),
            "2026.1": (
                "2025-09",
                "Special Rapporteur on Burundi (res. 57/22, Oct 2024), "
                "reported to HRC60 (Sep 2025); renewal at HRC60 not verified [?]",
            ),
        },
    ),
    Mandate(
        ("KH",),
        {
            "2025.1": (
                "2023-10",
                "Special Rapporteur on Cambodia, extended 2 years at HRC54 "
                "(Oct 2023), item 10 (technical assistance) [V]",
            ),
            "2026.1": (
                "2025-10",
                "Special Rapporteur on Cambodia renewed at HRC60 (Oct 2025), "
                "item 10 (technical assistance) [V]",
            ),
        },
    ),
    Mandate(
        ("CF",),
        {
            "2025.1": (
                "2024-10",
                "Independent Expert on the Central African Republic, "
                "extended 1 year at HRC57 (Oct 2024), item 10 [V]",
            ),
            "2026.1": (
                "2024-10",
                "Independent Expert on the Central African Republic, "
                "extended 1 year at HRC57 (Oct 2024), item 10; renewal in 2025 not "
                "verified [?]",
            ),
        },
    ),
    Mandate(
        ("CD",),
        {
            "2025.1": (
                "2024-10",
                "Team of International Experts on the Democratic Republic "
                "of the Congo, extended 1 year at HRC57 (Oct 2024), item 10 [V]",
            ),
            "2026.1": (
                "2025-02",
                "Fact-finding mission and commission of inquiry on North "
                "and South Kivu established at the 37th special session (2025-02-07), "
                "adopted without a vote [V]",
            ),
        },
    ),
    Mandate(
        ("ER",),
        {
            "2025.1": (
                "2024-07",
                "Special Rapporteur on Eritrea, extended 1 year at HRC56 (Jul 2024) [V]",
            ),
            "2026.1": (
                "2025-07",
                "Special Rapporteur on Eritrea, extended 1 year at HRC59 (Jul 2025) [V]",
            ),
        },
    ),
    Mandate(
        ("HT",),
        {
            "2025.1": (
                "2024-04",
                "Independent Expert on Haiti (designated by the High "
                "Commissioner), extended 1 year at HRC55 (Apr 2024) [V]",
            ),
            "2026.1": (
                "2024-04",
                "Independent Expert on Haiti, extended 1 year at HRC55 "
                "(Apr 2024), in force into 2025; renewal in 2025 not verified [?]",
            ),
        },
    ),
    Mandate(
        ("ML",),
        {
            "2025.1": (
                "2024-04",
                "Independent Expert on Mali, extended 1 year at HRC55 (Apr 2024), item 10 [V]",
            ),
            "2026.1": (
                "2025-03",
                "Independent Expert on Mali (HRC55, Apr 2024), interactive "
                "dialogue at HRC58 (Mar 2025); renewal in 2025 not verified [?]",
            ),
        },
    ),
    Mandate(
        ("IR",),
        {
            "2025.1": (
                "2024-04",
                "Special Rapporteur on Iran and independent international "
                "fact-finding mission on Iran, extended 1 year at HRC55 (Apr 2024; "
                "24-8-15) [V]",
            ),
            "2026.1": (
                "2026-01",
                "Special Rapporteur and fact-finding mission on Iran "
                "extended at HRC58 (Apr 2025) and again at the 39th special session "
                "(Jan 2026: FFM 2 years, SR 1 year, urgent investigation of the "
                "crackdown on protests from 2025-12-28) [V]",
            ),
        },
    ),
    Mandate(
        ("MM",),
        {
            "2025.1": (
                "2024-04",
                "Special Rapporteur on Myanmar, extended 1 year at HRC55 (Apr 2024) [V]",
            ),
            "2026.1": (
                "2025-04",
                "Special Rapporteur on Myanmar (HRC55, Apr 2024); HRC58 "
                "(Apr 2025) resolution on Myanmar adopted by consensus [V]",
            ),
        },
    ),
    Mandate(
        ("KP",),
        {
            "2025.1": (
                "2024-04",
                "Special Rapporteur on the DPRK, extended 1 year at HRC55 (Apr 2024) [V]",
            ),
            "2026.1": (
                "2024-04",
                "Special Rapporteur on the DPRK, extended 1 year at HRC55 "
                "(Apr 2024), in force into 2025; renewal in 2025 not verified [?]",
            ),
        },
    ),
    Mandate(
        ("NI",),
        {
            "2025.1": (
                "2023-04",
                "Group of Human Rights Experts on Nicaragua (GHREN), "
                "renewed 2 years on 2023-04-03 (21-5-21) [V]",
            ),
            "2026.1": (
                "2025-04",
                "Group of Human Rights Experts on Nicaragua (GHREN), "
                "renewed 2 years at HRC58 (Apr 2025; 29 in favour) [V]",
            ),
        },
    ),
    Mandate(
        ("IL",),
        {
            "2025.1": (
                "2024-06",
                "Independent International Commission of Inquiry on the "
                "OPT, including East Jerusalem, and Israel (res. S-30/1, 2021): report "
                "A/HRC/56/26 (June 2024) found Israeli authorities responsible for war "
                "crimes and crimes against humanity in Gaza [V]",
            ),
            "2026.1": (
                "2025-09",
                "Commission of Inquiry on the OPT, including East "
                "Jerusalem, and Israel: A/HRC/56/26 (June 2024) war crimes and crimes "
                "against humanity; conference room paper of 2025-09-16 (HRC60) found "
                "that Israel committed genocide in Gaza [V]",
            ),
        },
    ),
    Mandate(
        ("PS",),
        {
            "2025.1": (
                "2024-06",
                "Commission of Inquiry on the OPT, including East "
                "Jerusalem, and Israel: report A/HRC/56/26 (June 2024) found "
                "Palestinian armed groups responsible for war crimes committed on "
                "2023-10-07 [V]",
            ),
            "2026.1": (
                "2024-06",
                "Commission of Inquiry on the OPT, including East "
                "Jerusalem, and Israel: report A/HRC/56/26 (June 2024) found "
                "Palestinian armed groups responsible for war crimes committed on "
                "2023-10-07 [V]",
            ),
        },
    ),
    Mandate(
        ("RU",),
        {
            "2025.1": (
                "2024-10",
                "Special Rapporteur on the Russian Federation, extended 1 "
                "year at HRC57 (Oct 2024); Commission of Inquiry on Ukraine (violations "
                "in the context of the Russian aggression), extended at HRC55 "
                "(Apr 2024) [V]",
            ),
            "2026.1": (
                "2025-10",
                "Special Rapporteur on the Russian Federation, extended 1 "
                "year at HRC60 (Oct 2025; 20-8-19); Commission of Inquiry on Ukraine "
                "(Russian aggression) extended 1 year at HRC58 (Apr 2025) [V]",
            ),
        },
    ),
    Mandate(
        ("SO",),
        {
            "2025.1": (
                "2024-10",
                "Independent Expert on Somalia, extended 1 year at HRC57 (Oct 2024), item 10 [V]",
            ),
            "2026.1": (
                "2024-10",
                "Independent Expert on Somalia, extended 1 year at HRC57 "
                "(Oct 2024), item 10; renewal in 2025 not verified [?]",
            ),
        },
    ),
    Mandate(
        ("SD",),
        {
            "2025.1": (
                "2024-10",
                "Independent international fact-finding mission for the "
                "Sudan, extended 1 year at HRC57 (Oct 2024) [V]",
            ),
            "2026.1": (
                "2025-10",
                "Independent international fact-finding mission for the "
                "Sudan, extended 1 year at HRC60 (Oct 2025; 23-12-12) [V]",
            ),
        },
    ),
    Mandate(
        ("SS",),
        {
            "2025.1": (
                "2024-04",
                "Commission on Human Rights in South Sudan, extended 1 year "
                "at HRC55 (Apr 2024) [V]",
            ),
            "2026.1": (
                "2025-04",
                "Commission on Human Rights in South Sudan, extended at HRC58 (Apr 2025) [V]",
            ),
        },
    ),
    Mandate(
        ("SY",),
        {
            "2025.1": (
                "2024-04",
                "Independent International Commission of Inquiry on the "
                "Syrian Arab Republic, extended 1 year by res. 55/22 (2024-04-04) [V]",
            ),
            "2026.1": (
                "2026-02",
                "Commission of Inquiry on Syria: HRC58 (Apr 2025) resolution "
                "after the fall of the Assad government; oral update at HRC60; "
                "renewal due at HRC61 (2026) [V]; outcome of HRC61 not verified [?]",
            ),
        },
    ),
    Mandate(
        ("VE",),
        {
            "2025.1": (
                "2024-10",
                "Independent international fact-finding mission on "
                "Venezuela, extended 2 years at HRC57 (Oct 2024), item 4 [V]",
            ),
            "2026.1": (
                "2025-09",
                "Independent international fact-finding mission on "
                "Venezuela, extended 2 years at HRC57 (Oct 2024), reported to HRC60 "
                "(Sep 2025) [V]",
            ),
        },
    ),
)

#: Per-destination YAML comments explaining decisions.
DESTINATION_COMMENTS: dict[str, tuple[str, ...]] = {
    "PS": (
        "Freedom House rates the Gaza Strip and the West Bank separately (iso2 empty,",
        "iso2_parent PS) and not Palestine as a whole. Both rows are Not Free, so PS is",
        "not_free; the score is the lower of the two (Gaza Strip), fail-closed.",
        "Shutdowns located in PS are mostly imposed by Israel and the 2021 Pegasus",
        "infections of Palestinian HRDs are unattributed: neither is held against PS.",
    ),
    "UA": (
        "Shutdowns in UA are imposed by Russian forces and the HRC Commission of Inquiry on",
        "Ukraine concerns the Russian aggression: both are attributed to RU, not UA.",
    ),
    "IL": ("internet_shutdowns includes shutdowns located in PS and imposed by Israel.",),
    "RU": ("internet_shutdowns includes shutdowns located in UA and imposed by Russia.",),
    "FR": ("internet_shutdowns: the 2024 New Caledonia TikTok block was ordered by France.",),
    "NC": ("The 2024 TikTok block located in NC was ordered by France: see FR.",),
    "HK": ("Freedom House rates Hong Kong as a territory (own row, iso2 HK).",),
    "EH": ("Freedom House rates Western Sahara as a territory (own row, iso2 EH).",),
    "XK": ("Kosovo: user-assigned code XK (not official ISO 3166-1), allowed by DESIGN.md.",),
}


# ------------------------------------------------------------------------------ helpers


def read_csv(reference: Path, name: str) -> list[dict[str, str]]:
    with (reference / name).open(encoding="utf-8", newline="") as handle:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)]


def cap(as_of: str, snapshot: str) -> str:
    """The earlier of two YYYY[-MM] dates (string order works for equal precision)."""
    return as_of if as_of[: len(snapshot)] <= snapshot else snapshot


def month(date: str) -> str:
    """'2026-07-08' -> '2026-07'."""
    return date[:7]


#: A calendar year, not the number part of an act ("2017/2074") or a UNSCR ("UNSCR 2127").
_YEAR = re.compile(r"(?<![\d/])(19[4-9]\d|20[0-3]\d)(?!\d)")


def years_in(text: str) -> list[int]:
    return [int(y) for y in _YEAR.findall(text)]


_PARENTHESIS = re.compile(r"\s*\((?:[^()]|\([^()]*\))*\)")
_ITEM_YEAR = re.compile(r"\((19[4-9]\d|20[0-3]\d)\)")


def drop_after(text: str, year: int) -> str:
    """Remove list items and remarks of *text* that mention a year after *year*.

    Used for older snapshots: "UNSCR 2127 (2013); UNSCR 2789 (2025)" -> "UNSCR 2127 (2013)",
    "Decision 2013/255/CFSP (amended by (CFSP) 2025/1096)" -> "Decision 2013/255/CFSP".
    """

    def later(part: str) -> bool:
        return any(y > year for y in years_in(part))

    def keep(item: str) -> str | None:
        if any(int(y) > year for y in _ITEM_YEAR.findall(item)):
            return None  # the item itself is dated after the snapshot
        item = _PARENTHESIS.sub(lambda m: "" if later(m.group(0)) else m.group(0), item)
        return None if later(item) else item

    segments = []
    for segment in text.split("; "):
        items = [kept for item in segment.split(", ") if (kept := keep(item)) is not None]
        if items:
            segments.append(", ".join(items))
    return "; ".join(segments)


def base_destinations() -> dict[str, Destination]:
    result = {
        c.alpha_2: Destination(code=c.alpha_2, name=getattr(c, "common_name", None) or c.name)
        for c in pycountry.countries
    }
    result["XK"] = Destination(code="XK", name="Kosovo")
    for code, lines in DESTINATION_COMMENTS.items():
        result[code].comments.extend(lines)
    return result


# ------------------------------------------------------------------------ fact builders


def apply_freedom_house(
    dests: dict[str, Destination], rows: list[dict[str, str]], cfg: VersionConfig
) -> None:
    by_parent: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        if row["iso2"]:
            dests[row["iso2"]].freedom_house = FreedomHouse(
                FH_STATUS[row["status"]], int(row["score"]), cfg.fiw_source, cfg.fiw_as_of
            )
        elif row["iso2_parent"]:
            by_parent.setdefault(row["iso2_parent"], []).append(row)
    # Palestine: composite of the Gaza Strip and West Bank rows (see DESTINATION_COMMENTS).
    parts = by_parent.get("PS", [])
    statuses = {FH_STATUS[r["status"]] for r in parts}
    if len(parts) == 2 and statuses == {"not_free"}:
        score = min(int(r["score"]) for r in parts)
        dests["PS"].freedom_house = FreedomHouse("not_free", score, cfg.fiw_source, cfg.fiw_as_of)
    else:
        raise ValueError(f"unexpected Freedom House rows for PS: {parts}")


def embargo_factor_id(row: dict[str, str]) -> str | None:
    key = (row["iso2"], row["body"])
    if key in EMBARGO_FACTOR_OVERRIDES:
        return EMBARGO_FACTOR_OVERRIDES[key]
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


def snapshot_text(text: str, cfg: VersionConfig) -> str:
    """*text* as known at the snapshot: later-dated items are dropped for old snapshots."""
    return text if cfg.with_latest_actions else drop_after(text, int(cfg.snapshot[:4]) - 1)


def embargo_note(row: dict[str, str], cfg: VersionConfig) -> str:
    note = snapshot_text(
        f"{row['body']} {row['legal_nature']}: {row['scope']}; {row['instrument']}", cfg
    )
    if cfg.with_latest_actions and row["latest_action_2024_2026"]:
        note += f"; latest: {row['latest_action_2024_2026']}"
    return f"{note} [{row['confidence']}]"


def apply_embargoes(
    dests: dict[str, Destination], rows: list[dict[str, str]], cfg: VersionConfig
) -> None:
    BODY_ORDER = {"UN": 0, "EU": 1, "OSCE": 2}
    grouped: dict[tuple[str, str], list[dict[str, str]]] = {}
    for row in rows:
        factor_id = embargo_factor_id(row)
        valid_from = EMBARGO_VALID_FROM.get((row["iso2"], row["body"]))
        if factor_id is None or (valid_from and valid_from > cfg.snapshot):
            continue
        grouped.setdefault((row["iso2"], factor_id), []).append(row)
    for (code, factor_id), group in sorted(grouped.items()):
        group.sort(key=lambda r: BODY_ORDER.get(r["body"], 9))
        note = NOTE_OVERRIDES.get((cfg.version, code, factor_id)) or " | ".join(
            embargo_note(r, cfg) for r in group
        )
        as_of = cap(max(r["as_of"] for r in group), cfg.snapshot)
        dests[code].add(Factor(factor_id, embargo_source(group[0]["body"], factor_id), as_of, note))


def apply_eu_bans(
    dests: dict[str, Destination],
    bans: list[dict[str, str]],
    embargo_rows: list[dict[str, str]],
    cfg: VersionConfig,
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
            note = NOTE_OVERRIDES.get((cfg.version, code, "eu_internal_repression_ban")) or (
                f"EU ban on equipment which might be used for internal repression: {acts}{tail}"
            )
            dests[code].add(Factor("eu_internal_repression_ban", "eu-sanctions-map", as_of, note))
        if telecom.startswith("yes"):
            note = NOTE_OVERRIDES.get((cfg.version, code, "eu_telecom_monitoring_ban")) or (
                f"EU ban on monitoring/interception equipment, technology and software: "
                f"{acts}{tail}"
            )
            dests[code].add(Factor("eu_telecom_monitoring_ban", "eu-sanctions-map", as_of, note))


def apply_us_groups(
    dests: dict[str, Destination], rows: list[dict[str, str]], cfg: VersionConfig
) -> None:
    snapshot_note = (
        "EAR Supp. No. 1 to Part 740 as captured 2026-07-08 in a public repo doc "
        "(reviewed against eCFR) [S]"
    )
    if cfg.version == "2025.1":
        snapshot_note += "; 2025-01-01 state = snapshot + KH (left D:5 on 2026-02-03)"
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
    for code, note in D5_EXTRA[cfg.version].items():
        dests[code].add(Factor("us_arms_embargo_d5", "us-ear-country-groups", cfg.snapshot, note))


def apply_coc(dests: dict[str, Destination]) -> None:
    for code, extra in COC_SUBSCRIBERS.items():
        note = (
            "Subscribing State of the ECHRI Code of Conduct (released 2023-03-30; 25 "
            "Subscribing States at the Sept 2023 plenary) [V]"
        )
        if extra:
            note += f"; {extra}"
        dests[code].add(Factor("coc_subscriber", "echri-subscribing-states-2023", "2023-09", note))


def apply_hrc_mandates(dests: dict[str, Destination], cfg: VersionConfig) -> None:
    for mandate in HRC_MANDATES:
        entry = mandate.per_version.get(cfg.version)
        if entry is None:
            continue
        as_of, note = entry
        for code in mandate.codes:
            dests[code].add(
                Factor(
                    "serious_violations_established",
                    "ohchr-hrc-country-mandates",
                    cap(as_of, cfg.snapshot),
                    note,
                )
            )


def apply_spyware(
    dests: dict[str, Destination], rows: list[dict[str, str]], cfg: VersionConfig
) -> None:
    for row in rows:
        factor_id = SPYWARE_LEVELS[row["evidence_level"]]
        years = [y for y in years_in(row["year_reported"]) if y <= cfg.spyware_max_year]
        if factor_id is None or not years:
            continue
        code = row["iso2"]
        source = SPYWARE_SOURCE_OVERRIDES.get(code, "citizen-lab")
        note = NOTE_OVERRIDES.get((cfg.version, code, factor_id)) or (
            f"{row['evidence_level']}: {row['tool_vendor']}, reported {row['year_reported']}; "
            f"{row['finding']} [{row['confidence']}]"
        )
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


def apply_shutdowns(dests: dict[str, Destination], rows: list[dict[str, str]]) -> None:
    """internet_shutdowns: >=1 shutdown in 2023-2024, attributed to the ordering government.

    Both versions use the 2023-2024 window: 2025 shutdown data is not in the reference.
    """
    notes: dict[str, list[str]] = {}
    last_year: dict[str, int] = {}
    for row in sorted(rows, key=lambda r: r["iso2"]):
        years = [y for y in (2023, 2024) if shutdown_count(row, y) > 0]
        if not years:
            continue
        located = row["iso2"]
        ordering, why = SHUTDOWN_ATTRIBUTION.get(located, (located, ""))
        text = describe_shutdowns(row)
        if ordering != located:
            text = f"shutdowns located in {located}, {why}: {text}"
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


def apply_fotn_proxy(dests: dict[str, Destination], rows: list[dict[str, str]]) -> None:
    for row in rows:
        if row["status"] != "Not Free":
            continue
        note = (
            f"proxy: FOTN Not Free (Freedom on the Net 2025 score {row['score']}/100, "
            f"coverage {row['coverage_period']}) [S]; no direct dataset on independent "
            "oversight of surveillance"
        )
        dests[row["iso2"]].add(Factor("no_surveillance_oversight", "fh-fotn-2025", "2025-11", note))


def build(reference: Path, cfg: VersionConfig) -> dict[str, Destination]:
    dests = base_destinations()
    embargo_rows = read_csv(reference, "arms_embargoes.csv")
    apply_freedom_house(dests, read_csv(reference, cfg.fiw_file), cfg)
    apply_embargoes(dests, embargo_rows, cfg)
    apply_eu_bans(
        dests, read_csv(reference, "eu_internal_repression_telecom.csv"), embargo_rows, cfg
    )
    apply_us_groups(dests, read_csv(reference, "us_country_groups.csv"), cfg)
    apply_coc(dests)
    apply_hrc_mandates(dests, cfg)
    apply_spyware(dests, read_csv(reference, "spyware_documented.csv"), cfg)
    apply_shutdowns(dests, read_csv(reference, "internet_shutdowns_2023_2024.csv"))
    if cfg.use_fotn_proxy:
        apply_fotn_proxy(dests, read_csv(reference, "freedom_on_the_net_2025.csv"))
    return dests


# -------------------------------------------------------------------------- YAML output

_FLOW_INDICATORS = set(",[]{}#&*!|>'\"%@`")


def scalar(value: str | int) -> str:
    """A YAML scalar: plain when it round-trips as the same string, else double-quoted."""
    if isinstance(value, int):
        return str(value)
    plain_ok = (
        value
        and value == value.strip()
        and not (set(value) & _FLOW_INDICATORS)
        and ": " not in value
        and not value.startswith(("-", "?", ":"))
        and yaml.safe_load(value) == value
    )
    return value if plain_ok else json.dumps(value, ensure_ascii=False)


def render_destination(dest: Destination) -> Iterator[str]:
    for line in dest.comments:
        yield f"  # {line}"
    yield f"  {scalar(dest.code)}:"
    yield f"    name: {scalar(dest.name)}"
    fh = dest.freedom_house
    if fh is not None:
        yield (
            f"    freedom_house: {{status: {fh.status}, score: {fh.score}, "
            f"source: {fh.source}, as_of: {json.dumps(fh.as_of)}}}"
        )
    if not dest.factors:
        yield "    factors: []"
        return
    yield "    factors:"
    for factor_id in sorted(dest.factors):
        f = dest.factors[factor_id]
        yield f"      - id: {f.id}"
        yield f"        source: {f.source}"
        yield f"        as_of: {json.dumps(f.as_of)}"
        yield f"        note: {scalar(f.note)}"


def header(cfg: VersionConfig) -> Iterable[str]:
    return (
        MODELINE,
        "# GENERATED FILE - do not edit by hand.",
        f"# Regenerate with: python tools/build_destinations.py --version {cfg.version}",
        "# Inputs: shared/reference/*.csv (destinations.md) + hand-curated tables in the",
        "# generator (Subscribing States, HRC country mandates, version-specific changes).",
        f"# Snapshot: facts known at {cfg.snapshot}; Freedom House: {cfg.fiw_source}.",
        "# Factor vocabulary and band derivation: risk_bands.yaml in this folder.",
        "# as_of: newest confirming source for this snapshot (YYYY-MM, or YYYY where the",
        "# reference gives only a year).",
    )


def render(dests: dict[str, Destination], cfg: VersionConfig) -> str:
    lines = [*header(cfg), "destinations:"]
    for code in sorted(dests):
        lines.extend(render_destination(dests[code]))
    return "\n".join(lines) + "\n"


def output_path(version: str) -> Path:
    return POLICY_DIR / version / "destinations.yaml"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", required=True, choices=sorted(VERSIONS))
    parser.add_argument(
        "--reference",
        type=Path,
        default=DEFAULT_REFERENCE,
        help="folder with the reference CSVs (default: ../shared/reference)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="output file (default: policies/echri-baseline/<version>/destinations.yaml)",
    )
    args = parser.parse_args(argv)
    cfg = VERSIONS[args.version]
    if not args.reference.is_dir():
        parser.error(f"reference folder not found: {args.reference}")
    text = render(build(args.reference, cfg), cfg)
    yaml.safe_load(text)  # sanity check: the output parses
    out = args.output or output_path(cfg.version)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
