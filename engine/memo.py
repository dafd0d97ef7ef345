"""Values derived from an object, computed once per object and cached by its identity.

For data that is immutable once built but not cheap to hash (a compiled rule's condition
tree, a compiled table): the cache keys on `id(obj)` and keeps the object, so the id cannot
be reused by another object while its entry lives. Reloads compile new objects, so the
cache starts again once it holds `limit` of them instead of growing without bound.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class ByIdentity(Generic[K, V]):
    def __init__(self, make: Callable[[K], V], limit: int):
        self._make = make
        self._limit = limit
        self._cache: dict[int, tuple[K, V]] = {}

    def __call__(self, obj: K) -> V:
        found = self._cache.get(id(obj))
        if found is None or found[0] is not obj:
            if len(self._cache) >= self._limit:
                self._cache.clear()
            found = self._cache[id(obj)] = (obj, self._make(obj))
        return found[1]
