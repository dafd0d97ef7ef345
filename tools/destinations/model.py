"""The destination table being built: destinations, their factors, the version settings."""

from __future__ import annotations

from dataclasses import dataclass, field

import pycountry

from .tables import Row


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
        """Add *factor*; a factor id can be added once."""
        if factor.id in self.factors:
            raise ValueError(f"{self.code}: factor {factor.id} added twice")
        self.factors[factor.id] = factor


@dataclass(frozen=True)
class Version:
    """One row of versions.csv (see data/destinations/README.md)."""

    version: str
    snapshot: str  # YYYY-MM: facts known at this date
    fiw_file: str
    fiw_source: str
    fiw_as_of: str
    spyware_max_year: int  # spyware findings reported up to this year (year_reported)
    use_fotn_proxy: bool  # no_surveillance_oversight from FOTN 2025 "Not Free"
    with_latest_actions: bool  # include 2025-26 "latest action" texts in embargo notes
    us_groups_note: str  # appended to the US Country Group notes ("" = nothing)

    @classmethod
    def from_row(cls, row: Row) -> Version:
        """The settings of a checked versions.csv row."""
        return cls(
            version=row["version"],
            snapshot=row["snapshot"],
            fiw_file=row["fiw_file"],
            fiw_source=row["fiw_source"],
            fiw_as_of=row["fiw_as_of"],
            spyware_max_year=int(row["spyware_max_year"]),
            use_fotn_proxy=row["use_fotn_proxy"] == "yes",
            with_latest_actions=row["with_latest_actions"] == "yes",
            us_groups_note=row["us_groups_note"],
        )


def base_destinations(comments: list[Row]) -> dict[str, Destination]:
    """Every ISO 3166-1 country plus Kosovo (XK), with the comments of destination_comments."""
    result = {
        c.alpha_2: Destination(code=c.alpha_2, name=getattr(c, "common_name", None) or c.name)
        for c in pycountry.countries
    }
    result["XK"] = Destination(code="XK", name="Kosovo")
    for row in comments:
        result[row["code"]].comments.append(row["comment"])
    return result
