"""YAML output of the destination table: deterministic, no timestamps."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

import yaml

from .model import Destination, Version

MODELINE = "# yaml-language-server: $schema=../../../schemas/destinations.schema.json"

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
    """The YAML lines of one destination, its comments first."""
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


def header(cfg: Version) -> Iterable[str]:
    # The wording is part of the released, checksummed files: keep it byte for byte.
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


def render(dests: dict[str, Destination], cfg: Version) -> str:
    """The whole destinations.yaml text, destinations sorted by code."""
    lines = [*header(cfg), "destinations:"]
    for code in sorted(dests):
        lines.extend(render_destination(dests[code]))
    return "\n".join(lines) + "\n"
