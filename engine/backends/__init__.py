"""The backends that decide which rules fire, behind one registry.

- `python` (engine/backends/python.py): the rule IR as generated Python code
  (engine/codegen.py), the oracle;
- `durable` (engine/backends/durable.py): durable-rules, the only module that imports its
  C extension, loaded when a durable backend is first asked for.

Both implement `Backend` (engine/backends/base.py) and return the same `Hits`. The compiler
is below them: a backend takes a CompiledPolicy, and nothing under engine/compiler.py
imports a backend.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from engine.backends.base import Backend, Hits
from engine.backends.python import PythonBackend

if TYPE_CHECKING:
    from engine.compiler import CompiledPolicy

__all__ = ["BACKENDS", "Backend", "Hits", "PythonBackend"]


def _durable(compiled: CompiledPolicy) -> Backend:
    from engine.backends.durable import DurableBackend  # imports the C extension

    return DurableBackend(compiled)


BACKENDS: dict[str, Callable[[CompiledPolicy], Backend]] = {
    "durable": _durable,
    "python": PythonBackend,
}
