"""Registers shared among Subscribing States: model → loader (validation) → screening →
consult (facts and built-in findings) → exchange (what notices and notes share) → notices
(export from the decision log, import) and notes (export from a register set, import);
compare → report (the diff of two register sets)."""

from __future__ import annotations

from engine.registers.loader import RegisterError, load, load_registers
from engine.registers.model import RegisterSet

__all__ = ["RegisterError", "RegisterSet", "load", "load_registers"]
