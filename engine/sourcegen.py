"""Python source we generate, with every constant bound by name (the rule scopes of
engine/codegen.py, the record encoders of engine/ruleset/encoder.py).

Safety: no policy text (fact names, arguments, rule ids, record keys, values) ever enters a
generated source. A writer binds each constant in the function's namespace under a name it
makes up (`F0`, `K1`, ...) and writes only those names, operators and keywords; the namespace
has no builtins but the few a writer passes in under names of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class SourceWriter:
    """The namespace of one generated function, and the names bound in it."""

    def __init__(self, given: dict[str, Any]) -> None:
        self.namespace: dict[str, Any] = {"__builtins__": {}, **given}
        self.counter = 0

    def bind(self, prefix: str, value: Any) -> str:
        """A new name for `value` in the namespace (`prefix` + a counter)."""
        name = f"{prefix}{self.counter}"
        self.counter += 1
        self.namespace[name] = value
        return name

    def define(self, source: str, filename: str, function: str) -> Callable[..., Any]:
        """Run `source` (ours: generated names only) in the namespace, return `function`.

        `filename` names the code object in tracebacks (`<echri rules case>`); it is ours too.
        """
        exec(compile(source, filename, "exec"), self.namespace)
        return self.namespace.pop(function)
