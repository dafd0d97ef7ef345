"""The proof a diff report links to: `echri analyze compare OLD NEW --format json` read back.

`echri diff OLD NEW --proof FILE` (or `--prove`, which runs the analysis) puts the result
of the symbolic comparison (engine/analysis/compare.py) beside the replayed decisions: per
direction, whether no case of the bounded space changes that way, whether every region of
such cases was found (`proven: no loosening outside these regions`), or whether the list
was cut. The report only trusts a proof made for the same two versions: both ids,
versions and digests must match (`check_proof`), so a proof of an earlier draft is
refused. Plain data only: this module reads the JSON form, it never runs the solver.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DIRECTIONS = ("loosened", "tightened")
NOUNS = {"loosened": "loosening", "tightened": "tightening"}


class ProofError(ValueError):
    """A proof file that cannot be read, or that is for other versions (stale)."""


@dataclass(frozen=True, slots=True)
class ProofRegion:
    direction: str
    region: str  # the condition over both decisions that defines the region
    condition: str  # the region, then what its witness shows (one line)
    witness: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ProofSide:
    id: str
    version: str
    digest: str

    @property
    def name(self) -> str:
        return f"{self.id}@{self.version}"


@dataclass(frozen=True, slots=True)
class Proof:
    source: str  # the file read, or `--prove`
    old: ProofSide
    new: ProofSide
    items: int
    max_regions: int | None
    submitted: str
    complete: Mapping[str, bool]
    regions: tuple[ProofRegion, ...]
    parties: int = 1  # at most this many consignees and intermediaries (`--parties`)

    def of(self, direction: str) -> tuple[ProofRegion, ...]:
        return tuple(r for r in self.regions if r.direction == direction)

    def headline(self, direction: str) -> str:
        """What is proven about one direction, in one line."""
        found = self.of(direction)
        if not self.complete.get(direction, False):
            cut = f" (--max-regions {self.max_regions})" if self.max_regions else ""
            return f"not proven: {len(found)} {direction} region(s) found, more exist{cut}"
        if not found:
            return f"proven: no case is {direction}"
        return f"proven: no {NOUNS[direction]} outside these {len(found)} region(s)"

    def bounds(self) -> str:
        parties = "" if self.parties == 1 else \
            f", up to {self.parties} consignees and {self.parties} intermediaries,"
        return (f"(over every case of 1..{self.items} item(s){parties} submitted on "
                f"{self.submitted}; bounds in README, Proofs)")

    def summary(self) -> str:
        return "; ".join(f"{d}: {self.headline(d)}" for d in DIRECTIONS)

    def corpus_note(self, direction: str, changed: int) -> str:
        """A warning when the corpus changed in a direction the proof rules out."""
        if changed and self.complete.get(direction, False) and not self.of(direction):
            return (f"{changed} {direction} decision(s) of the corpus lie outside the proof's "
                    f"bounds (more items or parties, another submission date)")
        return ""


def _side(data: Any, where: str) -> ProofSide:
    if not isinstance(data, Mapping) or not all(isinstance(data.get(k), str)
                                                for k in ("id", "version", "digest")):
        raise ProofError(f"{where}: expected `id`, `version` and `digest`")
    return ProofSide(data["id"], data["version"], data["digest"])


def proof_from_data(data: Any, source: str) -> Proof:
    """A Proof from the JSON form of `analyze compare` (ProofError when it is not one)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("versions"), Mapping):
        raise ProofError(f"{source}: not the JSON of `echri analyze compare --format json` "
                         f"(no `versions` with digests)")
    versions = data["versions"]
    regions = []
    for n, r in enumerate(data.get("regions") or []):
        if not isinstance(r, Mapping) or r.get("direction") not in DIRECTIONS:
            raise ProofError(f"{source}: region {n + 1}: expected a `direction`")
        regions.append(ProofRegion(r["direction"], str(r.get("region") or r.get("condition")),
                                   str(r.get("condition", "")), dict(r.get("witness") or {})))
    complete = data.get("complete")
    if not isinstance(complete, Mapping):
        raise ProofError(f"{source}: expected `complete` per direction")
    return Proof(source, _side(versions.get("old"), f"{source}: versions.old"),
                 _side(versions.get("new"), f"{source}: versions.new"),
                 int(data.get("items", 0)), data.get("max_regions"),
                 str(data.get("submitted", "")), {d: bool(complete.get(d)) for d in DIRECTIONS},
                 tuple(regions), int(data.get("parties", 1)))


def load_proof(path: Path) -> Proof:
    """The proof in `path` (ProofError when unreadable or not a compare report)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ProofError(f"{path}: cannot read the proof: {exc}") from exc
    return proof_from_data(data, str(path))


def check_proof(proof: Proof, old: Sequence[str], new: Sequence[str]) -> list[str]:
    """Why `proof` is not for these versions, each (id, version, digest); empty if it is."""
    problems = []
    for label, side, (pid, version, digest) in (("OLD", proof.old, old), ("NEW", proof.new, new)):
        if (side.id, side.version) != (pid, version):
            problems.append(f"{label} of the proof is `{side.name}`, not `{pid}@{version}`")
        elif side.digest != digest:
            problems.append(f"{label} `{side.name}` has changed since the proof was made "
                            f"(digest {side.digest[:19]}, now {digest[:19]})")
    return problems
