"""What every backend is: the Backend protocol and the hits it returns."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from engine.cases import NormalizedCase

Hits = dict[str, tuple[str, ...]]  # rule id → keys of the item views it fired for


class Backend(Protocol):
    name: str

    def evaluate(self, case: NormalizedCase) -> Hits: ...
